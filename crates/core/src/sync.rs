//! Sync and offline browsing: the catalog cache through the core's view types.

use berth_store::TagSort;
use berth_sync::{SyncOptions, SyncProgress};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::{ApiError, Berth, ErrorCode, JobKind, RepositoryView};

/// The summary of one sync, as `berth sync --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SyncSummaryView {
    pub profile: String,
    /// `ok`, `failed` or `cancelled`.
    pub status: String,
    #[ts(type = "number")]
    pub repositories: u64,
    #[ts(type = "number")]
    pub tags: u64,
    #[ts(type = "number")]
    pub manifests_fetched: u64,
    #[ts(type = "number")]
    pub requests: u64,
    #[ts(type = "number")]
    pub errors: u64,
    pub seconds: f64,
    #[ts(type = "number")]
    pub repositories_removed: u64,
    pub error_samples: Vec<String>,
}

/// Progress of a running sync (for progress bars).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SyncProgressView {
    pub profile: String,
    #[ts(type = "number")]
    pub repositories_done: u64,
    #[ts(type = "number")]
    pub repositories_total: u64,
    #[ts(type = "number")]
    pub tags_done: u64,
    #[ts(type = "number")]
    pub tags_total: u64,
    #[ts(type = "number")]
    pub requests: u64,
    #[ts(type = "number")]
    pub errors: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct TagView {
    pub repository: String,
    pub name: String,
    pub digest: String,
    pub media_type: String,
    /// Image creation time from its config (RFC 3339), when known.
    pub created: Option<String>,
    /// Config + layers (for an index: all platforms, each blob once).
    #[ts(type = "number")]
    pub size: u64,
    /// `os/arch[/variant]` of the image or of each platform of an index (attestations left out).
    pub platforms: Vec<String>,
}

