//! `berth --version`, `berth about`, and the CLI's log file.

use assert_cmd::Command;

fn berth(data: &std::path::Path, logs: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("berth").expect("berth binary");
    c.env("BERTH_DATA_DIR", data).env("BERTH_LOG_DIR", logs).env_remove("BERTH_LOG");
    c
}

#[test]
fn version_is_the_cargo_version() {
    let tmp = tempfile::tempdir().unwrap();
    let out = berth(&tmp.path().join("data"), &tmp.path().join("logs")).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("berth {}\n", env!("CARGO_PKG_VERSION")));
    assert!(!tmp.path().join("data").exists(), "--version touches no data dir");
}

#[test]
fn about_shows_data_database_and_log_paths_without_opening_the_database() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, logs) = (tmp.path().join("data"), tmp.path().join("logs"));
    let out = berth(&data, &logs).args(["about", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["data_dir"], data.display().to_string());
    assert_eq!(v["database_file"], data.join("berth.sqlite").display().to_string());
    assert_eq!(v["log_dir"], logs.display().to_string());
    assert_eq!(v["tauri_version"], serde_json::Value::Null);
    assert!(!data.join("berth.sqlite").exists(), "about opens no database");

    let out = berth(&data, &logs).arg("about").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with(&format!("Berth {}\n", env!("CARGO_PKG_VERSION"))), "{text}");
    assert!(text.contains(&format!("logs:      {}", logs.display())), "{text}");
}

#[test]
fn commands_log_to_a_daily_file_in_the_log_dir_and_keep_stderr_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, logs) = (tmp.path().join("data"), tmp.path().join("logs"));
    let out = berth(&data, &logs).args(["profile", "list", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "nothing on stderr: {}", String::from_utf8_lossy(&out.stderr));

    let files: Vec<_> = std::fs::read_dir(&logs).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("berth-cli.") && name.ends_with(".log"), "{name}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains("berth profile"), "the command is logged: {text}");

    // An unusable log dir does not stop the command, nor add to its stderr.
    let blocker = tmp.path().join("blocker");
    std::fs::write(&blocker, "").unwrap();
    let out = berth(&data, &blocker.join("logs")).args(["profile", "list"]).output().unwrap();
    assert!(out.status.success());
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}
