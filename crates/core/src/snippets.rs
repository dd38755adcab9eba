//! What the machines that push and pull need for a profile's registry: Docker's daemon.json and
//! certs.d, `docker login`, podman's registries.conf and certs.d. Never a secret in them.

use std::path::Path;

use berth_store::{AuthMode, ProfileRow};
use serde::Serialize;
use ts_rs::TS;

use crate::ApiError;

/// One thing to paste, with a copy button in the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Snippet {
    pub title: String,
    /// `json`, `shell` or `toml`.
    pub language: String,
    pub text: String,
}

fn snippet(title: impl Into<String>, language: &str, text: impl Into<String>) -> Snippet {
    Snippet { title: title.into(), language: language.into(), text: text.into() }
}

/// `host[:port]` as Docker names the registry (no port for https on 443).
fn registry_host(url: &url::Url) -> String {
    let host = match url.host() {
        Some(url::Host::Ipv6(a)) => format!("[{a}]"),
        Some(h) => h.to_string(),
        None => String::new(),
    };
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    }
}

pub(crate) fn snippets(data_dir: &Path, row: &ProfileRow) -> Result<Vec<Snippet>, ApiError> {
    let url = berth_registry::parse_registry_url(&row.url)?;
    let host = registry_host(&url);
    let s = &row.settings;
    let http = url.scheme() == "http";
    let insecure = http || s.insecure_skip_verify;
    let mut out = Vec::new();

    if insecure {
        let why = if http { "serves plain HTTP" } else { "is used without certificate verification" };
        out.push(snippet(
            format!("Docker: /etc/docker/daemon.json (this registry {why}); merge into the file, then `sudo systemctl restart docker`"),
            "json",
            format!("{{\n  \"insecure-registries\": [\"{host}\"]\n}}\n"),
        ));
    }

    if !http {
        let mut pem = String::new();
        for ca in &s.cas {
            if let Ok(text) = std::fs::read_to_string(data_dir.join(&ca.file)) {
                pem.push_str(text.trim_end());
                pem.push('\n');
            }
        }
        for (tool, dir) in [("Docker", "/etc/docker/certs.d"), ("Podman", "/etc/containers/certs.d")] {
            let mut cmds = Vec::new();
            if !pem.is_empty() {
                cmds.push(format!("sudo mkdir -p {dir}/{host}"));
                cmds.push(format!("sudo tee {dir}/{host}/ca.crt >/dev/null <<'EOF'\n{pem}EOF"));
            } else if !s.pinned_sha256.is_empty() {
                cmds.push(format!("sudo mkdir -p {dir}/{host}"));
                cmds.push(format!(
                    "# the server's own (self-signed) certificate; check its fingerprint before trusting it\nopenssl s_client -connect {host} -servername {} -showcerts </dev/null 2>/dev/null | openssl x509 | sudo tee {dir}/{host}/ca.crt >/dev/null\nopenssl x509 -in {dir}/{host}/ca.crt -noout -fingerprint -sha256   # expect {}",
                    url.host_str().unwrap_or(""),
                    s.pinned_sha256.first().map(|p| colon_hex(p)).unwrap_or_default()
                ));
            }
            if let (Some(cert), Some(key)) = (&s.client_cert_file, &s.client_key_file) {
                cmds.push(format!("sudo mkdir -p {dir}/{host}"));
                cmds.push(format!("sudo cp {} {dir}/{host}/client.cert", data_dir.join(cert).display()));
                if s.has_key_passphrase {
                    cmds.push(format!(
                        "# {tool} needs the key unencrypted\nsudo sh -c 'openssl pkey -in {} -out {dir}/{host}/client.key'",
                        data_dir.join(key).display()
                    ));
                } else {
                    cmds.push(format!("sudo cp {} {dir}/{host}/client.key", data_dir.join(key).display()));
                }
                cmds.push(format!("sudo chmod 600 {dir}/{host}/client.key"));
            }
            if !cmds.is_empty() {
                cmds.dedup();
                let what = match (pem.is_empty() && s.pinned_sha256.is_empty(), s.client_cert_file.is_some()) {
                    (false, true) => "the registry's CA and the client certificate",
                    (false, false) => "the registry's CA",
                    (true, _) => "the client certificate",
                };
                out.push(snippet(format!("{tool}: trust {what} ({dir}/{host}/)"), "shell", cmds.join("\n") + "\n"));
            }
        }
    }

    let login = |tool: &str| match (&row.username, s.auth) {
        (Some(u), AuthMode::Basic | AuthMode::Token) => {
            format!("{tool} login {host} -u {u}\n# or, from a file or a CI secret:\n# {tool} login {host} -u {u} --password-stdin < password.txt\n")
        }
        _ => format!("{tool} login {host}\n"),
    };
    out.push(snippet("Docker: log in", "shell", login("docker")));

    out.push(snippet(
        format!("Podman: /etc/containers/registries.conf.d/50-{}.conf", file_safe(&host)),
        "toml",
        format!("[[registry]]\nlocation = \"{host}\"\ninsecure = {insecure}\n"),
    ));
    out.push(snippet("Podman: log in", "shell", login("podman")));
    Ok(out)
}

