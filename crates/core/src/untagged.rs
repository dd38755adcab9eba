//! Untagged manifests (pushed over by a newer tag, or left by an untag): listed per repository and
//! across the registry from the cache, checked against the registry on request (each one HEADed by
//! digest: what the registry no longer has is forgotten), and deleted by digest through the same plan,
//! trash and audit path as tags. Deleting a whole repository plans every tag and untagged manifest.

use berth_registry::{Digest, Reference};
use berth_workflows::{DeleteMode, DeletePlan, PlanOptions, Selection};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::{ApiError, Berth, ErrorCode};

type CheckFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = (usize, Result<bool, String>)> + Send + 'a>>;

/// HEADs in flight while checking untagged manifests.
const CHECK_CONCURRENCY: usize = 8;

/// One untagged manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct UntaggedManifestView {
    pub repository: String,
    pub digest: String,
    /// Empty when the cache never fetched the manifest.
    pub media_type: String,
    pub created: Option<String>,
    /// Config and layers (an index: its platforms), each blob once; GC frees only what nothing else uses.
    #[ts(type = "number")]
    pub size: u64,
    /// When a tag last left it (None: before Berth kept track).
    pub untagged_since: Option<String>,
    /// An untagged index of the same repository lists it: it goes with that index.
    pub index_parent: Option<String>,
}

/// Untagged manifests of a repository, or of every repository (`repository` None).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct UntaggedView {
    pub profile: String,
    pub repository: Option<String>,
    pub manifests: Vec<UntaggedManifestView>,
    /// Sum of `size` (shared blobs counted per manifest: the delete plan gives what GC frees).
    #[ts(type = "number")]
    pub total_size: u64,
    /// Checked against the registry just now (each HEADed by digest); false: from the cache only.
    pub checked: bool,
    /// Forgotten by this check: the registry no longer has them.
    #[ts(type = "number")]
    pub gone: u64,
    /// Could not be checked (the registry answered with an error); kept.
    pub unchecked: Vec<String>,
}

/// What a storage scan found (registry:2 with a filesystem storage root in the profile).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct StorageScanView {
    /// The read-only command that listed the storage's manifest revisions.
    pub command: String,
    /// Manifest revisions in the storage, tagged or not.
    #[ts(type = "number")]
    pub revisions: u64,
    /// Manifests fetched into the cache by this scan.
    #[ts(type = "number")]
    pub fetched: u64,
    /// Untagged manifests in the cache before and after.
    #[ts(type = "number")]
    pub untagged_before: u64,
    #[ts(type = "number")]
    pub untagged_after: u64,
}

