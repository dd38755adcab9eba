//! The `berth` binary end to end, in a temporary data dir, against a real registry.

use assert_cmd::Command;
use berth_testkit::{Registry, Seeder};

fn berth(data: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("berth").expect("berth binary");
    c.arg("--data-dir").arg(data).env_remove("BERTH_DATA_DIR");
    c
}

/// stderr must be one clear line, and the exit code non-zero.
fn assert_one_line_failure(out: &std::process::Output, needle: &str) -> String {
    assert!(!out.status.success(), "expected failure, got {:?}", out.status);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(err.trim_end().lines().count(), 1, "one line on stderr, got:\n{err}");
    assert!(err.contains(needle), "stderr {err:?} should mention {needle:?}");
    err
}

#[tokio::test(flavor = "multi_thread")]
async fn profile_add_list_and_repos_json() {
    let registry = Registry::start().await;
    let seeder = Seeder::new(&registry.url());
    seeder.seed_many(12, 2, "apps/web", 8).await;
    let data = tempfile::tempdir().unwrap();

    berth(data.path()).args(["profile", "add", "lab", "--url", &registry.url()]).assert().success();
    let out = berth(data.path()).args(["profile", "list", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let arr = v.as_array().expect("array");
    assert_eq!(arr.len(), 1);
    assert_eq!(arr[0]["name"], "lab");
    assert_eq!(arr[0]["url"], format!("{}/", registry.url()));
    assert_eq!(arr[0]["kind"], "registry");

    let out = berth(data.path()).args(["repos", "lab", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    let expected: Vec<String> = (0..12).map(|i| format!("apps/web{i:05}")).collect();
    assert_eq!(names, expected);

    // Plain output: one name per line.
    let out = berth(data.path()).args(["repos", "lab"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 12);

    // The same name twice is refused and the first profile stays.
    let out = berth(data.path()).args(["profile", "add", "lab", "--url", "http://127.0.0.1:1"]).output().unwrap();
    assert_one_line_failure(&out, "already exists");
    let out = berth(data.path()).args(["profile", "list", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["url"], format!("{}/", registry.url()));
}

#[test]
fn unknown_profile_is_one_clear_line() {
    let data = tempfile::tempdir().unwrap();
    let out = berth(data.path()).args(["repos", "nope"]).output().unwrap();
    let err = assert_one_line_failure(&out, "no profile named \"nope\"");
    assert!(err.contains("berth profile add"), "{err}");
}

#[test]
fn bad_url_is_refused_and_nothing_is_saved() {
    let data = tempfile::tempdir().unwrap();
    for bad in ["registry.example.com:5000", "ftp://x", "https://user:pw@r.example"] {
        let out = berth(data.path()).args(["profile", "add", "x", "--url", bad]).output().unwrap();
        assert_one_line_failure(&out, "invalid registry URL");
    }
    let out = berth(data.path()).args(["profile", "add", "bad name!", "--url", "http://r:5000"]).output().unwrap();
    assert_one_line_failure(&out, "invalid profile name");
    let out = berth(data.path()).args(["profile", "list", "--json"]).output().unwrap();
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(), serde_json::json!([]));
}

#[test]
fn unreachable_server_names_the_fix() {
    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    berth(data.path())
        .args(["profile", "add", "down", "--url", &format!("http://127.0.0.1:{port}")])
        .assert()
        .success();
    let out = berth(data.path()).args(["repos", "down", "--json"]).output().unwrap();
    let err = assert_one_line_failure(&out, "connection refused");
    assert!(err.contains("is the registry running"), "{err}");
    assert!(out.stdout.is_empty(), "nothing on stdout on failure");
}

#[test]
fn data_dir_from_environment() {
    let data = tempfile::tempdir().unwrap();
    let mut c = Command::cargo_bin("berth").unwrap();
    c.env("BERTH_DATA_DIR", data.path())
        .args(["profile", "add", "envp", "--url", "http://127.0.0.1:5000"])
        .assert()
        .success();
    assert!(data.path().join("berth.sqlite").is_file());
}

#[test]
fn version_flag() {
    let out = Command::cargo_bin("berth").unwrap().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with(&format!("berth {}", env!("CARGO_PKG_VERSION"))));
}
