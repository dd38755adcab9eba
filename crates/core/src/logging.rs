//! Log files for both front ends: one daily-rotated file per front end in the XDG state directory
//! (`~/.local/state/berth/logs`, overridable with `$BERTH_LOG_DIR`), the oldest pruned beyond
//! [`MAX_LOG_FILES`]. Levels come from `$BERTH_LOG` (an `EnvFilter`, default `info` in the file).

use std::path::PathBuf;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::{ApiError, ErrorCode};

/// The environment variable that overrides the log directory.
pub const LOG_DIR_ENV: &str = "BERTH_LOG_DIR";
/// The environment variable with the log filter (`info`, `berth_core=debug,warn`…).
pub const LOG_FILTER_ENV: &str = "BERTH_LOG";
/// Daily files kept per front end (two weeks), today's included.
pub const MAX_LOG_FILES: usize = 14;
/// Extension of every log file: `<front end>.<YYYY-MM-DD>.log`.
pub const LOG_SUFFIX: &str = "log";

/// The log directory: `$BERTH_LOG_DIR`, else `$XDG_STATE_HOME/berth/logs` (`~/.local/state/berth/logs`).
pub fn default_log_dir() -> Result<PathBuf, ApiError> {
    if let Some(d) = std::env::var_os(LOG_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    // dirs::state_dir() is Linux-only; elsewhere the logs sit beside the data.
    dirs::state_dir().or_else(dirs::data_local_dir).map(|d| d.join("berth").join("logs")).ok_or_else(|| {
        ApiError::new(ErrorCode::Internal, "cannot find a log directory", format!("set {LOG_DIR_ENV} or HOME"))
    })
}

/// Where and how one front end writes its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    pub dir: PathBuf,
    /// File name prefix, one per front end (`berth-desktop`, `berth-cli`): neither is a prefix of the
    /// other, so pruning one front end's files never touches the other's.
    pub prefix: String,
    pub rotation: Rotation,
    pub max_files: usize,
    /// Filter for the file (`$BERTH_LOG`, else `info`).
    pub file_filter: String,
    /// Filter for stderr, if anything goes there at all.
    pub stderr_filter: Option<String>,
}

impl LogConfig {
    /// The configuration for `front_end` from the environment. `stderr_default` is the stderr filter when
    /// `$BERTH_LOG` is unset (`$BERTH_LOG` applies to both when set).
    pub fn from_env(front_end: &str, stderr_default: Option<&str>) -> Result<Self, ApiError> {
        let env_filter = std::env::var(LOG_FILTER_ENV).ok().filter(|f| !f.trim().is_empty());
        Ok(LogConfig {
            dir: default_log_dir()?,
            prefix: front_end.to_string(),
            rotation: Rotation::DAILY,
            max_files: MAX_LOG_FILES,
            file_filter: env_filter.clone().unwrap_or_else(|| "info".into()),
            stderr_filter: env_filter.or(stderr_default.map(str::to_string)),
        })
    }

    /// Creates the directory and the rotating appender (pruning old files beyond `max_files`).
    pub fn appender(&self) -> Result<RollingFileAppender, ApiError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| self.dir_error(&e.to_string()))?;
        berth_store::private_dir(&self.dir).map_err(|e| self.dir_error(&e.to_string()))?;
        RollingFileAppender::builder()
            .rotation(self.rotation.clone())
            .filename_prefix(&self.prefix)
            .filename_suffix(LOG_SUFFIX)
            .max_log_files(self.max_files)
            .build(&self.dir)
            .map_err(|e| self.dir_error(&e.to_string()))
    }

    /// The file written today.
    pub fn current_file(&self) -> PathBuf {
        let today = time::OffsetDateTime::now_utc().date();
        let (y, m, d) = (today.year(), u8::from(today.month()), today.day());
        self.dir.join(format!("{}.{y:04}-{m:02}-{d:02}.{LOG_SUFFIX}", self.prefix))
    }

    fn dir_error(&self, cause: &str) -> ApiError {
        ApiError::new(
            ErrorCode::Storage,
            format!("cannot write logs to {}: {cause}", self.dir.display()),
            format!("make the directory writable, or point {LOG_DIR_ENV} at another one"),
        )
    }
}

/// Keeps the background log writer alive; drop it last (at exit) so the last lines are flushed.
#[must_use = "logs stop being written when the guard is dropped"]
pub struct LogGuard {
    _worker: Option<WorkerGuard>,
    /// The log file, when there is one.
    pub file: Option<PathBuf>,
}

/// Installs the global subscriber: the rotating file, plus stderr per `config.stderr_filter`. If the
/// file cannot be opened, only stderr remains (saying why there): a front end never fails to start
/// because of its log.
pub fn init(config: &LogConfig) -> LogGuard {
    let stderr = config
        .stderr_filter
        .as_deref()
        .map(|f| tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_filter(filter(f, "warn")));
    match config.appender() {
        Ok(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let file = tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(writer)
                .with_filter(filter(&config.file_filter, "info"));
            let _ = tracing_subscriber::registry().with(file).with(stderr).try_init();
            LogGuard { _worker: Some(guard), file: Some(config.current_file()) }
        }
        Err(e) => {
            // Say so where someone will see it: stderr, if this front end logs there at all.
            if let Some(f) = config.stderr_filter.as_deref() {
                let stderr =
                    tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_filter(filter(f, "warn"));
                let _ = tracing_subscriber::registry().with(stderr).try_init();
                tracing::warn!("{}; {}", e.message, e.hint);
            }
            LogGuard { _worker: None, file: None }
        }
    }
}

fn filter(spec: &str, fallback: &str) -> EnvFilter {
    EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new(fallback))
}
