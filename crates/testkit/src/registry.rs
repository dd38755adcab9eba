//! The real `docker-registry` (distribution 2.8.2), one per test.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::TempDir;

use crate::certs::{self, TestCa};
use crate::proc::{read_lossy, spawn_logged, wait_until_answers, write_file, ServerProcess};
use crate::token::{TokenIssuer, TOKEN_ISSUER, TOKEN_SERVICE};

const REGISTRY_BIN: &str = "docker-registry";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// How the registry serves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain HTTP.
    #[default]
    None,
    /// A leaf for 127.0.0.1 and localhost signed by a test CA ([`Registry::ca_pem`]).
    CaSigned,
    /// One self-signed certificate with `CA:TRUE`, the `openssl req -x509` way (rustls refuses it
    /// even when trusted: `CaUsedAsEndEntity`).
    SelfSignedLeaf,
    /// [`TlsMode::CaSigned`] plus mutual TLS: `http.tls.clientcas` with a client CA; see
    /// [`Registry::client_identity`].
    CaSignedWithClientCa,
}

#[derive(Clone, Debug)]
enum Auth {
    None,
    /// htpasswd file contents.
    Htpasswd(String),
    /// (realm, rootcertbundle PEM)
    Token(String, String),
}

/// Configures a [`Registry`].
#[derive(Clone, Debug)]
pub struct RegistryBuilder {
    htpasswd_lines: Vec<String>,
    token: Option<(String, String)>,
    tls: TlsMode,
    delete_enabled: bool,
    read_only: bool,
    gogc: Option<u32>,
    blob_cache: bool,
    schema1: bool,
}

impl Default for RegistryBuilder {
    fn default() -> Self {
        RegistryBuilder {
            htpasswd_lines: Vec::new(),
            token: None,
            tls: TlsMode::None,
            delete_enabled: true,
            read_only: false,
            gogc: None,
            blob_cache: true,
            schema1: false,
        }
    }
}

/// bcrypt entry `user:$2y$04$…` (the `htpasswd -B` prefix).
pub(crate) fn bcrypt_line(user: &str, password: &str) -> String {
    let hash = bcrypt::hash_with_result(password, 4).expect("bcrypt").format_for_version(bcrypt::Version::TwoY);
    format!("{user}:{hash}")
}

impl RegistryBuilder {
    /// htpasswd auth (realm `berth-test`) with bcrypt entries for these users.
    pub fn htpasswd(mut self, users: &[(&str, &str)]) -> Self {
        for (u, p) in users {
            self.htpasswd_lines.push(bcrypt_line(u, p));
        }
        self
    }

    /// Adds an apr1/MD5 entry (`htpasswd -nbm`), which registry 2.x ignores: the user always gets
    /// 401, byte-identical to a wrong password.
    pub fn md5_user(mut self, user: &str, password: &str) -> Self {
        let out = std::process::Command::new("htpasswd").args(["-nbm", user, password]).output();
        let line = match out {
            Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
            _ => {
                let o = std::process::Command::new("openssl")
                    .args(["passwd", "-apr1", password])
                    .output()
                    .expect("neither htpasswd nor openssl could make an apr1 hash");
                format!("{user}:{}", String::from_utf8_lossy(&o.stdout).trim())
            }
        };
        assert!(line.contains("$apr1$"), "unexpected md5 line {line:?}");
        self.htpasswd_lines.push(line);
        self
    }

    /// Token auth pointing at `issuer` (service `berth-test-registry`, issuer `berth-test-issuer`).
    pub fn token_auth(mut self, issuer: &TokenIssuer) -> Self {
        self.token = Some((issuer.realm(), issuer.signing_cert_pem()));
        self
    }

    /// Token auth with `issuer`'s tokens, the registry naming `realm` (e.g. the issuer behind nginx).
    pub fn token_auth_at(mut self, issuer: &TokenIssuer, realm: &str) -> Self {
        self.token = Some((realm.to_string(), issuer.signing_cert_pem()));
        self
    }

    pub fn tls(mut self, mode: TlsMode) -> Self {
        self.tls = mode;
        self
    }

    /// `storage.delete.enabled` (default true).
    pub fn delete_enabled(mut self, on: bool) -> Self {
        self.delete_enabled = on;
        self
    }

    /// `storage.maintenance.readonly.enabled` (default false).
    pub fn read_only(mut self, on: bool) -> Self {
        self.read_only = on;
        self
    }

    /// The registry's Go garbage collector target (`GOGC`, Go's default 100). Registry 2.8 allocates a
    /// 4 MiB buffer per blob GET, so on a small machine it spends much of its CPU collecting: the
    /// benchmark can show what the registry does with a larger target.
    pub fn gogc(mut self, percent: u32) -> Self {
        self.gogc = Some(percent);
        self
    }

