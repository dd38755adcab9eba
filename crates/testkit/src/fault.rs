//! A registry that misbehaves on purpose, on loopback: the faults hostile or broken servers show
//! (pagination that loops or lies, a digest header that disagrees with the bytes, sizes past 2^53
//! or adding up past 2^64, a 500 that passes, a body that trickles, indexes nested without end,
//! links and redirects to another host), each chosen per test. Every request is recorded with the
//! Authorization header it carried, so a test can check that no credential reached a second host.
//!
//! The registry lists `a`, `app`, `c`, `d` in its catalog (two per page); `app` has the tag `v1` (a small OCI image whose config blob it also serves), plus what a fault adds.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use serde_json::json;

use crate::emu::ServerThread;
use crate::image::{build_image, ImageSpec};
use crate::sha256_digest;

/// What the registry does wrong.
#[derive(Clone, Debug)]
pub enum Fault {
    /// The catalog's second page links back to the first (A → B → A).
    CatalogCycle,
    /// Every catalog page links to `last=a` again: `last` never advances.
    CatalogStuck,
    /// The first catalog page's `Link` names a next page in a form nobody can parse.
    CatalogMalformedLink,
    /// The first catalog page links to the same path on another server (this URL).
    CatalogNextElsewhere(String),
    /// The catalog never ends: every page holds `n` new names (`r000000001`, …) and links to the next.
    CatalogEndless,
    /// The first `n` tag-list requests of `app` answer this status; then the list is served.
    TagsFail { status: u16, times: usize },
    /// `app:v1` is served with a `Docker-Content-Digest` that is not its bytes' digest.
    DigestMismatch,
    /// `app:v1`'s layers have sizes past 2^53.
    HugeSizes,
    /// `app:v1` has 3,000 layers of 2^53 bytes each: they add up past 2^64.
    SizesOverflow,
    /// `app:v1`'s manifest body arrives one byte every interval.
    Trickle(Duration),
    /// `app:v1` is an index of an index of … this deep, ending in the image.
    DeepIndex(usize),
    /// `app`'s manifest GET redirects to this base URL (same path).
    RedirectTo(String),
    /// Every request answers 401 with `Bearer realm="<this>"` (a server that wants a token from there).
    Challenge(String),
    /// Harbor's `GET /api/v2.0/projects` sends the same page with a `next` link forever.
    HarborRepeatPage,
    /// The first `times` requests of Harbor's `GET /api/v2.0/systeminfo` answer this status.
    HarborFail { status: u16, times: usize },
    /// Nexus's `GET /service/rest/v1/components` sends the same `continuationToken` forever.
    NexusRepeatToken,
}

/// One request the server saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path_and_query: String,
    pub authorization: Option<String>,
}

struct FState {
    faults: Vec<Fault>,
    url: String,
    image: crate::image::BuiltImage,
    tag_failures: AtomicUsize,
    seen: Mutex<Vec<Seen>>,
}

/// A running misbehaving registry.
pub struct FaultServer {
    _server: ServerThread,
    state: Arc<FState>,
}

impl FaultServer {
    /// Starts a registry with these faults (none: a well-behaved one).
    pub fn start(faults: Vec<Fault>) -> FaultServer {
        let listener = ServerThread::bind();
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(FState {
            faults,
            url,
            image: build_image(&ImageSpec::small("fault"), true),
            tag_failures: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
        });
        let app = Router::new().route("/{*rest}", any(handle)).route("/", any(handle)).with_state(state.clone());
        let server = ServerThread::start("berth-fault-registry", listener, app);
        FaultServer { _server: server, state }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        self.state.url.clone()
    }

    /// The digest of `app:v1` as the bytes say (what a fault may misstate).
    pub fn image_digest(&self) -> String {
        self.state.image.digest.clone()
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    /// Requests whose path starts with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.seen().iter().filter(|s| s.path_and_query.starts_with(prefix)).count()
    }

    /// Whether any request carried an Authorization header.
    pub fn saw_credentials(&self) -> bool {
        self.seen().iter().any(|s| s.authorization.is_some())
    }
}

fn has(st: &FState, f: impl Fn(&Fault) -> bool) -> Option<Fault> {
    st.faults.iter().find(|x| f(x)).cloned()
}

fn json_response(status: StatusCode, v: &serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}

