//! The window as the app draws it by itself: without a GPU render node (`/dev/dri/renderD*`, as
//! under Xvfb here) WebKit's compositing would run on software GL, so the app turns it off
//! (`src-tauri/rendering.rs`); with one, it stays on. The other real-window tests run composited
//! (`BERTH_COMPOSITING=on`, for WebKitWebDriver's screenshots); this one runs the default and uses the
//! window in it: a profile added, synced, a repository opened and sorted.

use berth_e2e::AppSession;
use berth_testkit::{ImageSpec, Registry, Seeder};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_chooses_compositing_by_the_gpu_and_works_without_it() {
    let registry = Registry::start().await;
    let seeder = Seeder::new(&registry.url());
    for (tag, created) in [("v1", "2024-01-10T00:00:00Z"), ("v2", "2024-06-10T00:00:00Z")] {
        let mut spec = ImageSpec::small(&format!("draw-{tag}"));
        spec.created = created.to_string();
        seeder.push_image("team/draw", tag, &spec).await;
    }
    let logs = tempfile::tempdir().expect("log dir");
    let app = AppSession::start_with_env(&[
        ("BERTH_COMPOSITING", "auto"),
        ("BERTH_LOG_DIR", logs.path().to_str().expect("utf-8 path")),
    ])
    .await;

    let gpu = std::fs::read_dir("/dev/dri")
        .map(|d| d.flatten().any(|e| e.file_name().to_string_lossy().starts_with("renderD")))
        .unwrap_or(false);
    // What WebKit's web process was started with (the variable the app sets for it).
    let processes = app.app_processes();
    let web = processes
        .iter()
        .find(|(_, name)| name.starts_with("WebKitWebProces"))
        .expect("a WebKitWebProcess under the app");
    let environ = std::fs::read(format!("/proc/{}/environ", web.0)).expect("environ");
    let off = environ.split(|&b| b == 0).any(|v| v == b"WEBKIT_DISABLE_COMPOSITING_MODE=1");
    assert_eq!(off, !gpu, "compositing off exactly when there is no GPU render node (gpu: {gpu})");
    // Drawn without compositing, GDK does not open GLX: Mesa's GLX library is not in the app.
    let gdk_gl_off = environ.split(|&b| b == 0).any(|v| v == b"GDK_GL=disable");
    assert_eq!(gdk_gl_off, !gpu, "GDK's GL off exactly when compositing is (gpu: {gpu})");
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", processes[0].0)).expect("maps");
    if !gpu {
        assert!(!maps.contains("libGLX_mesa"), "Mesa's GLX loaded in the app, drawn without compositing");
    }

    let log: String = std::fs::read_dir(logs.path())
        .expect("logs")
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    let line = log.lines().find(|l| l.contains("window rendering")).unwrap_or_else(|| panic!("log: {log}"));
    assert!(line.contains(if gpu { "Composited(" } else { "NotComposited(" }), "logged: {line}");

    // The window works drawn that way.
    app.add_profile("drawn", &registry.url(), false).await;
    app.wait_js("document.querySelector('[data-testid=profile-dialog]') === null", "dialog closes", 30).await;
    app.click("[data-testid=sync-start]", 10).await;
    app.wait_text("[data-testid=sync-summary]", "Synced 1 repositories, 2 tags", 60).await;
    app.open_repository("team/draw").await;
    app.wait_js(
        "[...document.querySelectorAll('[data-testid=tag-name]')].map(e => e.textContent).join() === 'v1,v2'",
        "the tags by name",
        20,
    )
    .await;
    app.click("[data-testid=sort-created]", 5).await;
    app.wait_js(
        "[...document.querySelectorAll('[data-testid=tag-name]')].map(e => e.textContent).join() === 'v2,v1'",
        "the tags newest first",
        20,
    )
    .await;
    app.close().await;
}
