//! A user command that runs too long is stopped with everything it started, and says so (its own
//! test binary: it shortens the timeout through the environment).

use std::time::{Duration, Instant};

use berth_registry::ErrorKind;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn a_command_past_its_timeout_is_stopped_with_its_whole_group() {
    // SAFETY: set before any command runs, in this binary's only test.
    unsafe { std::env::set_var("BERTH_COMMAND_TIMEOUT_SECS", "1") };
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("still-running");
    let cmd = format!("(sleep 2; touch {}) & sleep 30", marker.display());
    let started = Instant::now();
    let lines = std::sync::Mutex::new(Vec::new());
    let log = |l: &str| lines.lock().unwrap().push(l.to_string());
    let e = berth_backend::shell::run(&cmd, &log, &CancellationToken::new()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e:?}");
    assert!(e.message.contains("longer than 1 s"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(lines.lock().unwrap().iter().any(|l| l.contains("timed out")));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!marker.exists(), "the command's background child was killed with its group");
}