impl Berth {
    /// Finds the manifests the registry keeps that no sync saw tagged (pushed over before Berth's
    /// first sync, pushed by digest): lists the storage's manifest revisions with one read-only
    /// command (the profile's storage root and remote prefix), fetches the ones the cache lacks, and
    /// records them, so the untagged view lists them. registry:2 with filesystem storage only.
    pub async fn scan_storage_untagged(
        &self,
        profile: &str,
        cancel: &CancellationToken,
    ) -> Result<StorageScanView, ApiError> {
        let (root, remote) = self.storage_of(profile, None, None).await?;
        let s = self.session(profile).await?;
        let t = s.target(self);
        if !t.backend.capabilities().gc_commands {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!("{profile} is not a registry:2 with filesystem storage: its storage cannot be scanned"),
                "untagged manifests there come from what syncs saw",
            ));
        }
        let command = berth_workflows::gc::storage_manifests_command(&root, remote.as_deref())?;
        let out = berth_backend::shell::run(&command, &|_| {}, cancel).await?;
        if !out.success {
            return Err(ApiError::new(
                ErrorCode::Registry,
                format!("listing the storage failed: {}", out.text.lines().last().unwrap_or_default()),
                format!("check the storage root {root} and the remote prefix (run the command by hand: {command})"),
            )
            .edit(
                profile,
                crate::ProfileField::GcStorageRoot,
                format!("berth profile edit {profile} --storage-root DIR"),
            ));
        }
        let found = berth_workflows::gc::parse_storage_manifests(&out.text);
        let before = self.store().untagged_manifests(s.id(), None).await?.len() as u64;
        let fetched = berth_sync::cache_repository_manifests(self.store(), s.id(), t.client(), &found, cancel)
            .await
            .map_err(|e| ApiError::new(ErrorCode::Registry, e.to_string(), "sync the profile, then scan again"))?;
        let after = self.store().untagged_manifests(s.id(), None).await?.len() as u64;
        Ok(StorageScanView {
            command,
            revisions: found.len() as u64,
            fetched,
            untagged_before: before,
            untagged_after: after,
        })
    }

    /// Untagged manifests from the cache; `check`: HEAD each by digest first and forget the gone ones.
    pub async fn untagged(
        &self,
        profile: &str,
        repository: Option<&str>,
        check: bool,
    ) -> Result<UntaggedView, ApiError> {
        let row = self.store().profile(profile).await?;
        let mut rows = self.store().untagged_manifests(row.id, repository).await?;
        let mut gone = 0u64;
        let mut unchecked = Vec::new();
        if check && !rows.is_empty() {
            let s = self.session(profile).await?;
            let client = s.target(self).client();
            let targets: Vec<(usize, String, String)> =
                rows.iter().enumerate().map(|(i, r)| (i, r.repository.clone(), r.digest.clone())).collect();
            // Boxed with an explicit Send type: the window's commands need Send futures.
            let heads: Vec<(usize, Result<bool, String>)> = stream::iter(targets)
                .map(|(i, repo, digest)| -> CheckFuture<'_> {
                    Box::pin(async move {
                        let Some(d) = Digest::parse(&digest) else { return (i, Ok(false)) };
                        match client.head_manifest(&repo, &Reference::Digest(d)).await {
                            Ok(h) => (i, Ok(h.is_some())),
                            Err(e) => (i, Err(e.to_string())),
                        }
                    })
                })
                .buffer_unordered(CHECK_CONCURRENCY)
                .collect()
                .await;
            let mut keep = vec![true; rows.len()];
            for (i, present) in heads {
                match present {
                    Ok(true) => {}
                    Ok(false) => {
                        if let (Some(k), Some(r)) = (keep.get_mut(i), rows.get(i)) {
                            *k = false;
                            self.store().forget_repository_manifest(row.id, &r.repository, &r.digest).await?;
                            gone += 1;
                        }
                    }
                    Err(e) => {
                        if let Some(r) = rows.get(i) {
                            unchecked.push(format!("{}@{}: {e}", r.repository, r.digest));
                        }
                    }
                }
            }
            let mut it = keep.into_iter();
            rows.retain(|_| it.next().unwrap_or(true));
        }
        let manifests: Vec<UntaggedManifestView> = rows
            .into_iter()
            .map(|r| UntaggedManifestView {
                repository: r.repository,
                digest: r.digest,
                media_type: r.media_type,
                created: r.created,
                size: r.size,
                untagged_since: r.last_tagged,
                index_parent: r.index_parent,
            })
            .collect();
        let total_size = berth_registry::saturating_sum(manifests.iter().map(|m| m.size));
        Ok(UntaggedView {
            profile: row.name,
            repository: repository.map(str::to_string),
            manifests,
            total_size,
            checked: check,
            gone,
            unchecked,
        })
    }

    /// The plan that deletes a whole repository: every tag (with its image) and every untagged
    /// manifest, referrers included. Deletes nothing; execute it like any delete plan.
    pub async fn plan_delete_repository(
        &self,
        profile: &str,
        repository: &str,
        cancel: &CancellationToken,
    ) -> Result<DeletePlan, ApiError> {
        let row = self.store().profile(profile).await?;
        let tags = self.store().repository_tags(row.id, repository, berth_store::TagSort::Name).await?;
        let untagged = self.store().untagged_manifests(row.id, Some(repository)).await?;
        let mut selections: Vec<Selection> =
            tags.iter().map(|t| Selection { repository: repository.to_string(), reference: t.name.clone() }).collect();
        // An untagged index takes its untagged children along; select only the others.
        selections.extend(
            untagged
                .iter()
                .filter(|u| u.index_parent.is_none())
                .map(|u| Selection { repository: repository.to_string(), reference: u.digest.clone() }),
        );
        if selections.is_empty() {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("{profile} has nothing cached in {repository}"),
                "sync the profile: the plan is computed from the cache",
            )
            .with_fix(crate::FixAction::Sync { profile: profile.to_string() }, format!("berth sync {profile}")));
        }
        let options = PlanOptions { mode: DeleteMode::Image, referrers: true };
        // One session for the plan and the backend's capabilities.
        let s = self.session(profile).await?;
        let mut plan = berth_workflows::plan_delete(s.target(self), &selections, options, cancel).await?;
        plan.notes.push(if s.target(self).backend.capabilities().gc_commands {
            format!(
                "registry:2 keeps the empty folder of {repository} (it stays in the catalog): remove it with the \
                 empty-repository step on the GC page"
            )
        } else {
            format!("{repository} stays listed until the server drops empty repositories")
        });
        Ok(plan)
    }
}
