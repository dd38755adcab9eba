//! Plumbing shared by the Harbor and Nexus emulators: a server on its own thread, Basic auth, a
//! reverse proxy to a real registry, and reads of the registry's own storage (what tags and
//! manifests it really has), so an emulator's answers always follow the real registry behind it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;

/// An access log: `METHOD /path` per request answered, in order.
pub(crate) type RequestLog = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// An axum app served on its own thread and runtime (so it keeps answering while a test blocks).
/// Every request it answers is logged (`METHOD /path`), as a real server's access log would.
pub(crate) struct ServerThread {
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    log: RequestLog,
}

impl ServerThread {
    pub fn start(name: &str, listener: std::net::TcpListener, app: Router) -> ServerThread {
        Self::start_logged(name, listener, app, RequestLog::default())
    }

    /// [`ServerThread::start`], logging into `log` (servers of one product share one access log).
    pub fn start_logged(name: &str, listener: std::net::TcpListener, app: Router, log: RequestLog) -> ServerThread {
        let seen = log.clone();
        let app = app.layer(axum::middleware::from_fn(move |req: Request, next: axum::middleware::Next| {
            let seen = seen.clone();
            async move {
                let line = format!("{} {}", req.method(), req.uri().path());
                seen.lock().expect("request log").push(line);
                next.run(req).await
            }
        }));
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("{name}-{}", addr.port()))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("emulator runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    let (grace_tx, grace_rx) = tokio::sync::oneshot::channel::<()>();
                    let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                        let _ = rx.await;
                        let _ = grace_tx.send(());
                    });
                    let hard_stop = async move {
                        let _ = grace_rx.await;
                        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                    };
                    tokio::select! {
                        _ = serve => {}
                        _ = hard_stop => {}
                    }
                });
                rt.shutdown_timeout(std::time::Duration::from_secs(1));
            })
            .expect("spawn emulator thread");
        ServerThread { shutdown: Some(tx), thread: Some(thread), log }
    }

    /// The requests answered so far, `METHOD /path` each, in order.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().expect("request log").clone()
    }

    pub fn bind() -> std::net::TcpListener {
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind emulator")
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub(crate) enum BasicAuth {
    None,
    Malformed,
    Given(String, String),
}

pub(crate) fn basic_auth(headers: &HeaderMap) -> BasicAuth {
    let Some(v) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return BasicAuth::None;
    };
    let Some((scheme, rest)) = v.split_once(' ') else { return BasicAuth::Malformed };
    if !scheme.eq_ignore_ascii_case("basic") {
        return BasicAuth::Malformed;
    }
    use base64::Engine;
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(rest.trim()) else {
        return BasicAuth::Malformed;
    };
    let decoded = String::from_utf8_lossy(&decoded).into_owned();
    match decoded.split_once(':') {
        Some((u, p)) => BasicAuth::Given(u.to_string(), p.to_string()),
        None => BasicAuth::Malformed,
    }
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim().to_string())
}

/// Forwards a request to the registry at `upstream` (`http://127.0.0.1:PORT`) with `path_and_query`
/// (starting at `/v2/`), without the client's Authorization; rewrites upload `Location`s to `public`.
pub(crate) async fn proxy(
    client: &reqwest::Client,
    upstream: &str,
    public: &str,
    path_and_query: &str,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 512 * 1024 * 1024).await else {
        return (StatusCode::BAD_REQUEST, "unreadable body").into_response();
    };
    let mut rb = client.request(parts.method.clone(), format!("{upstream}{path_and_query}"));
    for (k, v) in &parts.headers {
        if k == header::AUTHORIZATION || k == header::HOST || k == header::CONTENT_LENGTH {
            continue;
        }
        rb = rb.header(k, v);
    }
    if !bytes.is_empty() || parts.method == axum::http::Method::PUT || parts.method == axum::http::Method::POST {
        rb = rb.body(bytes);
    }
    let resp = match rb.send().await {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_GATEWAY, format!("registry unreachable: {e}")).into_response(),
    };
    let status = resp.status();
    let mut headers = HeaderMap::new();
    for (k, v) in resp.headers() {
        if k == header::TRANSFER_ENCODING || k == header::CONNECTION {
            continue;
        }
        if k == header::LOCATION {
            let loc = v.to_str().unwrap_or_default().replace(upstream, public);
            if let Ok(v) = HeaderValue::from_str(&loc) {
                headers.insert(k, v);
            }
            continue;
        }
        headers.append(k, v.clone());
    }
    let body = resp.bytes().await.unwrap_or_default();
    let mut out = Response::new(Body::from(body));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    out
}

pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(std::time::Duration::from_secs(60)).build().expect("proxy client")
}

/// RFC 3339 with milliseconds, as Harbor (Go) and Nexus (Jackson) print times.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    let t = t.replace_nanosecond((t.nanosecond() / 1_000_000) * 1_000_000).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339).expect("rfc3339")
}

pub(crate) fn now() -> String {
    rfc3339(SystemTime::now())
}

/// An index child: (digest, os, architecture, variant).
pub(crate) type Child = (String, Option<String>, Option<String>, Option<String>);

/// One manifest as the registry stores it.
#[derive(Clone, Debug)]
pub(crate) struct StoredManifest {
    pub digest: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
    pub json: Value,
    pub pushed: SystemTime,
}

impl StoredManifest {
    pub fn is_index(&self) -> bool {
        self.json.get("manifests").is_some()
    }

    /// (digest, platform os, architecture, variant) of an index's children.
    pub fn children(&self) -> Vec<Child> {
        self.json
            .get("manifests")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| {
                let d = m.get("digest")?.as_str()?.to_string();
                let p = m.get("platform");
                let s = |k: &str| p.and_then(|p| p.get(k)).and_then(Value::as_str).map(str::to_string);
                Some((d, s("os"), s("architecture"), s("variant")))
            })
            .collect()
    }

    /// config + layers as (digest, size).
    pub fn blobs(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let desc = |v: &Value| Some((v.get("digest")?.as_str()?.to_string(), v.get("size")?.as_u64()?));
        if let Some(c) = self.json.get("config").and_then(desc) {
            out.push(c);
        }
        for l in self.json.get("layers").and_then(Value::as_array).into_iter().flatten() {
            if let Some(d) = desc(l) {
                out.push(d);
            }
        }
        out
    }

    pub fn config_digest(&self) -> Option<String> {
        self.json.pointer("/config/digest").and_then(Value::as_str).map(str::to_string)
    }
}

/// Reads a registry's filesystem storage (`storage.filesystem.rootdirectory`).
#[derive(Clone, Debug)]
pub(crate) struct Disk {
    root: PathBuf,
}

fn mtime(p: &Path) -> SystemTime {
    std::fs::metadata(p).and_then(|m| m.modified()).unwrap_or(SystemTime::UNIX_EPOCH)
}

impl Disk {
    pub fn new(storage: &Path) -> Disk {
        Disk { root: storage.join("docker/registry/v2") }
    }

    fn repo_dir(&self, repo: &str) -> PathBuf {
        self.root.join("repositories").join(repo).join("_manifests")
    }

