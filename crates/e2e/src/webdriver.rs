//! A small W3C WebDriver client: just what the end-to-end tests use. The driver is on loopback, so
//! plain HTTP through reqwest is all it takes (no extra TLS stack in the workspace).

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

/// The W3C element identifier key.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

#[derive(Clone)]
pub struct WebDriver {
    http: reqwest::Client,
    base: String,
}

#[derive(Debug)]
pub struct WdError(pub String);

impl std::fmt::Display for WdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug)]
pub struct Element(String);

impl WebDriver {
    /// Opens a session with the given capabilities (`alwaysMatch`).
    pub async fn new_session(driver_url: &str, always_match: Value) -> Result<WebDriver, WdError> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().expect("http client");
        let body = json!({ "capabilities": { "alwaysMatch": always_match } });
        let resp: Value = http
            .post(format!("{driver_url}/session"))
            .json(&body)
            .send()
            .await
            .map_err(|e| WdError(format!("new session: {e}")))?
            .json()
            .await
            .map_err(|e| WdError(format!("new session answer: {e}")))?;
        let id = resp["value"]["sessionId"].as_str().ok_or_else(|| WdError(format!("no session: {resp}")))?;
        Ok(WebDriver { http, base: format!("{driver_url}/session/{id}") })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, WdError> {
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        } else if method == reqwest::Method::POST {
            req = req.json(&json!({}));
        }
        let resp = req.send().await.map_err(|e| WdError(format!("{path}: {e}")))?;
        let status = resp.status();
        let v: Value = resp.json().await.map_err(|e| WdError(format!("{path}: bad answer: {e}")))?;
        if !status.is_success() {
            return Err(WdError(format!("{path}: {status}: {}", v["value"])));
        }
        Ok(v["value"].clone())
    }

    pub async fn title(&self) -> Result<String, WdError> {
        Ok(self.call(reqwest::Method::GET, "/title", None).await?.as_str().unwrap_or_default().to_string())
    }

    pub async fn source(&self) -> Result<String, WdError> {
        Ok(self.call(reqwest::Method::GET, "/source", None).await?.as_str().unwrap_or_default().to_string())
    }

    pub async fn find(&self, css: &str) -> Result<Element, WdError> {
        let v =
            self.call(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await?;
        element(&v).ok_or_else(|| WdError(format!("no element id in {v}")))
    }

    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>, WdError> {
        let v =
            self.call(reqwest::Method::POST, "/elements", Some(json!({"using": "css selector", "value": css}))).await?;
        Ok(v.as_array().map(|a| a.iter().filter_map(element).collect()).unwrap_or_default())
    }

    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element, WdError> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.find(css).await {
                Ok(e) => return Ok(e),
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    pub async fn click(&self, el: &Element) -> Result<(), WdError> {
        self.call(reqwest::Method::POST, &format!("/element/{}/click", el.0), None).await.map(|_| ())
    }

    pub async fn send_keys(&self, el: &Element, text: &str) -> Result<(), WdError> {
        self.call(reqwest::Method::POST, &format!("/element/{}/value", el.0), Some(json!({"text": text})))
            .await
            .map(|_| ())
    }

    pub async fn text(&self, el: &Element) -> Result<String, WdError> {
        let v = self.call(reqwest::Method::GET, &format!("/element/{}/text", el.0), None).await?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// Runs a script in the page and returns its value.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value, WdError> {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": args}))).await
    }

    /// The text of the open `alert()`/`confirm()` dialog, or `None` when there is none.
    pub async fn alert_text(&self) -> Option<String> {
        self.call(reqwest::Method::GET, "/alert/text", None)
            .await
            .ok()
            .map(|v| v.as_str().unwrap_or_default().to_string())
    }

    pub async fn screenshot_png(&self) -> Result<Vec<u8>, WdError> {
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await?;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .map_err(|e| WdError(format!("screenshot: {e}")))
    }

    /// WebDriver's Set Window Rect: resizes the window (the window manager may clamp it to its minimum).
    pub async fn set_window_size(&self, width: u32, height: u32) -> Result<(), WdError> {
        self.call(reqwest::Method::POST, "/window/rect", Some(json!({"width": width, "height": height})))
            .await
            .map(|_| ())
    }

    pub async fn close(&self) -> Result<(), WdError> {
        self.call(reqwest::Method::DELETE, "", None).await.map(|_| ())
    }

    /// WebDriver's Close Window: the app sees a close request, as from the window manager.
    pub async fn close_window(&self) -> Result<(), WdError> {
        self.call(reqwest::Method::DELETE, "/window", None).await.map(|_| ())
    }
}

fn element(v: &Value) -> Option<Element> {
    v.get(ELEMENT_KEY).and_then(Value::as_str).map(|s| Element(s.to_string()))
}