    /// Whether the registry keeps its in-memory blob descriptor cache (on, as deployed: it answers a
    /// blob HEAD from memory until a restart, even after GC removed the blob). The Nexus and Harbor
    /// emulators turn it off: their GC never leaves a deleted blob answering.
    pub fn blob_descriptor_cache(mut self, on: bool) -> Self {
        self.blob_cache = on;
        self
    }

    /// Accept signed schema1 manifests (`compatibility.schema1.enabled`, off by default in 2.8), as
    /// registries kept for old clients do.
    pub fn schema1(mut self, on: bool) -> Self {
        self.schema1 = on;
        self
    }

    /// Start the registry; panics with its log if `/v2/` does not answer within ~10 s.
    pub async fn start(self) -> Registry {
        let auth = match (&self.token, self.htpasswd_lines.is_empty()) {
            (Some(_), false) => panic!("a registry has either htpasswd or token auth, not both"),
            (Some((realm, bundle)), true) => Auth::Token(realm.clone(), bundle.clone()),
            (None, false) => Auth::Htpasswd(self.htpasswd_lines.join("\n") + "\n"),
            (None, true) => Auth::None,
        };
        let dir = tempfile::Builder::new().prefix("berth-registry-").tempdir().expect("registry tempdir");
        let root = dir.path();
        let storage = root.join("storage");
        std::fs::create_dir_all(&storage).expect("storage dir");

        let mut tls_files = None;
        let mut ca_pem = None;
        let mut client_identity = None;
        match self.tls {
            TlsMode::None => {}
            TlsMode::CaSigned | TlsMode::CaSignedWithClientCa => {
                let ca = TestCa::new("berth-test-registry-ca");
                let (cert, key) = ca.issue_server(&["127.0.0.1", "localhost"]);
                write_file(&root.join("server.crt"), &cert);
                write_file(&root.join("server.key"), &key);
                write_file(&root.join("ca.crt"), ca.cert_pem());
                ca_pem = Some(ca.cert_pem());
                let mut client_ca_path = None;
                if self.tls == TlsMode::CaSignedWithClientCa {
                    let client_ca = TestCa::new("berth-test-client-ca");
                    let p = root.join("client-ca.crt");
                    write_file(&p, client_ca.cert_pem());
                    client_identity = Some(client_ca.issue_client("berth-test-client"));
                    client_ca_path = Some(p);
                }
                tls_files = Some((root.join("server.crt"), root.join("server.key"), client_ca_path));
            }
            TlsMode::SelfSignedLeaf => {
                let (cert, key) = certs::self_signed_ca_leaf(&["127.0.0.1", "localhost"]);
                write_file(&root.join("server.crt"), &cert);
                write_file(&root.join("server.key"), &key);
                ca_pem = Some(cert);
                tls_files = Some((root.join("server.crt"), root.join("server.key"), None));
            }
        }
        match &auth {
            Auth::Htpasswd(contents) => write_file(&root.join("htpasswd"), contents),
            Auth::Token(_, bundle) => write_file(&root.join("token-signer.crt"), bundle),
            Auth::None => {}
        }

        let mut reg = Registry {
            port: 0,
            config_path: root.join("config.yml"),
            storage_dir: storage,
            log_path: root.join("registry.log"),
            process: None,
            settings: Settings {
                auth,
                tls_files,
                delete_enabled: self.delete_enabled,
                read_only: self.read_only,
                gogc: self.gogc,
                blob_cache: self.blob_cache,
                schema1: self.schema1,
            },
            tls: self.tls,
            ca_pem,
            client_identity,
            _dir: dir,
        };
        reg.launch(true).await;
        reg
    }
}

#[derive(Clone, Debug)]
struct Settings {
    auth: Auth,
    tls_files: Option<(PathBuf, PathBuf, Option<PathBuf>)>,
    delete_enabled: bool,
    read_only: bool,
    gogc: Option<u32>,
    blob_cache: bool,
    schema1: bool,
}

/// A running `docker-registry serve`. Killed and its temp dir removed on drop.
pub struct Registry {
    port: u16,
    config_path: PathBuf,
    storage_dir: PathBuf,
    log_path: PathBuf,
    process: Option<ServerProcess>,
    settings: Settings,
    tls: TlsMode,
    ca_pem: Option<String>,
    client_identity: Option<(String, String)>,
    // Last: dropped after the process is killed.
    _dir: TempDir,
}

fn yaml_str(p: &Path) -> String {
    serde_json::to_string(&p.to_string_lossy()).expect("yaml string")
}

