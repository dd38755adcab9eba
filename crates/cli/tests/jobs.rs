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
    let (url, config) = (reg.url(), reg.config_path().display().to_string());
    Seeder::new(&url).push_image("app", "v1", &ImageSpec::small("a")).await;
    let reg = std::sync::Arc::new(tokio::sync::Mutex::new(reg));
    let control = berth_testkit::RegistryControl::serve(reg.clone()).await;
    let data = tempfile::tempdir().unwrap();
    ok(&berth(data.path()).args(["profile", "add", "lab", "--url", &url]).output().unwrap());
    // The before command (read-only on) also keeps the run busy for a while, so the two processes
    // overlap for sure.
    let before = format!("{} && sleep 3", control.read_only_command());
    ok(&berth(data.path())
        .args(["profile", "edit", "lab", "--gc-command", &format!("docker-registry garbage-collect {config}")])
        .args(["--gc-before", &before, "--gc-after", &control.read_write_command()])
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

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_during_the_before_command_still_runs_the_after_command() {
    let reg = Registry::start().await;
    let (url, config) = (reg.url(), reg.config_path().display().to_string());
    Seeder::new(&url).push_image("app", "v1", &ImageSpec::small("a")).await;
    let reg = std::sync::Arc::new(tokio::sync::Mutex::new(reg));
    let control = berth_testkit::RegistryControl::serve(reg.clone()).await;
    let data = tempfile::tempdir().unwrap();
    let marker = data.path().join("after-ran");
    ok(&berth(data.path()).args(["profile", "add", "lab", "--url", &url]).output().unwrap());
    let before = format!("{} && echo read-only-now && sleep 30", control.read_only_command());
    let after = format!("{} && touch {}", control.read_write_command(), marker.display());
    ok(&berth(data.path())
        .args(["profile", "edit", "lab", "--gc-command", &format!("docker-registry garbage-collect {config}")])
        .args(["--gc-before", &before, "--gc-after", &after])
        .output()
        .unwrap());
    let gc =
        berth(data.path()).args(["gc", "lab", "--yes"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    // Wait until the registry is read-only (the before command is in its sleep).
    let started = Instant::now();
    while !reg.lock().await.is_read_only() {
        assert!(started.elapsed() < Duration::from_secs(30), "the before command never made the registry read-only");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(gc.id() as i32, libc::SIGTERM) };
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || gc.wait_with_output().unwrap()).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(20), "the cancel ends the run promptly (not after the 30 s sleep)");
    assert!(!out.status.success());
    assert!(marker.exists(), "the after command ran: {}", String::from_utf8_lossy(&out.stderr));
    assert!(!reg.lock().await.is_read_only(), "the registry is writable again");
    let history = berth(data.path()).args(["gc", "lab", "--history", "--json"]).output().unwrap();
    let history: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(history[0]["status"], "failed", "{history}");
    // Nothing holds the profile any more.
    ok(&berth(data.path()).args(["sync", "lab"]).output().unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_during_the_before_command_is_found_at_the_next_start_and_its_after_command_runs() {
    let reg = Registry::start().await;
    let (url, config) = (reg.url(), reg.config_path().display().to_string());
    Seeder::new(&url).push_image("app", "v1", &ImageSpec::small("a")).await;
    let reg = std::sync::Arc::new(tokio::sync::Mutex::new(reg));
    let control = berth_testkit::RegistryControl::serve(reg.clone()).await;
    let data = tempfile::tempdir().unwrap();
    let marker = data.path().join("after-ran");
    ok(&berth(data.path()).args(["profile", "add", "lab", "--url", &url]).output().unwrap());
    let before = format!("{} && sleep 30", control.read_only_command());
    let after = format!("{} && touch {}", control.read_write_command(), marker.display());
    ok(&berth(data.path())
        .args(["profile", "edit", "lab", "--gc-command", &format!("docker-registry garbage-collect {config}")])
        .args(["--gc-before", &before, "--gc-after", &after])
        .output()
        .unwrap());
    let mut gc =
        berth(data.path()).args(["gc", "lab", "--yes"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let started = Instant::now();
    while !reg.lock().await.is_read_only() {
        assert!(started.elapsed() < Duration::from_secs(30), "the before command never made the registry read-only");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A crash: SIGKILL leaves no chance to run the after command.
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(gc.id() as i32, libc::SIGKILL) };
    let _ = gc.wait();
    assert!(reg.lock().await.is_read_only(), "still read-only: nothing ran the after command");
    assert!(!marker.exists());

    // The next start finds the run: interrupted, owing its after command.
    let history = berth(data.path()).args(["gc", "lab", "--history", "--json"]).output().unwrap();
    let history: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(history[0]["status"], "failed", "{history}");
    assert!(history[0]["message"].as_str().unwrap().contains("before the after command ran"), "{history}");
    assert_eq!(history[0]["after_pending"], after.as_str(), "{history}");

    // Running it puts the registry back in service and clears the debt.
    let out = berth(data.path()).args(["gc", "lab", "--run-after"]).output().unwrap();
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("back in service"));
    assert!(marker.exists() && !reg.lock().await.is_read_only());
    let history = berth(data.path()).args(["gc", "lab", "--history", "--json"]).output().unwrap();
    let history: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    assert!(history[0]["after_pending"].is_null(), "{history}");
    let again = berth(data.path()).args(["gc", "lab", "--run-after"]).output().unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("no interrupted GC run"));
}
