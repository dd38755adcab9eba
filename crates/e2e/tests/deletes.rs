//! Safe deletes in the real window, against a real registry: select a tag whose image another tag
//! shares, open Delete, see the plan (an untag: the image stays), confirm, and the tag is gone from the
//! table and from the registry while its sibling still resolves to the same image; the Trash tab lists
//! it and Restore brings it back (in the registry and in the table). The Audit tab records both.

use berth_e2e::{registry_tags, AppSession};
use berth_testkit::{ImageSpec, Registry, Seeder};
use std::time::{Duration, Instant};

async fn wait_tag_names(app: &AppSession, want: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = app.texts("[data-testid=tag-name]").await;
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline, "tag table shows {got:?}, want {want:?}");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untag_a_shared_tag_from_the_table_then_restore_it_from_the_trash() {
    let registry = Registry::start().await;
    let url = registry.url();
    let seeder = Seeder::new(&url);
    let v1 = seeder.push_image("app", "v1", &ImageSpec::small("app-v1")).await;
    seeder.tag("app", &v1.digest, "latest").await;
    seeder.push_image("app", "v2", &ImageSpec::small("app-v2")).await;
    let (manifest_before, _) = seeder.get_manifest("app", "v1").await;

    let app = AppSession::start().await;
    app.add_profile("lab", &url, false).await;
    app.wait_js("document.querySelector('[data-testid=profile-dialog]') === null", "dialog closes", 30).await;
    app.click("[data-testid=sync-start]", 10).await;
    app.wait_text("[data-testid=sync-summary]", "3 tags", 60).await;

    app.open_repository("app").await;
    wait_tag_names(&app, &["latest", "v1", "v2"]).await;

    // Click `latest` (it shares v1's digest): it is selected and its detail opens beside the table. Then
    // open Delete.
    app.wait_css("[data-testid=tag-row]", 5).await;
    app.js("document.querySelector('[data-testid=tag-row]').dispatchEvent(new MouseEvent('click', \
            { bubbles: true })); return true;")
        .await;
    app.wait_text("[data-testid=detail-title]", "app:latest", 30).await;
    app.wait_css("[data-testid=pull-line]", 30).await;
    app.wait_text("[data-testid=selection-bar]", "1 selected", 10).await;
    app.click("[data-testid=delete-open]", 5).await;

    // The plan: an untag, no image delete, no siblings; a small plan confirms with one button.
    let untag = app.wait_text("[data-testid=plan-untag]", "app:latest", 30).await;
    assert!(untag.contains(&v1.digest.trim_start_matches("sha256:")[..12]), "untag shows the digest: {untag}");
    assert!(app.texts("[data-testid=plan-delete]").await.is_empty(), "no image delete in an untag plan");
    assert!(app.texts("[data-testid=plan-siblings]").await.is_empty(), "no siblings");
    assert!(app.texts("[data-testid=delete-typed]").await.is_empty(), "no typed confirmation for one untag");
    let button = app.wait_text("[data-testid=delete-confirm]", "Untag 1 item", 5).await;
    assert_eq!(button, "Untag 1 item");
    app.screenshot("delete-plan.png").await;
    app.click("[data-testid=delete-confirm]", 5).await;

    let summary = app.wait_text("[data-testid=report-summary]", "1 untagged", 60).await;
    assert!(summary.contains("0 failed"), "{summary}");
    let rows = app.texts("[data-testid=report-row]").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("app:latest") && rows[0].contains("ok"), "{rows:?}");
    app.screenshot("delete-report.png").await;
    app.click("[data-testid=delete-close]", 5).await;

    // Gone from the table and from the registry; the open detail says the tag is gone (it read the
    // registry again); v1 still resolves to the same image.
    wait_tag_names(&app, &["v1", "v2"]).await;
    app.wait_text("[data-testid=detail-gone]", "app:latest is not in the registry any more", 30).await;
    assert_eq!(registry_tags(&url, "app").await, ["v1", "v2"]);
    let (manifest_after, _) = seeder.get_manifest("app", "v1").await;
    assert_eq!(manifest_after, manifest_before, "v1 unchanged");

    // The trash lists it; Restore brings it back.
    app.click("[data-testid=view-trash]", 5).await;
    let row = app.wait_text("[data-testid=trash-row]", "latest", 20).await;
    assert!(row.contains("app") && row.contains("untag") && row.contains("trashed"), "{row}");
    app.screenshot("delete-trash.png").await;
    app.click("[data-testid=trash-restore]", 5).await;
    let restored = app.wait_text("[data-testid=restore-result]", "Restored", 60).await;
    assert!(restored.contains("latest"), "{restored}");
    assert_eq!(registry_tags(&url, "app").await, ["latest", "v1", "v2"]);
    let (manifest_restored, _) = seeder.get_manifest("app", "latest").await;
    assert_eq!(manifest_restored, manifest_before, "latest is the same image again");

    // The audit log has the untag and the restore.
    app.click("[data-testid=view-audit]", 5).await;
    app.wait_text("[data-testid=audit-row]", "app:latest", 20).await;
    let audit = app.texts("[data-testid=audit-row]").await;
    assert!(audit.iter().any(|r| r.contains("untag")), "{audit:?}");
    assert!(audit.iter().any(|r| r.contains("restore")), "{audit:?}");
    app.screenshot("delete-audit.png").await;

    // And the table shows it again (the restore refreshed the cache).
    app.click("[data-testid=view-browse]", 5).await;
    app.open_repository("app").await;
    wait_tag_names(&app, &["latest", "v1", "v2"]).await;

    // The GC tab: nothing set, so it offers to set the command.
    app.click("[data-testid=view-gc]", 5).await;
    app.wait_css("[data-testid=gc-no-command]", 20).await;
    app.wait_css("[data-testid=gc-pending-bytes]", 20).await;
    app.screenshot("delete-gc.png").await;
    app.close().await;
}
