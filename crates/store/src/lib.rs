//! The SQLite store. One file (`berth.sqlite`) in the data directory, WAL mode, migrations embedded.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

mod backends;
mod catalog;
mod deletes;
mod profiles;

pub use backends::{BackendLink, LinkInfo};
pub use catalog::{ChildRecord, ManifestRecord, RepositorySummary, SyncCounts, SyncRunRow, TagRecord, TagRow, TagSort};
pub use deletes::{
    AuditRow, GcOutcome, GcRunRow, GraphManifest, GraphTag, NewAudit, NewTrashEntry, ProfileGraph, TrashManifest,
    TrashRow,
};
pub use profiles::{AuthMode, CaRecord, GcSettings, NewProfile, ProfileKind, ProfileRow, ProfileSettings};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub const DB_FILE: &str = "berth.sqlite";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {path}: {source}")]
    Open { path: PathBuf, source: sqlx::Error },
    #[error("cannot upgrade the database {path}: {source}")]
    Migrate { path: PathBuf, source: sqlx::migrate::MigrateError },
    #[error("a profile named {0:?} already exists")]
    ProfileExists(String),
    #[error("no profile named {0:?}")]
    ProfileNotFound(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir` and applies pending migrations.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let path = data_dir.join(DB_FILE);
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::Open { path: path.clone(), source: sqlx::Error::Io(e) })?;
        let opts = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            // Reads map the file instead of copying pages into each pooled connection's small cache:
            // searching 100,000 tags touches thousands of pages, whichever connection runs it.
            .pragma("mmap_size", "268435456");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await
            .map_err(|source| StoreError::Open { path: path.clone(), source })?;
        MIGRATOR.run(&pool).await.map_err(|source| StoreError::Migrate { path: path.clone(), source })?;
        Ok(Store { pool, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}
