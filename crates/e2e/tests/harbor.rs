//! A Harbor profile in the real window, against the Harbor emulator (its API from the spec, a real
//! registry behind it): added through the dialog with the Harbor kind, then the Projects tab shows each
//! project's access, repositories and storage quota, and a project opens Browse on its repositories.

use berth_e2e::AppSession;
use berth_testkit::{Harbor, ImageSpec};

const GIB: i64 = 1024 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread")]
async fn harbor_projects_and_quotas_in_the_window() {
    let h = Harbor::builder()
        .admin("admin", "Harbor12345")
        .project("library", true)
        .project("team", false)
        .quota("team", GIB)
        .start()
        .await;
    let s = h.seeder();
    s.push_image("team/app", "v1", &ImageSpec::small("app")).await;
    s.push_image("team/api", "v1", &ImageSpec::small("api")).await;
    s.push_image("library/nginx", "1.27", &ImageSpec::small("nginx")).await;

    let app = AppSession::start().await;
    app.click("[data-testid=add-profile-open]", 20).await;
    // The kind radios are styled labels: click the input through the DOM.
    app.js("document.querySelector('[data-testid=kind-harbor]').click(); return true;").await;
    app.type_into("#profile-name", "harbor").await;
    app.type_into("#profile-url", &h.url()).await;
    app.type_into("#profile-username", "admin").await;
    app.type_into("#profile-password", "Harbor12345").await;
    app.click("[data-testid=add-profile-submit]", 5).await;
    app.wait_js("document.querySelector('[data-testid=profile-dialog]') === null", "dialog closes", 30).await;

    app.click("[data-testid=view-projects]", 20).await;
    app.wait_text("[data-testid=projects-summary]", "2 projects", 30).await;
    let rows = app.texts("[data-testid=project-row]").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    let library = rows.iter().find(|r| r.starts_with("library")).expect("library row");
    assert!(library.contains("public") && library.contains("unlimited"), "{library}");
    let team = rows.iter().find(|r| r.starts_with("team")).expect("team row");
    assert!(team.contains("private") && team.contains("of 1.0 GB"), "{team}");
    let meter = app
        .js("return document.querySelector(\"[role=meter][aria-label='team quota used']\").getAttribute('aria-valuenow');")
        .await;
    assert_eq!(meter, "0", "a few KB of 1 GiB");
    app.screenshot("harbor-projects.png").await;

    // The project name opens Browse, filtered to its repositories.
    app.js("Array.from(document.querySelectorAll('[data-testid=project-row] button')).find(b => b.textContent.trim() === 'team').click(); return true;")
        .await;
    app.wait_css("[data-testid=view-browse][aria-selected=true]", 10).await;
    app.wait_css("[data-testid=repo-item][data-path='team/app']", 20).await;
    app.wait_css("[data-testid=repo-item][data-path='team/api']", 20).await;
    let filter = app.js("return document.querySelector(\"input[aria-label='Filter repositories']\").value;").await;
    assert_eq!(filter, "team/");
    assert!(app.texts("[data-testid=repo-item][data-path='library/nginx']").await.is_empty(), "filtered out");
    app.close().await;
}
