//! A Harbor profile in the real window, against the Harbor emulator (its API from the spec, a real
//! registry behind it): added through the dialog with the Harbor kind, then the Projects tab shows each
//! project's access, repositories and storage quota, and a project opens Browse on its repositories;
//! a member account sees what it may not read named; the artifacts view shows types, scans, labels
//! and accessories; an immutable tag is refused in the delete plan with its rule.

use berth_e2e::AppSession;
use berth_testkit::{ArtifactSpec, Harbor, HarborRole, ImageSpec};

const GIB: i64 = 1024 * 1024 * 1024;

/// One window at a time: each test drives its own app through its own tauri-driver.
static ONE_WINDOW: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Adds a Harbor profile through the dialog and waits for it to close (a passing connection test).
async fn add_harbor(app: &AppSession, name: &str, url: &str, user: &str, password: &str) {
    app.click("[data-testid=add-profile-open]", 20).await;
    // The kind radios are styled labels: click the input through the DOM.
    app.js("document.querySelector('[data-testid=kind-harbor]').click(); return true;").await;
    app.type_into("#profile-name", name).await;
    app.type_into("#profile-url", url).await;
    app.type_into("#profile-username", user).await;
    app.type_into("#profile-password", password).await;
    app.click("[data-testid=add-profile-submit]", 5).await;
    app.wait_js("document.querySelector('[data-testid=profile-dialog]') === null", "dialog closes", 30).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn harbor_projects_and_quotas_in_the_window() {
    let _one = ONE_WINDOW.lock().await;
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
    add_harbor(&app, "harbor", &h.url(), "admin", "Harbor12345").await;

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

#[tokio::test(flavor = "multi_thread")]
async fn a_member_account_sees_every_project_with_what_it_may_not_read_named() {
    let _one = ONE_WINDOW.lock().await;
    let h = Harbor::builder()
        .admin("admin", "Harbor12345")
        .user("dev", "devpass")
        .project("library", true)
        .project("team", false)
        .project("ops", false)
        .member("team", "dev", HarborRole::Developer)
        .member("ops", "dev", HarborRole::LimitedGuest)
        .quota("team", GIB)
        .start()
        .await;
    let s = h.seeder();
    s.push_image("team/app", "v1", &ImageSpec::small("app")).await;
    s.push_image("ops/tool", "1", &ImageSpec::small("tool")).await;
    s.push_image("library/nginx", "1.27", &ImageSpec::small("nginx")).await;

    let app = AppSession::start().await;
    add_harbor(&app, "harbor-dev", &h.url(), "dev", "devpass").await;
    app.click("[data-testid=view-projects]", 20).await;
    app.wait_text("[data-testid=projects-summary]", "3 projects", 30).await;
    let summary = app.texts("[data-testid=projects-summary]").await.join(" ");
    assert!(summary.contains("1 quota not visible"), "{summary}");
    let rows = app.texts("[data-testid=project-row]").await;
    let library = rows.iter().find(|r| r.starts_with("library")).expect("library row");
    assert!(library.contains("not visible"), "a public project it is no member of: {library}");
    let hidden = app.texts("[data-testid=project-hidden]").await.join(" ");
    assert!(hidden.contains("quota not visible to this account") && hidden.contains("limited guest"), "{hidden}");
    let team = rows.iter().find(|r| r.starts_with("team")).expect("team row");
    assert!(team.contains("developer") && team.contains("pull, push") && team.contains("of 1.0 GB"), "{team}");
    let ops = rows.iter().find(|r| r.starts_with("ops")).expect("ops row");
    assert!(ops.contains("limited guest") && ops.contains("pull"), "{ops}");
    app.screenshot("harbor-member-projects.png").await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_artifacts_view_and_an_immutable_tag_refused_in_the_plan() {
    let _one = ONE_WINDOW.lock().await;
    let app_image = ImageSpec::small("app");
    let digest = {
        let probe = Harbor::builder().project("team", false).start().await;
        probe.seeder().push_image("team/app", "1.0", &app_image).await.digest
    };
    let h = Harbor::builder()
        .admin("admin", "Harbor12345")
        .project("team", false)
        .label(&digest, "release", "#1D5100")
        .scan(&digest, &[("Critical", 1), ("High", 2), ("Low", 4)], 3)
        .immutable("team", "**", "1.*")
        .start()
        .await;
    let s = h.seeder();
    let img = s.push_image("team/app", "1.0", &app_image).await;
    s.tag("team/app", &img.digest, "latest").await;
    s.push_referrer_tag("team/app", &img).await;
    let sbom = s.push_artifact("team/app", None, &ArtifactSpec::sbom_for(&img)).await;
    s.push_artifact("team/app", Some("plugin"), &ArtifactSpec::wasm("plugin")).await;

    let app = AppSession::start().await;
    add_harbor(&app, "harbor", &h.url(), "admin", "Harbor12345").await;
    app.click("[data-testid=sync-start]", 10).await;
    app.wait_text("[data-testid=sync-summary]", "tags", 60).await;
    app.click("[data-testid=view-browse]", 10).await;
    app.click("[data-testid=repo-item][data-path='team/app']", 20).await;

    // Artifacts: the image with its tags (1.0 immutable), label, scan and accessories beneath it.
    app.click("[data-testid=repo-view-artifacts]", 20).await;
    app.wait_text("[data-testid=artifacts-summary]", "artifacts", 20).await;
    let row = format!("[data-testid=artifact-row][data-digest='{}']", img.digest);
    app.wait_css(&row, 20).await;
    let text = app.texts(&row).await.join(" ");
    assert!(text.contains("release") && text.contains("1 critical"), "{text}");
    let immutable = app.texts(&format!("{row} [data-testid=artifact-tag][data-immutable=true]")).await;
    assert_eq!(immutable.len(), 1, "{immutable:?}");
    assert!(immutable[0].contains("1.0"), "{immutable:?}");
    let accessories = app.texts("[data-testid=accessory-row]").await.join(" ");
    assert!(accessories.contains("signature") && accessories.contains("sbom"), "{accessories}");
    assert!(app.texts(&format!("[data-testid=accessory-row][data-digest='{}']", sbom.digest)).await.len() == 1);
    let kinds = app.texts("[data-testid=artifact-row] [data-testid=artifact-kind]").await.join(" ");
    assert!(kinds.contains("wasm"), "{kinds}");
    app.screenshot("harbor-artifacts.png").await;

    // Back to Tags: select 1.0 and untag it; the plan refuses it with the rule.
    app.click("[data-testid=repo-view-tags]", 10).await;
    app.wait_css("[data-testid=tag-row]", 20).await;
    app.js(
        "const r = Array.from(document.querySelectorAll('[data-testid=tag-row]')).find(r => r.textContent.includes('1.0')); \
         r.dispatchEvent(new MouseEvent('click', { bubbles: true })); return true;",
    )
    .await;
    app.wait_text("[data-testid=selection-bar]", "1 selected", 10).await;
    app.click("[data-testid=untag-open]", 5).await;
    let refused = app.wait_text("[data-testid=plan-refused]", "immutable", 30).await;
    assert!(refused.contains("tag immutability rule #1") && refused.contains("1.*"), "{refused}");
    assert!(refused.contains("Tag Immutability"), "the fix is named: {refused}");
    app.screenshot("harbor-immutable-refused.png").await;
    assert!(h.registry_tags("team/app").contains_key("1.0"), "nothing deleted");
    app.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn harbor_gc_with_parameters_its_own_history_and_the_projects_policies() {
    let _one = ONE_WINDOW.lock().await;
    let h = Harbor::builder()
        .admin("admin", "Harbor12345")
        .project("team", false)
        .immutable("team", "**", "release-*")
        .retention("team", "latestPushedK", 5, "**", "**")
        .gc_time_window_hours(0)
        .start()
        .await;
    let s = h.seeder();
    let old = s.push_image("team/app", "old", &ImageSpec::small("old")).await;
    s.push_image("team/app", "release-1", &ImageSpec::small("keep")).await;

    let app = AppSession::start().await;
    add_harbor(&app, "harbor", &h.url(), "admin", "Harbor12345").await;

    // The retention dialog shows Harbor's own policy and immutability rules beside Berth's dry run.
    app.click("[data-testid=retention-open]", 10).await;
    let policy = app.wait_text("[data-testid=server-policy][data-project=team]", "5 most recently pushed", 30).await;
    assert!(policy.contains("release-*"), "{policy}");
    app.screenshot("harbor-retention.png").await;
    app.js("document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true })); return true;")
        .await;
    app.wait_js("document.querySelector('[data-testid=server-retention]') === null", "the dialog closes", 10).await;

    // Untag `old` through the API (outside Berth), then GC from the window deleting untagged artifacts.
    let api = berth_harbor::HarborClient::new(
        &h.url(),
        berth_registry::Credentials::Basic { username: "admin".into(), password: "Harbor12345".into() },
        &berth_registry::TlsOptions::default(),
    )
    .unwrap();
    api.delete_tag_of("team/app", &old.digest, "old").await.unwrap();
    app.click("[data-testid=view-gc]", 10).await;
    app.wait_css("[data-testid=gc-parameters]", 20).await;
    app.wait_css("[data-testid=server-gc-empty]", 20).await;
    app.js("document.querySelector('[data-testid=gc-delete-untagged]').click(); return true;").await;
    app.js(
        "const w = document.querySelector('[data-testid=gc-workers]'); w.value = '2'; \
         w.dispatchEvent(new Event('input', { bubbles: true })); w.dispatchEvent(new Event('change', { bubbles: true })); return true;",
    )
    .await;
    app.wait_css("[data-testid=gc-pending-bytes]", 30).await;
    app.click_until("[data-testid=gc-run]", "[data-testid=gc-confirm]", 20).await;
    app.wait_css("[data-testid=gc-confirm-untagged]", 5).await;
    app.click("[data-testid=gc-confirm]", 5).await;
    app.wait_css("[data-testid=gc-result]", 120).await;
    let row = app.wait_text("[data-testid=server-gc-row]", "delete untagged", 30).await;
    assert!(row.contains("2 workers") && row.to_lowercase().contains("success"), "{row}");
    let window = app.texts("[data-testid=server-gc-window]").await.join(" ");
    assert!(window.contains("0 hours"), "{window}");
    assert!(!h.registry_manifests("team/app").contains(&old.digest), "Harbor deleted the untagged artifact");
    app.screenshot("harbor-gc.png").await;
    app.close().await;
}
