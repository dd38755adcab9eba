//! Importing what Docker's client already knows: `~/.docker/config.json` (`auths`, `credsStore`,
//! `credHelpers` through the `docker-credential-<name>` helper protocol) and the per-host TLS files of
//! `/etc/docker/certs.d/<host>/` (`*.crt` CAs, `client.cert` + `client.key`). One profile per
//! registry host; passwords go to the OS keyring.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_secrets::Secret;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::profiles::{self, Changes, ProfileView};
use crate::{ApiError, Berth, ErrorCode};

/// Overrides `/etc/docker/certs.d` (tests, unusual set-ups).
pub const CERTS_D_ENV: &str = "BERTH_DOCKER_CERTS_D";
pub const DEFAULT_CERTS_D: &str = "/etc/docker/certs.d";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct DockerImportReport {
    /// The Docker configuration file read.
    pub config: String,
    /// With `dry_run`: what would be created (nothing is written, no password is read from a helper).
    pub planned: Vec<DockerImportPlanned>,
    pub created: Vec<ProfileView>,
    pub skipped: Vec<DockerImportNote>,
    /// Created, but with a caveat (no password found, a certs.d file refused…).
    pub notes: Vec<DockerImportNote>,
}

/// A profile a Docker import would create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct DockerImportPlanned {
    /// The server as config.json names it.
    pub server: String,
    pub name: String,
    pub url: String,
    pub username: Option<String>,
    /// Where its password comes from: `config.json`, a credential helper, or nothing (anonymous).
    pub credentials: Option<String>,
    /// certs.d files it would use (CAs, client certificate and key).
    pub files: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct DockerImportNote {
    /// The server as config.json names it.
    pub server: String,
    pub message: String,
}

/// config.json; no `Debug`, it holds secrets.
#[derive(Deserialize, Default)]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(rename = "credsStore", default)]
    creds_store: Option<String>,
    #[serde(rename = "credHelpers", default)]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// What a credential helper answers to `get`.
#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn default_docker_config() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("config.json"));
    }
    dirs::home_dir().map(|h| h.join(".docker").join("config.json"))
}

fn certs_d_base() -> PathBuf {
    std::env::var_os(CERTS_D_ENV).filter(|d| !d.is_empty()).map(PathBuf::from).unwrap_or(DEFAULT_CERTS_D.into())
}

/// (scheme, host[:port]) of a config.json key: `registry.example.com:5000`, `https://host/v1/`,
/// `http://host:5000`.
fn parse_server(key: &str) -> Option<(&'static str, String)> {
    let k = key.trim();
    let (scheme, rest) = if let Some(r) = k.strip_prefix("http://") {
        ("http", r)
    } else if let Some(r) = k.strip_prefix("https://") {
        ("https", r)
    } else {
        ("https", k)
    };
    let host = rest.split('/').next()?.trim().to_ascii_lowercase();
    if host.is_empty() || host.contains('@') {
        return None;
    }
    Some((scheme, host))
}

fn is_docker_hub(host: &str) -> bool {
    matches!(host, "index.docker.io" | "registry-1.docker.io" | "docker.io" | "registry.hub.docker.com")
}

/// A profile name from a host: `registry.example.com:5000` → `registry.example.com-5000`.
fn name_for(host: &str) -> String {
    let mut n = String::new();
    for c in host.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' };
        if !(c == '-' && n.ends_with('-')) {
            n.push(c);
        }
    }
    n.truncate(56);
    let n = n.trim_matches(['-', '.']).to_string();
    if n.is_empty() {
        "registry".into()
    } else {
        n
    }
}

fn decode_auth(b64: &str) -> Option<(String, String)> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(b64.trim()))
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// Runs `docker-credential-<helper> <action>` with `input` on stdin; stdout on success.
async fn run_helper(helper: &str, action: &str, input: &str) -> Result<String, String> {
    use tokio::io::AsyncWriteExt;
    let program = format!("docker-credential-{helper}");
    let mut child = tokio::process::Command::new(&program)
        .arg(action)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("{program} is not on PATH"),
            _ => format!("cannot run {program}: {e}"),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes()).await;
    }
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .map_err(|_| format!("{program} {action} did not answer within 30 s"))?
        .map_err(|e| format!("{program} {action} failed: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    } else {
        // Helpers print their reason on stdout or stderr ("credentials not found in native keychain").
        let why = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
        let why = why.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("no reason given").to_string();
        Err(format!("{program} {action}: {why}"))
    }
}

