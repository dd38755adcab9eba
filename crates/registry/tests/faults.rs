//! The protocol client against a registry that misbehaves on purpose (the test kit's
//! `FaultServer`, on loopback): every fault ends in bounded time with a clear error that says what
//! happened, never a panic, never a silently short list, and no credential to a second host.

use std::time::{Duration, Instant};

use berth_registry::{Credentials, ErrorKind, Reference, RegistryClient, TlsOptions};
use berth_testkit::{Fault, FaultServer, ResetAt, ResetProxy};

fn client(url: &str) -> RegistryClient {
    RegistryClient::new(url, Credentials::Anonymous, &TlsOptions::default()).unwrap()
}

fn with_password(url: &str) -> RegistryClient {
    let creds = Credentials::Basic { username: "alice".into(), password: "s3cret".into() };
    RegistryClient::new(url, creds, &TlsOptions::default()).unwrap()
}

#[tokio::test]
async fn a_well_behaved_fault_server_lists_everything() {
    let s = FaultServer::start(vec![]);
    assert_eq!(client(&s.url()).catalog().await.unwrap(), ["a", "app", "c", "d"]);
    assert_eq!(client(&s.url()).tags("app").await.unwrap(), ["v1"]);
}

#[tokio::test]
async fn broken_catalog_pagination_is_an_incomplete_listing_not_a_short_list() {
    for (fault, why) in
        [(Fault::CatalogCycle, "loops"), (Fault::CatalogStuck, "loops"), (Fault::CatalogMalformedLink, "cannot read")]
    {
        let s = FaultServer::start(vec![fault.clone()]);
        let started = Instant::now();
        let e = client(&s.url()).catalog().await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::IncompleteListing, "{fault:?}: {e:?}");
        assert!(e.message.contains("incomplete listing") && e.message.contains(why), "{fault:?}: {e}");
        assert!(!e.hint.is_empty());
        assert!(started.elapsed() < Duration::from_secs(10), "{fault:?} ended in bounded time");
        assert!(s.count("/v2/_catalog") < 10, "{fault:?}: {} pages", s.count("/v2/_catalog"));
    }
}

#[tokio::test]
async fn a_next_page_on_another_host_is_not_followed_and_gets_no_credentials() {
    let other = FaultServer::start(vec![]);
    let s = FaultServer::start(vec![Fault::CatalogNextElsewhere(other.url())]);
    // The page is asked of the registry itself (rebuilt from `last`), never of the other host.
    assert_eq!(with_password(&s.url()).catalog().await.unwrap(), ["a", "app", "c", "d"]);
    assert!(other.seen().is_empty(), "{:?}", other.seen());
}

#[tokio::test]
async fn a_passing_500_on_a_tag_list_is_retried_and_a_lasting_one_is_an_error() {
    let s = FaultServer::start(vec![Fault::TagsFail { status: 500, times: 1 }]);
    assert_eq!(client(&s.url()).tags("app").await.unwrap(), ["v1"]);
    assert_eq!(s.count("/v2/app/tags/list"), 2, "one retry");

    let s = FaultServer::start(vec![Fault::TagsFail { status: 502, times: 100 }]);
    let e = client(&s.url()).tags("app").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Server, "{e:?}");
    assert_eq!(s.count("/v2/app/tags/list"), 4, "three retries, then the error");
}

#[tokio::test]
async fn a_digest_header_that_disagrees_with_the_bytes_names_both_digests() {
    let s = FaultServer::start(vec![Fault::DigestMismatch]);
    let e = client(&s.url()).get_manifest("app", &Reference::Tag("v1".into())).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Protocol);
    assert!(e.message.contains(&s.image_digest()), "the bytes' digest: {e}");
    assert!(e.message.contains("Docker-Content-Digest"), "{e}");
}

#[tokio::test]
async fn sizes_past_2_53_are_refused_and_sums_past_2_64_saturate() {
    let s = FaultServer::start(vec![Fault::HugeSizes]);
    let e = client(&s.url()).get_manifest("app", &Reference::Tag("v1".into())).await.unwrap_err();
    assert!(e.message.contains("exceeds 2^53"), "{e}");

    let s = FaultServer::start(vec![Fault::SizesOverflow]);
    let m = client(&s.url()).get_manifest("app", &Reference::Tag("v1".into())).await.unwrap().unwrap();
    assert_eq!(m.manifest.image_size(), Some(u64::MAX), "saturated, no overflow panic");
}

