//! The SQLite store. One file (`berth.sqlite`) in the data directory, WAL mode, migrations embedded.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

mod backends;
mod catalog;
mod deletes;
mod detail;
mod memory;
mod profiles;
mod untagged;

pub use backends::{BackendLink, LinkInfo};
pub use catalog::{
    CatalogWriter, ChildRecord, ManifestRecord, RepositorySummary, RepositoryWrite, SyncCounts, SyncRunRow, TagRecord,
    TagRow, TagSort, SIZE_BATCH_TAGS,
};
pub use deletes::{
    AuditRow, GcOutcome, GcRunRow, GraphManifest, GraphTag, NewAudit, NewTrashEntry, ProfileGraph, TrashManifest,
    TrashRow,
};
pub use detail::CachedManifest;
pub use profiles::{
    AuthMode, CaRecord, GcSettings, NewProfile, ProfileFootprint, ProfileKind, ProfileRow, ProfileSettings,
};
pub use untagged::UntaggedRow;

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

/// `PRAGMA cache_size` of a pooled connection (KiB when negative).
pub(crate) const READER_CACHE_SIZE: &str = "-2048";
/// `PRAGMA cache_size` of the sync's writer: the index pages it rewrites in every transaction stay cached.
pub(crate) const WRITER_CACHE_SIZE: &str = "-8192";

/// Sets a connection's page cache (`READER_CACHE_SIZE` or `WRITER_CACHE_SIZE`); a smaller size frees
/// the pages over it.
pub(crate) async fn set_cache_size(conn: &mut sqlx::SqliteConnection, size: &str) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("PRAGMA cache_size = {size}")).execute(conn).await.map(|_| ())
}

#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir` and applies pending migrations.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        memory::configure();
        let path = data_dir.join(DB_FILE);
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::Open { path: path.clone(), source: sqlx::Error::Io(e) })?;
        // The cache names every repository and tag of the user's registries: the user's alone.
        private_dir(data_dir).map_err(|e| StoreError::Open { path: path.clone(), source: sqlx::Error::Io(e) })?;
        let opts = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            // No mmap: every write by one pooled connection made the others unmap and fault the whole file
            // in again at their next transaction (a quarter of a resync's CPU). A 2 MB page cache for the
            // readers (four full 8 MB caches stayed in the window's memory after a few sorts and searches);
            // the sync's writer ([`Store::catalog_writer`]) and a repository's sorted names
            // ([`Store::repository_tag_names`]) take 8 MB while they run.
            .pragma("mmap_size", "0")
            .pragma("cache_size", READER_CACHE_SIZE)
            // Statement journals (a multi-row upsert with triggers keeps one) in memory, not temp files.
            .pragma("temp_store", "memory")
            // Checkpoint every 32 MB of WAL, not every 4 MB: a sync rewrites the same index pages in every
            // transaction, and each checkpoint copies and fsyncs them.
            .pragma("wal_autocheckpoint", "8192");
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

    /// Folds the write-ahead log into the database and empties it, so that the cache on disk is the
    /// database alone (between checkpoints the log grows to 32 MB, and keeps that size). Best effort:
    /// a reader in the middle of a transaction leaves it for the next checkpoint.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Now, as the cache writes times (RFC 3339, UTC).
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Makes `dir` readable by its owner only (0700), as Berth's data and log directories are.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// A sync or GC run still recorded as running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningRun {
    /// `sync` or `gc`.
    pub kind: &'static str,
    pub id: i64,
    pub profile: String,
    pub started_at: String,
}

impl Store {
    /// Runs recorded as running (in this process, another one, or left by a crash).
    pub async fn running_runs(&self) -> Result<Vec<RunningRun>, StoreError> {
        let mut out = Vec::new();
        for (kind, table) in [("sync", "sync_runs"), ("gc", "gc_runs")] {
            let rows: Vec<(i64, String, String)> = sqlx::query_as(&format!(
                "SELECT r.id, p.name, r.started_at FROM {table} r JOIN profiles p ON p.id = r.profile_id WHERE r.status = 'running'"
            ))
            .fetch_all(&self.pool)
            .await?;
            out.extend(rows.into_iter().map(|(id, profile, started_at)| RunningRun { kind, id, profile, started_at }));
        }
        Ok(out)
    }

    /// Marks a run that no process runs any more as failed, saying it was interrupted.
    pub async fn mark_interrupted(&self, run: &RunningRun) -> Result<(), StoreError> {
        let table = if run.kind == "gc" { "gc_runs" } else { "sync_runs" };
        let now =
            time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let plain = "interrupted: Berth stopped while this ran (a crash, a kill, the machine going down)";
        if run.kind == "gc" {
            let owed = "interrupted after the before command, before the after command ran: the registry may still be \
                        read-only or stopped; run the after command (GC tab, or berth gc NAME --run-after)";
            sqlx::query(
                "UPDATE gc_runs SET status = 'failed', finished_at = ?, \
                 message = CASE WHEN after_pending IS NULL THEN ? ELSE ? END WHERE id = ? AND status = 'running'",
            )
            .bind(&now)
            .bind(plain)
            .bind(owed)
            .bind(run.id)
            .execute(&self.pool)
            .await?;
            return Ok(());
        }
        sqlx::query(&format!(
            "UPDATE {table} SET status = 'failed', finished_at = ?, message = ? WHERE id = ? AND status = 'running'"
        ))
        .bind(&now)
        .bind(plain)
        .bind(run.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