impl Registry {
    /// Anonymous, plain HTTP, delete enabled.
    pub async fn start() -> Registry {
        Self::builder().start().await
    }

    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        let scheme = if self.tls == TlsMode::None { "http" } else { "https" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn tls_mode(&self) -> TlsMode {
        self.tls
    }

    /// The CA that signed the server certificate, or for [`TlsMode::SelfSignedLeaf`] the certificate
    /// itself. `None` for plain HTTP.
    pub fn ca_pem(&self) -> Option<String> {
        self.ca_pem.clone()
    }

    /// (cert PEM, key PEM) signed by the client CA, for [`TlsMode::CaSignedWithClientCa`].
    pub fn client_identity(&self) -> Option<(String, String)> {
        self.client_identity.clone()
    }

    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// `storage.filesystem.rootdirectory`.
    pub fn storage_dir(&self) -> &Path {
        &self.storage_dir
    }

    /// Everything the registry printed so far (stdout + stderr, across restarts).
    pub fn log(&self) -> String {
        read_lossy(&self.log_path)
    }

    /// PID of the running process.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().and_then(|p| p.pid())
    }

    pub fn is_read_only(&self) -> bool {
        self.settings.read_only
    }

    /// Stop, rewrite the config's read-only flag, and start again on the same port and storage.
    pub async fn restart(&mut self, read_only: bool) {
        self.stop();
        self.settings.read_only = read_only;
        self.launch(false).await;
    }

