//! Copy in the real window, between two real registries: select a tag, "Copy to…", choose the other
//! profile, preview the plan (blobs to send, a new tag), copy, see the report verified on the target;
//! the target registry serves the same manifest bytes. A second copy of the same tag to a tag that
//! points elsewhere is refused in the preview with its hint, and nothing is written.

use berth_e2e::AppSession;
use berth_testkit::{ImageSpec, Registry, Seeder};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selected_tag_is_copied_to_another_profile_from_the_window() {
    let lab = Registry::start().await;
    let prod = Registry::start().await;
    let img = Seeder::new(&lab.url()).push_image("team/app", "1.4", &ImageSpec::small("window-copy")).await;
    Seeder::new(&prod.url()).push_image("team/app", "taken", &ImageSpec::small("other")).await;

    let app = AppSession::start().await;
    app.add_profile("prod", &prod.url(), false).await;
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

    // Target: prod, same names. The preview: one image, a new tag, its blobs to send.
    app.set_value("[data-testid=copy-target]", "prod", "change").await;
    app.click("[data-testid=copy-plan]", 5).await;
    let row = app.wait_text("[data-testid=copy-plan-image]", "team/app:1.4", 60).await;
    assert!(row.contains("new tag"), "{row}");
    let totals = app.wait_text("[data-testid=copy-totals]", "1", 5).await;
    assert!(totals.to_lowercase().contains("send"), "{totals}");
    app.screenshot("copy-plan.png").await;
    app.click("[data-testid=copy-confirm]", 5).await;
    let verified = app.wait_text("[data-testid=copy-verified]", "erified", 120).await;
    assert!(!verified.to_lowercase().contains("not"), "{verified}");
    let result = app.wait_text("[data-testid=copy-result]", "team/app:1.4", 5).await;
    assert!(result.contains("copied"), "{result}");
    app.screenshot("copy-report.png").await;
    let (bytes, _) = Seeder::new(&prod.url()).get_manifest("team/app", "1.4").await;
    assert_eq!(bytes, img.bytes, "the target serves the same bytes");
    app.click("[data-testid=copy-close]", 5).await;

    // To a tag that points at another image: refused in the preview with its hint; nothing written.
    app.wait_text("[data-testid=selection-bar]", "1 selected", 10).await;
    app.click("[data-testid=copy-open]", 5).await;
    app.set_value("[data-testid=copy-target]", "prod", "change").await;
    app.set_value("[data-testid=copy-tag]", "taken", "input").await;
    app.click("[data-testid=copy-plan]", 5).await;
    let refusal = app.wait_text("[data-testid=copy-refusal]", "points at another image", 60).await;
    assert!(refusal.contains("overwrite"), "{refusal}");
    let disabled = app.js("return document.querySelector('[data-testid=copy-confirm]')?.disabled ?? true;").await;
    assert_eq!(disabled, serde_json::Value::Bool(true));
    let (taken, _) = Seeder::new(&prod.url()).get_manifest("team/app", "taken").await;
    assert_ne!(taken, img.bytes, "the taken tag is untouched");
}