/// Username and secret for `server` from a helper; `Ok(None)` when it has none.
async fn helper_get(helper: &str, server: &str) -> Result<Option<(String, Secret)>, String> {
    match run_helper(helper, "get", server).await {
        Ok(out) => {
            let a: HelperAnswer = serde_json::from_str(out.trim())
                .map_err(|_| format!("docker-credential-{helper} get answered something that is not its JSON"))?;
            if a.username == "<token>" {
                return Err("an identity token (OAuth refresh token) is stored, which Berth cannot use: log in with a password or access token instead".into());
            }
            if a.secret.is_empty() {
                return Ok(None);
            }
            Ok(Some((a.username, Secret::new(a.secret))))
        }
        Err(e) if e.to_ascii_lowercase().contains("not found") && !e.contains("not on PATH") => Ok(None),
        Err(e) => Err(e),
    }
}

/// `*.crt` CA files and a `*.cert`/`*.key` pair from `<certs.d>/<host>/`, as Docker reads them.
fn certs_d_files(host: &str) -> (Vec<PathBuf>, Option<(PathBuf, PathBuf)>) {
    let dir = certs_d_base().join(host);
    let Ok(entries) = std::fs::read_dir(&dir) else { return (Vec::new(), None) };
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    let cas = files.iter().filter(|p| p.extension().is_some_and(|e| e == "crt")).cloned().collect();
    let client = files.iter().filter(|p| p.extension().is_some_and(|e| e == "cert")).find_map(|cert| {
        let key = cert.with_extension("key");
        key.is_file().then(|| (cert.clone(), key))
    });
    (cas, client)
}

struct Candidate {
    server: String,
    scheme: &'static str,
    host: String,
    creds: Option<(String, Secret)>,
    /// Where the password comes from, for the preview.
    source: Option<String>,
    note: Option<String>,
}

