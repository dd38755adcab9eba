//! Ping and catalog against real registries from the test kit.

use berth_registry::{Credentials, ErrorKind, RegistryClient, TlsOptions};
use berth_testkit::{Registry, Seeder, TlsMode};

fn client(url: &str) -> RegistryClient {
    RegistryClient::new(url, Credentials::Anonymous, &TlsOptions::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn catalog_beyond_one_page_of_1000() {
    let registry = Registry::start().await;
    let seeded = Seeder::new(&registry.url()).seed_many(1200, 1, "load/repo", 16).await;
    assert_eq!(seeded.repositories, 1200);

    let c = client(&registry.url());
    let ping = c.ping().await.unwrap();
    assert_eq!(ping.status, 200);
    assert_eq!(ping.api_version.as_deref(), Some("registry/2.0"));

    let mut pages = Vec::new();
    c.catalog_pages(1000, |p| pages.push(p.len())).await.unwrap();
    assert_eq!(pages, vec![1000, 200], "two pages: the Link header was followed");

    let all = c.catalog().await.unwrap();
    let expected: Vec<String> = (0..1200).map(|i| format!("load/repo{i:05}")).collect();
    assert_eq!(all, expected);

    // A small page size walks many pages and still yields every name exactly once.
    let mut count = 0;
    let mut page_count = 0;
    c.catalog_pages(97, |p| {
        count += p.len();
        page_count += 1;
    })
    .await
    .unwrap();
    assert_eq!(count, 1200);
    assert_eq!(page_count, 13);
}

#[tokio::test]
async fn empty_registry_has_empty_catalog() {
    let registry = Registry::start().await;
    assert!(client(&registry.url()).catalog().await.unwrap().is_empty());
}

#[tokio::test]
async fn connection_refused_is_diagnosed() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let e = client(&format!("http://127.0.0.1:{port}")).ping().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ConnectionRefused, "{e}");
    assert!(e.hint.contains("is the registry running"));
}

#[tokio::test]
async fn dns_failure_is_diagnosed() {
    let e = client("http://no-such-host.invalid:5000").ping().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Dns, "{e}");
}

#[tokio::test]
async fn tls_scheme_mixups_are_diagnosed() {
    let tls = Registry::builder().tls(TlsMode::CaSigned).start().await;
    // http:// against the TLS port.
    let e = client(&format!("http://{}", tls.host())).ping().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::HttpToTlsPort, "{e}");
    assert!(e.hint.contains("https://"));
    // https:// against a plain HTTP registry.
    let plain = Registry::start().await;
    let e = client(&format!("https://{}", plain.host())).ping().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::TlsServerSpeaksHttp, "{e}");
    assert!(e.hint.contains(&format!("http://{}", plain.host())));
}

#[tokio::test]
async fn unknown_ca_then_imported_ca() {
    let tls = Registry::builder().tls(TlsMode::CaSigned).start().await;
    let e = client(&tls.url()).ping().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::TlsUnknownCa, "{e}");
    let ca = tls.ca_pem().expect("CA");
    let c = RegistryClient::new(
        &tls.url(),
        Credentials::Anonymous,
        &TlsOptions { extra_ca_pem: vec![ca.into_bytes()], ..Default::default() },
    )
    .unwrap();
    assert_eq!(c.ping().await.unwrap().status, 200);
}

#[tokio::test]
async fn self_signed_ca_as_leaf_is_diagnosed_even_when_trusted() {
    let tls = Registry::builder().tls(TlsMode::SelfSignedLeaf).start().await;
    let cert = tls.ca_pem().expect("self-signed cert");
    let c = RegistryClient::new(
        &tls.url(),
        Credentials::Anonymous,
        &TlsOptions { extra_ca_pem: vec![cert.into_bytes()], ..Default::default() },
    )
    .unwrap();
    let e = c.ping().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::TlsCaUsedAsLeaf, "{e}");
}

#[tokio::test]
async fn htpasswd_wrong_password_hints_bcrypt() {
    let reg = Registry::builder().htpasswd(&[("alice", "secret")]).start().await;
    let anon = client(&reg.url()).ping().await.unwrap_err();
    assert_eq!(anon.kind, ErrorKind::Unauthorized);
    assert!(anon.hint.contains("username and password"), "{anon}");
    let bad = RegistryClient::new(
        &reg.url(),
        Credentials::Basic { username: "alice".into(), password: "wrong".into() },
        &TlsOptions::default(),
    )
    .unwrap();
    let e = bad.catalog().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert!(e.hint.contains("bcrypt"), "{e}");
    let good = RegistryClient::new(
        &reg.url(),
        Credentials::Basic { username: "alice".into(), password: "secret".into() },
        &TlsOptions::default(),
    )
    .unwrap();
    assert!(good.catalog().await.unwrap().is_empty());
}