    /// Kill the registry process (the temp dir stays until drop).
    pub fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.kill();
        }
    }

    fn config_yaml(&self) -> String {
        let s = &self.settings;
        let mut y = String::new();
        y.push_str("version: 0.1\n");
        y.push_str("log:\n  level: info\n  accesslog:\n    disabled: true\n");
        y.push_str("storage:\n");
        y.push_str(&format!("  filesystem:\n    rootdirectory: {}\n", yaml_str(&self.storage_dir)));
        y.push_str(&format!("  delete:\n    enabled: {}\n", s.delete_enabled));
        if s.blob_cache {
            y.push_str("  cache:\n    blobdescriptor: inmemory\n");
        }
        y.push_str(&format!(
            "  maintenance:\n    uploadpurging:\n      enabled: false\n    readonly:\n      enabled: {}\n",
            s.read_only
        ));
        y.push_str("http:\n");
        y.push_str(&format!("  addr: 127.0.0.1:{}\n", self.port));
        y.push_str("  secret: berth-test-http-secret\n");
        y.push_str("  headers:\n    X-Content-Type-Options: [nosniff]\n");
        if let Some((cert, key, client_cas)) = &s.tls_files {
            y.push_str(&format!("  tls:\n    certificate: {}\n    key: {}\n", yaml_str(cert), yaml_str(key)));
            if let Some(cas) = client_cas {
                y.push_str(&format!("    clientcas:\n      - {}\n", yaml_str(cas)));
            }
        }
        if s.schema1 {
            y.push_str("compatibility:\n  schema1:\n    enabled: true\n");
        }
        let root = self.config_path.parent().expect("config dir");
        match &s.auth {
            Auth::None => {}
            Auth::Htpasswd(_) => {
                y.push_str(&format!(
                    "auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n",
                    yaml_str(&root.join("htpasswd"))
                ));
            }
            Auth::Token(realm, _) => {
                y.push_str(&format!(
                    "auth:\n  token:\n    realm: {}\n    service: {TOKEN_SERVICE}\n    issuer: {TOKEN_ISSUER}\n    rootcertbundle: {}\n",
                    serde_json::to_string(realm).expect("realm"),
                    yaml_str(&root.join("token-signer.crt"))
                ));
            }
        }
        y
    }

    /// Write the config and start; on a port clash pick another port (only if `new_port_ok`) or
    /// retry the same one.
    async fn launch(&mut self, new_port_ok: bool) {
        let mut attempts = 0;
        loop {
            attempts += 1;
            if self.port == 0 || (new_port_ok && attempts > 1) {
                self.port = crate::free_port();
            }
            write_file(&self.config_path, self.config_yaml());
            let log_start = std::fs::metadata(&self.log_path).map(|m| m.len()).unwrap_or(0);
            let args = vec!["serve".to_string(), self.config_path.to_string_lossy().into_owned()];
            let env: Vec<(String, String)> =
                self.settings.gogc.iter().map(|g| ("GOGC".to_string(), g.to_string())).collect();
            let mut process = spawn_logged(REGISTRY_BIN, &args, &env, &self.log_path)
                .unwrap_or_else(|e| panic!("spawn {REGISTRY_BIN}: {e}"));
            match self.wait_ready(&mut process).await {
                Ok(()) => {
                    self.process = Some(process);
                    return;
                }
                Err(why) => {
                    process.kill();
                    let log = read_lossy(&self.log_path);
                    let new_log = log.get(log_start as usize..).unwrap_or(&log);
                    if new_log.contains("address already in use") && attempts < 4 {
                        if !new_port_ok {
                            tokio::time::sleep(Duration::from_millis(300)).await;
                        }
                        continue;
                    }
                    panic!(
                        "docker-registry did not come up on port {} ({why}).\nconfig:\n{}\nlog:\n{}",
                        self.port,
                        self.config_yaml(),
                        log
                    );
                }
            }
        }
    }

    fn probe_client(&self) -> reqwest::Client {
        let mut b =
            reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(2)).danger_accept_invalid_certs(true);
        if let Some((cert, key)) = &self.client_identity {
            let id = reqwest::Identity::from_pem(format!("{cert}\n{key}").as_bytes()).expect("client identity");
            b = b.identity(id);
        }
        b.build().expect("probe client")
    }

    async fn wait_ready(&self, process: &mut ServerProcess) -> Result<(), String> {
        let client = self.probe_client();
        wait_until_answers(process, &client, &format!("{}/v2/", self.url()), STARTUP_TIMEOUT).await
    }

    /// Run `docker-registry garbage-collect [--dry-run] [--delete-untagged] CONFIG` and parse it.
    pub fn garbage_collect(&self, dry_run: bool, delete_untagged: bool) -> GcRun {
        let mut cmd = std::process::Command::new(REGISTRY_BIN);
        cmd.arg("garbage-collect");
        if dry_run {
            cmd.arg("--dry-run");
        }
        if delete_untagged {
            cmd.arg("--delete-untagged");
        }
        cmd.arg(&self.config_path);
        let out = cmd.output().unwrap_or_else(|e| panic!("run {REGISTRY_BIN} garbage-collect: {e}"));
        GcRun::parse(
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `sha256:<hex>` of every `<root>/docker/registry/v2/blobs/sha256/xx/<hex>/data`.
    pub fn blobs_on_disk(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let base = self.storage_dir.join("docker/registry/v2/blobs/sha256");
        let Ok(prefixes) = std::fs::read_dir(&base) else {
            return out;
        };
        for prefix in prefixes.flatten() {
            let Ok(entries) = std::fs::read_dir(prefix.path()) else {
                continue;
            };
            for e in entries.flatten() {
                if e.path().join("data").is_file() {
                    out.insert(format!("sha256:{}", e.file_name().to_string_lossy()));
                }
            }
        }
        out
    }

    /// The names of repositories present on disk (directories holding `_manifests`).
    pub fn repositories_on_disk(&self) -> BTreeSet<String> {
        fn walk(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if !e.path().is_dir() || name.starts_with('_') {
                    continue;
                }
                let full = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
                if e.path().join("_manifests").is_dir() {
                    out.insert(full.clone());
                }
                walk(&e.path(), &full, out);
            }
        }
        let mut out = BTreeSet::new();
        walk(&self.storage_dir.join("docker/registry/v2/repositories"), "", &mut out);
        out
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The outcome of `docker-registry garbage-collect`.
#[derive(Clone, Debug, Default)]
pub struct GcRun {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
    /// From `N blobs marked, M blobs and K manifests eligible for deletion`.
    pub marked: Option<u64>,
    pub blobs_eligible: Option<u64>,
    pub manifests_eligible: Option<u64>,
    /// From `blob eligible for deletion: sha256:…` lines.
    pub eligible_blobs: Vec<String>,
}

impl GcRun {
    pub fn parse(success: bool, stdout: String, stderr: String) -> GcRun {
        let mut run = GcRun { success, ..GcRun::default() };
        for line in stdout.lines().chain(stderr.lines()) {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("blob eligible for deletion: ") {
                let d = rest.trim();
                if d.starts_with("sha256:") && !run.eligible_blobs.iter().any(|x| x == d) {
                    run.eligible_blobs.push(d.to_string());
                }
            } else if line.ends_with("manifests eligible for deletion") {
                // N blobs marked, M blobs and K manifests eligible for deletion
                let words: Vec<&str> = line.split_whitespace().collect();
                if words.len() >= 9
                    && words[1] == "blobs"
                    && words[2] == "marked,"
                    && words[4] == "blobs"
                    && words[5] == "and"
                {
                    run.marked = words[0].parse().ok();
                    run.blobs_eligible = words[3].parse().ok();
                    run.manifests_eligible = words[6].parse().ok();
                }
            }
        }
        run.stdout = stdout;
        run.stderr = stderr;
        run
    }
}
