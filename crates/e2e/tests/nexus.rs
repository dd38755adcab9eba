//! Nexus in the real window, the way seed deployment 000 runs it (REST API on the main port, each
//! docker repository on its own connector), against the Nexus emulator with real registries behind:
//! the server is added by its REST URL, its repositories appear beneath it in the sidebar, one is
//! browsed and untagged, GC runs the Nexus tasks and the blob store shrinks; a second server with
//! the seed's mistakes shows each diagnosis, and a fix opens the repository's endpoint; an anonymous
//! profile while anonymous access is off, then a user with view privileges only, are told what they
//! lack.

use std::time::{Duration, Instant};

use berth_e2e::AppSession;
use berth_testkit::{ImageSpec, Nexus};

/// One window at a time in this file: three WebKit windows with their emulators at once on a
/// 2-core machine make the waits race the load.
static ONE_WINDOW: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn add_nexus(app: &AppSession, name: &str, url: &str) {
    app.click("[data-testid=add-profile-open]", 20).await;
    app.js("document.querySelector('[data-testid=kind-nexus]').click(); return true;").await;
    app.type_into("#profile-name", name).await;
    app.type_into("#profile-url", url).await;
    app.type_into("#profile-username", "admin").await;
    app.type_into("#profile-password", "admin123").await;
    app.click("[data-testid=add-profile-submit]", 5).await;
}

async fn blob_store_bytes(app: &AppSession) -> u64 {
    app.wait_css("[data-testid=blobstore-used]", 20).await;
    let v = app.js("return document.querySelector('[data-testid=blobstore-used]').dataset.bytes;").await;
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("blob store bytes: {v}"))
}

