//! The desktop window against real test-kit registries: a TLS profile whose CA is imported through
//! the file dialog, sync with its progress bar, sort by creation date, a multi-arch image's
//! platforms, search, and a hostile label rendered as inert text.
//!
//! The native GTK file dialog cannot be driven by WebDriver, so these tests start the (debug) app with
//! `BERTH_E2E_PICK_FILE`: the `pick_certificate_file` command answers with that path instead of
//! opening the dialog. The button, the command, showing the certificate and importing it into the
//! profile run exactly as for a user; release builds ignore the variable.

use berth_e2e::AppSession;
use berth_testkit::{ImageSpec, Registry, Seeder, TlsMode};

const XSS: &str = "<img src=x onerror=alert(1)>";

async fn push_dated(seeder: &Seeder, repo: &str, tags: &[(&str, &str)]) {
    for (tag, created) in tags {
        let mut spec = ImageSpec::small(&format!("{repo}-{tag}"));
        spec.created = created.to_string();
        seeder.push_image(repo, tag, &spec).await;
    }
}

/// Names in the tag table, top to bottom.
async fn tag_names(app: &AppSession) -> Vec<String> {
    app.texts("[data-testid=tag-name]").await
}

async fn wait_tag_names(app: &AppSession, want: &[&str]) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let got = tag_names(app).await;
        if got == want {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "tag table shows {got:?}, want {want:?}");
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_profile_through_the_ca_dialog_sync_progress_and_sort_by_created() {
    let registry = Registry::builder().tls(TlsMode::CaSigned).start().await;
    let ca = registry.ca_pem().expect("CA");
    let seeder = Seeder::new(&registry.url()).with_ca(&ca);
    push_dated(
        &seeder,
        "team/app",
        &[("v1", "2024-01-10T00:00:00Z"), ("v2", "2024-06-10T00:00:00Z"), ("v3", "2023-05-10T00:00:00Z")],
    )
    .await;
    // Enough repositories that the sync has visible progress.
    seeder.seed_many(200, 2, "bulk/svc", 8).await;

    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("registry-ca.pem");
    std::fs::write(&ca_file, &ca).unwrap();
    let app = AppSession::start_with_env(&[("BERTH_E2E_PICK_FILE", ca_file.to_str().unwrap())]).await;

    // Without the CA the connection test fails with the TLS diagnosis: the dialog stays open.
    app.add_profile("untrusted", &registry.url(), false).await;
    let diagnosis = app.wait_text("[data-testid=profile-dialog] [data-testid=error]", "", 30).await;
    assert!(diagnosis.to_lowercase().contains("certificate"), "TLS diagnosis shown: {diagnosis}");
    app.click("[data-testid=profile-dialog] button[aria-label=Close]", 5).await;

    // With the CA imported through the dialog's "Import CA file…", the test passes and the dialog closes.
    let picked = app.add_profile_importing_ca("secure", &registry.url(), "berth-test-registry-ca").await;
    assert!(picked.contains("berth-test-registry-ca"), "the picked CA is shown: {picked}");
    app.wait_js(
        "document.querySelector('[data-testid=profile-dialog]') === null",
        "dialog closes after a passing test",
        30,
    )
    .await;
    app.wait_js(
        "[...document.querySelectorAll('[data-testid=profile-item]')].some(e => e.textContent.includes('secure') \
         && e.querySelector('.dot')?.dataset.state === 'ok')",
        "the sidebar shows the passing test",
        30,
    )
    .await;

    // Sync: record every progress text the bar shows while it runs.
    app.js(
        "window.__seen = []; new MutationObserver(() => { const e = document.querySelector('[data-testid=sync-counts]'); \
         if (e) window.__seen.push(e.textContent.replace(/\\s+/g, ' ').trim()); }) \
         .observe(document.body, { subtree: true, childList: true, characterData: true }); return true;",
    )
    .await;
    app.click("[data-testid=sync-start]", 10).await;
    app.wait_css("progress[data-testid=sync-progress]", 10).await;
    // Best effort: the sync may finish before a frame with counts is painted (the assertion below reads
    // the DOM, not the picture).
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        app.wait_text("[data-testid=sync-counts]", "/201 repositories", 5),
    )
    .await;
    app.screenshot("window-sync-progress.png").await;
    app.wait_text("[data-testid=sync-summary]", "Synced 201 repositories, 403 tags", 180).await;
    let seen = app.js("return window.__seen;").await;
    let seen: Vec<String> = serde_json::from_value(seen).unwrap();
    assert!(
        seen.iter().any(|t| t.contains("/201 repositories") && t.contains(" tags")),
        "the progress bar showed counts: {seen:?}"
    );

    // Sort by creation date across all tags (newest first), then reverse.
    app.open_repository("team/app").await;
    wait_tag_names(&app, &["v1", "v2", "v3"]).await;
    app.click("[data-testid=sort-created]", 5).await;
    wait_tag_names(&app, &["v2", "v1", "v3"]).await;
    let created = app.texts("[data-testid=tag-created]").await;
    assert_eq!(created, ["2024-06-10 00:00", "2024-01-10 00:00", "2023-05-10 00:00"]);
    app.screenshot("window-tags.png").await;
    app.click("[data-testid=sort-created]", 5).await;
    wait_tag_names(&app, &["v3", "v1", "v2"]).await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_arch_platforms_search_and_a_hostile_label_rendered_inert() {
    let registry = Registry::start().await;
    let seeder = Seeder::new(&registry.url());
    seeder
        .push_index(
            "apps/multi",
            "1.0",
            &[
                ImageSpec::platform("linux", "amd64", None, "multi"),
                ImageSpec::platform("linux", "arm64", Some("v8"), "multi"),
                ImageSpec::platform("linux", "arm", Some("v7"), "multi"),
            ],
        )
        .await;
    let mut hostile = ImageSpec::small("hostile");
    hostile.labels.insert("org.example.description".into(), XSS.into());
    seeder.push_image("apps/hostile", "latest", &hostile).await;
    push_dated(&seeder, "apps/web", &[("2.0", "2024-02-01T00:00:00Z"), ("2.1", "2024-03-01T00:00:00Z")]).await;

    let app = AppSession::start().await;
    // Anything the strict CSP blocks (inline script, eval, remote content) is recorded here.
    app.js("window.__csp = []; document.addEventListener('securitypolicyviolation', \
         e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI)); return true;")
        .await;
    app.add_profile("lab", &registry.url(), false).await;
    app.wait_js("document.querySelector('[data-testid=profile-dialog]') === null", "dialog closes", 30).await;
    app.click("[data-testid=sync-start]", 10).await;
    app.wait_text("[data-testid=sync-summary]", "Synced 3 repositories, 4 tags", 60).await;

    // The tag table lists each platform of the index.
    app.open_repository("apps/multi").await;
    wait_tag_names(&app, &["1.0"]).await;
    let row = app.wait_text("[data-testid=tag-row]", "linux/amd64", 10).await;
    assert!(row.contains("linux/arm64/v8") && row.contains("linux/arm/v7"), "platforms column: {row}");

    // Ctrl+F: search every tag, open the hit.
    let filter = app.wait_css("input[aria-label='Filter repositories']", 5).await;
    app.client.send_keys(&filter, "\u{E009}f\u{E000}").await.expect("Ctrl+F");
    app.wait_css("[data-testid=search-dialog]", 10).await;
    app.type_into("[data-testid=search-input]", "multi:1").await;
    app.wait_text("[data-testid=search-count]", "1 match", 10).await;
    app.click("[data-testid=search-hit]", 5).await;

    // The image detail: each platform of the index; clicking one shows its layers.
    app.wait_text("[data-testid=detail-title]", "apps/multi:1.0", 30).await;
    app.wait_text("[data-testid=pull-line]", "docker pull 127.0.0.1:", 30).await;
    let platforms = app.texts("[data-testid=platform]").await;
    assert_eq!(platforms.len(), 3, "{platforms:?}");
    for p in ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"] {
        assert!(platforms.iter().any(|t| t.starts_with(p)), "{p} listed in {platforms:?}");
    }
    app.screenshot("window-detail-platforms.png").await;
    app.js("document.querySelectorAll('[data-testid=platform]')[1].click(); return true;").await;
    app.wait_text("[data-testid=shown-platform]", "linux/arm64/v8", 20).await;
    app.wait_text("[data-testid=layers]", "tar+gzip", 20).await;
    let layers = app.texts("[data-testid=layers] tbody tr").await;
    assert_eq!(layers.len(), 2, "the arm64 image's two layers: {layers:?}");
    app.screenshot("window-detail.png").await;

    // The hostile label is shown as text, creates no element and runs nothing.
    app.open_repository("apps/hostile").await;
    wait_tag_names(&app, &["latest"]).await;
    app.click("[data-testid=tag-row]", 5).await;
    app.wait_text("[data-testid=detail-title]", "apps/hostile:latest", 30).await;
    app.wait_text("[data-testid=pull-line]", "apps/hostile@sha256:", 30).await;
    app.click("[data-testid=detail-tab-config]", 5).await;
    let value = app.wait_text("[data-testid=label-value]", XSS, 10).await;
    assert_eq!(value, XSS);
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(
        app.js("return document.querySelectorAll('img').length;").await,
        serde_json::json!(0),
        "no <img> created"
    );
    assert_eq!(app.client.alert_text().await, None, "no alert() ran");
    app.screenshot("window-hostile-label.png").await;

    // Storage: dedup-aware sizes and the Chart.js chart, drawn under the strict CSP.
    app.click("[data-testid=view-storage]", 5).await;
    app.wait_text("[data-testid=registry-size]", "KB", 20).await;
    app.wait_js(
        "(() => { const c = document.querySelector('[data-testid=storage-view] canvas'); if (!c || !c.width) return false; \
         const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; \
         for (let i = 3; i < d.length; i += 4) if (d[i] > 0) return true; return false; })()",
        "the storage chart has drawn something",
        20,
    )
    .await;
    let rows = app.texts("[data-testid=storage-table] tbody tr").await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    app.screenshot("window-storage.png").await;

    let csp = app.js("return window.__csp;").await;
    assert_eq!(csp, serde_json::json!([]), "no CSP violation");
    app.close().await;
}

