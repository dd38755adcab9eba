//! The window against a real registry (distribution 2.8.2): untagged manifests (a tag pushed over)
//! listed, checked and deleted by digest; a whole repository deleted from its plan; registry-wide
//! search sorted by repository with its count; an image's detail from the cache, and offline.

use berth_e2e::{registry_tags, AppSession};
use berth_testkit::{ImageSpec, Registry, Seeder};
use std::time::{Duration, Instant};

/// Whether the registry still has `repo@digest`.
async fn has_manifest(url: &str, repo: &str, digest: &str) -> bool {
    let resp = reqwest::Client::new()
        .head(format!("{url}/v2/{repo}/manifests/{digest}"))
        .header(
            "Accept",
            "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
        )
        .send()
        .await
        .expect("HEAD manifest");
    resp.status().is_success()
}

async fn wait_count(app: &AppSession, css: &str, n: usize, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let got = app.texts(css).await.len();
        if got == n {
            return;
        }
        assert!(Instant::now() < deadline, "{css}: {got} elements, want {n}");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untagged_manifests_a_repository_delete_and_search_across_the_registry() {
    let registry = Registry::start().await;
    let url = registry.url();
    let seeder = Seeder::new(&url);
    let old = seeder.push_image("team/app", "v1", &ImageSpec::small("old")).await;
    seeder.push_image("team/app", "v2", &ImageSpec::small("v2")).await;
    seeder.push_image("team/keep", "stay", &ImageSpec::small("stay")).await;
    seeder.push_image("zeta", "app-1", &ImageSpec::small("zeta")).await;

    let app = AppSession::start().await;
    app.add_profile("lab", &url, false).await;
    app.wait_js("document.querySelector('[data-testid=profile-dialog]') === null", "dialog closes", 30).await;
    app.click("[data-testid=sync-start]", 10).await;
    app.wait_text("[data-testid=sync-summary]", "4 tags", 60).await;
    // v1 pushed over: the old manifest stays in the registry, untagged; the next sync sees the tag move.
    let new = seeder.push_image("team/app", "v1", &ImageSpec::small("new")).await;
    assert!(has_manifest(&url, "team/app", &old.digest).await);
    app.js("document.querySelector('[data-testid=sync-summary]').remove(); return true;").await;
    app.click("[data-testid=sync-start]", 10).await;
    app.wait_text("[data-testid=sync-summary]", "4 tags", 60).await;

    // The Untagged tab: the old v1, with the registry-wide count; checked against the registry.
    app.click("[data-testid=view-untagged]", 10).await;
    app.wait_css("[data-testid=untagged-view]", 20).await;
    wait_count(&app, "[data-testid=untagged-row]", 1, 20).await;
    let row = app.texts("[data-testid=untagged-row]").await.remove(0);
    assert!(row.contains("team/app") && row.contains(&old.digest[7..19]), "{row}");
    app.wait_text("[data-testid=untagged-summary]", "1", 5).await;
    app.click("[data-testid=untagged-recheck]", 5).await;
    app.wait_css("[data-testid=untagged-gone]", 30).await;
    app.screenshot("untagged-manifests.png").await;

    // Select it, Delete…: a plan by digest, no tag; confirm; the registry no longer has it.
    app.click("[data-testid=untagged-check]", 5).await;
    app.click("[data-testid=untagged-delete]", 5).await;
    let planned = app.wait_text("[data-testid=plan-delete]", &old.digest[7..19], 30).await;
    assert!(planned.contains("team/app"), "{planned}");
    assert!(app.texts("[data-testid=plan-untag]").await.is_empty(), "no untag for an untagged manifest");
    app.click("[data-testid=delete-confirm]", 5).await;
    app.wait_text("[data-testid=report-summary]", "1 deleted", 60).await;
    app.click("[data-testid=delete-close]", 5).await;
    assert!(!has_manifest(&url, "team/app", &old.digest).await, "deleted from the registry");
    assert!(has_manifest(&url, "team/app", &new.digest).await, "the tagged image stays");
    app.wait_css("[data-testid=untagged-empty]", 20).await;

    // Ctrl+F search across the registry, sorted by repository, with the count.
    app.click("[data-testid=view-browse]", 5).await;
    app.click("[data-testid=search-open]", 10).await;
    app.type_into("[data-testid=search-input]", "app").await;
    app.wait_text("[data-testid=search-total]", "3", 20).await;
    app.js("const s = document.querySelector('[data-testid=search-sort]'); s.value = 'repository'; \
            s.dispatchEvent(new Event('change', { bubbles: true })); return true;")
        .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let hits = app.texts("[data-testid=search-hit]").await;
        let order: Vec<bool> = hits.iter().map(|h| h.contains("zeta")).collect();
        if order == [false, false, true] {
            break;
        }
        assert!(Instant::now() < deadline, "sorted by repository: {hits:?}");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    app.screenshot("search-registry.png").await;
    app.js("document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true })); return true;")
        .await;
    app.wait_js("document.querySelector('[data-testid=search-dialog]') === null", "search closes", 10).await;

    // Delete the whole repository: the plan lists both tags and says what registry:2 keeps.
    app.open_repository("team/app").await;
    app.click("[data-testid=delete-repository]", 10).await;
    let notes = app.wait_text("[data-testid=plan-notes]", "empty-repository step", 30).await;
    assert!(notes.contains("team/app"), "{notes}");
    let deletes = app.texts("[data-testid=plan-delete] li").await;
    assert_eq!(deletes.len(), 2, "{deletes:?}");
    assert_eq!(registry_tags(&url, "team/app").await, ["v1", "v2"], "a plan deletes nothing");
    if app.client.find("[data-testid=delete-typed]").await.is_ok() {
        app.type_into("[data-testid=delete-typed]", "team/app").await;
    }
    app.click("[data-testid=delete-confirm]", 5).await;
    app.wait_text("[data-testid=report-summary]", "2 deleted", 60).await;
    app.click("[data-testid=delete-close]", 5).await;
    assert!(registry_tags(&url, "team/app").await.is_empty(), "every tag of team/app is gone");
    assert_eq!(registry_tags(&url, "team/keep").await, ["stay"], "another repository untouched");
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_detail_answers_from_the_cache_and_when_the_registry_is_down() {
    let mut registry = Registry::start().await;
    let url = registry.url();
    let seeder = Seeder::new(&url);
    let mut amd = ImageSpec::platform("linux", "amd64", None, "pa");
    amd.created = "2025-01-01T00:00:00Z".into();
    let mut arm = ImageSpec::platform("linux", "arm64", Some("v8"), "pb");
    arm.created = "2025-02-02T00:00:00Z".into();
    let index = seeder.push_index("multi", "1.0", &[amd, arm]).await;
    let sig = seeder.push_referrer_tag("multi", &index).await;

    let app = AppSession::start().await;
    app.add_profile("lab", &url, false).await;
    app.wait_js("document.querySelector('[data-testid=profile-dialog]') === null", "dialog closes", 30).await;
    app.click("[data-testid=sync-start]", 10).await;
    app.wait_text("[data-testid=sync-summary]", "2 tags", 60).await;
    app.open_repository("multi").await;
    app.click("[data-testid=tag-row]", 20).await;
    app.wait_text("[data-testid=detail-title]", "multi:1.0", 30).await;
    app.wait_text("[data-testid=detail-source]", "From the cache", 30).await;
    app.wait_text("[data-testid=pull-tag-line]", &format!("{}/multi:1.0", registry.host()), 5).await;
    wait_count(&app, "[data-testid=platform-created]", 2, 10).await;
    app.click("[data-testid=detail-refresh]", 5).await;
    app.wait_text("[data-testid=detail-source]", "Checked against the registry", 30).await;

    app.click("[data-testid=detail-tab-referrers]", 5).await;
    app.wait_text("[data-testid=referrers]", &sig.digest[7..19], 10).await;

    // The registry stops: asked again, the detail answers from the cache and says why.
    registry.stop();
    app.click("[data-testid=detail-refresh]", 5).await;
    app.wait_text("[data-testid=detail-notes]", "did not answer", 60).await;
    app.wait_text("[data-testid=detail-source]", "From the cache", 5).await;
    app.click("[data-testid=detail-tab-overview]", 5).await;
    wait_count(&app, "[data-testid=platform]", 2, 5).await;
    app.click("[data-testid=detail-tab-history]", 5).await;
    app.wait_text("[role=tabpanel]", "layer", 10).await;
    app.click("[data-testid=detail-tab-referrers]", 5).await;
    app.wait_text("[data-testid=referrers]", &sig.digest[7..19], 10).await;
    app.screenshot("detail-offline.png").await;

    // A fresh start while the registry is down: the offline banner, and browsing from the cache.
    app.reload().await;
    app.wait_css("[data-testid=offline-banner]", 60).await;
    app.open_repository("multi").await;
    app.click("[data-testid=tag-row]", 20).await;
    app.wait_text("[data-testid=detail-source]", "From the cache", 30).await;
    app.close().await;
}

/// Untagged manifests no sync saw tagged (pushed over before Berth's first sync): the Untagged tab's
/// *Scan the storage* lists the storage's manifest revisions (the profile's storage root), caches the
/// missing ones, and they are listed; then deleted by digest like the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_scan_finds_untagged_manifests_no_sync_saw() {
    let registry = Registry::start().await;
    let url = registry.url();
    let storage = registry.storage_dir().display().to_string();
    let seeder = Seeder::new(&url);
    let before_berth = seeder.push_image("team/app", "v1", &ImageSpec::small("before Berth")).await;
    let now = seeder.push_image("team/app", "v1", &ImageSpec::small("current")).await;
    assert_ne!(before_berth.digest, now.digest);

    let app = AppSession::start().await;
    let data = app.data_dir.path().to_path_buf();
    let berth = berth_e2e::app_binary().with_file_name("berth");
    for args in [
        vec!["profile", "add", "lab", "--url", url.as_str()],
        vec!["profile", "edit", "lab", "--storage-root", storage.as_str()],
    ] {
        let out = std::process::Command::new(&berth).arg("--data-dir").arg(&data).args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    app.reload().await;
    app.click("[data-testid=profile-item]", 20).await;
    app.click("[data-testid=sync-start]", 10).await;
    app.wait_text("[data-testid=sync-summary]", "1 tag", 60).await;
    app.click("[data-testid=view-untagged]", 10).await;
    app.wait_css("[data-testid=untagged-empty]", 20).await;

    app.click("[data-testid=untagged-scan]", 10).await;
    let result = app.wait_text("[data-testid=untagged-scan-result]", "1 more untagged", 60).await;
    assert!(result.contains("keeps 2 manifests"), "both revisions are in the storage: {result}");
    wait_count(&app, "[data-testid=untagged-row]", 1, 20).await;
    let row = app.texts("[data-testid=untagged-row]").await.remove(0);
    assert!(row.contains(&before_berth.digest["sha256:".len()..][..12]), "the pushed-over image: {row}");
    assert!(row.contains("team/app"), "{row}");
    app.screenshot("untagged-storage-scan.png").await;

    // Deleted by digest through the plan, like the others.
    app.click("[data-testid=untagged-check]", 5).await;
    app.click("[data-testid=untagged-delete]", 5).await;
    app.wait_css("[data-testid=plan-delete]", 30).await;
    app.click("[data-testid=delete-confirm]", 5).await;
    app.wait_text("[data-testid=report-summary]", "1 deleted", 60).await;
    assert!(!has_manifest(&url, "team/app", &before_berth.digest).await, "gone from the registry");
    assert!(has_manifest(&url, "team/app", &now.digest).await, "the tagged image stays");
    app.close().await;
}

/// Registry-wide search over more results than one page (250 tags, pages of 200): only the rows in
/// view are in the page (virtualized), and scrolling to the end fetches the next page until the
/// last tag shows; the count says 250 throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_scrolls_through_more_than_a_page_virtualized() {
    let registry = Registry::start().await;
    let url = registry.url();
    Seeder::new(&url).seed_many(1, 250, "big/app", 8).await;

    let app = AppSession::start().await;
    app.add_profile("lab", &url, false).await;
    app.wait_js("document.querySelector('[data-testid=profile-dialog]') === null", "dialog closes", 30).await;
    app.click("[data-testid=sync-start]", 10).await;
    app.wait_text("[data-testid=sync-summary]", "250 tags", 120).await;
    app.click("[data-testid=search-open]", 10).await;
    app.type_into("[data-testid=search-input]", "big").await;
    app.wait_text("[data-testid=search-total]", "250", 20).await;
    let in_dom = app.texts("[data-testid=search-hit]").await.len();
    assert!(in_dom > 0 && in_dom < 200, "only the rows in view are in the page: {in_dom}");

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let hits = app.texts("[data-testid=search-hit]").await;
        if hits.iter().any(|h| h.contains("v0249")) {
            assert!(hits.len() < 200, "still virtualized at the end: {}", hits.len());
            break;
        }
        assert!(Instant::now() < deadline, "the last tag never showed: {:?}", hits.last());
        app.js("const l = document.querySelector('[data-testid=search-list]'); l.scrollTop = l.scrollHeight; \
                l.dispatchEvent(new Event('scroll')); return true;")
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(app.wait_text("[data-testid=search-total]", "250", 5).await.contains("250"));
    app.screenshot("search-scrolled.png").await;
    app.close().await;
}
