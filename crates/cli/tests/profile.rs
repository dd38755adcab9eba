//! `berth profile …` and `berth cert show` end to end: real registries, nginx, a real credential
//! helper executable, and the real Secret Service (run under `scripts/headless.sh`). Every command's
//! stdout and stderr is kept and grepped for the passwords at the end, as is every file of the data
//! directory (SQLite and its WAL included).

use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Output};

use assert_cmd::Command;
use berth_testkit::{ImageSpec, Nginx, NginxOptions, Registry, Seeder, TestCa, TlsMode};

/// One test's environment: a data dir, a keyring service of its own, and every output seen.
struct Env {
    data: PathBuf,
    service: String,
    outputs: Vec<(String, Output)>,
    extra_env: Vec<(String, String)>,
    _tmp: tempfile::TempDir,
}

impl Env {
    fn new(tag: &str) -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        Env {
            data: tmp.path().join("data"),
            service: format!("dev.berth.desktop.test-cli-{tag}-{}-{nanos}", std::process::id()),
            outputs: Vec::new(),
            extra_env: Vec::new(),
            _tmp: tmp,
        }
    }

    fn dir(&self) -> &Path {
        self._tmp.path()
    }

    fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let p = self.dir().join(name);
        std::fs::write(&p, contents).unwrap();
        p.display().to_string()
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("berth").expect("berth binary");
        c.arg("--data-dir").arg(&self.data).env_remove("BERTH_DATA_DIR");
        c.env("BERTH_KEYRING_SERVICE", &self.service).env("RUST_LOG", "trace");
        for (k, v) in &self.extra_env {
            c.env(k, v);
        }
        c.args(args);
        c
    }

    fn run(&mut self, args: &[&str]) -> Output {
        let out = self.cmd(args).output().unwrap();
        self.outputs.push((args.join(" "), out.clone()));
        out
    }

    fn run_stdin(&mut self, args: &[&str], stdin: &str) -> Output {
        let out = self.cmd(args).write_stdin(stdin.to_string()).output().unwrap();
        self.outputs.push((args.join(" "), out.clone()));
        out
    }

    fn ok(&mut self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert_success(&out, args);
        out
    }

    fn json(&mut self, args: &[&str]) -> serde_json::Value {
        let out = self.ok(args);
        json(&out)
    }

    /// The secret is nowhere: not in any output so far, not in any file of the data dir.
    fn assert_never_leaked(&self, secret: &str) {
        for (args, out) in &self.outputs {
            for (what, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
                assert!(!contains(bytes, secret), "`berth {args}` printed the secret on {what}");
            }
        }
        let files = all_files(&self.data);
        assert!(files.iter().any(|(p, _)| p.ends_with("berth.sqlite")));
        for (p, bytes) in files {
            assert!(!contains(&bytes, secret), "the secret is in {}", p.display());
        }
    }

    fn keyring(&self, account: &str) -> Option<String> {
        let out = StdCommand::new("secret-tool")
            .args(["lookup", "service", &self.service, "username", account])
            .output()
            .unwrap();
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).to_string())
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