impl From<berth_store::TagRow> for TagView {
    fn from(t: berth_store::TagRow) -> Self {
        TagView {
            repository: t.repository,
            name: t.name,
            digest: t.digest,
            media_type: t.media_type,
            created: t.created,
            size: t.size,
            platforms: t.platforms.split(", ").filter(|p| !p.is_empty()).map(str::to_string).collect(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum SortBy {
    #[default]
    Name,
    Created,
    Size,
    Digest,
    Platforms,
    /// Repository, then tag (search results across repositories).
    Repository,
}

impl From<SortBy> for TagSort {
    fn from(s: SortBy) -> TagSort {
        match s {
            SortBy::Name => TagSort::Name,
            SortBy::Created => TagSort::Created,
            SortBy::Size => TagSort::Size,
            SortBy::Digest => TagSort::Digest,
            SortBy::Platforms => TagSort::Platforms,
            SortBy::Repository => TagSort::Repository,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SearchResult {
    #[ts(type = "number")]
    pub total: u64,
    pub tags: Vec<TagView>,
}

impl Berth {
    /// Syncs a profile's registry into the cache. `progress` sees counts as work completes; `cancel`
    /// stops it at any moment with the cache consistent.
    pub async fn sync(
        &self,
        profile: &str,
        concurrency: usize,
        cancel: &CancellationToken,
        progress: &(dyn Fn(&SyncProgressView) + Send + Sync),
    ) -> Result<SyncSummaryView, ApiError> {
        let job = self.start_job(profile, JobKind::Sync, cancel)?;
        let cancel = job.cancel_token();
        let session = self.session(profile).await?;
        if session.backend().capabilities().discovers_repositories {
            return Box::pin(self.sync_server(profile, concurrency, cancel, progress)).await;
        }
        let name = profile.to_string();
        let on_progress = |p: &SyncProgress| {
            progress(&SyncProgressView {
                profile: name.clone(),
                repositories_done: p.repositories_done,
                repositories_total: p.repositories_total,
                tags_done: p.tags_done,
                tags_total: p.tags_total,
                requests: p.requests,
                errors: p.errors,
            })
        };
        let opts = SyncOptions::with_concurrency(Some(concurrency));
        let synced =
            berth_sync::sync_profile(self.store(), session.id(), session.backend(), &opts, cancel, &on_progress).await;
        let s = match synced {
            Ok(s) => s,
            Err(berth_sync::SyncError::Registry(e)) => {
                let mut e: ApiError = e.into();
                e.message = format!("sync of {profile} stopped: {}", e.message);
                e.hint = format!("{}; what was synced so far is kept, and the next sync resumes", e.hint);
                return Err(e);
            }
            Err(berth_sync::SyncError::Store(e)) => return Err(e.into()),
            Err(berth_sync::SyncError::Cancelled(_)) => {
                return Err(ApiError::new(
                    ErrorCode::Cancelled,
                    format!("sync of {profile} cancelled"),
                    "what was synced so far is kept; sync again to finish",
                ))
            }
        };
        Ok(SyncSummaryView {
            profile: profile.to_string(),
            status: s.status,
            repositories: s.repositories,
            tags: s.tags,
            manifests_fetched: s.manifests_fetched,
            requests: s.requests,
            errors: s.errors,
            seconds: s.seconds,
            repositories_removed: s.repositories_removed,
            error_samples: s.error_samples,
        })
    }

    /// A server profile (Nexus): discover its docker repositories (creating child profiles), then
    /// sync every child. The summary adds the children's up.
    async fn sync_server(
        &self,
        profile: &str,
        concurrency: usize,
        cancel: &CancellationToken,
        progress: &(dyn Fn(&SyncProgressView) + Send + Sync),
    ) -> Result<SyncSummaryView, ApiError> {
        let found = self.nexus_discover(profile).await?;
        let mut total = SyncSummaryView {
            profile: profile.to_string(),
            status: "ok".into(),
            repositories: 0,
            tags: 0,
            manifests_fetched: 0,
            requests: 0,
            errors: 0,
            seconds: 0.0,
            repositories_removed: 0,
            error_samples: Vec::new(),
        };
        for r in found.repositories {
            let s = self.sync(&r.profile, concurrency, cancel, progress).await?;
            total.repositories += s.repositories;
            total.tags += s.tags;
            total.manifests_fetched += s.manifests_fetched;
            total.requests += s.requests;
            total.errors += s.errors;
            total.seconds += s.seconds;
            total.repositories_removed += s.repositories_removed;
            total.error_samples.extend(s.error_samples.into_iter().map(|e| format!("{}: {e}", r.profile)));
        }
        Ok(total)
    }

    /// Repositories of a profile: from the cache once it has synced (works offline), with tag counts
    /// and sizes; before the first sync, live from the registry's catalog (names only).
    pub async fn repositories(&self, profile: &str) -> Result<Vec<RepositoryView>, ApiError> {
        let row = self.store().profile(profile).await?;
        if self.store().has_synced(row.id).await? {
            let repos = self.store().repository_summaries(row.id).await?;
            return Ok(repos
                .into_iter()
                .map(|r| RepositoryView { name: r.name, tags: Some(r.tags), size: Some(r.size) })
                .collect());
        }
        let session = self.session(profile).await?;
        let names = session.backend().repositories().await?;
        Ok(names.into_iter().map(|name| RepositoryView { name, tags: None, size: None }).collect())
    }

    /// Tags of a repository from the cache, sorted by name, creation (newest first) or size (largest
    /// first), optionally filtered by a regular expression (a plain substring is a valid one).
    pub async fn tags(
        &self,
        profile: &str,
        repo: &str,
        sort: SortBy,
        filter: Option<&str>,
    ) -> Result<Vec<TagView>, ApiError> {
        let (id, re) = self.cached_profile_and_filter(profile, filter).await?;
        let tags = self.store().repository_tags(id, repo, sort.into()).await?;
        Ok(tags.into_iter().filter(|t| re.as_ref().is_none_or(|re| re.is_match(&t.name))).map(TagView::from).collect())
    }

    /// The names of a repository's cached tags in the order and with the filter of [`Berth::tags`]:
    /// what the window pages a large repository by (its rows come from [`Berth::tags_named`]).
    pub async fn tag_names(
        &self,
        profile: &str,
        repo: &str,
        sort: SortBy,
        filter: Option<&str>,
    ) -> Result<Vec<String>, ApiError> {
        let (id, re) = self.cached_profile_and_filter(profile, filter).await?;
        let mut names = self.store().repository_tag_names(id, repo, sort.into()).await?;
        if let Some(re) = re {
            names.retain(|n| re.is_match(n));
        }
        Ok(names)
    }

    /// The cached rows of the named tags of a repository, in the order given (names it does not hold
    /// are left out); at most [`crate::defaults::TAG_ROWS_MAX`] names at once.
    pub async fn tags_named(&self, profile: &str, repo: &str, names: &[String]) -> Result<Vec<TagView>, ApiError> {
        if names.len() > crate::defaults::TAG_ROWS_MAX {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!("{} tag names asked for at once", names.len()),
                format!("ask for at most {} rows at a time", crate::defaults::TAG_ROWS_MAX),
            ));
        }
        let (id, _) = self.cached_profile_and_filter(profile, None).await?;
        let rows = self.store().repository_tags_named(id, repo, names).await?;
        Ok(rows.into_iter().map(TagView::from).collect())
    }

    /// The profile's id once it has a cache (else an error whose fix is a sync), and `filter` compiled.
    async fn cached_profile_and_filter(
        &self,
        profile: &str,
        filter: Option<&str>,
    ) -> Result<(i64, Option<regex::Regex>), ApiError> {
        let row = self.store().profile(profile).await?;
        if !self.store().has_synced(row.id).await? {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("{profile} has not been synced yet"),
                "sync it first: its tags come from the cache",
            )
            .with_fix(crate::FixAction::Sync { profile: profile.to_string() }, format!("berth sync {profile}")));
        }
        let re = match filter {
            Some(f) => Some(regex::Regex::new(f).map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidInput,
                    format!("invalid filter {f:?}: {e}"),
                    "use a regular expression, e.g. ^v1\\. or -rc",
                )
            })?),
            None => None,
        };
        Ok((row.id, re))
    }

