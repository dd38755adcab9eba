//! The first vertical slice, through the real window: add a profile pointing at a real registry and
//! see its repositories.

use berth_e2e::AppSession;
use berth_testkit::{Registry, Seeder};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_profile_and_browse_repositories() {
    let registry = Registry::start().await;
    let seeded = Seeder::new(&registry.url()).seed_many(40, 1, "team/svc", 8).await;
    assert_eq!(seeded.repositories, 40);

    let app = AppSession::start().await;
    let title = app.client.title().await.expect("title");
    assert_eq!(title, "Berth");

    // No profile yet: the empty state teaches, and the add form is one click away.
    if app.client.find("#profile-name").await.is_err() {
        let b = app.wait_css("[data-testid=add-profile-open]", 20).await;
        app.client.click(&b).await.expect("open add form");
    }
    let name = app.wait_css("#profile-name", 20).await;
    app.client.send_keys(&name, "lab").await.expect("type name");
    let url = app.client.find("#profile-url").await.expect("url input");
    app.client.send_keys(&url, &registry.url()).await.expect("type url");
    let submit = app.client.find("[data-testid=add-profile-submit]").await.expect("submit");
    app.client.click(&submit).await.expect("click submit");

    app.wait_text("[data-testid=profile-item]", "lab", 20).await;
    app.wait_text("[data-testid=repo-count]", "40", 30).await;
    app.wait_css("[data-testid=repo-item][data-path='team/svc00000']", 10).await;
    let shot = app.screenshot("window-repositories.png").await;
    assert!(std::fs::metadata(&shot).expect("screenshot file").len() > 10_000, "screenshot looks empty");

    // The profile went through the core into SQLite: the same data dir lists it from the CLI's store.
    let db = app.data_dir.path().join("berth.sqlite");
    assert!(db.is_file(), "the window created its database in BERTH_DATA_DIR");
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_registry_shows_the_diagnosis() {
    let app = AppSession::start().await;
    if app.client.find("#profile-name").await.is_err() {
        let b = app.wait_css("[data-testid=add-profile-open]", 20).await;
        app.client.click(&b).await.expect("open add form");
    }
    // A port where nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let name = app.wait_css("#profile-name", 20).await;
    app.client.send_keys(&name, "down").await.unwrap();
    let url = app.client.find("#profile-url").await.unwrap();
    app.client.send_keys(&url, &format!("http://127.0.0.1:{port}")).await.unwrap();
    let submit = app.client.find("[data-testid=add-profile-submit]").await.unwrap();
    app.client.click(&submit).await.unwrap();
    let text = app.wait_text("[data-testid=error]", "connection refused", 30).await;
    assert!(text.contains("is the registry running"), "the hint is shown: {text}");
    app.screenshot("window-connection-refused.png").await;
    app.close().await;
}
