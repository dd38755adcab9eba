//! What the window's sidebar and storage view show about a profile: its last sync, and where its
//! bytes are (per repository and for the whole registry, shared blobs counted once).

use serde::Serialize;
use ts_rs::TS;

use crate::{ApiError, Berth, RepositoryView};

/// The latest sync run of a profile (finished or still running).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SyncRunView {
    /// RFC 3339.
    pub started_at: String,
    pub finished_at: Option<String>,
    /// `running`, `ok`, `failed` or `cancelled`.
    pub status: String,
    #[ts(type = "number")]
    pub repositories: u64,
    #[ts(type = "number")]
    pub tags: u64,
    #[ts(type = "number")]
    pub errors: u64,
    pub message: Option<String>,
}

/// A profile's cache state for the sidebar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ProfileStatusView {
    pub profile: String,
    pub last_sync: Option<SyncRunView>,
    /// Whether a sync ever completed: then browsing answers from the cache, even offline.
    pub cached: bool,
}

/// Storage of one profile's registry, from the cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct StorageView {
    pub profile: String,
    /// Bytes the registry stores for tagged content, every blob counted once across repositories.
    #[ts(type = "number")]
    pub registry_size: u64,
    /// The sum of the repositories' sizes: more than `registry_size` when repositories share blobs.
    #[ts(type = "number")]
    pub repositories_total: u64,
    /// Every repository with its size (each blob counted once within it), largest first.
    pub repositories: Vec<RepositoryView>,
}

impl Berth {
    /// Last sync of every profile, in profile order.
    pub async fn profile_statuses(&self) -> Result<Vec<ProfileStatusView>, ApiError> {
        let mut out = Vec::new();
        for p in self.store().profiles().await? {
            let last = self.store().last_sync_run(p.id).await?;
            let cached = self.store().has_synced(p.id).await?;
            out.push(ProfileStatusView {
                profile: p.name,
                cached,
                last_sync: last.map(|r| SyncRunView {
                    started_at: r.started_at,
                    finished_at: r.finished_at,
                    status: r.status,
                    repositories: r.repositories.max(0) as u64,
                    tags: r.tags.max(0) as u64,
                    errors: r.errors.max(0) as u64,
                    message: r.message,
                }),
            });
        }
        Ok(out)
    }

    /// Dedup-aware storage of a synced profile (empty before the first sync).
    pub async fn storage(&self, profile: &str) -> Result<StorageView, ApiError> {
        let row = self.store().profile(profile).await?;
        let mut repositories: Vec<RepositoryView> = self
            .store()
            .repository_summaries(row.id)
            .await?
            .into_iter()
            .map(|r| RepositoryView { name: r.name, tags: Some(r.tags), size: Some(r.size) })
            .collect();
        repositories.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.name.cmp(&b.name)));
        let repositories_total = berth_registry::saturating_sum(repositories.iter().filter_map(|r| r.size));
        let registry_size = self.store().registry_size(row.id).await?;
        Ok(StorageView { profile: profile.to_string(), registry_size, repositories_total, repositories })
    }
}