    /// Searches every cached tag of a profile (any part of "repository:tag" or the start of a digest, case-insensitive).
    pub async fn search(&self, profile: &str, query: &str, sort: SortBy, limit: u32) -> Result<SearchResult, ApiError> {
        self.search_page(profile, query, sort, 0, limit).await
    }

    /// One page of a search: hits `offset..offset + limit` of all of them (`total`), so a front end
    /// can show every hit without a cap (the window loads pages as the list scrolls).
    pub async fn search_page(
        &self,
        profile: &str,
        query: &str,
        sort: SortBy,
        offset: u64,
        limit: u32,
    ) -> Result<SearchResult, ApiError> {
        let row = self.store().profile(profile).await?;
        let children = self.store().backend_children(row.id).await?;
        if !children.is_empty() {
            // A server's tags live in the caches of the repositories beneath it.
            let names: Vec<&str> = children.iter().map(|c| c.profile.as_str()).collect();
            return Err(ApiError::new(
                crate::ErrorCode::InvalidInput,
                format!(
                    "profile {profile:?} is a server: its tags are in the profiles of its repositories ({})",
                    names.join(", ")
                ),
                "search one of its repositories",
            )
            .with_fix(crate::FixAction::Command, format!("berth search {} QUERY", names[0])));
        }
        let limit = limit.clamp(1, crate::defaults::SEARCH_LIMIT_MAX);
        let (total, rows) = self.store().search_tags_page(row.id, query, sort.into(), offset, limit).await?;
        Ok(SearchResult { total, tags: rows.into_iter().map(TagView::from).collect() })
    }

    /// The latest tag (by creation time) of every repository.
    pub async fn latest_tags(&self, profile: &str) -> Result<Vec<TagView>, ApiError> {
        let row = self.store().profile(profile).await?;
        Ok(self.store().latest_tags(row.id).await?.into_iter().map(TagView::from).collect())
    }

    /// Bytes stored by the profile's registry for tagged content, each blob counted once.
    pub async fn registry_size(&self, profile: &str) -> Result<u64, ApiError> {
        let row = self.store().profile(profile).await?;
        Ok(self.store().registry_size(row.id).await?)
    }
}
