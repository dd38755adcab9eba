//! A full registry:2 GC run from the window's GC tab, against a real registry (distribution 2.8.2)
//! and its real `garbage-collect`: delete a tag's image and a whole repository in the window, the GC
//! tab's dry run beside the prediction, the confirmed run between the before command (read-only) and
//! the after command, the check afterwards (verified), then the blobs on disk: the deleted images' own
//! blobs are gone, everything a surviving tag uses is still there and still pulls. Then the
//! empty-repository step: the repository the delete emptied is listed with the command that removes
//! its folder, removed after confirming, and gone from the storage, the catalog and the tree.

use std::collections::BTreeSet;
use std::sync::Arc;

use berth_e2e::{berth_cli, registry_tags, run_ok, AppSession};
use berth_testkit::{ImageSpec, Registry, RegistryControl, Seeder};

async fn catalog(url: &str) -> Vec<String> {
    let v: serde_json::Value = reqwest::get(format!("{url}/v2/_catalog")).await.unwrap().json().await.unwrap();
    v["repositories"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_runs_from_the_window_verified_then_the_empty_repository_folder_goes() {
    let reg = Registry::start().await;
    let (url, config, storage) =
        (reg.url(), reg.config_path().display().to_string(), reg.storage_dir().display().to_string());
    let seeder = Seeder::new(&url);
    let kept = seeder.push_image("app", "v1", &ImageSpec::small("kept")).await;
    let dropped = seeder.push_image("app", "v2", &ImageSpec::small("dropped")).await;
    let gone = seeder.push_image("old/tool", "1.0", &ImageSpec::small("old tool")).await;
    let reg = Arc::new(tokio::sync::Mutex::new(reg));
    let control = RegistryControl::serve(reg.clone()).await;

    let app = AppSession::start().await;
    let data = app.data_dir.path().to_path_buf();
    run_ok(berth_cli(&data).args(["profile", "add", "lab", "--url", &url]));
    run_ok(
        berth_cli(&data)
            .args(["profile", "edit", "lab", "--gc-command", &format!("docker-registry garbage-collect {config}")])
            .args(["--gc-before", &control.read_only_command(), "--gc-after", &control.read_write_command()])
            .args(["--storage-root", &storage]),
    );
    app.reload().await;
    app.click("[data-testid=profile-item]", 20).await;
    app.click("[data-testid=sync-start]", 10).await;
    app.wait_text("[data-testid=sync-summary]", "3 tags", 60).await;

    // Delete app:v2 (its image: no other tag) and the whole old/tool repository, in the window.
    app.open_repository("app").await;
    app.wait_css("[data-testid=tag-row]", 10).await;
    app.js(
        "const r = [...document.querySelectorAll('[data-testid=tag-row]')].find(r => r.textContent.includes('v2')); \
            r.dispatchEvent(new MouseEvent('click', { bubbles: true })); return true;",
    )
    .await;
    app.wait_text("[data-testid=selection-bar]", "1 selected", 10).await;
    app.click("[data-testid=delete-open]", 5).await;
    app.wait_text("[data-testid=plan-delete]", "v2", 30).await;
    app.click("[data-testid=delete-confirm]", 5).await;
    app.wait_text("[data-testid=report-summary]", "1 deleted", 60).await;
    app.click("[data-testid=delete-close]", 5).await;
    app.open_repository("old/tool").await;
    app.click("[data-testid=delete-repository]", 10).await;
    app.wait_text("[data-testid=plan-notes]", "empty-repository step", 30).await;
    app.click("[data-testid=delete-confirm]", 5).await;
    app.wait_text("[data-testid=report-summary]", "1 deleted", 60).await;
    app.click("[data-testid=delete-close]", 5).await;
    assert_eq!(registry_tags(&url, "app").await, ["v1"]);
    assert!(registry_tags(&url, "old/tool").await.is_empty());

    // Blobs only the deleted images used: still on disk until GC.
    let kept_blobs: BTreeSet<String> = kept.blobs.iter().map(|(d, _)| d.clone()).collect();
    let freed: BTreeSet<String> =
        dropped.blobs.iter().chain(&gone.blobs).map(|(d, _)| d.clone()).filter(|d| !kept_blobs.contains(d)).collect();
    assert!(!freed.is_empty());
    let on_disk = reg.lock().await.blobs_on_disk();
    assert!(freed.is_subset(&on_disk), "nothing is freed before GC");

    // The GC tab: what GC would free, the registry's dry run beside it, then the real run.
    app.click("[data-testid=view-gc]", 10).await;
    app.wait_css("[data-testid=gc-pending-bytes]", 30).await;
    app.wait_text("[data-testid=gc-command]", "garbage-collect", 10).await;
    app.click("[data-testid=gc-dry-run]", 10).await;
    app.wait_css("[data-testid=gc-predicted-blobs]", 120).await;
    let eligible = app.wait_text("[data-testid=gc-registry-blobs]", "", 5).await;
    assert!(!eligible.is_empty(), "the registry's dry run is shown: {eligible}");
    assert!(freed.is_subset(&reg.lock().await.blobs_on_disk()), "a dry run deletes nothing");
    app.click_until("[data-testid=gc-run]", "[data-testid=gc-confirm]", 20).await;
    app.click("[data-testid=gc-confirm]", 5).await;
    let verified = app.wait_text("[data-testid=gc-verified]", "Verified: yes", 180).await;
    assert_eq!(verified, "Verified: yes");
    let log = app.texts("[data-testid=gc-log]").await.join("\n");
    assert!(log.contains("read-only") && log.contains("garbage-collect"), "the log shows the commands: {log}");
    app.screenshot("gc-run-verified.png").await;

    let on_disk = reg.lock().await.blobs_on_disk();
    assert!(on_disk.is_disjoint(&freed), "the deleted images' own blobs are gone: {:?}", on_disk.intersection(&freed));
    assert!(kept_blobs.is_subset(&on_disk), "what app:v1 uses is still there");
    assert!(!reg.lock().await.is_read_only(), "the after command left read-only mode");
    let (manifest, _) = seeder.get_manifest("app", "v1").await;
    assert_eq!(manifest, kept.bytes, "app:v1 still resolves to the same image");
    for (digest, _) in &kept.blobs {
        let status = reqwest::Client::new().head(format!("{url}/v2/app/blobs/{digest}")).send().await.unwrap().status();
        assert_eq!(status, 200, "app:v1's blob {digest} still pulls");
    }

    // The empty-repository step: old/tool is listed with its command, then removed.
    assert!(catalog(&url).await.contains(&"old/tool".to_string()), "registry:2 keeps it in the catalog");
    app.click("[data-testid=empty-find]", 10).await;
    let row = app.wait_text("[data-testid=empty-row]", "old/tool", 60).await;
    assert!(row.contains(&storage) && row.contains("rm -rf"), "the command is shown before it runs: {row}");
    assert_eq!(app.texts("[data-testid=empty-row]").await.len(), 1, "app has a tag: not listed");
    assert!(reg.lock().await.repositories_on_disk().contains("old/tool"), "finding removes nothing");
    app.click("[data-testid=empty-remove]", 5).await;
    app.click("[data-testid=empty-confirm]", 5).await;
    app.wait_text("[data-testid=empty-result]", "Removed: old/tool", 120).await;
    app.screenshot("gc-empty-repositories.png").await;
    let repos = reg.lock().await.repositories_on_disk();
    assert!(!repos.contains("old/tool") && repos.contains("app"), "{repos:?}");
    assert!(!catalog(&url).await.contains(&"old/tool".to_string()), "gone from the catalog");
    assert!(!reg.lock().await.is_read_only());
    assert_eq!(registry_tags(&url, "app").await, ["v1"], "app untouched");

    // The audit log records the run's parts.
    app.click("[data-testid=view-audit]", 5).await;
    app.wait_text("[data-testid=audit-row]", "empty-repositories", 20).await;
    app.close().await;
}

/// Cancel in the GC tab while the before command runs: the run stops (the `sleep` it started is
/// killed, not waited for), the after command still runs (the registry leaves read-only), nothing
/// is owed afterwards, and the history says the run did not finish.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_gc_in_the_window_stops_it_and_runs_the_after_command() {
    let reg = Registry::start().await;
    let (url, config) = (reg.url(), reg.config_path().display().to_string());
    Seeder::new(&url).push_image("app", "v1", &ImageSpec::small("a")).await;
    let reg = Arc::new(tokio::sync::Mutex::new(reg));
    let control = RegistryControl::serve(reg.clone()).await;

    let app = AppSession::start().await;
    let data = app.data_dir.path().to_path_buf();
    let marker = data.join("after-ran");
    run_ok(berth_cli(&data).args(["profile", "add", "lab", "--url", &url]));
    let before = format!("{} && sleep 60", control.read_only_command());
    let after = format!("{} && touch {}", control.read_write_command(), marker.display());
    run_ok(
        berth_cli(&data)
            .args(["profile", "edit", "lab", "--gc-command", &format!("docker-registry garbage-collect {config}")])
            .args(["--gc-before", &before, "--gc-after", &after]),
    );
    app.reload().await;
    app.click("[data-testid=profile-item]", 20).await;
    app.click("[data-testid=view-gc]", 20).await;
    app.wait_css("[data-testid=gc-pending-bytes]", 30).await;
    app.click_until("[data-testid=gc-run]", "[data-testid=gc-confirm]", 20).await;
    app.click("[data-testid=gc-confirm]", 5).await;
    let started = std::time::Instant::now();
    while !reg.lock().await.is_read_only() {
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "the before command never ran");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app.click("[data-testid=gc-cancel]", 10).await;
    // The run ends (an error saying it was cancelled, or a report); the Cancel button goes.
    app.wait_js("document.querySelector('[data-testid=gc-cancel]') === null", "the run ends", 40).await;
    while !marker.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(40),
            "the after command did not run after the cancel"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(40), "the sleep was stopped, not waited for");
    while reg.lock().await.is_read_only() {
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "still read-only");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app.wait_js("document.querySelector('[data-testid=gc-after-owed]') === null", "nothing owed", 10).await;
    app.screenshot("gc-cancelled.png").await;
    let out = berth_cli(&data).args(["gc", "lab", "--history", "--json"]).output().unwrap();
    let history: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_ne!(history[0]["status"], "ok", "the cancelled run is not reported done: {history}");
    assert!(history[0]["after_pending"].is_null(), "nothing owed: {history}");
    assert_eq!(registry_tags(&url, "app").await, ["v1"], "nothing collected or lost");
    app.close().await;
}