/// A repository larger than the first screen: the table gets every name at once and the rows of the
/// names in view, fetching the rest as they scroll in; counts, select-all and reversal work on all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_repository_fetches_the_rows_scrolled_into_view() {
    let registry = Registry::start().await;
    let seeder = Seeder::new(&registry.url());
    seeder.seed_many(1, 400, "big/app", 8).await;
    let repo = berth_testkit::seed_repo_name("big/app", 0);
    let names = berth_e2e::registry_tags(&registry.url(), &repo).await;
    assert_eq!(names.len(), 400);
    let (first, last) = (names[0].clone(), names[399].clone());

    let app = AppSession::start().await;
    app.add_profile("lab", &registry.url(), false).await;
    app.wait_js("document.querySelector('[data-testid=profile-dialog]') === null", "dialog closes", 30).await;
    app.click("[data-testid=sync-start]", 10).await;
    app.wait_text("[data-testid=sync-summary]", "400 tags", 60).await;
    app.open_repository(&repo).await;
    app.wait_text("[data-testid=tag-count]", "400 tags", 20).await;
    // `tag-row` is a row with its details (`tag-row-pending` one whose details are on their way).
    app.wait_text("[data-testid=tag-row]", &first, 20).await;
    let fetched = "return document.querySelectorAll('[data-testid=tag-row]').length;";
    let in_dom = app.js(fetched).await.as_u64().unwrap_or(0);
    assert!(in_dom > 0 && in_dom < 100, "{in_dom} rows in the DOM");

    // Scroll to the end: the last names come in, then their rows.
    app.js("const v = document.querySelector('.tags .viewport'); v.scrollTop = v.scrollHeight; \
            v.dispatchEvent(new Event('scroll')); return true;")
        .await;
    app.wait_text("[data-testid=tag-row]", &last, 20).await;
    app.wait_js("document.querySelector('[data-testid=tag-row-pending]') === null", "no row left pending", 20).await;
    app.screenshot("window-large-repository-end.png").await;

    // Select all takes every tag, not just the fetched rows.
    app.click("[data-testid=select-all]", 10).await;
    app.wait_text("[data-testid=selection-bar]", "400 selected", 10).await;
    app.js("document.querySelector('[data-testid=selection-bar] button:last-child').click(); return true;").await;

    // Reversed: the last name first, with its row.
    app.click("[data-testid=sort-name]", 10).await;
    app.wait_js(
        &format!("document.querySelector('[data-testid=tag-row] [data-testid=tag-name]')?.textContent === {:?}", last),
        "the reversed table starts with the last name",
        20,
    )
    .await;
    app.close().await;
}