async fn select_profile(app: &AppSession, css: &str) {
    app.click(css, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nexus_server_with_its_repositories_browse_untag_and_gc() {
    let _one = ONE_WINDOW.lock().await;
    let n = Nexus::builder()
        .user("admin", "admin123")
        .docker_hosted("docker-a", true)
        .cleanup_policy("docker-30d", 30)
        .docker_hosted("docker-b", true)
        .docker_proxy("docker-hub", true)
        .start()
        .await;
    n.seeder("docker-a").push_image("team/app", "1.0", &ImageSpec::small("app-1")).await;
    n.seeder("docker-a").push_image("team/app", "2.0", &ImageSpec::small("app-2")).await;
    n.seeder("docker-b").push_image("tools/lint", "3.0", &ImageSpec::small("lint")).await;
    n.seeder("docker-hub").push_image("library/nginx", "1.27", &ImageSpec::small("nginx")).await;

    let app = AppSession::start().await;
    add_nexus(&app, "nx", &n.url()).await;
    // Every check passes: the dialog closes, and the repositories are beneath the server.
    app.wait_js("document.querySelector('[data-testid=profile-dialog]') === null", "dialog closes", 60).await;
    app.wait_js(
        "document.querySelectorAll(\"[data-testid=profile-item][data-parent='nx']\").length === 3",
        "three repositories beneath the server",
        30,
    )
    .await;
    let children = app.texts("[data-testid=profile-item][data-parent='nx']").await;
    assert!(children[0].contains("docker-a") && children[2].contains("docker-hub"), "{children:?}");
    assert!(children[2].contains("read-only"), "the proxy is marked read-only: {children:?}");

    // The server's pane: its repositories with their connectors and policies.
    // The pane runs its own discovery; on a loaded CI machine it can take a while.
    app.wait_text("[data-testid=nexus-repos-summary]", "3 docker repositories", 120).await;
    let hub = app.wait_text("[data-testid=nexus-repo-row][data-name='docker-hub']", "proxy", 10).await;
    assert!(hub.contains("proxy"), "{hub}");
    assert!(!app
        .texts("[data-testid=nexus-repo-row][data-name='docker-hub'] [data-testid=nexus-repo-readonly]")
        .await
        .is_empty());
    let a = app.texts("[data-testid=nexus-repo-row][data-name='docker-a']").await.join(" ");
    assert!(a.contains("docker-30d") && a.contains("hosted"), "{a}");
    app.screenshot("nexus-server.png").await;

    app.click("[data-testid=view-blobstores]", 10).await;
    app.wait_text("[data-testid=blobstores-summary]", "1 blob store", 20).await;
    let before = blob_store_bytes(&app).await;
    assert!(before > 0);
    app.screenshot("nexus-blobstores.png").await;

    // Open docker-a from its row: sync, browse, untag 1.0.
    app.click("[data-testid=view-repositories]", 10).await;
    app.click("[data-testid=nexus-repo-row][data-name='docker-a'] [data-testid=nexus-repo-open]", 20).await;
    app.wait_text("#pane-title", "nx-docker-a", 10).await;
    app.click("[data-testid=sync-start]", 10).await;
    app.wait_text("[data-testid=sync-summary]", "2 tags", 60).await;
    app.click("[data-testid=view-components]", 10).await;
    app.wait_text("[data-testid=components-summary]", "2 components", 20).await;
    app.click("[data-testid=view-browse]", 10).await;
    app.click("[data-testid=repo-item][data-path='team/app']", 20).await;
    app.wait_css("[data-testid=tag-row]", 20).await;
    app.js("document.querySelector('[data-testid=tag-row]').dispatchEvent(new MouseEvent('click', { bubbles: true })); return true;")
        .await;
    app.wait_text("[data-testid=selection-bar]", "1 selected", 10).await;
    app.click("[data-testid=untag-open]", 5).await;
    app.wait_text("[data-testid=plan-untag]", "team/app:1.0", 30).await;
    app.click("[data-testid=delete-confirm]", 5).await;
    app.wait_text("[data-testid=report-summary]", "1 untagged", 60).await;
    app.click("[data-testid=delete-close]", 5).await;
    assert_eq!(n.registry_tags("docker-a", "team/app").keys().collect::<Vec<_>>(), ["2.0"]);

    // GC from the window: Nexus's docker GC task, then compact; verified afterwards.
    app.click("[data-testid=view-gc]", 10).await;
    // Let the prediction and the history load first (they move the buttons).
    app.wait_css("[data-testid=gc-pending-bytes]", 30).await;
    app.wait_js(
        "document.querySelector('[data-testid=gc-history-empty], [data-testid=gc-history-row]') !== null",
        "the GC history",
        20,
    )
    .await;
    app.click_until("[data-testid=gc-run]", "[data-testid=gc-confirm]", 20).await;
    app.click("[data-testid=gc-confirm]", 5).await;
    app.wait_css("[data-testid=gc-result]", 120).await;
    let log = app.texts("[data-testid=gc-log]").await.join(" ");
    assert!(log.contains("blob stores after"), "{log}");
    let verified = app.wait_text("[data-testid=gc-verified]", "", 10).await;
    assert!(!verified.to_lowercase().contains("not"), "{verified}");

    // The server's blob store is smaller now.
    select_profile(&app, "[data-testid=profile-item]:not([data-parent])").await;
    app.wait_js("document.querySelector('#pane-title').textContent.trim() === 'nx'", "the server's pane", 10).await;
    app.click("[data-testid=view-blobstores]", 10).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let after = blob_store_bytes(&app).await;
        if after < before {
            break;
        }
        assert!(Instant::now() < deadline, "blob store {after} not below {before}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    app.click("[data-testid=view-tasks]", 10).await;
    let task = app.wait_text("[data-testid=nexus-task-row]", "OK", 20).await;
    assert!(task.contains("repository.docker.gc") || task.contains("Docker"), "{task}");
    app.wait_text("[data-testid=cleanup-policy-row]", "docker-30d", 20).await;

    // The server's own Search is off: its tags are in the repositories beneath it.
    let search_off = app.js("return document.querySelector('[data-testid=search-open]').disabled;").await;
    assert_eq!(search_off, serde_json::Value::Bool(true));

    // A repository removed from Nexus leaves the sidebar at the next discovery.
    n.remove_repository("docker-b");
    app.click("[data-testid=view-repositories]", 10).await;
    app.click("[data-testid=nexus-discover]", 20).await;
    app.wait_js(
        "document.querySelectorAll(\"[data-testid=profile-item][data-parent='nx']\").length === 2",
        "docker-b gone from the sidebar",
        30,
    )
    .await;
    let left = app.texts("[data-testid=profile-item][data-parent='nx']").await.join(" ");
    assert!(!left.contains("docker-b"), "{left}");

    // While Nexus is read-only, GC is refused before any task runs, with why.
    n.set_writable(false);
    let tasks_before = n.task_runs();
    select_profile(&app, "[data-testid=profile-item][data-parent='nx']").await;
    app.click("[data-testid=view-gc]", 10).await;
    app.wait_css("[data-testid=gc-pending-bytes]", 30).await;
    app.click_until("[data-testid=gc-run]", "[data-testid=gc-confirm]", 20).await;
    app.click("[data-testid=gc-confirm]", 5).await;
    let refused = app.wait_text("[data-testid=gc-view] [data-testid=error]", "read-only", 60).await;
    assert!(refused.to_lowercase().contains("nexus"), "{refused}");
    assert_eq!(n.task_runs(), tasks_before, "no task ran");
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_deployments_mistakes_are_shown_with_their_fixes() {
    let _one = ONE_WINDOW.lock().await;
    let n = Nexus::builder()
        .user("admin", "admin123")
        .docker_token_realm(false)
        .docker_hosted("docker-a", true)
        .docker_hosted("hidden", true)
        .unpublished_connector()
        .docker_hosted("once", true)
        .write_policy("ALLOW_ONCE")
        .start()
        .await;
    n.seeder("docker-a").push_image("app", "1", &ImageSpec::small("a")).await;

    let app = AppSession::start().await;
    add_nexus(&app, "nx", &n.url()).await;
    // The server works, but three checks fail: the dialog stays open with each and its fix.
    app.wait_js(
        "document.querySelectorAll('[data-testid=check][data-ok=false]').length >= 3",
        "failed checks shown",
        60,
    )
    .await;
    let failed = app.texts("[data-testid=check][data-ok=false]").await.join("\n");
    assert!(failed.contains("Docker Bearer Token Realm") && failed.contains("Security → Realms"), "{failed}");
    assert!(failed.contains("not published") && failed.contains("docker run -p"), "{failed}");
    assert!(failed.contains("Disable redeploy") && failed.contains("Allow redeploy"), "{failed}");
    app.wait_js(
        "!document.querySelector('[data-testid=profile-dialog]').textContent.includes('Testing the connection')",
        "the test finished",
        30,
    )
    .await;
    app.js("document.querySelector('[data-testid=check][data-ok=false]').scrollIntoView(); return true;").await;
    app.screenshot("nexus-diagnosis.png").await;

    // The unpublished connector's fix opens that repository's profile at its endpoint.
    app.click("[data-testid=check][data-name='repository hidden'] [data-testid=check-fix]", 10).await;
    app.wait_js(
        "document.querySelector('[data-testid=profile-dialog] h2')?.textContent.includes('nx-hidden') && document.activeElement?.id === 'profile-url'",
        "the edit dialog of nx-hidden with its URL focused",
        20,
    )
    .await;
    // Use the path route on the main port instead.
    app.js("const e = document.getElementById('profile-url'); e.value = ''; e.dispatchEvent(new Event('input', { bubbles: true })); return true;").await;
    app.type_into("#profile-url", &format!("{}/repository/hidden/", n.url())).await;
    // Another port is another origin: the dialog says the saved password stays behind; type it again.
    app.wait_css("[data-testid=password-forgotten]", 10).await;
    app.type_into("#profile-password", "admin123").await;
    app.click("[data-testid=profile-test]", 5).await;
    app.wait_text("[data-testid=connection-result]", "Connected", 30).await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_profile_then_a_limited_user_are_told_what_they_lack() {
    let _one = ONE_WINDOW.lock().await;
    let n = Nexus::builder()
        .user_with("dev", "dev123", &["nx-repository-view-docker-*-browse", "nx-repository-view-docker-docker-a-read"])
        .docker_hosted("docker-a", true)
        .docker_hosted("docker-b", true)
        .start()
        .await;
    n.seeder("docker-a").push_image("app", "1", &ImageSpec::small("a")).await;

    // Anonymous, while anonymous access is off: the test fails, its fix opens the credentials.
    let app = AppSession::start().await;
    app.click("[data-testid=add-profile-open]", 20).await;
    app.js("document.querySelector('[data-testid=kind-nexus]').click(); return true;").await;
    app.type_into("#profile-name", "nx").await;
    app.type_into("#profile-url", &n.url()).await;
    app.click("[data-testid=add-profile-submit]", 5).await;
    let anon = app.wait_text("[data-testid=check][data-ok=false]", "anonymous access is off", 60).await;
    assert!(anon.contains("Security → Anonymous Access"), "{anon}");
    app.click("[data-testid=check][data-name='anonymous access'] [data-testid=check-fix]", 10).await;
    app.wait_js("document.activeElement?.id === 'profile-password'", "the password field is focused", 10).await;

    // With a user whose role gives view privileges only: it works, and each missing privilege is named.
    app.type_into("#profile-username", "dev").await;
    app.type_into("#profile-password", "dev123").await;
    app.click("[data-testid=profile-test]", 5).await;
    let privileges = app.wait_text("[data-testid=check][data-name='privileges']", "nx-tasks-read", 60).await;
    assert!(privileges.contains("nx-blobstores-read") && privileges.contains("Security → Roles"), "{privileges}");
    let denied = app.wait_text("[data-testid=check][data-name='repository docker-b']", "403", 10).await;
    assert!(denied.contains("nx-repository-view-docker-docker-b-read"), "{denied}");
    let deletes = app.texts("[data-testid=check][data-name='repository docker-a: deletes']").await.join(" ");
    assert!(deletes.contains("nx-repository-view-docker-docker-a-delete"), "{deletes}");
    app.close().await;
}
