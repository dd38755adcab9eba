//! Profiles in the real window against real servers: a client certificate with an encrypted key
//! (mutual TLS at nginx) set in the profile dialog; duplicate, export, remove (with what goes) and
//! import a profile file; import from Docker's config.json with a preview (its password reaches the
//! keyring: the imported profile syncs an htpasswd registry); the window in Chinese and at 720×480.

use std::process::Command;

use base64::Engine;
use berth_e2e::AppSession;
use berth_testkit::{ImageSpec, Nginx, NginxOptions, Registry, Seeder};
use std::time::{Duration, Instant};

fn write(dir: &std::path::Path, name: &str, content: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p.display().to_string()
}

async fn profile_names(app: &AppSession) -> Vec<String> {
    let mut names: Vec<String> = app
        .js("return Array.from(document.querySelectorAll('[data-testid=profile-item] .name')).map(e => e.textContent.trim());")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

async fn wait_profiles(app: &AppSession, want: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = profile_names(app).await;
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline, "profiles {got:?}, want {want:?}");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

async fn select_profile(app: &AppSession, name: &str) {
    app.js(&format!(
        "const b = Array.from(document.querySelectorAll('[data-testid=profile-item]')).find(b => \
         b.querySelector('.name').textContent.trim() === '{name}'); b.click(); return true;"
    ))
    .await;
    app.wait_text("#pane-title", name, 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_with_an_encrypted_key_from_the_profile_dialog() {
    let upstream = Registry::start().await;
    Seeder::new(&upstream.url()).push_image("team/app", "1.0", &ImageSpec::small("mtls")).await;
    let nginx = Nginx::start(&upstream, NginxOptions { client_cert_required: true, ..NginxOptions::default() }).await;
    let tmp = tempfile::tempdir().unwrap();
    let ca = write(tmp.path(), "ca.pem", &nginx.ca_pem());
    let (cert, key) = nginx.client_identity().unwrap();
    let cert = write(tmp.path(), "client.pem", &cert);
    let plain = write(tmp.path(), "plain.key", &key);
    let encrypted = tmp.path().join("client.key");
    let passphrase = "e2e-phrase-7f3a";
    let st = Command::new("openssl")
        .args(["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", &plain, "-out"])
        .arg(&encrypted)
        .args(["-passout", &format!("pass:{passphrase}")])
        .status()
        .unwrap();
    assert!(st.success(), "openssl pkcs8");
    let app = AppSession::start_with_env(&[
        ("BERTH_E2E_PICK_FILE_CERTIFICATE", &ca),
        ("BERTH_E2E_PICK_FILE_CLIENT_CERT", &cert),
        ("BERTH_E2E_PICK_FILE_CLIENT_KEY", encrypted.to_str().unwrap()),
    ])
    .await;

    app.click("[data-testid=add-profile-open]", 20).await;
    app.type_into("#profile-name", "mtls").await;
    app.type_into("#profile-url", &nginx.url()).await;
    app.click("[data-testid=import-ca]", 5).await;
    app.wait_css("[data-testid=picked-ca]", 10).await;
    app.click("[data-testid=client-cert-pick]", 5).await;
    app.click("[data-testid=client-key-pick]", 5).await;
    app.wait_js(
        &format!("document.querySelector('[data-testid=client-key]').value === {:?}", encrypted.to_str().unwrap()),
        "the picked key is in the field",
        10,
    )
    .await;
    // Without the passphrase the encrypted key is refused, and the dialog stays open.
    app.click("[data-testid=add-profile-submit]", 5).await;
    let refused = app.wait_text("[data-testid=profile-dialog] [data-testid=error]", "encrypted", 30).await;
    assert!(!refused.contains("--"), "the error names no CLI flag: {refused}");
    app.type_into("[data-testid=client-key-passphrase]", passphrase).await;
    app.js("document.querySelector('[data-testid=client-cert-section]').scrollIntoView(); return true;").await;
    app.screenshot("profile-mtls.png").await;
    app.click("[data-testid=add-profile-submit]", 5).await;
    app.wait_js("document.querySelector('[data-testid=profile-dialog]') === null", "the connection test passes", 60)
        .await;
    app.click("[data-testid=sync-start]", 10).await;
    app.wait_text("[data-testid=sync-summary]", "1 tags", 60).await;

    // The passphrase is in the keyring, not in the data directory.
    let mut found = false;
    for entry in walk(app.data_dir.path()) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        found |= bytes.windows(passphrase.len()).any(|w| w == passphrase.as_bytes());
    }
    assert!(!found, "the passphrase is written nowhere in the data directory");

    // Editing shows the saved certificate; without it the server refuses the connection test.
    app.click("[data-testid=edit-profile]", 5).await;
    app.wait_css("[data-testid=client-cert-current]", 10).await;
    app.click("[data-testid=client-cert-clear]", 5).await;
    app.click("[data-testid=profile-test]", 5).await;
    app.wait_css("[data-testid=connection-result][data-ok=false]", 30).await;
    app.close().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_are_duplicated_exported_removed_and_imported_from_files_and_docker_config() {
    let open = Registry::start().await;
    Seeder::new(&open.url()).push_image("app", "v1", &ImageSpec::small("open")).await;
    let locked = Registry::builder().htpasswd(&[("alice", "s3cret-docker")]).start().await;
    Seeder::new(&locked.url())
        .with_basic("alice", "s3cret-docker")
        .push_image("private", "1", &ImageSpec::small("p"))
        .await;

    let tmp = tempfile::tempdir().unwrap();
    let docker = tmp.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret-docker");
    std::fs::write(
        docker.join("config.json"),
        serde_json::json!({ "auths": { format!("http://{}", locked.host()): { "auth": auth } } }).to_string(),
    )
    .unwrap();
    let certs_d = tmp.path().join("certs.d");
    std::fs::create_dir_all(&certs_d).unwrap();
    let export = tmp.path().join("lab.berth.json");
    let app = AppSession::start_with_env(&[
        ("DOCKER_CONFIG", docker.to_str().unwrap()),
        ("BERTH_DOCKER_CERTS_D", certs_d.to_str().unwrap()),
        ("BERTH_E2E_SAVE_FILE_PROFILE", export.to_str().unwrap()),
        ("BERTH_E2E_PICK_FILE_PROFILE", export.to_str().unwrap()),
    ])
    .await;
    app.add_profile("lab", &open.url(), false).await;
    app.wait_js("document.querySelector('[data-testid=profile-dialog]') === null", "dialog closes", 30).await;
    app.click("[data-testid=sync-start]", 10).await;
    app.wait_text("[data-testid=sync-summary]", "1 tags", 60).await;

    // Duplicate.
    app.click("[data-testid=profile-manage]", 5).await;
    app.click("[data-testid=duplicate-profile]", 5).await;
    app.wait_js("document.querySelector('[data-testid=duplicate-name]').value === 'lab-copy'", "a name is offered", 10)
        .await;
    app.click("[data-testid=duplicate-confirm]", 5).await;
    app.wait_text("[data-testid=duplicate-result]", "lab-copy", 20).await;
    wait_profiles(&app, &["lab", "lab-copy"]).await;
    app.click("[data-testid=manage-duplicate] button[aria-label=Close]", 5).await;

    // Export: a file with the profile and no secret.
    app.click("[data-testid=profile-manage]", 5).await;
    app.click("[data-testid=export-profile]", 5).await;
    app.wait_text("[data-testid=export-result]", export.to_str().unwrap(), 20).await;
    let exported: serde_json::Value = serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    assert!(exported.to_string().contains(&open.url()), "{exported}");
    app.click("[data-testid=manage-export] button[aria-label=Close]", 5).await;

    // Remove the copy: what goes is shown first; then it is gone from the list.
    select_profile(&app, "lab-copy").await;
    app.click("[data-testid=profile-manage]", 5).await;
    app.click("[data-testid=remove-profile]", 5).await;
    app.wait_css("[data-testid=profile-removal] [data-testid=removal-cache]", 20).await;
    app.wait_css("[data-testid=removal-keyring]", 5).await;
    app.click("[data-testid=remove-confirm]", 5).await;
    app.wait_text("[data-testid=remove-result]", "lab-copy", 20).await;
    app.click("[data-testid=remove-done]", 5).await;
    wait_profiles(&app, &["lab"]).await;

    // Import the exported file under another name.
    app.click("[data-testid=import-menu]", 5).await;
    app.click("[data-testid=import-profile-file]", 5).await;
    app.wait_text("[data-testid=import-file]", &open.url(), 20).await;
    assert_eq!(app.js("return document.querySelector('[data-testid=import-trust-gc]').checked;").await, false);
    app.type_into("[data-testid=import-name]", "lab-imported").await;
    app.click("[data-testid=import-confirm]", 5).await;
    app.wait_text("[data-testid=import-report]", "lab-imported", 20).await;
    app.click("[data-testid=import-done]", 5).await;
    wait_profiles(&app, &["lab", "lab-imported"]).await;

    // Docker's config.json: a preview (nothing created yet), then the profile, whose password works.
    app.click("[data-testid=import-menu]", 5).await;
    app.click("[data-testid=import-docker]", 5).await;
    let planned = app.wait_text("[data-testid=docker-planned-row]", &locked.host(), 20).await;
    assert!(planned.contains("alice"), "{planned}");
    assert_eq!(profile_names(&app).await, ["lab", "lab-imported"], "a preview creates nothing");
    app.click("[data-testid=docker-confirm]", 5).await;
    let created = app.wait_text("[data-testid=docker-created-row]", &locked.host(), 20).await;
    let name = created.split_whitespace().next().unwrap().to_string();
    app.click("[data-testid=import-done]", 5).await;
    select_profile(&app, &name).await;
    app.click("[data-testid=sync-start]", 10).await;
    app.wait_text("[data-testid=sync-summary]", "1 tags", 60).await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_speaks_chinese_under_a_chinese_locale_and_fits_720_by_480() {
    let registry = Registry::start().await;
    let seeder = Seeder::new(&registry.url());
    seeder.push_image("team/app", "1.0", &ImageSpec::small("zh")).await;
    seeder.push_image("team/app", "1.1", &ImageSpec::small("zh2")).await;
    let app =
        AppSession::start_with_env(&[("LANG", "zh_CN.UTF-8"), ("LC_ALL", "zh_CN.UTF-8"), ("LANGUAGE", "zh_CN")]).await;
    // A language chosen in the window is remembered (WebKit's local storage outlives the data dir):
    // forget any earlier choice, so the system's language decides.
    app.js("localStorage.removeItem('berth.locale'); return true;").await;
    app.reload().await;
    app.wait_text("[data-testid=add-profile-open]", "添加镜像仓库", 20).await;
    app.add_profile("lab", &registry.url(), false).await;
    app.wait_js("document.querySelector('[data-testid=profile-dialog]') === null", "dialog closes", 30).await;
    app.click("[data-testid=sync-start]", 10).await;
    app.wait_text("[data-testid=sync-summary]", "已同步 1 个仓库、2 个标签", 60).await;
    app.open_repository("team/app").await;
    app.click("[data-testid=tag-row]", 20).await;
    app.wait_css("[data-testid=pull-line]", 30).await;
    app.screenshot("window-zh.png").await;

    // 720×480, the window's minimum: the header's buttons, the profile name and the tabs do not overlap.
    app.client.set_window_size(720, 480).await.expect("resize");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let layout = app
        .js("const vis = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; }; \
             const header = ['#pane-title', ...document.querySelectorAll('.header .actions > *, [role=tablist][aria-label] [role=tab], [data-testid=sync-start]')] \
               .map(x => typeof x === 'string' ? document.querySelector(x) : x).filter(e => e && vis(e)); \
             const name = e => e.id || e.dataset.testid || e.textContent.trim(); \
             const overlap = []; \
             for (let i = 0; i < header.length; i++) for (let j = i + 1; j < header.length; j++) { \
               const r = header[i].getBoundingClientRect(), q = header[j].getBoundingClientRect(); \
               if (r.left < q.right - 1 && q.left < r.right - 1 && r.top < q.bottom - 1 && q.top < r.bottom - 1) overlap.push(name(header[i]) + ' / ' + name(header[j])); } \
             const must = ['#pane-title', '[data-testid=edit-profile]', '[data-testid=profile-manage]', '[data-testid=view-gc]', \
               '[data-testid=sync-start]', '[data-testid=image-detail]', '[data-testid=pull-line]', '[data-testid=detail-refresh]']; \
             const cut = must.filter(s => { const e = document.querySelector(s); if (!e || !vis(e)) return true; \
               const r = e.getBoundingClientRect(); return r.right > window.innerWidth + 1 || r.bottom > window.innerHeight + 1 || r.left < -1; }); \
             const wrapped = [...document.querySelectorAll('[role=tablist][aria-label] [role=tab]')].filter(e => e.getBoundingClientRect().height > 40).map(name); \
             const detail = document.querySelector('[data-testid=image-detail]').getBoundingClientRect().width; \
             return { overlap, cut, wrapped, detail, w: window.innerWidth, h: window.innerHeight };")
        .await;
    assert!(layout["w"].as_f64().unwrap() <= 730.0, "the window is at its minimum width: {layout}");
    assert_eq!(layout["overlap"], serde_json::json!([]), "nothing overlaps: {layout}");
    assert_eq!(layout["cut"], serde_json::json!([]), "everything is inside the window: {layout}");
    assert_eq!(layout["wrapped"], serde_json::json!([]), "tab labels stay on one line: {layout}");
    assert!(layout["detail"].as_f64().unwrap() >= 400.0, "the open detail takes the pane: {layout}");
    app.screenshot("window-720x480-detail.png").await;

    // The detail closed: the tree and the table are back, with Name, Created and Size, nothing hidden.
    app.click("[data-testid=image-detail] header .close", 5).await;
    app.wait_js("document.querySelector('[data-testid=image-detail]') === null", "the detail closes", 10).await;
    let table = app
        .js("const vis = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; }; \
             const col = document.querySelector('.tags-col').getBoundingClientRect(); \
             const must = ['[data-testid=repo-filter]', '[data-testid=sort-name]', '[data-testid=sort-created]', '[data-testid=sort-size]', \
               '[data-testid=select-all]', '[data-testid=delete-repository]', '[data-testid=tag-row]']; \
             const cut = must.filter(s => { const e = document.querySelector(s); if (!e || !vis(e)) return true; \
               const r = e.getBoundingClientRect(); return r.right > window.innerWidth + 1 || r.bottom > window.innerHeight + 1; }); \
             const under = [...document.querySelectorAll('.tags-col button, .tags-col input')].filter(vis) \
               .filter(e => e.getBoundingClientRect().right > col.right + 1).map(e => e.dataset.testid || e.textContent.trim()); \
             return { cut, under };")
        .await;
    assert_eq!(table["cut"], serde_json::json!([]), "the table's columns and controls are in the window: {table}");
    assert_eq!(table["under"], serde_json::json!([]), "nothing of the table is cut off: {table}");
    app.screenshot("window-720x480.png").await;

    // The switch: English at once.
    app.js("const s = document.querySelector('[data-testid=locale-switch]'); s.value = 'en'; \
            s.dispatchEvent(new Event('change', { bubbles: true })); return true;")
        .await;
    app.wait_text("[data-testid=add-profile-open]", "Add registry", 10).await;
    app.js("localStorage.removeItem('berth.locale'); return true;").await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_follows_a_dark_system_theme() {
    let app = AppSession::start_with_env(&[("GTK_THEME", "Adwaita:dark")]).await;
    app.wait_css("[data-testid=add-profile-open]", 20).await;
    let theme = app
        .js("const bg = getComputedStyle(document.body).backgroundColor.match(/\\d+/g).slice(0, 3).map(Number); \
             return { dark: matchMedia('(prefers-color-scheme: dark)').matches, bg };")
        .await;
    assert_eq!(theme["dark"], true, "WebKitGTK reports the dark theme: {theme}");
    let bg: Vec<u64> = theme["bg"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert!(bg.iter().all(|c| *c < 80), "a dark background: {theme}");
    app.screenshot("window-dark.png").await;
    app.close().await;
}
