//! Settings that run code, in the real window: GC commands typed in the profile dialog are saved only
//! after the native confirmation (answered through `BERTH_E2E_CONFIRM_COMMANDS`, debug builds only).

use berth_e2e::AppSession;
use berth_testkit::Registry;

#[tokio::test(flavor = "multi_thread")]
async fn gc_commands_from_the_window_are_saved_only_once_confirmed() {
    let reg = Registry::start().await;
    let app = AppSession::start_with_env(&[("BERTH_E2E_CONFIRM_COMMANDS", "no,yes")]).await;
    app.add_profile("lab", &reg.url(), false).await;
    app.wait_js("document.querySelector('[data-testid=profile-dialog]') === null", "dialog closes", 30).await;

    let set_command = |cmd: &'static str| {
        let app = &app;
        async move {
            app.click("[data-testid=edit-profile]", 10).await;
            app.wait_css("#profile-gc-command", 10).await;
            app.js("const e = document.getElementById('profile-gc-command'); e.value = ''; e.dispatchEvent(new Event('input', { bubbles: true })); return true;").await;
            app.type_into("#profile-gc-command", cmd).await;
            app.click("[data-testid=add-profile-submit]", 5).await;
        }
    };
    // Declined: nothing saved, and the dialog says so.
    set_command("docker exec registry registry garbage-collect /etc/docker/registry/config.yml").await;
    let e = app.wait_text("[data-testid=profile-dialog] [data-testid=error]", "not saved", 20).await;
    assert!(e.contains("lab"), "{e}");
    app.js("document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true })); return true;")
        .await;
    app.wait_js("document.querySelector('[data-testid=profile-dialog]') === null", "dialog closes", 10).await;
    app.click("[data-testid=view-gc]", 10).await;
    app.wait_css("[data-testid=gc-no-command]", 20).await;

    // Confirmed: saved.
    set_command("docker exec registry registry garbage-collect /etc/docker/registry/config.yml").await;
    app.wait_js("document.querySelector('[data-testid=profile-dialog]') === null", "dialog closes", 30).await;
    app.click("[data-testid=view-gc]", 10).await;
    let cmd = app.wait_text("[data-testid=gc-command]", "garbage-collect", 20).await;
    assert!(cmd.contains("docker exec registry"), "{cmd}");
    app.close().await;
}

/// A registry whose token service is on another host: the connection test in the Add dialog names
/// it, nothing is sent there, and "Trust … for this profile" trusts exactly it and tests again.
#[tokio::test(flavor = "multi_thread")]
async fn a_token_service_on_another_host_is_trusted_from_the_connection_test() {
    use berth_testkit::{Nginx, NginxOptions, TokenIssuer, TokenUser};
    let issuer = TokenIssuer::start(vec![TokenUser::new("alice", "s3cret", &["pull", "push", "delete"])]).await;
    let port = berth_testkit::free_port();
    let origin = format!("https://localhost:{port}");
    let reg = Registry::builder().token_auth_at(&issuer, &format!("{origin}/token")).start().await;
    let issuer_base = issuer.realm().trim_end_matches("/token").to_string();
    let nginx = Nginx::start(
        &reg,
        NginxOptions { port: Some(port), token_upstream: Some(issuer_base), ..NginxOptions::default() },
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("ca.pem");
    std::fs::write(&ca, nginx.ca_pem()).unwrap();
    let app = AppSession::start_with_env(&[("BERTH_E2E_PICK_FILE", ca.to_str().unwrap())]).await;

    app.click("[data-testid=add-profile-open]", 20).await;
    app.type_into("#profile-name", "tok").await;
    app.type_into("#profile-url", &nginx.url()).await;
    app.type_into("#profile-username", "alice").await;
    app.type_into("#profile-password", "s3cret").await;
    app.click("[data-testid=import-ca]", 5).await;
    app.wait_css("[data-testid=picked-ca]", 10).await;
    app.click("[data-testid=add-profile-submit]", 5).await;

    let shown = app.wait_text("[data-testid=token-service-untrusted]", &origin, 30).await;
    assert!(shown.contains("another host"), "{shown}");
    assert_eq!(issuer.requests(), 0, "no password went to the token service before it was trusted");
    app.screenshot("token-service-untrusted.png").await;

    app.click("[data-testid=trust-token-service]", 5).await;
    let line = app.wait_text("[data-testid=token-service]", "trusted for this profile", 30).await;
    assert!(line.contains(&origin), "{line}");
    app.wait_css("[data-testid=connection-result][data-ok=true]", 10).await;
    assert!(issuer.requests() > 0, "the trusted token service gave a token");
    app.close().await;
}