pub(crate) async fn import(berth: &Berth, path: Option<&Path>, dry_run: bool) -> Result<DockerImportReport, ApiError> {
    let path = match path {
        Some(p) => p.to_path_buf(),
        None => default_docker_config().ok_or_else(|| {
            ApiError::new(ErrorCode::NotFound, "cannot find the home directory", "give the path of config.json")
        })?,
    };
    let bytes = std::fs::read(&path).map_err(|e| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("cannot read the Docker configuration {}: {e}", path.display()),
            "log in with `docker login HOST` first, or give the path of the configuration",
        )
        .with_fix(crate::FixAction::Command, "berth profile import-docker-config PATH")
    })?;
    let cfg: DockerConfig = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidInput,
            format!("{} is not a Docker configuration: {e}", path.display()),
            "give the path of Docker's config.json",
        )
    })?;

    // Every server the configuration knows, in a stable order: auths, credHelpers, then what the
    // credsStore lists.
    let mut servers: Vec<String> = cfg.auths.keys().cloned().collect();
    servers.extend(cfg.cred_helpers.keys().filter(|k| !cfg.auths.contains_key(*k)).cloned());
    let mut report = DockerImportReport {
        config: path.display().to_string(),
        planned: vec![],
        created: vec![],
        skipped: vec![],
        notes: vec![],
    };
    if let Some(store) = &cfg.creds_store {
        match run_helper(store, "list", "").await {
            Ok(out) => {
                if let Ok(map) = serde_json::from_str::<BTreeMap<String, String>>(out.trim()) {
                    servers.extend(map.into_keys().filter(|k| !servers.contains(k)).collect::<Vec<_>>());
                }
            }
            Err(e) => report.notes.push(DockerImportNote { server: String::new(), message: e }),
        }
    }

    let mut candidates: Vec<Candidate> = Vec::new();
    for server in servers {
        let Some((scheme, host)) = parse_server(&server) else {
            report.skipped.push(DockerImportNote { server, message: "not a registry address".into() });
            continue;
        };
        if is_docker_hub(&host) {
            report.skipped.push(DockerImportNote { server, message: "Docker Hub is not a private registry".into() });
            continue;
        }
        if candidates.iter().any(|c| c.host == host) {
            continue;
        }
        let entry = cfg.auths.get(&server);
        let inline = entry.and_then(|e| {
            e.auth.as_deref().filter(|a| !a.is_empty()).and_then(decode_auth).or_else(|| {
                match (e.username.as_deref(), e.password.as_deref()) {
                    (Some(u), Some(p)) if !u.is_empty() && !p.is_empty() => Some((u.to_string(), p.to_string())),
                    _ => None,
                }
            })
        });
        let helper = cfg.cred_helpers.get(&server).or_else(|| cfg.cred_helpers.get(&host)).or(cfg.creds_store.as_ref());
        let mut note = None;
        let source = match (&inline, helper) {
            (Some(_), _) => Some("config.json".to_string()),
            (None, Some(h)) => Some(format!("docker-credential-{h}")),
            (None, None) => None,
        };
        let creds = match (inline, helper) {
            (Some((u, p)), _) => Some((u, Secret::new(p))),
            // A preview reads no secret: the helper is asked when the import runs.
            (None, Some(_)) if dry_run => None,
            (None, Some(h)) => match helper_get(h, &server).await {
                Ok(c) => c,
                Err(e) => {
                    note = Some(e);
                    None
                }
            },
            (None, None) => None,
        };
        if creds.is_none() && note.is_none() && !(dry_run && source.is_some()) {
            note = Some(if entry.is_some_and(|e| e.identitytoken.is_some()) {
                "only an identity token is stored, which Berth cannot use: add a username and password to the profile"
                    .into()
            } else {
                "no credentials stored: the profile is anonymous".into()
            });
        }
        candidates.push(Candidate { server, scheme, host, creds, source, note });
    }

    // One keyring check before any password is written.
    if !dry_run && candidates.iter().any(|c| c.creds.is_some()) {
        profiles::keyring(&berth.secrets, |s| s.self_check()).await?;
    }

    let existing = berth.store().profiles().await?;
    let mut taken: Vec<String> = existing.iter().map(|p| p.name.clone()).collect();
    for c in candidates {
        let url = format!("{}://{}/", c.scheme, c.host);
        let url = match berth_registry::parse_registry_url(&url) {
            Ok(u) => u.to_string(),
            Err(e) => {
                report.skipped.push(DockerImportNote { server: c.server, message: e.message });
                continue;
            }
        };
        if let Some(p) = existing.iter().find(|p| p.url == url) {
            report
                .skipped
                .push(DockerImportNote { server: c.server, message: format!("already a profile: {}", p.name) });
            continue;
        }
        let base = name_for(&c.host);
        let mut name = base.clone();
        let mut i = 2;
        while taken.contains(&name) {
            name = format!("{base}-{i}");
            i += 1;
        }
        if dry_run {
            let (cas, client) = certs_d_files(&c.host);
            let mut files: Vec<String> = cas.iter().map(|p| p.display().to_string()).collect();
            if let Some((cert, key)) = client {
                files.push(cert.display().to_string());
                files.push(key.display().to_string());
            }
            taken.push(name.clone());
            report.planned.push(DockerImportPlanned {
                server: c.server.clone(),
                name,
                url,
                username: c.creds.as_ref().map(|(u, _)| u.clone()),
                credentials: c.source.clone(),
                files,
            });
            if let Some(n) = c.note {
                report.notes.push(DockerImportNote { server: c.server, message: n });
            }
            continue;
        }
        let mut changes = Changes { url: Some(url), ..Changes::default() };
        if let Some((user, pw)) = c.creds {
            changes.username = Some(user);
            changes.set_password(Some(pw))?;
        }
        let (cas, client) = certs_d_files(&c.host);
        let mut notes = Vec::new();
        // Check each certs.d file on its own, so one bad file does not stop the import.
        for ca in cas {
            match crate::certs::load_ca_file(&ca) {
                Ok(_) => changes.ca_files.push(ca),
                Err(e) => notes.push(format!("ignored {}: {}", ca.display(), e.message)),
            }
        }
        if let Some((cert, key)) = client {
            changes.client_cert = Some(cert);
            changes.client_key = Some(key);
        }
        match profiles::create(berth, &name, changes).await {
            Ok(v) => {
                taken.push(v.name.clone());
                report.created.push(v);
                if let Some(n) = c.note {
                    notes.push(n);
                }
                for n in notes {
                    report.notes.push(DockerImportNote { server: c.server.clone(), message: n });
                }
            }
            Err(e) if e.code == ErrorCode::Keyring => return Err(e),
            Err(e) => report.skipped.push(DockerImportNote { server: c.server, message: e.message }),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_and_names() {
        assert_eq!(parse_server("registry.example.com:5000"), Some(("https", "registry.example.com:5000".into())));
        assert_eq!(parse_server("https://Reg.Example.com/v1/"), Some(("https", "reg.example.com".into())));
        assert_eq!(parse_server("http://10.0.0.5:5000"), Some(("http", "10.0.0.5:5000".into())));
        assert_eq!(parse_server(""), None);
        assert!(is_docker_hub(&parse_server("https://index.docker.io/v1/").unwrap().1));
        assert_eq!(name_for("registry.example.com:5000"), "registry.example.com-5000");
        assert_eq!(name_for("[::1]:5000"), "1-5000");
        assert_eq!(decode_auth("YWxpY2U6cHc6d2l0aDpjb2xvbnM="), Some(("alice".into(), "pw:with:colons".into())));
        assert_eq!(decode_auth("!!"), None);
    }
}
