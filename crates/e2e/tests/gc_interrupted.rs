//! GC interrupted, in the real window: a run a crash (SIGKILL of the CLI) left between its before and
//! after commands is offered in the GC tab and its after command runs from there; closing the window
//! while GC runs stops the run and runs its after command before the window goes (the question the
//! window asks is answered through `BERTH_E2E_CLOSE_ANSWER`, debug builds only).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_e2e::{berth_cli, run_ok, AppSession};
use berth_testkit::{ImageSpec, Registry, RegistryControl, Seeder};

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_gc_is_finished_from_the_window_and_closing_during_gc_runs_the_after_command() {
    let reg = Registry::start().await;
    let (url, config) = (reg.url(), reg.config_path().display().to_string());
    Seeder::new(&url).push_image("app", "v1", &ImageSpec::small("a")).await;
    let reg = std::sync::Arc::new(tokio::sync::Mutex::new(reg));
    let control = RegistryControl::serve(reg.clone()).await;

    let app = AppSession::start_with_env(&[("BERTH_E2E_CLOSE_ANSWER", "stop")]).await;
    let data = app.data_dir.path().to_path_buf();
    let marker = data.join("after-ran");
    run_ok(berth_cli(&data).args(["profile", "add", "lab", "--url", &url]));
    let before = format!("{} && sleep 30", control.read_only_command());
    let after = format!("{} && touch {}", control.read_write_command(), marker.display());
    run_ok(
        berth_cli(&data)
            .args(["profile", "edit", "lab", "--gc-command", &format!("docker-registry garbage-collect {config}")])
            .args(["--gc-before", &before, "--gc-after", &after]),
    );

    // A crash of the CLI between the before and the after command.
    let mut gc =
        berth_cli(&data).args(["gc", "lab", "--yes"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let wait_read_only = |want: bool| {
        let reg = reg.clone();
        async move {
            let started = Instant::now();
            while reg.lock().await.is_read_only() != want {
                assert!(started.elapsed() < Duration::from_secs(60), "registry read-only never became {want}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    wait_read_only(true).await;
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(gc.id() as i32, libc::SIGKILL) };
    let _ = gc.wait();

    // The window (reloaded: the profile came from the CLI) offers the owed after command.
    app.reload().await;
    app.click("[data-testid=profile-item]", 20).await;
    app.click("[data-testid=view-gc]", 20).await;
    let banner = app.wait_text("[data-testid=gc-after-owed]", "may still be read-only", 20).await;
    assert!(banner.contains("touch"), "{banner}");
    app.screenshot("gc-after-owed.png").await;
    app.click("[data-testid=gc-run-after]", 5).await;
    app.wait_js("document.querySelector('[data-testid=gc-after-owed]') === null", "the banner goes", 30).await;
    assert!(marker.exists());
    wait_read_only(false).await;

    // Closing the window while GC runs: the run stops, the after command runs, then the window goes.
    std::fs::remove_file(&marker).unwrap();
    app.wait_css("[data-testid=gc-pending-bytes]", 30).await;
    app.click_until("[data-testid=gc-run]", "[data-testid=gc-confirm]", 20).await;
    app.click("[data-testid=gc-confirm]", 5).await;
    wait_read_only(true).await;
    // As the window manager asks (WM_DELETE_WINDOW): the app sees a close request.
    let closed = Command::new(berth_e2e::workspace_root().join("scripts/wm-close.py")).arg("Berth").status().unwrap();
    assert!(closed.success(), "no window named Berth to close");
    let started = Instant::now();
    while !marker.exists() {
        assert!(started.elapsed() < Duration::from_secs(30), "the after command did not run on close");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_read_only(false).await;
    let history = berth_cli(&data).args(["gc", "lab", "--history", "--json"]).output().unwrap();
    let history: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(history[0]["status"], "failed", "the stopped run: {history}");
    assert!(history[0]["after_pending"].is_null(), "nothing owed: {history}");
    drop(app);
}
