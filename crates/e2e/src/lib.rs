//! Drives the real desktop binary through tauri-driver (W3C WebDriver → WebKitWebDriver).
//!
//! Needs: the app built with embedded assets (`make app`), `tauri-driver` on PATH (or `TAURI_DRIVER`),
//! `WebKitWebDriver` (Debian `webkit2gtk-driver`), a display (`xvfb-run`) and a D-Bus session
//! (`dbus-run-session`). `make test` sets all of that up through scripts/headless.sh. Sessions run the
//! window composited (`BERTH_COMPOSITING=on`): without compositing, which the app chooses by itself on
//! a machine with no GPU (`src-tauri/rendering.rs`), WebKitWebDriver's screenshots never complete. A
//! test of that default passes `("BERTH_COMPOSITING", "auto")`; do not set
//! `WEBKIT_DISABLE_COMPOSITING_MODE`.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod webdriver;

pub use webdriver::{Element, WdError, WebDriver};

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// The app binary under test: `$BERTH_E2E_APP`, else `target/debug/berth-desktop`.
pub fn app_binary() -> PathBuf {
    let p = std::env::var_os("BERTH_E2E_APP")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/debug/berth-desktop"));
    assert!(p.is_file(), "app binary {} not found: build it first with `make app`", p.display());
    p
}