fn colon_hex(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).unwrap_or("").to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

fn file_safe(host: &str) -> String {
    host.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_store::{CaRecord, ProfileKind, ProfileSettings};

    fn row(url: &str, settings: ProfileSettings, username: Option<&str>) -> ProfileRow {
        ProfileRow {
            id: 1,
            name: "lab".into(),
            url: url.into(),
            kind: ProfileKind::default(),
            username: username.map(str::to_string),
            created_at: String::new(),
            updated_at: String::new(),
            settings,
        }
    }

    #[test]
    fn http_registry_needs_insecure_registries() {
        let dir = tempfile::tempdir().unwrap();
        let v = snippets(dir.path(), &row("http://10.0.0.5:5000/", ProfileSettings::default(), None)).unwrap();
        let daemon = v.iter().find(|s| s.language == "json").expect("daemon.json");
        let json: serde_json::Value = serde_json::from_str(&daemon.text).unwrap();
        assert_eq!(json["insecure-registries"][0], "10.0.0.5:5000");
        let podman = v.iter().find(|s| s.language == "toml").unwrap();
        assert!(podman.text.contains("location = \"10.0.0.5:5000\"\ninsecure = true"), "{}", podman.text);
        assert!(v.iter().any(|s| s.text.starts_with("docker login 10.0.0.5:5000")));
        assert!(!v.iter().any(|s| s.text.contains("certs.d")));
    }

    #[test]
    fn custom_ca_goes_to_certs_d() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("certs/lab")).unwrap();
        std::fs::write(
            dir.path().join("certs/lab/ca-1.pem"),
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let settings = ProfileSettings {
            auth: AuthMode::Basic,
            has_password: true,
            cas: vec![CaRecord {
                sha256: "1".repeat(64),
                subject: "CN=ca".into(),
                not_after: String::new(),
                file: "certs/lab/ca-1.pem".into(),
            }],
            ..ProfileSettings::default()
        };
        let v = snippets(dir.path(), &row("https://reg.example.com/", settings, Some("alice"))).unwrap();
        assert!(!v.iter().any(|s| s.language == "json"), "no insecure-registries for verified https");
        let docker = v.iter().find(|s| s.title.starts_with("Docker: trust")).unwrap();
        assert!(docker.text.contains("/etc/docker/certs.d/reg.example.com/ca.crt"), "{}", docker.text);
        assert!(docker.text.contains("-----BEGIN CERTIFICATE-----\nAAAA"), "{}", docker.text);
        assert!(v.iter().any(|s| s.title.starts_with("Podman: trust") && s.text.contains("/etc/containers/certs.d/")));
        assert!(v.iter().any(|s| s.text.starts_with("docker login reg.example.com -u alice")));
        let podman = v.iter().find(|s| s.language == "toml").unwrap();
        assert!(podman.text.contains("insecure = false"));
    }
}
