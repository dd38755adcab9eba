//! Log location and rotation: where the files go (XDG state dir, `$BERTH_LOG_DIR`), their names, the
//! daily rotation with old files pruned, and that `init` really writes events to today's file.
//! One test mutates the environment, so this file holds the env-dependent checks in a single test.

use std::path::Path;

use berth_core::logging::{self, LogConfig, LOG_DIR_ENV, LOG_FILTER_ENV, MAX_LOG_FILES};
use tracing_appender::rolling::Rotation;

fn files_with_prefix(dir: &Path, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("{prefix}.")))
        .collect();
    v.sort();
    v
}

#[test]
fn log_dir_follows_env_then_xdg_state_dir() {
    let state = tempfile::tempdir().unwrap();
    std::env::remove_var(LOG_DIR_ENV);
    std::env::remove_var(LOG_FILTER_ENV);
    std::env::set_var("XDG_STATE_HOME", state.path());
    assert_eq!(logging::default_log_dir().unwrap(), state.path().join("berth/logs"));

    let c = LogConfig::from_env("berth-cli", None).unwrap();
    assert_eq!(c.dir, state.path().join("berth/logs"));
    assert_eq!(c.prefix, "berth-cli");
    assert_eq!(c.rotation, Rotation::DAILY);
    assert_eq!(c.max_files, MAX_LOG_FILES);
    assert_eq!(c.file_filter, "info");
    assert_eq!(c.stderr_filter, None, "the CLI keeps stderr for its one error line");
    assert_eq!(LogConfig::from_env("berth-desktop", Some("warn")).unwrap().stderr_filter.as_deref(), Some("warn"));

    let elsewhere = tempfile::tempdir().unwrap();
    std::env::set_var(LOG_DIR_ENV, elsewhere.path());
    std::env::set_var(LOG_FILTER_ENV, "debug");
    let c = LogConfig::from_env("berth-desktop", Some("warn")).unwrap();
    assert_eq!(c.dir, elsewhere.path());
    assert_eq!((c.file_filter.as_str(), c.stderr_filter.as_deref()), ("debug", Some("debug")));

    // An empty override counts as unset.
    std::env::set_var(LOG_DIR_ENV, "");
    assert_eq!(logging::default_log_dir().unwrap(), state.path().join("berth/logs"));
    std::env::remove_var(LOG_DIR_ENV);
    std::env::remove_var(LOG_FILTER_ENV);
}

fn config(dir: &Path, prefix: &str, max_files: usize) -> LogConfig {
    LogConfig {
        dir: dir.to_path_buf(),
        prefix: prefix.into(),
        rotation: Rotation::DAILY,
        max_files,
        file_filter: "info".into(),
        stderr_filter: None,
    }
}

#[test]
fn appender_creates_the_dir_and_prunes_only_its_own_old_files() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("state/berth/logs");
    std::fs::create_dir_all(&dir).unwrap();
    for day in 1..=20 {
        std::fs::write(dir.join(format!("berth-desktop.2020-01-{day:02}.log")), "old\n").unwrap();
    }
    for day in 1..=3 {
        std::fs::write(dir.join(format!("berth-cli.2020-01-{day:02}.log")), "old cli\n").unwrap();
    }
    std::fs::write(dir.join("notes.txt"), "not a log").unwrap();

    let c = config(&dir, "berth-desktop", 5);
    let appender = c.appender().unwrap();
    drop(appender);

    let desktop = files_with_prefix(&dir, "berth-desktop");
    assert_eq!(desktop.len(), 5, "4 old files + today's remain: {desktop:?}");
    let today = c.current_file();
    assert!(today.is_file(), "today's file {} exists", today.display());
    assert!(desktop.contains(&today.file_name().unwrap().to_string_lossy().into_owned()));
    assert_eq!(files_with_prefix(&dir, "berth-cli").len(), 3, "the CLI's files are not the app's to prune");
    assert!(dir.join("notes.txt").is_file());

    // A directory that cannot be created is a clear storage error naming the override.
    let blocker = root.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let e = config(&blocker.join("logs"), "berth-cli", 5).appender().unwrap_err();
    assert_eq!(e.code, berth_core::ErrorCode::Storage);
    assert!(e.message.contains("cannot write logs"), "{}", e.message);
    assert!(e.hint.contains(LOG_DIR_ENV), "{}", e.hint);
}

#[test]
fn init_writes_events_at_the_file_filter_level_to_todays_file() {
    let root = tempfile::tempdir().unwrap();
    let c = LogConfig { file_filter: "info".into(), ..config(&root.path().join("logs"), "berth-desktop", 14) };
    let guard = logging::init(&c);
    assert_eq!(guard.file.as_deref(), Some(c.current_file().as_path()));
    tracing::info!("an info line for the file");
    tracing::debug!("a debug line that the info filter drops");
    drop(guard); // flushes the background writer

    let text = std::fs::read_to_string(c.current_file()).unwrap();
    assert!(text.contains("an info line for the file"), "log file:\n{text}");
    assert!(text.contains("INFO"), "level shown: {text}");
    assert!(!text.contains("debug line"), "debug filtered out: {text}");
    assert!(!text.contains('\u{1b}'), "no ANSI colours in files: {text:?}");
}
