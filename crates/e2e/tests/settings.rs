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