#[tokio::test]
async fn a_redirect_target_asking_for_a_login_gets_no_credentials_and_no_token_request() {
    let realm = FaultServer::start(vec![]);
    let evil = FaultServer::start(vec![Fault::Challenge(format!("{}/token", realm.url()))]);
    let s = FaultServer::start(vec![Fault::RedirectTo(evil.url())]);
    let e = with_password(&s.url()).get_manifest("app", &Reference::Tag("v1".into())).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized, "{e:?}");
    assert!(e.message.contains("redirected to") && e.message.contains(&evil.url()), "{e}");
    assert!(!evil.saw_credentials(), "{:?}", evil.seen());
    assert!(realm.seen().is_empty(), "no token asked of the redirect target's realm: {:?}", realm.seen());
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    // A date in the past: retry at once.
    use axum::http::{header, HeaderValue, StatusCode};
    use axum::response::IntoResponse;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let app = axum::Router::new().route(
        "/v2/app/tags/list",
        axum::routing::get(move || {
            let h = h.clone();
            async move {
                if h.fetch_add(1, Ordering::SeqCst) == 0 {
                    let mut r = StatusCode::TOO_MANY_REQUESTS.into_response();
                    r.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
                    r
                } else {
                    axum::Json(serde_json::json!({"name": "app", "tags": ["v1"]})).into_response()
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let started = Instant::now();
    assert_eq!(client(&url).tags("app").await.unwrap(), ["v1"]);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// The fuzz targets' parses (`fuzz/fuzz_targets/`) over mutated real inputs: no panic, and sizes
/// past 2^53 never accepted.
#[test]
fn mutated_manifests_links_and_challenges_never_panic() {
    let image: &[u8] = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":7023},
        "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:2222222222222222222222222222222222222222222222222222222222222222","size":32654}],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:3333333333333333333333333333333333333333333333333333333333333333","size":10}}"#;
    let index: &[u8] = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:4444444444444444444444444444444444444444444444444444444444444444","size":7143,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]}"#;
    let link: &[u8] = br#"</v2/_catalog?last=other%2Fimg&n=100>; rel="next", <https://a/prev>; rel="prev""#;
    let challenge: &[u8] =
        br#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#;
    for data in berth_testkit::mutations(&[image, index, link, challenge], 20_000) {
        for mt in [
            None,
            Some("application/vnd.oci.image.manifest.v1+json"),
            Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
        ] {
            if let Ok((_, m)) = berth_registry::Manifest::parse(mt, &data) {
                let _ = m.image_size();
                if let berth_registry::Manifest::Image(i) = &m {
                    assert!(i.layers.iter().all(|l| l.size <= berth_registry::MAX_DESCRIPTOR_SIZE));
                }
            }
        }
        if let Ok(s) = std::str::from_utf8(&data) {
            if let Some(t) = berth_registry::link::next_link(s) {
                assert!(s.contains(t));
            }
            let _ = berth_registry::auth::parse_challenges([s]).iter().map(|c| c.scopes()).count();
        }
    }
}

#[tokio::test]
async fn connection_resets_are_retried_and_a_lasting_one_says_what_broke() {
    let s = FaultServer::start(vec![]);
    // Two connections reset before the answer (RST, not a close): the GET is sent again, on a new one.
    let proxy = ResetProxy::start(&s.url(), 2, ResetAt::BeforeAnswer);
    assert_eq!(client(&proxy.url()).tags("app").await.unwrap(), ["v1"]);
    assert_eq!(s.count("/v2/app/tags/list"), 1, "only the third connection reached the registry");
    assert_eq!(proxy.connections(), 3);

    // Every connection reset: after the retries, an error that names the broken connection.
    let proxy = ResetProxy::start(&s.url(), usize::MAX, ResetAt::BeforeAnswer);
    let started = Instant::now();
    let e = client(&proxy.url()).tags("app").await.unwrap_err();
    assert!(matches!(e.kind, ErrorKind::ConnectionLost | ErrorKind::Connect), "{e:?}");
    assert!(e.message.contains(&proxy.url()) && !e.hint.is_empty(), "{e}");
    assert_eq!(proxy.connections(), 4, "three retries");
    assert!(started.elapsed() < Duration::from_secs(10));

    // A reset in the middle of a manifest's body: an error saying the answer broke off, nothing parsed.
    let proxy = ResetProxy::start(&s.url(), usize::MAX, ResetAt::AfterAnswerBytes(300));
    let e = client(&proxy.url()).get_manifest("app", &Reference::Tag("v1".into())).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ConnectionLost, "{e:?}");
    assert!(e.message.contains("broke"), "{e}");
}