async fn handle(State(st): State<Arc<FState>>, req: Request) -> Response {
    let pq = req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let path = req.uri().path().to_string();
    st.seen.lock().unwrap().push(Seen {
        method: req.method().to_string(),
        path_and_query: pq.clone(),
        authorization: req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_string),
    });
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()).into_owned().collect();
    let q = |k: &str| query.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
    if let Some(Fault::Challenge(realm)) = has(&st, |f| matches!(f, Fault::Challenge(_))) {
        let mut r = json_response(
            StatusCode::UNAUTHORIZED,
            &json!({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}),
        );
        let c = format!("Bearer realm=\"{realm}\",service=\"evil\",scope=\"repository:app:pull\"");
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_str(&c).expect("challenge"));
        return r;
    }
    let mut resp = match path.as_str() {
        "/v2" | "/v2/" => json_response(StatusCode::OK, &json!({})),
        "/v2/_catalog" => catalog(&st, q("last"), q("n").and_then(|n| n.parse().ok()).unwrap_or(100)),
        "/api/v2.0/systeminfo" => {
            if let Some(Fault::HarborFail { status, times }) = has(&st, |f| matches!(f, Fault::HarborFail { .. })) {
                if st.tag_failures.fetch_add(1, Ordering::SeqCst) < times {
                    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    return json_response(code, &json!({"errors": [{"code": "UNKNOWN", "message": "injected"}]}));
                }
            }
            json_response(StatusCode::OK, &json!({"auth_mode": "db_auth"}))
        }
        "/api/v2.0/projects" if has(&st, |f| matches!(f, Fault::HarborRepeatPage)).is_some() => {
            let mut r = json_response(
                StatusCode::OK,
                &json!([{"project_id": 1, "name": "library", "metadata": {"public": "true"}}]),
            );
            let page = q("page").and_then(|p| p.parse::<u64>().ok()).unwrap_or(1);
            let l = format!("</api/v2.0/projects?page={}&page_size=1>; rel=\"next\"", page + 1);
            r.headers_mut().insert(header::LINK, HeaderValue::from_str(&l).expect("link"));
            r
        }
        "/service/rest/v1/components" if has(&st, |f| matches!(f, Fault::NexusRepeatToken)).is_some() => json_response(
            StatusCode::OK,
            &json!({"items": [{"id": "x", "repository": "r", "format": "docker", "name": "app", "version": "v1", "assets": []}],
                "continuationToken": "same-token"}),
        ),
        "/v2/app/tags/list" => {
            if let Some(Fault::TagsFail { status, times }) = has(&st, |f| matches!(f, Fault::TagsFail { .. })) {
                if st.tag_failures.fetch_add(1, Ordering::SeqCst) < times {
                    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    return json_response(
                        code,
                        &json!({"errors": [{"code": "UNKNOWN", "message": "injected failure"}]}),
                    );
                }
            }
            json_response(StatusCode::OK, &json!({"name": "app", "tags": ["v1"]}))
        }
        p if p.starts_with("/v2/app/manifests/") => manifest(&st, p.trim_start_matches("/v2/app/manifests/")).await,
        p if p.starts_with("/v2/app/blobs/") => {
            let d = p.trim_start_matches("/v2/app/blobs/");
            match st.image.blobs.iter().find(|(bd, _)| bd == d) {
                Some((_, b)) => (StatusCode::OK, b.clone()).into_response(),
                None => json_response(
                    StatusCode::NOT_FOUND,
                    &json!({"errors": [{"code": "BLOB_UNKNOWN", "message": "unknown"}]}),
                ),
            }
        }
        p if p.starts_with("/v2/") && p.ends_with("/tags/list") => {
            let name = p.trim_start_matches("/v2/").trim_end_matches("/tags/list");
            json_response(StatusCode::OK, &json!({"name": name, "tags": []}))
        }
        _ => json_response(StatusCode::NOT_FOUND, &json!({"errors": [{"code": "NAME_UNKNOWN", "message": "unknown"}]})),
    };
    resp.headers_mut().insert("Docker-Distribution-Api-Version", HeaderValue::from_static("registry/2.0"));
    resp
}

