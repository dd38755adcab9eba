//! The trash (restore a delete until GC) and the audit log.

use berth_registry::{Digest, Manifest, Reference};
use berth_store::{NewAudit, TrashRow};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::{operation_id, Target, WorkflowError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TrashView {
    #[ts(type = "number")]
    pub id: i64,
    pub repository: String,
    pub tags: Vec<String>,
    pub digest: String,
    pub media_type: String,
    /// `untag` (the tags went, the image stayed) or `delete` (the image went with its tags).
    #[ts(type = "\"untag\" | \"delete\"")]
    pub kind: String,
    pub deleted_at: String,
    /// `trashed`, `restored` or `collected` (garbage-collected: cannot come back).
    #[ts(type = "\"trashed\" | \"restored\" | \"collected\"")]
    pub state: String,
    #[ts(type = "number")]
    pub reclaimable_bytes: u64,
    /// Manifests kept in the trash (an index with its children counts them all).
    #[ts(type = "number")]
    pub manifests: u64,
}

impl TrashView {
    fn from_row(r: TrashRow, manifests: u64) -> Self {
        TrashView {
            id: r.id,
            repository: r.repository,
            tags: r.tags,
            digest: r.digest,
            media_type: r.media_type,
            kind: r.kind,
            deleted_at: r.deleted_at,
            state: r.state,
            reclaimable_bytes: r.reclaimable,
            manifests,
        }
    }
}

/// The profile's trash, newest first; `all` includes restored and collected entries.
pub async fn trash(store: &berth_store::Store, profile_id: i64, all: bool) -> Result<Vec<TrashView>, WorkflowError> {
    let rows = store.trash_entries(profile_id, all).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let n = store.trash_manifests(r.id).await?.len() as u64;
        out.push(TrashView::from_row(r, n));
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RestoreReport {
    #[ts(type = "number")]
    pub id: i64,
    pub repository: String,
    pub digest: String,
    /// Manifests put back by digest (children first).
    #[ts(type = "number")]
    pub manifests_restored: u64,
    pub tags_restored: Vec<String>,
    /// Tags not restored because they point at another image now (pushed since), with what they hold.
    pub tags_skipped: Vec<String>,
}

/// Puts a trash entry back: its manifests by digest (children before their index), then its tags.
/// Works while the blobs exist (before GC); a tag that was pushed to since the delete is left alone.
pub async fn restore(t: Target<'_>, id: i64) -> Result<RestoreReport, WorkflowError> {
    let Some(entry) = t.store.trash_entry(t.profile_id, id).await? else {
        return Err(WorkflowError::invalid(
            format!("no trash entry {id} in profile {}", t.profile),
            format!("the trash of {} lists the entries that can be restored", t.profile),
        ));
    };
    if entry.state != "trashed" {
        return Err(WorkflowError::NotRestorable {
            message: format!("trash entry {id} is {} already", entry.state),
            hint: if entry.state == "collected" {
                "garbage collection removed its blobs: push the image again".into()
            } else {
                "nothing to do".into()
            },
        });
    }
    let manifests = t.store.trash_manifests(id).await?;
    let Some(root) = manifests.last().cloned() else {
        return Err(WorkflowError::NotRestorable {
            message: format!("trash entry {id} kept no manifest bytes"),
            hint: "push the image again".into(),
        });
    };
    let repo = entry.repository.as_str();
    let operation = operation_id("restore");
    let mut report = RestoreReport {
        id,
        repository: entry.repository.clone(),
        digest: entry.digest.clone(),
        manifests_restored: 0,
        tags_restored: vec![],
        tags_skipped: vec![],
    };
    // Every blob the manifests need must still be there: the registry would refuse the manifest anyway,
    // but this says which one and why.
    for m in &manifests {
        let Ok((_, parsed)) = Manifest::parse(Some(&m.media_type), &m.raw) else { continue };
        if let Manifest::Image(img) = &parsed {
            let mut blobs = vec![img.config.digest.clone()];
            blobs.extend(img.layers.iter().map(|l| l.digest.clone()));
            for b in blobs {
                if t.client().head_blob(repo, &b).await?.is_none() {
                    let _ = t.store.set_trash_state(id, "collected").await;
                    audit(t, &operation, repo, &entry.digest, "failed", &format!("blob {b} is gone")).await?;
                    return Err(WorkflowError::NotRestorable {
                        message: format!("cannot restore {repo}@{}: its blob {b} is gone", entry.digest),
                        hint: "garbage collection has run since the delete: push the image again".into(),
                    });
                }
            }
        }
    }
    if entry.kind == "delete" {
        for m in &manifests {
            t.client().put_manifest(repo, &m.digest, &m.media_type, &m.raw).await?;
            report.manifests_restored += 1;
        }
    } else if t.client().head_manifest(repo, &Reference::Digest(parse(&entry.digest)?)).await?.is_none() {
        return Err(WorkflowError::NotRestorable {
            message: format!("cannot re-tag {repo}@{}: the image itself was deleted since", entry.digest),
            hint: "restore that delete first (it is in the trash), then this one".into(),
        });
    }
    for tag in &entry.tags {
        match t.client().head_manifest(repo, &Reference::Tag(tag.clone())).await? {
            Some(h) if h.digest.as_str() != entry.digest => {
                report.tags_skipped.push(format!("{tag} (now {})", h.digest));
                continue;
            }
            _ => {}
        }
        t.client().put_manifest(repo, tag, &root.media_type, &root.raw).await?;
        match t.client().head_manifest(repo, &Reference::Tag(tag.clone())).await? {
            Some(h) if h.digest.as_str() == entry.digest => report.tags_restored.push(tag.clone()),
            other => {
                return Err(WorkflowError::NotRestorable {
                    message: format!(
                        "{repo}:{tag} does not resolve to {} after the restore ({})",
                        entry.digest,
                        other.map(|h| h.digest.to_string()).unwrap_or_else(|| "missing".into())
                    ),
                    hint: "check the registry's log; the trash entry is kept".into(),
                })
            }
        }
    }
    if entry.kind == "delete" && entry.tags.is_empty() {
        // An untagged manifest is back: untagged again.
        t.store.remember_repository_manifest(t.profile_id, repo, &entry.digest).await?;
    }
    t.store.set_trash_state(id, "restored").await?;
    let msg = format!(
        "restored {} manifest(s), tags [{}]{}",
        report.manifests_restored,
        report.tags_restored.join(", "),
        if report.tags_skipped.is_empty() {
            String::new()
        } else {
            format!("; skipped {}", report.tags_skipped.join(", "))
        }
    );
    audit(t, &operation, repo, &entry.digest, "ok", &msg).await?;
    let cancel = CancellationToken::new();
    if let Err(e) =
        berth_sync::refresh_repositories(t.store, t.profile_id, t.client(), &[entry.repository], &cancel).await
    {
        tracing::warn!("refreshing the cache after the restore failed: {e}");
    }
    Ok(report)
}

fn parse(d: &str) -> Result<Digest, WorkflowError> {
    Digest::parse(d).ok_or_else(|| WorkflowError::invalid(format!("invalid digest {d}"), "the trash entry is damaged"))
}

async fn audit(
    t: Target<'_>,
    op: &str,
    repo: &str,
    digest: &str,
    result: &str,
    msg: &str,
) -> Result<(), WorkflowError> {
    t.store
        .add_audit(&NewAudit {
            profile_id: t.profile_id,
            profile_name: t.profile,
            operation: op,
            action: "restore",
            repository: Some(repo),
            target: digest,
            digest: Some(digest),
            result,
            message: Some(msg),
        })
        .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AuditView {
    #[ts(type = "number")]
    pub id: i64,
    pub at: String,
    pub profile: String,
    pub operation: String,
    pub action: String,
    pub repository: Option<String>,
    pub target: String,
    pub digest: Option<String>,
    pub result: String,
    pub message: Option<String>,
}

/// The profile's audit log, newest first.
pub async fn audit_log(store: &berth_store::Store, profile: &str, limit: u32) -> Result<Vec<AuditView>, WorkflowError> {
    Ok(store
        .audit_log(profile, limit)
        .await?
        .into_iter()
        .map(|r| AuditView {
            id: r.id,
            at: r.at,
            profile: r.profile,
            operation: r.operation,
            action: r.action,
            repository: r.repository,
            target: r.target,
            digest: r.digest,
            result: r.result,
            message: r.message,
        })
        .collect())
}
