//! Limits set through the environment (their own test binary: `limits_from_env` sets them before
//! any client exists): timeouts say which one fired; a listing past the item cap ends with an error.

use std::time::{Duration, Instant};

use berth_registry::{Credentials, ErrorKind, Reference, RegistryClient, TlsOptions};
use berth_testkit::{Fault, FaultServer};

/// Sets the limits once for the whole binary, before any test reads them.
fn limits_from_env() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: the first test through here sets them while no other thread reads the environment (the
    // others wait on the `Once`), and nothing in this binary reads them before.
    ONCE.call_once(|| unsafe {
        std::env::set_var("BERTH_IDLE_TIMEOUT_SECS", "1");
        std::env::set_var("BERTH_TOTAL_TIMEOUT_SECS", "3");
        std::env::set_var("BERTH_MAX_LISTED_ITEMS", "2500");
    });
}

#[tokio::test]
async fn a_trickling_body_ends_with_the_timeout_that_fired() {
    limits_from_env();
    let client = |url: &str| RegistryClient::new(url, Credentials::Anonymous, &TlsOptions::default()).unwrap();

    // One byte every 300 ms never trips the idle timeout: the total one fires.
    let s = FaultServer::start(vec![Fault::Trickle(Duration::from_millis(300))]);
    let started = Instant::now();
    let e = client(&s.url()).get_manifest("app", &Reference::Tag("v1".into())).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e:?}");
    assert!(e.message.contains("total timeout") && e.message.contains("3 s"), "{e}");
    assert!(!e.message.contains("more than a registry would"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));

    // One byte every 2 s: the idle timeout fires first.
    let s = FaultServer::start(vec![Fault::Trickle(Duration::from_secs(2))]);
    let e = client(&s.url()).get_manifest("app", &Reference::Tag("v1".into())).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e:?}");
    assert!(e.message.contains("idle timeout") && e.message.contains("1 s"), "{e}");
}

#[tokio::test]
async fn a_catalog_past_the_item_cap_ends_with_an_incomplete_listing() {
    limits_from_env();
    let s = FaultServer::start(vec![Fault::CatalogEndless]);
    let client = RegistryClient::new(&s.url(), Credentials::Anonymous, &TlsOptions::default()).unwrap();
    let e = client.catalog().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::IncompleteListing, "{e:?}");
    assert!(e.message.contains("more than 2500 items") && e.message.contains("BERTH_MAX_LISTED_ITEMS"), "{e}");
    // It stopped at the cap: three pages of 1000, not a million.
    assert_eq!(s.count("/v2/_catalog"), 3, "{:?}", s.seen().len());
}
