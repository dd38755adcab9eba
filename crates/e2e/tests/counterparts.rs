//! Real-window counterparts of behaviours the UI unit tests check against a fixture: pinning a
//! server's certificate from the certificate dialog, a retention dry run then delete, and
//! cancelling a sync that would never end. Against real servers (distribution 2.8.2), except the
//! endless catalog, which no real registry serves (the test kit's fault server).

use berth_e2e::{registry_tags, AppSession};
use berth_testkit::{Fault, FaultServer, ImageSpec, Registry, Seeder, TlsMode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_certificate_is_pinned_from_the_certificate_dialog() {
    // A CA Berth was not told about: the user pins the server's own certificate instead.
    let registry = Registry::builder().tls(TlsMode::CaSigned).start().await;
    let ca = registry.ca_pem().expect("its CA");
    Seeder::new(&registry.url()).with_ca(&ca).push_image("app", "v1", &ImageSpec::small("pinned")).await;

    let app = AppSession::start().await;
    app.add_profile("selfsigned", &registry.url(), false).await;
    let diagnosis = app.wait_text("[data-testid=profile-dialog] [data-testid=error]", "", 30).await;
    assert!(diagnosis.to_lowercase().contains("certificate"), "TLS diagnosis: {diagnosis}");
    app.click("[data-testid=profile-dialog] button[aria-label=Close]", 5).await;

    // The pane's Certificates… dialog shows the server's certificate; Pin trusts exactly it.
    app.click("[data-testid=certificates]", 10).await;
    app.wait_text("[data-testid=chain-cert]", "SHA-256", 30).await;
    app.click("[data-testid=trust-pin]", 5).await;
    app.wait_text("[role=dialog]", "Pinned:", 30).await;
    app.click("[role=dialog] button[aria-label=Close]", 5).await;
    app.click("[data-testid=sync-start]", 10).await;
    app.wait_text("[data-testid=sync-summary]", "1 tags", 60).await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retention_dry_run_keeps_the_newest_then_deletes_the_rest() {
    let registry = Registry::start().await;
    let url = registry.url();
    let seeder = Seeder::new(&url);
    for (tag, created) in
        [("v1", "2024-01-01T00:00:00Z"), ("v2", "2024-02-01T00:00:00Z"), ("v3", "2024-03-01T00:00:00Z")]
    {
        let mut spec = ImageSpec::small(tag);
        spec.created = created.into();
        seeder.push_image("team/app", tag, &spec).await;
    }
    let release = seeder.push_image("team/app", "release", &ImageSpec::small("release")).await;

    let app = AppSession::start().await;
    app.add_profile("lab", &url, false).await;
    app.wait_js("document.querySelector('[data-testid=profile-dialog]') === null", "dialog closes", 30).await;
    app.click("[data-testid=sync-start]", 10).await;
    app.wait_text("[data-testid=sync-summary]", "4 tags", 60).await;

    app.click("[data-testid=retention-open]", 10).await;
    app.type_into("[data-testid=ret-keep-last]", "1").await;
    app.type_into("[data-testid=ret-match]", "^v").await;
    app.click("[data-testid=ret-dry-run]", 5).await;
    app.wait_css("[data-testid=delete-plan]", 30).await;
    let kept = app.wait_text("[data-testid=ret-kept]", "v3", 10).await;
    assert!(!kept.contains("v1") && !kept.contains("v2"), "{kept}");
    let plan = app.texts("[data-testid=plan-delete] li").await.join(" | ");
    assert!(plan.contains("v1") && plan.contains("v2") && !plan.contains("release"), "{plan}");
    assert_eq!(registry_tags(&url, "team/app").await, ["release", "v1", "v2", "v3"], "a dry run deletes nothing");
    if app.client.find("[data-testid=delete-typed]").await.is_ok() {
        app.type_into("[data-testid=delete-typed]", "team/app").await;
    }
    app.click("[data-testid=delete-confirm]", 5).await;
    app.wait_text("[data-testid=report-summary]", "2 deleted", 60).await;
    assert_eq!(registry_tags(&url, "team/app").await, ["release", "v3"]);
    app.click("[data-testid=delete-close]", 5).await;

    // release pushed over: retention with "untagged manifests" deletes its old image by digest, no tag.
    seeder.push_image("team/app", "release", &ImageSpec::small("release 2")).await;
    app.click("[data-testid=sync-start]", 10).await;
    app.wait_text("[data-testid=sync-summary]", "2 tags", 60).await;
    app.click("[data-testid=retention-open]", 10).await;
    app.click("[data-testid=ret-untagged]", 5).await;
    app.click("[data-testid=ret-dry-run]", 5).await;
    let planned = app.wait_text("[data-testid=plan-delete]", &release.digest[7..19], 30).await;
    assert!(!planned.contains("v3"), "{planned}");
    assert!(app.texts("[data-testid=plan-untag]").await.is_empty());
    app.click("[data-testid=delete-confirm]", 5).await;
    app.wait_text("[data-testid=report-summary]", "1 deleted", 60).await;
    assert_eq!(registry_tags(&url, "team/app").await, ["release", "v3"], "no tag touched");
    let head = reqwest::Client::new()
        .head(format!("{url}/v2/team/app/manifests/{}", release.digest))
        .header(
            "Accept",
            "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 404, "the old release image is gone");
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_that_never_ends_is_cancelled_from_the_window() {
    let server = FaultServer::start(vec![Fault::CatalogEndless]);
    let app = AppSession::start().await;
    app.add_profile("endless", &server.url(), false).await;
    // The connection test may flag the catalog it cannot read to its end: the profile is saved anyway.
    app.wait_css("[data-testid=profile-item]", 30).await;
    if app.client.find("[data-testid=profile-dialog]").await.is_ok() {
        app.wait_css("[data-testid=connection-result]", 60).await;
        app.click("[data-testid=profile-dialog] button[aria-label=Close]", 5).await;
    }
    app.click("[data-testid=sync-start]", 10).await;
    app.wait_css("[data-testid=sync-cancel]", 20).await;
    app.click("[data-testid=sync-cancel]", 5).await;
    let summary =
        app.wait_text("[data-testid=sync-summary], [data-testid=sync-error], [role=alert]", "ancel", 30).await;
    assert!(summary.to_lowercase().contains("cancel"), "{summary}");
    // The window is usable again: Sync can start anew.
    app.wait_js("document.querySelector('[data-testid=sync-cancel]') === null", "the cancel button goes", 20).await;
    app.wait_css("[data-testid=sync-start]:not([disabled])", 10).await;
    app.close().await;
}