fn catalog(st: &FState, last: Option<String>, n: usize) -> Response {
    if has(st, |f| matches!(f, Fault::CatalogEndless)).is_some() {
        let from = last.as_deref().and_then(|l| l.trim_start_matches('r').parse::<u64>().ok()).unwrap_or(0);
        let page: Vec<String> = (from + 1..=from + n.max(1) as u64).map(|i| format!("r{i:09}")).collect();
        let mut resp = json_response(StatusCode::OK, &json!({"repositories": page}));
        if let Some(l) = page.last() {
            let link = format!("</v2/_catalog?last={l}&n={n}>; rel=\"next\"");
            resp.headers_mut().insert(header::LINK, HeaderValue::from_str(&link).expect("link"));
        }
        return resp;
    }
    let all = ["a", "app", "c", "d"];
    let start = match &last {
        None => 0,
        Some(l) => all.iter().position(|x| x == l).map(|i| i + 1).unwrap_or(all.len()),
    };
    let page: Vec<&str> = all.iter().skip(start).take(2).copied().collect();
    let mut resp = json_response(StatusCode::OK, &json!({"repositories": page}));
    let link = if has(st, |f| matches!(f, Fault::CatalogCycle)).is_some() {
        // a,b → c,d → a,b → …
        Some(if start == 0 {
            "</v2/_catalog?last=app&n=2>; rel=\"next\"".to_string()
        } else {
            "</v2/_catalog?n=2>; rel=\"next\"".into()
        })
    } else if has(st, |f| matches!(f, Fault::CatalogStuck)).is_some() {
        Some("</v2/_catalog?last=a&n=2>; rel=\"next\"".to_string())
    } else if has(st, |f| matches!(f, Fault::CatalogMalformedLink)).is_some() && start == 0 {
        Some("/v2/_catalog?last=app&n=2; rel=next".to_string())
    } else if let (Some(Fault::CatalogNextElsewhere(other)), 0) =
        (has(st, |f| matches!(f, Fault::CatalogNextElsewhere(_))), start)
    {
        Some(format!("<{other}/v2/_catalog?last=app&n=2>; rel=\"next\""))
    } else if start + 2 < all.len() {
        page.last().map(|l| format!("</v2/_catalog?last={l}&n=2>; rel=\"next\""))
    } else {
        None
    };
    if let Some(l) = link {
        resp.headers_mut().insert(header::LINK, HeaderValue::from_str(&l).expect("link"));
    }
    resp
}

/// A chain of `depth` indexes over the image: the outermost first.
fn deep_index(image: &crate::image::BuiltImage, depth: usize) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut child = (image.digest.clone(), image.manifest.len(), image.media_type.to_string());
    for _ in 0..depth {
        let idx = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"mediaType": child.2, "digest": child.0, "size": child.1}],
        }))
        .expect("index");
        let d = sha256_digest(&idx);
        child = (d.clone(), idx.len(), "application/vnd.oci.image.index.v1+json".into());
        out.push((d, idx));
    }
    out.reverse();
    out
}

fn manifest_response(bytes: Vec<u8>, media_type: &str, digest: &str) -> Response {
    let mut r = (StatusCode::OK, bytes).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_str(media_type).expect("mt"));
    r.headers_mut().insert("Docker-Content-Digest", HeaderValue::from_str(digest).expect("digest"));
    r
}

async fn manifest(st: &FState, reference: &str) -> Response {
    let img = &st.image;
    if let Some(Fault::RedirectTo(other)) = has(st, |f| matches!(f, Fault::RedirectTo(_))) {
        let mut r = StatusCode::TEMPORARY_REDIRECT.into_response();
        let loc = format!("{other}/v2/app/manifests/{reference}");
        r.headers_mut().insert(header::LOCATION, HeaderValue::from_str(&loc).expect("location"));
        return r;
    }
    if let Some(Fault::DeepIndex(depth)) = has(st, |f| matches!(f, Fault::DeepIndex(_))) {
        let chain = deep_index(img, depth);
        let found = if reference == "v1" { chain.first() } else { chain.iter().find(|(d, _)| d == reference) };
        if let Some((d, b)) = found {
            return manifest_response(b.clone(), "application/vnd.oci.image.index.v1+json", d);
        }
    }
    let mut bytes = img.manifest.clone();
    if has(st, |f| matches!(f, Fault::HugeSizes | Fault::SizesOverflow)).is_some() {
        let mut m: serde_json::Value = serde_json::from_slice(&bytes).expect("manifest");
        let layer = m["layers"][0].clone();
        if has(st, |f| matches!(f, Fault::HugeSizes)).is_some() {
            m["layers"][0]["size"] = json!(1u64 << 62);
        } else {
            let mut l = layer;
            l["size"] = json!(1u64 << 53);
            m["layers"] = serde_json::Value::Array(vec![l; 3000]);
        }
        bytes = serde_json::to_vec(&m).expect("manifest");
    }
    let digest = sha256_digest(&bytes);
    if reference != "v1" && reference != digest {
        return json_response(
            StatusCode::NOT_FOUND,
            &json!({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "unknown"}]}),
        );
    }
    if has(st, |f| matches!(f, Fault::DigestMismatch)).is_some() {
        let lie = sha256_digest(b"not these bytes");
        return manifest_response(bytes, img.media_type, &lie);
    }
    if let Some(Fault::Trickle(every)) = has(st, |f| matches!(f, Fault::Trickle(_))) {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(1);
        let body = bytes.clone();
        tokio::spawn(async move {
            for b in body {
                if tx.send(Ok(bytes::Bytes::from(vec![b]))).await.is_err() {
                    return;
                }
                tokio::time::sleep(every).await;
            }
        });
        let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
        let mut r = Response::new(Body::from_stream(stream));
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_str(img.media_type).expect("mt"));
        r.headers_mut().insert("Docker-Content-Digest", HeaderValue::from_str(&digest).expect("digest"));
        return r;
    }
    manifest_response(bytes, img.media_type, &digest)
}
