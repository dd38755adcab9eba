//! One job per profile at a time, across processes: two `berth gc --yes` of one profile started at
//! once, exactly one runs and the other says who holds the profile; a sync while GC runs is refused
//! the same way; once the run ended, the profile is free again.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use berth_testkit::{ImageSpec, Registry, Seeder};

fn berth(data: &std::path::Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("berth"));
    c.arg("--data-dir").arg(data).env_remove("BERTH_DATA_DIR").stdin(Stdio::null());
    c
}

fn ok(out: &Output) {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_gc_runs_of_one_profile_exclude_each_other_across_processes() {
    let reg = Registry::start().await;
    Seeder::new(&reg.url()).push_image("app", "v1", &ImageSpec::small("a")).await;
    let data = tempfile::tempdir().unwrap();
    let config = reg.config_path().display().to_string();
    ok(&berth(data.path()).args(["profile", "add", "lab", "--url", &reg.url()]).output().unwrap());
    // The before command keeps the run busy for a while, so the two processes overlap for sure.
    ok(&berth(data.path())
        .args(["profile", "edit", "lab", "--gc-command", &format!("docker-registry garbage-collect {config}")])
        .args(["--gc-before", "sleep 3"])
        .output()
        .unwrap());

    // Started at once: exactly one runs.
    let a = berth(data.path())
        .args(["gc", "lab", "--yes", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let b = berth(data.path())
        .args(["gc", "lab", "--yes", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let (won, lost) = match (a.status.success(), b.status.success()) {
        (true, false) => (a, b),
        (false, true) => (b, a),
        other => panic!(
            "exactly one GC must run, got {other:?}:\n{}\n{}",
            String::from_utf8_lossy(&a.stderr),
            String::from_utf8_lossy(&b.stderr)
        ),
    };
    let report: serde_json::Value = serde_json::from_slice(&won.stdout).unwrap();
    assert_eq!(report["verified"], true, "{report}");
    let why = String::from_utf8_lossy(&lost.stderr);
    assert!(why.contains("cannot start a GC of lab: it is busy (GC by berth (pid "), "{why}");
    assert!(why.contains("ait for that run to finish"), "{why}");
    let history: serde_json::Value =
        serde_json::from_slice(&berth(data.path()).args(["gc", "lab", "--history", "--json"]).output().unwrap().stdout)
            .unwrap();
    assert_eq!(history.as_array().unwrap().len(), 1, "the refused run left no trace: {history}");

    // While a GC runs, a sync of the same profile is refused too, naming the GC's process.
    let mut gc =
        berth(data.path()).args(["gc", "lab", "--yes"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let lock = data.path().join("locks/lab.lock");
    let started = Instant::now();
    while !std::fs::read_to_string(&lock).unwrap_or_default().contains(&format!("pid {}", gc.id())) {
        assert!(started.elapsed() < Duration::from_secs(20), "the GC never took the lock");
        std::thread::sleep(Duration::from_millis(50));
    }
    let sync = berth(data.path()).args(["sync", "lab"]).output().unwrap();
    assert!(!sync.status.success());
    let why = String::from_utf8_lossy(&sync.stderr);
    assert!(why.contains(&format!("cannot start a sync of lab: it is busy (GC by berth (pid {})", gc.id())), "{why}");
    assert!(gc.wait().unwrap().success());

    // Free again once the run ended (the lock goes with the process).
    ok(&berth(data.path()).args(["sync", "lab"]).output().unwrap());
}