/// Where tests leave screenshots for people to look at.
pub fn artifacts_dir() -> PathBuf {
    let d = std::env::var_os("BERTH_TEST_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("test-artifacts"));
    std::fs::create_dir_all(&d).expect("artifacts dir");
    d
}

/// The registry's own tag list for a repository (`/v2/REPO/tags/list`), sorted; empty when it has none.
pub async fn registry_tags(url: &str, repo: &str) -> Vec<String> {
    let v: serde_json::Value = reqwest::get(format!("{url}/v2/{repo}/tags/list"))
        .await
        .expect("tags/list")
        .json()
        .await
        .expect("tags/list JSON");
    let mut tags: Vec<String> = v["tags"]
        .as_array()
        .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    tags.sort();
    tags
}

/// The `berth` CLI beside the app binary, on the window's data directory `data`.
pub fn berth_cli(data: &Path) -> Command {
    let mut c = Command::new(app_binary().with_file_name("berth"));
    c.arg("--data-dir").arg(data).env_remove("BERTH_DATA_DIR").stdin(Stdio::null());
    c
}

/// Runs `c` and fails the test with its stderr unless it succeeds.
pub fn run_ok(c: &mut Command) {
    let out = c.output().expect("run the berth CLI");
    assert!(out.status.success(), "{c:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// One running app session: tauri-driver (killed on drop) and a WebDriver client.
pub struct AppSession {
    pub client: WebDriver,
    driver: Child,
    pub data_dir: tempfile::TempDir,
}

impl AppSession {
    /// Starts tauri-driver with an isolated data dir and opens a session on the app.
    pub async fn start() -> AppSession {
        Self::start_with_env(&[]).await
    }

    /// Like [`AppSession::start`], with extra environment variables for the app (e.g.
    /// `BERTH_E2E_PICK_FILE`, which debug builds use to answer the native file dialog).
    pub async fn start_with_env(env: &[(&str, &str)]) -> AppSession {
        // A session can fail for a reason a new driver avoids: the ports come from `free_port`, which
        // releases them, and WebKitWebDriver picks the app's inspector port the same way, so a test
        // starting beside this one can take it ("Failed to start remote inspector server ... Address
        // already in use") and the session request then fails. Start again on fresh ports.
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Self::try_start(env).await {
                Ok(s) => return s,
                Err(e) => {
                    eprintln!("app session failed ({e}); starting tauri-driver again on fresh ports");
                    failures.push(e);
                }
            }
        }
        panic!(
            "WebDriver session on the app failed (is WebKitWebDriver installed and a display available?): {}",
            failures.join("; ")
        )
    }

    async fn try_start(env: &[(&str, &str)]) -> Result<AppSession, String> {
        let app = app_binary();
        let data_dir = tempfile::tempdir().expect("data dir");
        let port = free_port();
        let native_port = free_port();
        let driver_bin = std::env::var("TAURI_DRIVER").unwrap_or_else(|_| "tauri-driver".into());
        let mut cmd = Command::new(&driver_bin);
        cmd.args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .env("BERTH_DATA_DIR", data_dir.path())
            .env("BERTH_COMPOSITING", "on")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            // Its own process group, so that dropping the session ends WebKitWebDriver and the app too.
            .process_group(0);
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut driver = cmd.spawn().unwrap_or_else(|e| {
            panic!("cannot start {driver_bin}: {e} (install it with `cargo install tauri-driver@2.1.0 --locked`)")
        });
        match Self::connect(port, &app).await {
            Ok(client) => Ok(AppSession { client, driver, data_dir }),
            Err(e) => {
                kill_group(&mut driver);
                Err(e)
            }
        }
    }

    async fn connect(port: u16, app: &Path) -> Result<WebDriver, String> {
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(format!("tauri-driver did not listen on {port}"));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut caps = serde_json::Map::new();
        caps.insert("tauri:options".into(), serde_json::json!({ "application": app.to_string_lossy() }));
        // tauri-driver listens before WebKitWebDriver is ready: a first request can be reset. Try again.
        let caps = serde_json::Value::Object(caps);
        let mut attempt = 0;
        loop {
            match WebDriver::new_session(&url, caps.clone()).await {
                Ok(c) => return Ok(c),
                Err(e) if attempt < 2 => {
                    attempt += 1;
                    eprintln!("WebDriver session attempt {attempt} failed ({e}); trying again");
                    tokio::time::sleep(Duration::from_millis(700)).await;
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// The app's processes, `(pid, name)`: berth-desktop first, then its descendants (WebKitWebProcess,
    /// WebKitNetworkProcess), not the WebDriver processes beside it under tauri-driver.
    pub fn app_processes(&self) -> Vec<(u32, String)> {
        let mut parent = std::collections::HashMap::new();
        let mut comm = std::collections::HashMap::new();
        for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            let Some((head, rest)) = stat.rsplit_once(')') else { continue };
            let name = head.split_once('(').map(|(_, n)| n.to_string()).unwrap_or_default();
            let ppid = rest.split_whitespace().nth(1).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
            parent.insert(pid, ppid);
            comm.insert(pid, name);
        }
        let descends = |mut pid: u32, from: u32| {
            while pid > 1 {
                if pid == from {
                    return true;
                }
                pid = parent.get(&pid).copied().unwrap_or(0);
            }
            false
        };
        let driver = self.driver.id();
        let app = parent
            .keys()
            .copied()
            .find(|&p| comm.get(&p).is_some_and(|c| c.starts_with("berth-desktop")) && descends(p, driver))
            .expect("the berth-desktop process under tauri-driver");
        let mut out = vec![(app, comm[&app].clone())];
        out.extend(parent.keys().filter(|&&p| p != app && descends(p, app)).map(|&p| (p, comm[&p].clone())));
        out
    }

    /// Waits for an element matching `css`, up to `secs` seconds.
    pub async fn wait_css(&self, css: &str, secs: u64) -> Element {
        self.client
            .wait_for(css, Duration::from_secs(secs))
            .await
            .unwrap_or_else(|e| panic!("element {css} did not appear within {secs}s: {e}"))
    }

    /// The text content of every element matching `css`. (WebDriver's "element text" follows Selenium's
    /// visibility rules, which count ellipsised `overflow: hidden` spans as hidden; the screenshot is
    /// what checks rendering.)
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let v = self
            .client
            .execute(
                "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent.replace(/\\s+/g, ' ').trim());",
                vec![serde_json::Value::String(css.to_string())],
            )
            .await
            .unwrap_or_else(|e| panic!("reading {css}: {e}"));
        v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()).unwrap_or_default()
    }

    /// Waits until some element matching `css` has text containing `needle`; returns that text.
    pub async fn wait_text(&self, css: &str, needle: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(t) = self.texts(css).await.into_iter().find(|t| t.contains(needle)) {
                return t;
            }
            if Instant::now() > deadline {
                let body = self.client.source().await.unwrap_or_default();
                panic!("no {css} containing {needle:?} within {secs}s; page source:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Clicks the first element matching `css` (waiting up to `secs` for it).
    /// An element the page re-rendered between finding and clicking ("stale element reference":
    /// a reload, a list re-keyed) is found again and clicked, within the same `secs`.
    pub async fn click(&self, css: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let el = self.wait_css(css, secs).await;
            match self.client.click(&el).await {
                Ok(()) => return,
                Err(e) if e.to_string().contains("stale element") && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
                Err(e) => {
                    let shot = self.screenshot("failed-click.png").await;
                    panic!("clicking {css}: {e} (screenshot: {})", shot.display());
                }
            }
        }
    }

    /// Clicks `css` until `appears` is on the page (up to `secs`): for a click that opens something
    /// while the view around it may still move (WebDriver clicks at the element's centre, so a layout
    /// shift between finding and clicking lands the click elsewhere). Only for clicks that are safe
    /// to repeat (opening a confirmation, a tab).
    pub async fn click_until(&self, css: &str, appears: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            self.click(css, secs).await;
            let settle = Instant::now() + Duration::from_secs(2);
            while Instant::now() < settle {
                if self.client.find(appears).await.is_ok() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if Instant::now() > deadline {
                let shot = self.screenshot("failed-click-until.png").await;
                panic!("clicking {css} did not show {appears} within {secs}s (screenshot: {})", shot.display());
            }
        }
    }

    /// Opens a repository: filters the tree down to it (rows far down a virtualized tree are not in
    /// the DOM), then clicks it.
    pub async fn open_repository(&self, path: &str) {
        let filter = self.wait_css("[data-testid=repo-filter]", 10).await;
        self.js("const e = document.querySelector('[data-testid=repo-filter]'); e.value = ''; \
                 e.dispatchEvent(new Event('input', { bubbles: true })); return true;")
            .await;
        self.client.send_keys(&filter, path).await.expect("type the repository filter");
        self.click(&format!("[data-testid=repo-item][data-path='{path}']"), 20).await;
    }

    /// Sets an input's or select's value the way a user's change does (`event`: `input` or `change`).
    pub async fn set_value(&self, css: &str, value: &str, event: &str) {
        self.wait_css(css, 10).await;
        self.js(&format!(
            "const e = document.querySelector({css:?}); e.value = {value:?}; \
             e.dispatchEvent(new Event({event:?}, {{ bubbles: true }})); return true;"
        ))
        .await;
    }

    /// Types into the first element matching `css`.
    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.wait_css(css, 10).await;
        self.client.send_keys(&el, text).await.unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    /// Runs a script and returns its value (panics on a WebDriver error).
    pub async fn js(&self, script: &str) -> serde_json::Value {
        self.client.execute(script, vec![]).await.unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Reloads the page and waits for the new one (a marker set on the old page is gone and the app
    /// has mounted), so no later lookup finds an element of the page being torn down.
    pub async fn reload(&self) {
        self.js("window.__berthBeforeReload = true; location.reload(); return true;").await;
        let deadline = Instant::now() + Duration::from_secs(30);
        let ready = "return window.__berthBeforeReload === undefined && document.readyState === 'complete' \
                     && document.querySelector('#app > *') !== null;";
        // A script sent while the page navigates may fail; that is "not yet".
        while self.client.execute(ready, vec![]).await.ok() != Some(serde_json::Value::Bool(true)) {
            assert!(Instant::now() < deadline, "the page did not reload within 30 s");
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Waits until `script` (a JS expression returning a boolean) is true.
    pub async fn wait_js(&self, script: &str, what: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if self.js(&format!("return !!({script});")).await == serde_json::Value::Bool(true) {
                return;
            }
            if Instant::now() > deadline {
                let body = self.client.source().await.unwrap_or_default();
                panic!("{what}: not true within {secs}s ({script}); page source:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Adds a profile through the Add registry dialog (name, URL, and optionally "Import CA file…").
    pub async fn add_profile(&self, name: &str, url: &str, import_ca: bool) {
        if self.client.find("#profile-name").await.is_err() {
            self.click("[data-testid=add-profile-open]", 20).await;
        }
        self.type_into("#profile-name", name).await;
        self.type_into("#profile-url", url).await;
        if import_ca {
            self.click("[data-testid=import-ca]", 5).await;
            self.wait_css("[data-testid=picked-ca]", 10).await;
        }
        self.click("[data-testid=add-profile-submit]", 5).await;
    }

    /// Adds a profile importing a CA through the dialog; returns what the dialog showed for the picked CA
    /// (read before submitting: a passing connection test closes the dialog at once).
    pub async fn add_profile_importing_ca(&self, name: &str, url: &str, expect: &str) -> String {
        if self.client.find("#profile-name").await.is_err() {
            self.click("[data-testid=add-profile-open]", 20).await;
        }
        self.type_into("#profile-name", name).await;
        self.type_into("#profile-url", url).await;
        self.click("[data-testid=import-ca]", 5).await;
        let picked = self.wait_text("[data-testid=picked-ca]", expect, 10).await;
        self.click("[data-testid=add-profile-submit]", 5).await;
        picked
    }

    pub async fn screenshot(&self, name: &str) -> PathBuf {
        // Let the last DOM change reach the screen (WebKit composites asynchronously).
        tokio::time::sleep(Duration::from_millis(400)).await;
        let png = self.client.screenshot_png().await.expect("screenshot");
        let path = artifacts_dir().join(name);
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    pub async fn close(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for AppSession {
    fn drop(&mut self) {
        kill_group(&mut self.driver);
    }
}

/// Ends tauri-driver's whole process group (WebKitWebDriver and the app it launched) and reaps it.
fn kill_group(driver: &mut Child) {
    unsafe {
        libc::kill(-(driver.id() as i32), libc::SIGKILL);
    }
    let _ = driver.kill();
    let _ = driver.wait();
}