fn assert_success(out: &Output, args: &[&str]) {
    assert!(
        out.status.success(),
        "berth {} failed:\nstdout: {}\nstderr: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// stderr must be one clear line, and the exit code non-zero.
fn assert_one_line_failure(out: &Output, needle: &str) -> String {
    assert!(!out.status.success(), "expected failure, got {:?}: {}", out.status, String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(err.trim_end().lines().count(), 1, "one line on stderr, got:\n{err}");
    assert!(err.contains(needle), "stderr {err:?} should mention {needle:?}");
    err
}

fn openssl_fingerprint(pem_path: &str) -> String {
    let out = StdCommand::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in", pem_path])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    s.split('=').nth(1).unwrap().trim().replace(':', "").to_ascii_lowercase()
}

#[test]
fn cert_show_accepts_certificates_and_refuses_the_rest() {
    let mut env = Env::new("cert");
    let ca = TestCa::new("Berth Show CA");
    let ca_path = env.write("ca.pem", ca.cert_pem());
    let (leaf, key) = ca.issue_server(&["registry.example.com", "10.0.0.5"]);
    let leaf_path = env.write("leaf.pem", &leaf);
    let key_path = env.write("leaf.key", &key);

    let v = env.json(&["cert", "show", &ca_path, "--json"]);
    assert!(v["subject"].as_str().unwrap().contains("CN=Berth Show CA"), "{v}");
    assert_eq!(v["issuer"], v["subject"]);
    assert_eq!(v["is_ca"], true);
    assert_eq!(v["self_signed"], true);
    assert_eq!(v["expired"], false);
    assert_eq!(v["sha256_fingerprint"], openssl_fingerprint(&ca_path));
    assert!(v["not_after"].as_str().unwrap().len() >= 20, "{v}");
    assert!(v["not_before"].is_string());

    let v = env.json(&["cert", "show", &leaf_path, "--json"]);
    assert_eq!(v["is_ca"], false);
    assert_eq!(v["self_signed"], false);
    assert!(v["issuer"].as_str().unwrap().contains("Berth Show CA"));
    assert_eq!(v["names"], serde_json::json!(["registry.example.com", "10.0.0.5"]));
    assert_eq!(v["sha256_fingerprint"], openssl_fingerprint(&leaf_path));

    // A bundle: an array. Plain output names the fields.
    let bundle = env.write("bundle.pem", format!("{leaf}{}", ca.cert_pem()));
    let v = env.json(&["cert", "show", &bundle, "--json"]);
    assert_eq!(v.as_array().unwrap().len(), 2);
    let out = env.ok(&["cert", "show", &ca_path]);
    let text = String::from_utf8_lossy(&out.stdout);
    for field in ["subject", "issuer", "valid", "sha256", "CA           yes"] {
        assert!(text.contains(field), "{field} in {text}");
    }

    // An expired certificate is shown, flagged, with a warning.
    let expired = env.write("expired.pem", ca.issue_expired_server(&["old.example.com"]).0);
    let out = env.ok(&["cert", "show", &expired, "--json"]);
    assert_eq!(json(&out)["expired"], true);
    assert!(String::from_utf8_lossy(&out.stderr).contains("expired on"));

    // Refusals: one line each.
    let der = env.dir().join("ca.der");
    assert!(StdCommand::new("openssl")
        .args(["x509", "-outform", "der", "-in", &ca_path, "-out"])
        .arg(&der)
        .status()
        .unwrap()
        .success());
    let der = der.display().to_string();
    let empty = env.write("empty.pem", "");
    let garbage = env.write("garbage.bin", [0x13u8, 0x37, 0x00, 0xff, 0x42, 0x99]);
    let text = env.write("notes.txt", "this is the CA, trust me\n");
    let missing = env.dir().join("missing.pem").display().to_string();
    for (file, needle) in [
        (&key_path, "private key"),
        (&der, "DER"),
        (&empty, "is empty"),
        (&garbage, "not PEM"),
        (&text, "not PEM"),
        (&missing, "cannot read"),
    ] {
        let out = env.run(&["cert", "show", file, "--json"]);
        assert_one_line_failure(&out, needle);
        assert!(out.stdout.is_empty());
    }
    // cert show needs no data directory.
    assert!(!env.data.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn ca_file_reaches_the_tls_registry_and_without_it_unknown_ca() {
    let reg = Registry::builder().tls(TlsMode::CaSigned).start().await;
    let mut env = Env::new("ca");
    let ca = env.write("ca.pem", reg.ca_pem().unwrap());
    env.ok(&["profile", "add", "tls", "--url", &reg.url(), "--ca-file", &ca]);
    let v = env.json(&["profile", "test", "tls", "--json"]);
    assert_eq!(v["ok"], true, "{v}");

    env.ok(&["profile", "add", "bare", "--url", &reg.url()]);
    let out = env.run(&["profile", "test", "bare", "--json"]);
    assert_one_line_failure(&out, "unknown certificate authority");
    assert_eq!(json(&out)["error"]["registry"], "tls_unknown_ca");

    // An expired certificate and a key are refused as CAs; nothing is saved.
    let expired = env.write("old.pem", TestCa::new("old").issue_expired_server(&["x"]).0);
    let out = env.run(&["profile", "add", "old", "--url", &reg.url(), "--ca-file", &expired]);
    assert_one_line_failure(&out, "expired on");
    let key = env.write("k.pem", TestCa::new("k").key_pem());
    let out = env.run(&["profile", "edit", "bare", "--ca-file", &key]);
    assert_one_line_failure(&out, "private key");

    // edit --ca-file fixes the bare profile.
    env.ok(&["profile", "edit", "bare", "--ca-file", &ca]);
    assert_eq!(env.json(&["profile", "test", "bare", "--json"])["ok"], true);

    let list = env.json(&["profile", "list", "--json"]);
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["bare", "tls"]);
    let tls = &list[1];
    assert_eq!(tls["has_password"], false);
    assert_eq!(tls["tls"]["cas"].as_array().unwrap().len(), 1);
    assert_eq!(tls["tls"]["insecure_skip_verify"], false);
    assert_eq!(tls["tls"]["system_roots"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn htpasswd_credentials_from_stdin_and_the_password_never_leaks() {
    let password = "Pw-cli-93e1b7-secret";
    let reg = Registry::builder().htpasswd(&[("alice", password)]).start().await;
    let seeder = Seeder::new(&reg.url()).with_basic("alice", password);
    seeder.push_image("team/api", "1", &ImageSpec::small("api")).await;
    seeder.push_image("team/web", "1", &ImageSpec::small("web")).await;
    let mut env = Env::new("htpasswd");

    let out = env.run_stdin(
        &["profile", "add", "lab", "--url", &reg.url(), "--username", "alice", "--password-stdin"],
        &format!("{password}\n"),
    );
    assert_success(&out, &["profile", "add"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("password stored in the OS keyring"));
    assert_eq!(env.keyring("lab").as_deref(), Some(password), "stored without the line break");

    let v = env.json(&["repos", "lab", "--json"]);
    let names: Vec<&str> = v.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["team/api", "team/web"]);
    let v = env.json(&["profile", "test", "lab", "--json"]);
    assert_eq!(v["ok"], true);

    let list = env.json(&["profile", "list", "--json"]);
    assert_eq!(list[0]["has_password"], true);
    assert_eq!(list[0]["username"], "alice");
    assert_eq!(list[0]["auth"], "basic");
    env.ok(&["profile", "list"]);
    env.ok(&["profile", "show", "lab"]);
    env.ok(&["profile", "show", "lab", "--json"]);
    env.ok(&["profile", "export", "lab"]);
    env.ok(&["profile", "snippets", "lab"]);

    // A wrong password: refused with the bcrypt hint.
    env.run_stdin(
        &["profile", "add", "wrong", "--url", &reg.url(), "--username", "alice", "--password-stdin"],
        "not-the-password\n",
    );
    let out = env.run(&["repos", "wrong"]);
    assert_one_line_failure(&out, "bcrypt");
    // No password at all: refused.
    env.ok(&["profile", "edit", "wrong", "--no-password"]);
    assert_eq!(env.keyring("wrong"), None);
    assert_one_line_failure(&env.run(&["repos", "wrong"]), "rejected the username or password");
    // Empty stdin is refused.
    let out = env.run_stdin(&["profile", "edit", "wrong", "--password-stdin"], "");
    assert_one_line_failure(&out, "no password on stdin");
    // The right one via edit.
    env.run_stdin(&["profile", "edit", "wrong", "--password-stdin"], password);
    env.json(&["repos", "wrong", "--json"]);

    // Duplicate copies the keyring entry; rm removes it with the files.
    env.ok(&["profile", "duplicate", "lab", "lab2"]);
    assert_eq!(env.keyring("lab2").as_deref(), Some(password));
    env.json(&["repos", "lab2", "--json"]);
    env.ok(&["profile", "rm", "lab"]);
    assert_eq!(env.keyring("lab"), None);
    assert_one_line_failure(&env.run(&["profile", "rm", "lab"]), "no profile named");

    env.assert_never_leaked(password);
    env.ok(&["profile", "rm", "lab2"]);
    env.ok(&["profile", "rm", "wrong"]);
    assert_eq!(env.keyring("lab2"), None);
    assert_eq!(env.keyring("wrong"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn mtls_through_nginx_with_client_cert_and_key() {
    let upstream = Registry::start().await;
    Seeder::new(&upstream.url()).push_image("m/tls", "1", &ImageSpec::small("m")).await;
    let nginx = Nginx::start(&upstream, NginxOptions { client_cert_required: true, ..NginxOptions::default() }).await;
    let mut env = Env::new("mtls");
    let ca = env.write("ca.pem", nginx.ca_pem());
    let (cert, key) = nginx.client_identity().unwrap();
    let cert = env.write("client.cert", cert);
    let key = env.write("client.key", key);

    env.ok(&[
        "profile",
        "add",
        "m",
        "--url",
        &nginx.url(),
        "--ca-file",
        &ca,
        "--client-cert",
        &cert,
        "--client-key",
        &key,
    ]);
    assert_eq!(env.json(&["profile", "test", "m", "--json"])["ok"], true);
    let v = env.json(&["repos", "m", "--json"]);
    assert_eq!(v[0]["name"], "m/tls");
    let shown = env.json(&["profile", "show", "m", "--json"]);
    assert!(shown["tls"]["client_cert"]["subject"].as_str().unwrap().contains("berth-test-client"));

    env.ok(&["profile", "add", "nocert", "--url", &nginx.url(), "--ca-file", &ca]);
    let out = env.run(&["profile", "test", "nocert", "--json"]);
    assert!(!out.status.success());
    assert_eq!(json(&out)["ok"], false);
    assert!(!env.run(&["repos", "nocert"]).status.success());

    // clap wants both halves.
    assert!(!env.run(&["profile", "add", "half", "--url", &nginx.url(), "--client-cert", &cert]).status.success());
    // Removing the client certificate breaks it again.
    env.ok(&["profile", "edit", "m", "--no-client-cert"]);
    assert_eq!(env.json(&["profile", "show", "m", "--json"])["tls"]["client_cert"], serde_json::Value::Null);
    assert!(!env.run(&["profile", "test", "m", "--json"]).status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn import_docker_config_through_a_credential_helper_and_auths() {
    let pw_a = "helper-pw-aa11";
    let pw_b = "auths-pw-bb22";
    let a = Registry::builder().tls(TlsMode::CaSigned).htpasswd(&[("alice", pw_a)]).start().await;
    let b = Registry::builder().htpasswd(&[("bob", pw_b)]).start().await;
    Seeder::new(&a.url())
        .with_ca(&a.ca_pem().unwrap())
        .with_basic("alice", pw_a)
        .push_image("a/one", "1", &ImageSpec::small("a"))
        .await;
    Seeder::new(&b.url()).with_basic("bob", pw_b).push_image("b/two", "1", &ImageSpec::small("b")).await;
    let mut env = Env::new("docker");

    // A real credential helper on PATH, speaking the protocol: `get`, server URL on stdin, JSON out.
    let bin = env.dir().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = env.dir().join("helper.log");
    let script = format!(
        r#"#!/bin/sh
if [ "$1" = list ]; then
  echo "list" >> '{log}'
  printf '{{"%s":"alice"}}\n' '{host}'
  exit 0
fi
read -r server
echo "$1 $server" >> '{log}'
if [ "$1" = get ] && [ "$server" = '{host}' ]; then
  printf '{{"ServerURL":"%s","Username":"alice","Secret":"{pw}"}}\n' "$server"
  exit 0
fi
echo "credentials not found in native keychain"
exit 1
"#,
        log = log.display(),
        host = a.host(),
        pw = pw_a
    );
    let helper = bin.join("docker-credential-berthtest");
    std::fs::write(&helper, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();

    // certs.d for the TLS registry, as Docker reads it.
    let certs_d = env.dir().join("certs.d");
    std::fs::create_dir_all(certs_d.join(a.host())).unwrap();
    std::fs::write(certs_d.join(a.host()).join("ca.crt"), a.ca_pem().unwrap()).unwrap();

    use base64::Engine;
    let auth_b = base64::engine::general_purpose::STANDARD.encode(format!("bob:{pw_b}"));
    let config = serde_json::json!({
        "auths": {
            a.host(): {},
            format!("http://{}", b.host()): { "auth": auth_b },
            "https://index.docker.io/v1/": { "auth": base64::engine::general_purpose::STANDARD.encode("hub:hubpw") },
            "127.0.0.1:1": {}
        },
        "credHelpers": { a.host(): "berthtest" }
    });
    let config_path = env.write("config.json", serde_json::to_vec_pretty(&config).unwrap());
    env.extra_env.push(("PATH".into(), format!("{}:{}", bin.display(), std::env::var("PATH").unwrap())));
    env.extra_env.push(("BERTH_DOCKER_CERTS_D".into(), certs_d.display().to_string()));

    let r = env.json(&["profile", "import-docker-config", &config_path, "--json"]);
    let created: Vec<&str> = r["created"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    let name_a = format!("127.0.0.1-{}", a.port());
    let name_b = format!("127.0.0.1-{}", b.port());
    assert!(created.contains(&name_a.as_str()) && created.contains(&name_b.as_str()), "{r}");
    let skipped = r["skipped"].to_string();
    assert!(skipped.contains("Docker Hub"), "{r}");
    let helper_log = std::fs::read_to_string(&log).unwrap();
    assert!(helper_log.contains(&format!("get {}", a.host())), "helper protocol: {helper_log}");

    let pa = r["created"].as_array().unwrap().iter().find(|p| p["name"] == name_a.as_str()).unwrap();
    assert_eq!(pa["url"], format!("{}/", a.url()));
    assert_eq!(pa["username"], "alice");
    assert_eq!(pa["has_password"], true);
    assert_eq!(pa["tls"]["cas"].as_array().unwrap().len(), 1, "ca.crt from certs.d");
    let pb = r["created"].as_array().unwrap().iter().find(|p| p["name"] == name_b.as_str()).unwrap();
    assert_eq!(pb["url"], format!("{}/", b.url()), "http:// kept from the key");
    assert_eq!(pb["username"], "bob");
    assert_eq!(env.keyring(&name_a).as_deref(), Some(pw_a));
    assert_eq!(env.keyring(&name_b).as_deref(), Some(pw_b));

    assert_eq!(env.json(&["repos", &name_a, "--json"])[0]["name"], "a/one");
    assert_eq!(env.json(&["repos", &name_b, "--json"])[0]["name"], "b/two");

    // Again: nothing new.
    let r = env.json(&["profile", "import-docker-config", &config_path, "--json"]);
    assert!(r["created"].as_array().unwrap().is_empty(), "{r}");
    assert!(r["skipped"].to_string().contains("already a profile"), "{r}");
    env.ok(&["profile", "import-docker-config", &config_path]);

    let missing = env.dir().join("nope.json").display().to_string();
    assert_one_line_failure(&env.run(&["profile", "import-docker-config", &missing]), "docker login");

    env.assert_never_leaked(pw_a);
    env.assert_never_leaked(pw_b);
    env.ok(&["profile", "rm", &name_a]);
    env.ok(&["profile", "rm", &name_b]);

    // credsStore alone: the hosts come from the helper's `list`, the secrets from its `get`.
    let mut env2 = Env::new("credsstore");
    env2.extra_env = env.extra_env.clone();
    let store_only = env.write("store-only.json", r#"{"credsStore":"berthtest"}"#);
    let r = env2.json(&["profile", "import-docker-config", &store_only, "--json"]);
    assert_eq!(r["created"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(r["created"][0]["name"], name_a.as_str());
    assert_eq!(r["created"][0]["has_password"], true);
    assert_eq!(env2.keyring(&name_a).as_deref(), Some(pw_a));
    assert_eq!(env2.json(&["repos", &name_a, "--json"])[0]["name"], "a/one");
    assert!(std::fs::read_to_string(&log).unwrap().contains("list"));
    env2.assert_never_leaked(pw_a);
    env2.ok(&["profile", "rm", &name_a]);
}

#[tokio::test(flavor = "multi_thread")]
async fn trust_pin_on_a_self_signed_registry() {
    let reg = Registry::builder().tls(TlsMode::SelfSignedLeaf).start().await;
    let mut env = Env::new("trust");
    env.ok(&["profile", "add", "self", "--url", &reg.url()]);
    assert!(!env.run(&["profile", "test", "self", "--json"]).status.success());

    // No TTY and no --yes: refuse, trust nothing.
    let out = env.run(&["profile", "trust", "self", "--pin"]);
    assert_one_line_failure(&out, "--yes");
    assert!(String::from_utf8_lossy(&out.stdout).contains("sha256"), "the chain is shown first");
    assert_eq!(env.json(&["profile", "show", "self", "--json"])["tls"]["pinned_sha256"], serde_json::json!([]));
    // As a CA it cannot work: the message says to pin.
    assert_one_line_failure(&env.run(&["profile", "trust", "self", "--yes"]), "--pin");

    let out = env.ok(&["profile", "trust", "self", "--pin", "--yes"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let cert = env.write("server.pem", reg.ca_pem().unwrap());
    let fp = openssl_fingerprint(&cert);
    assert!(text.contains(&fp), "{text}");
    assert!(text.contains("pinned"), "{text}");
    assert_eq!(env.json(&["profile", "test", "self", "--json"])["ok"], true);
    assert_eq!(env.json(&["profile", "show", "self", "--json"])["tls"]["pinned_sha256"], serde_json::json!([fp]));

    // --pin-sha256 at add time does the same.
    env.ok(&["profile", "add", "pinned", "--url", &reg.url(), "--pin-sha256", &fp.to_ascii_uppercase()]);
    assert_eq!(env.json(&["profile", "test", "pinned", "--json"])["ok"], true);
    let snippets = String::from_utf8_lossy(&env.ok(&["profile", "snippets", "pinned"]).stdout).to_string();
    assert!(snippets.contains("/etc/docker/certs.d/"), "{snippets}");
}

#[tokio::test(flavor = "multi_thread")]
async fn export_import_round_trip_without_secrets() {
    let password = "export-pw-c0ffee";
    let reg = Registry::builder().tls(TlsMode::CaSigned).htpasswd(&[("carol", password)]).start().await;
    let mut env = Env::new("export");
    let ca = env.write("ca.pem", reg.ca_pem().unwrap());
    env.run_stdin(
        &[
            "profile",
            "add",
            "src",
            "--url",
            &reg.url(),
            "--kind",
            "registry",
            "--auth",
            "token",
            "--username",
            "carol",
            "--password-stdin",
            "--ca-file",
            &ca,
        ],
        password,
    );
    let out = env.ok(&["profile", "export", "src"]);
    assert!(!contains(&out.stdout, password));
    let export = json(&out);
    assert_eq!(export["format"], "berth-profile/1");
    assert_eq!(export["auth"], "token");
    assert_eq!(export["username"], "carol");
    assert!(export["tls"]["ca_certificates"][0].as_str().unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not exported"));
    let file = env.write("src.json", &out.stdout);

    env.ok(&["profile", "import", &file, "--name", "dst"]);
    assert_one_line_failure(&env.run(&["profile", "import", &file]), "already exists");
    let dst = env.json(&["profile", "show", "dst", "--json"]);
    assert_eq!(dst["has_password"], false);
    assert_eq!(dst["tls"]["cas"].as_array().unwrap().len(), 1);
    assert_eq!(dst["auth"], "token");
    // The same fields as the source, but for the name, the timestamps, the file paths and the password.
    let src = env.json(&["profile", "show", "src", "--json"]);
    assert_eq!(src["tls"]["cas"][0]["sha256_fingerprint"], dst["tls"]["cas"][0]["sha256_fingerprint"]);
    assert_eq!(src["url"], dst["url"]);
    env.run_stdin(&["profile", "edit", "dst", "--password-stdin"], password);
    assert_eq!(env.json(&["profile", "test", "dst", "--json"])["ok"], true);

    let bad = env.write("bad.json", "{\"format\":\"something-else\"}");
    assert_one_line_failure(&env.run(&["profile", "import", &bad]), "not a Berth profile file");
    env.assert_never_leaked(password);
}

#[test]
fn no_secret_service_is_a_clear_error_and_nothing_is_saved() {
    let mut env = Env::new("nokeyring");
    env.extra_env.push(("DBUS_SESSION_BUS_ADDRESS".into(), "unix:path=/nonexistent/berth-bus".into()));
    env.extra_env.push(("DISPLAY".into(), String::new()));
    let out = env.run_stdin(
        &["profile", "add", "x", "--url", "https://r.example.com", "--username", "u", "--password-stdin"],
        "pw-nokeyring",
    );
    let err = assert_one_line_failure(&out, "nstall gnome-keyring");
    assert!(err.contains("D-Bus session") && err.contains("Secret Service"), "{err}");
    assert_eq!(env.json(&["profile", "list", "--json"]), serde_json::json!([]));
    // Without a secret the keyring is not needed.
    env.ok(&["profile", "add", "y", "--url", "https://r.example.com"]);
    env.assert_never_leaked("pw-nokeyring");
}

#[test]
fn snippets_for_an_http_registry() {
    let mut env = Env::new("snippets");
    env.ok(&["profile", "add", "plain", "--url", "http://10.9.8.7:5000"]);
    let text = String::from_utf8_lossy(&env.ok(&["profile", "snippets", "plain"]).stdout).to_string();
    assert!(text.contains("\"insecure-registries\": [\"10.9.8.7:5000\"]"), "{text}");
    assert!(text.contains("docker login 10.9.8.7:5000"), "{text}");
    assert!(text.contains("[[registry]]\nlocation = \"10.9.8.7:5000\"\ninsecure = true"), "{text}");
    let v = env.json(&["profile", "snippets", "plain", "--json"]);
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["title"].is_string() && s["language"].is_string() && s["text"].is_string()));
}
