//! Transport rules that need a misbehaving server: blob redirects to another host, rate limiting,
//! proxies in front. Small axum servers play the odd parts; nginx is the real one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use berth_registry::{Credentials, Digest, ErrorKind, RegistryClient, TlsOptions};
use berth_testkit::{ImageSpec, Nginx, NginxOptions, Registry, Seeder};

async fn serve(router: Router) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    port
}

fn basic(url: &str) -> RegistryClient {
    RegistryClient::new(url, Credentials::Basic { username: "u".into(), password: "p".into() }, &TlsOptions::default())
        .unwrap()
}

#[tokio::test]
async fn blob_redirect_to_another_host_drops_authorization() {
    let body = b"layer bytes".to_vec();
    let digest = Digest::sha256(&body);
    // Storage: records whether an Authorization header reached it.
    let seen: Arc<Mutex<Vec<bool>>> = Arc::default();
    let storage = Router::new()
        .route(
            "/data",
            get(|State((seen, body)): State<(Arc<Mutex<Vec<bool>>>, Vec<u8>)>, headers: HeaderMap| async move {
                seen.lock().unwrap().push(headers.contains_key("authorization"));
                body
            }),
        )
        .with_state((seen.clone(), body.clone()));
    let storage_port = serve(storage).await;
    // Registry: redirects blob GETs to the storage on another host name (localhost vs 127.0.0.1).
    let registry_auth: Arc<Mutex<Vec<bool>>> = Arc::default();
    let registry = Router::new()
        .route(
            "/v2/team/app/blobs/{digest}",
            get(move |State(seen): State<Arc<Mutex<Vec<bool>>>>, headers: HeaderMap| async move {
                seen.lock().unwrap().push(headers.contains_key("authorization"));
                (StatusCode::TEMPORARY_REDIRECT, [("location", format!("http://localhost:{storage_port}/data"))])
            }),
        )
        .with_state(registry_auth.clone());
    let port = serve(registry).await;

    let got = basic(&format!("http://127.0.0.1:{port}")).get_blob("team/app", &digest, 1024).await.unwrap();
    assert_eq!(got, body);
    assert_eq!(*registry_auth.lock().unwrap(), vec![true], "the registry got our credentials");
    assert_eq!(*seen.lock().unwrap(), vec![false], "the other host did not");
}

#[tokio::test]
async fn rate_limit_honours_retry_after() {
    let hits = Arc::new(AtomicUsize::new(0));
    let router = Router::new()
        .route(
            "/v2/_catalog",
            get(|State(hits): State<Arc<AtomicUsize>>| async move {
                if hits.fetch_add(1, Ordering::SeqCst) == 0 {
                    (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], String::new()).into_response()
                } else {
                    axum::Json(serde_json::json!({"repositories": ["a/b"]})).into_response()
                }
            }),
        )
        .route(
            "/v2/slow/tags/list",
            get(|| async { (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "3600")], "slow down").into_response() }),
        )
        .with_state(hits.clone());
    let port = serve(router).await;
    let c = basic(&format!("http://127.0.0.1:{port}"));
    let t = Instant::now();
    assert_eq!(c.catalog().await.unwrap(), vec!["a/b"]);
    assert!(t.elapsed() >= Duration::from_secs(1), "waited as told: {:?}", t.elapsed());
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    // A wait longer than we are willing to sit through: a clear error instead of a hang.
    let e = c.tags("slow").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooManyRequests, "{e}");
    assert!(e.hint.contains("3600"), "{e}");
}

#[tokio::test]
async fn not_a_registry_and_html_errors() {
    let router = Router::new().fallback(|| async {
        Response::builder()
            .status(404)
            .header("content-type", "text/html")
            .body("<html>web UI</html>".to_string())
            .unwrap()
    });
    let port = serve(router).await;
    let e = basic(&format!("http://127.0.0.1:{port}")).ping().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotARegistry, "{e}");
    assert!(e.hint.contains("/v2/"));
}

#[tokio::test(flavor = "multi_thread")]
async fn nginx_body_limit_and_chunked_uploads() {
    let reg = Registry::start().await;
    // The recipe's `client_max_body_size 0` forgotten: nginx refuses a 2 MiB layer with 413.
    let strict = Nginx::start(&reg, NginxOptions { max_body_size_zero: false, ..Default::default() }).await;
    let tls = TlsOptions { extra_ca_pem: vec![strict.ca_pem().into_bytes()], ..Default::default() };
    let c = RegistryClient::new(&strict.url(), Credentials::Anonymous, &tls).unwrap();
    let big = vec![7u8; 2 * 1024 * 1024];
    let e = c.upload_blob("big/layer", &big).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ProxyBodyTooLarge, "{e}");
    assert!(e.hint.contains("client_max_body_size 0"), "{e}");

    // Without `chunked_transfer_encoding on`: our uploads carry Content-Length, so they pass.
    let no_chunked = Nginx::start(&reg, NginxOptions { chunked_transfer_encoding: false, ..Default::default() }).await;
    let tls = TlsOptions { extra_ca_pem: vec![no_chunked.ca_pem().into_bytes()], ..Default::default() };
    let c = RegistryClient::new(&no_chunked.url(), Credentials::Anonymous, &tls).unwrap();
    let d = c.upload_blob("small/layer", b"hello").await.unwrap();
    assert_eq!(c.head_blob("small/layer", &d).await.unwrap(), Some(5));
    // And the whole untag dance (blob uploads + manifest PUT + DELETE) works through it.
    Seeder::new(&reg.url()).push_image("web/app", "old", &ImageSpec::small("proxy")).await;
    c.untag("web/app", "old").await.unwrap();
    assert!(c.tags("web/app").await.unwrap().is_empty());
}