    /// Repositories the registry has storage for (also when all their manifests were deleted).
    pub fn repositories(&self) -> Vec<String> {
        fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
            let Ok(entries) = std::fs::read_dir(dir) else { return };
            let mut names: Vec<_> = entries.flatten().collect();
            names.sort_by_key(|e| e.file_name());
            for e in names {
                let name = e.file_name().to_string_lossy().into_owned();
                if !e.path().is_dir() || name.starts_with('_') {
                    continue;
                }
                let full = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
                if e.path().join("_manifests").is_dir() {
                    out.push(full.clone());
                }
                walk(&e.path(), &full, out);
            }
        }
        let mut out = Vec::new();
        walk(&self.root.join("repositories"), "", &mut out);
        out
    }

    /// tag → (digest, time the tag was last pointed).
    pub fn tags(&self, repo: &str) -> BTreeMap<String, (String, SystemTime)> {
        let mut out = BTreeMap::new();
        let Ok(entries) = std::fs::read_dir(self.repo_dir(repo).join("tags")) else { return out };
        for e in entries.flatten() {
            let link = e.path().join("current/link");
            if let Ok(d) = std::fs::read_to_string(&link) {
                out.insert(e.file_name().to_string_lossy().into_owned(), (d.trim().to_string(), mtime(&link)));
            }
        }
        out
    }

    /// Manifests linked in the repository (deleted ones have no link any more).
    pub fn revisions(&self, repo: &str) -> Vec<String> {
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(self.repo_dir(repo).join("revisions/sha256")) else { return out };
        for e in entries.flatten() {
            if e.path().join("link").is_file() {
                out.push(format!("sha256:{}", e.file_name().to_string_lossy()));
            }
        }
        out.sort();
        out
    }

    fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.root.join("blobs/sha256").join(hex.get(..2).unwrap_or("00")).join(hex).join("data")
    }

    pub fn manifest(&self, repo: &str, digest: &str) -> Option<StoredManifest> {
        let hex = digest.strip_prefix("sha256:")?;
        let link = self.repo_dir(repo).join("revisions/sha256").join(hex).join("link");
        if !link.is_file() {
            return None;
        }
        let bytes = std::fs::read(self.blob_path(digest)).ok()?;
        let json: Value = serde_json::from_slice(&bytes).ok()?;
        let media_type = json.get("mediaType").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| {
            if json.get("manifests").is_some() {
                crate::media_types::OCI_INDEX.into()
            } else {
                crate::media_types::OCI_MANIFEST.into()
            }
        });
        Some(StoredManifest { digest: digest.to_string(), media_type, bytes, json, pushed: mtime(&link) })
    }

    pub fn blob(&self, digest: &str) -> Option<Vec<u8>> {
        std::fs::read(self.blob_path(digest)).ok()
    }

    /// Every manifest of the repository.
    pub fn manifests(&self, repo: &str) -> Vec<StoredManifest> {
        self.revisions(repo).iter().filter_map(|d| self.manifest(repo, d)).collect()
    }

    /// Removes one tag only (what Harbor's and Nexus' tag deletes do); the manifest stays.
    pub fn remove_tag(&self, repo: &str, tag: &str) -> bool {
        let dir = self.repo_dir(repo).join("tags").join(tag);
        dir.is_dir() && std::fs::remove_dir_all(dir).is_ok()
    }

    /// Points `tag` at `digest` by writing the tag's link files directly (Nexus 3.89's leftover tags).
    pub fn write_tag(&self, repo: &str, tag: &str, digest: &str) {
        let dir = self.repo_dir(repo).join("tags").join(tag);
        let hex = digest.trim_start_matches("sha256:");
        for d in [dir.join("current"), dir.join("index/sha256").join(hex)] {
            std::fs::create_dir_all(&d).expect("tag dir");
            std::fs::write(d.join("link"), digest).expect("tag link");
        }
    }

    /// Bytes of every blob file on disk (what the storage really holds).
    pub fn bytes_on_disk(&self) -> (u64, u64) {
        let (mut count, mut bytes) = (0, 0);
        let Ok(prefixes) = std::fs::read_dir(self.root.join("blobs/sha256")) else { return (0, 0) };
        for p in prefixes.flatten() {
            for e in std::fs::read_dir(p.path()).into_iter().flatten().flatten() {
                if let Ok(m) = std::fs::metadata(e.path().join("data")) {
                    count += 1;
                    bytes += m.len();
                }
            }
        }
        (count, bytes)
    }
}

/// DELETE a manifest by digest on the real registry; true on 202.
pub(crate) async fn registry_delete_manifest(
    client: &reqwest::Client,
    upstream: &str,
    repo: &str,
    digest: &str,
) -> bool {
    match client.delete(format!("{upstream}/v2/{repo}/manifests/{digest}")).send().await {
        Ok(r) => r.status() == StatusCode::ACCEPTED,
        Err(_) => false,
    }
}

pub(crate) fn json_response(status: StatusCode, v: &Value) -> Response {
    let mut r = Response::new(Body::from(serde_json::to_vec(v).expect("json")));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}
