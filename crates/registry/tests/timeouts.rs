//! Timeouts say which one fired (its own test binary: it shortens them through the environment
//! before any client exists).

use std::time::{Duration, Instant};

use berth_registry::{Credentials, ErrorKind, Reference, RegistryClient, TlsOptions};
use berth_testkit::{Fault, FaultServer};

#[tokio::test]
async fn a_trickling_body_ends_with_the_timeout_that_fired() {
    // SAFETY: set before any client reads it, in this test binary's only test.
    unsafe {
        std::env::set_var("BERTH_IDLE_TIMEOUT_SECS", "1");
        std::env::set_var("BERTH_TOTAL_TIMEOUT_SECS", "3");
    }
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
