//! Cancelling a delete run and a copy in the real window, against real registries behind a proxy
//! that holds each destructive request back (`SlowProxy`), so the run is cancelled in its middle:
//! the report says cancelled, exactly what the report lists as done happened in the registry, and
//! nothing else was touched (the delete's remaining tags still resolve; the copy wrote no tag).

use std::time::Duration;

use berth_e2e::{registry_tags, AppSession};
use berth_testkit::{ImageSpec, Registry, Seeder, SlowProxy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_run_cancelled_in_its_middle_stops_and_reports_only_what_it_did() {
    let registry = Registry::start().await;
    let seeder = Seeder::new(&registry.url());
    for i in 0..5 {
        seeder.push_image("app", &format!("t{i}"), &ImageSpec::small(&format!("cancel-{i}"))).await;
    }
    let slow = SlowProxy::start(&registry.url(), &["DELETE"], Duration::from_millis(1500));

    let app = AppSession::start().await;
    app.add_profile("lab", &slow.url(), false).await;
    app.wait_js("document.querySelector('[data-testid=profile-dialog]') === null", "dialog closes", 30).await;
    app.click("[data-testid=sync-start]", 10).await;
    app.wait_text("[data-testid=sync-summary]", "5 tags", 60).await;
    app.open_repository("app").await;
    app.click("[data-testid=delete-repository]", 10).await;
    app.wait_css("[data-testid=plan-delete]", 30).await;
    assert_eq!(app.texts("[data-testid=plan-delete] li").await.len(), 5);
    // Planning probed whether deletes work (a DELETE of a digest that does not exist): count those.
    let deletes = || slow.requests().iter().filter(|r| r.starts_with("DELETE ")).count();
    let planned = deletes();
    app.click("[data-testid=delete-confirm]", 5).await;
    app.wait_css("[data-testid=delete-progress]", 20).await;
    // The run probes again (a DELETE), then deletes image by image, each DELETE held back: cancel
    // while the first image's DELETE is in flight.
    let started = std::time::Instant::now();
    while deletes() < planned + 2 {
        assert!(started.elapsed() < Duration::from_secs(30), "no DELETE reached the registry");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.click("[data-testid=delete-cancel]", 5).await;
    let summary = app.wait_text("[data-testid=report-summary]", "Cancelled.", 60).await;
    app.screenshot("delete-cancelled.png").await;

    let rows = app.texts("[data-testid=report-row]").await;
    let deleted: Vec<String> = rows
        .iter()
        .filter(|r| r.contains("ok"))
        .filter_map(|r| (0..5).map(|i| format!("t{i}")).find(|t| r.contains(t.as_str())))
        .collect();
    assert!(!deleted.is_empty() && deleted.len() < 5, "the run stopped in its middle: {summary} {rows:?}");
    let left = registry_tags(&registry.url(), "app").await;
    assert_eq!(left.len(), 5 - deleted.len(), "only what the report lists went: left {left:?}, report {rows:?}");
    for t in &deleted {
        assert!(!left.contains(t), "{t} is reported deleted and is gone");
    }
    // The run's probe, then at most the delete in flight when the cancel came.
    assert!(deletes() <= planned + 1 + deleted.len(), "no DELETE after the cancel: {:?}", slow.requests());
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_cancelled_in_its_middle_writes_no_tag_and_says_so() {
    let lab = Registry::start().await;
    let prod = Registry::start().await;
    Seeder::new(&lab.url()).push_image("team/app", "2.0", &ImageSpec::small("copy-cancel")).await;
    // The target's uploads (each blob's closing PUT, the manifest PUT) are held back.
    let slow = SlowProxy::start(&prod.url(), &["PUT"], Duration::from_millis(1500));

    let app = AppSession::start().await;
    app.add_profile("prod", &slow.url(), false).await;
    app.wait_js("document.querySelector('[data-testid=profile-dialog]') === null", "dialog closes", 30).await;
    app.add_profile("lab", &lab.url(), false).await;
    app.wait_js("document.querySelector('[data-testid=profile-dialog]') === null", "dialog closes", 30).await;
    app.click("[data-testid=sync-start]", 10).await;
    app.wait_text("[data-testid=sync-summary]", "1 tag", 60).await;
    app.open_repository("team/app").await;
    app.wait_css("[data-testid=tag-row]", 20).await;
    app.js("document.querySelector('[data-testid=tag-row]').dispatchEvent(new MouseEvent('click', \
            { bubbles: true })); return true;")
        .await;
    app.wait_text("[data-testid=selection-bar]", "1 selected", 10).await;
    app.click("[data-testid=copy-open]", 5).await;
    app.set_value("[data-testid=copy-target]", "prod", "change").await;
    app.click("[data-testid=copy-plan]", 5).await;
    app.wait_text("[data-testid=copy-plan-image]", "team/app:2.0", 60).await;
    app.click("[data-testid=copy-confirm]", 5).await;
    let started = std::time::Instant::now();
    while !slow.requests().iter().any(|r| r.starts_with("PUT ")) {
        assert!(started.elapsed() < Duration::from_secs(30), "no upload reached the target");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.click("[data-testid=copy-cancel]", 5).await;
    app.wait_text("[data-testid=copy-report]", "Cancelled.", 60).await;
    app.screenshot("copy-cancelled.png").await;
    let result = app.wait_text("[data-testid=copy-result]", "team/app:2.0", 5).await;
    assert!(!result.contains("copied"), "not reported copied: {result}");
    let verified = app.texts("[data-testid=copy-verified]").await.join(" ");
    assert!(verified.to_lowercase().contains("not"), "not verified: {verified}");
    // Give a late request time to land, then: no tag, no manifest PUT passed on.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(registry_tags(&prod.url(), "team/app").await.is_empty(), "the target has no tag");
    assert!(
        !slow.requests().iter().any(|r| r.starts_with("PUT ") && r.contains("/manifests/")),
        "no manifest was written: {:?}",
        slow.requests()
    );
    app.close().await;
}
