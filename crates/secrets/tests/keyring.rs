//! The real Secret Service (gnome-keyring in a D-Bus session): run under `scripts/headless.sh`.
//! Each test uses its own service name, and the tests take turns (concurrent D-Bus access can fail).

use std::process::Command;
use std::sync::Mutex;

use berth_secrets::{KeyringStore, Secret, SecretError, SecretKind, SecretStore};

static SERIAL: Mutex<()> = Mutex::new(());

fn unique_service(tag: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("dev.berth.desktop.test-{tag}-{}-{nanos}", std::process::id())
}

/// What `secret-tool` (libsecret, an independent client) finds for service/account.
fn secret_tool_lookup(service: &str, account: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", service, "username", account])
        .output()
        .expect("secret-tool (libsecret-tools) is installed");
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).to_string())
}

#[test]
fn round_trip_through_the_real_secret_service() {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let service = unique_service("rt");
    let store = KeyringStore::new(&service);
    store.self_check().expect("the Secret Service works (run under scripts/headless.sh)");

    let pw = "s3cr3t-ünïcode-✓";
    store.set("lab", SecretKind::Password, &Secret::new(pw)).unwrap();
    // A brand-new store object (new D-Bus connection, new Entry) sees it…
    let fresh = KeyringStore::new(&service);
    assert_eq!(fresh.get("lab", SecretKind::Password).unwrap().expect("stored").expose(), pw);
    // …and so does libsecret's own client: it is really in the Secret Service.
    assert_eq!(secret_tool_lookup(&service, "lab").as_deref(), Some(pw));
    // The passphrase is another entry.
    assert!(fresh.get("lab", SecretKind::KeyPassphrase).unwrap().is_none());
    store.set("lab", SecretKind::KeyPassphrase, &Secret::new("phrase")).unwrap();
    assert_eq!(secret_tool_lookup(&service, "lab/client-key-passphrase").as_deref(), Some("phrase"));

    // Overwrite keeps one item.
    store.set("lab", SecretKind::Password, &Secret::new("second")).unwrap();
    assert_eq!(fresh.get("lab", SecretKind::Password).unwrap().unwrap().expose(), "second");

    // Delete removes it, for every client.
    assert!(fresh.delete("lab", SecretKind::Password).unwrap());
    assert!(store.get("lab", SecretKind::Password).unwrap().is_none());
    assert_eq!(secret_tool_lookup(&service, "lab"), None);
    assert!(!store.delete("lab", SecretKind::Password).unwrap(), "second delete finds nothing");
    assert!(store.delete("lab", SecretKind::KeyPassphrase).unwrap());
    assert_eq!(secret_tool_lookup(&service, "lab/client-key-passphrase"), None);
}

#[test]
fn services_do_not_see_each_other() {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let a = KeyringStore::new(unique_service("a"));
    let b = KeyringStore::new(unique_service("b"));
    a.set("p", SecretKind::Password, &Secret::new("only-a")).unwrap();
    assert!(b.get("p", SecretKind::Password).unwrap().is_none());
    assert!(a.delete("p", SecretKind::Password).unwrap());
}

#[test]
fn self_check_leaves_nothing_behind() {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let service = unique_service("probe");
    KeyringStore::new(&service).self_check().unwrap();
    let out = Command::new("secret-tool").args(["search", "--all", "service", &service]).output().unwrap();
    let listing = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!listing.contains("berth-self-check"), "probe entry left behind:\n{listing}");
}

/// Without a session bus the error says what to install and start. Runs the check in a child
/// process (this test binary again) so that this process's environment stays untouched.
#[test]
fn no_secret_service_is_a_clear_error() {
    if std::env::var_os("BERTH_SECRETS_CHILD").is_some() {
        let err = KeyringStore::new(unique_service("nobus")).self_check().unwrap_err();
        assert!(matches!(err, SecretError::Unavailable { .. }), "{err:?}");
        assert!(err.hint().contains("install gnome-keyring"), "{}", err.hint());
        assert!(err.hint().contains("D-Bus session"), "{}", err.hint());
        let err = KeyringStore::new("x").get("p", SecretKind::Password).unwrap_err();
        assert!(matches!(err, SecretError::Unavailable { .. }), "{err:?}");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args(["--exact", "no_secret_service_is_a_clear_error", "--nocapture"])
        .env("BERTH_SECRETS_CHILD", "1")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/berth-test-bus")
        .env_remove("DISPLAY")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
}
