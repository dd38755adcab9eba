//! What safe deletes need from the store: the profile's content graph (tags → manifests → children and
//! blobs, with sizes) to plan from, the trash that can put a delete back until GC, and the audit log.

use std::collections::HashMap;

use sqlx::Row;

use crate::{now_rfc3339, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphTag {
    pub repository: String,
    pub name: String,
    pub digest: String,
    pub media_type: String,
    pub created: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphManifest {
    pub media_type: String,
    /// The manifest's own bytes (it is a blob in the registry's storage too).
    pub size: u64,
    pub subject: Option<String>,
    pub artifact_type: Option<String>,
    /// Index children, with their platform (`os/arch[/variant]`) when the index gives one.
    pub children: Vec<(String, Option<String>)>,
    /// Config and layers, with their sizes.
    pub blobs: Vec<(String, u64)>,
}

/// Everything the profile's tags reach, from the cache.
#[derive(Debug, Clone, Default)]
pub struct ProfileGraph {
    pub tags: Vec<GraphTag>,
    pub manifests: HashMap<String, GraphManifest>,
    /// subject → referrers (found by the referrers API or the `sha256-<hex>` fallback index).
    pub referrers: HashMap<String, Vec<String>>,
    /// (repository, digest) of untagged manifests the registry keeps (they hold their blobs; they can
    /// be deleted by digest).
    pub untagged: Vec<(String, String)>,
}

/// Every manifest the profile's tags and untagged manifests reach.
const REACH: &str = "WITH RECURSIVE reach(d) AS ( \
       SELECT t.digest FROM tags t JOIN repositories r ON r.id = t.repository_id WHERE r.profile_id = ?1 \
       UNION SELECT rm.digest FROM repository_manifests rm JOIN repositories r ON r.id = rm.repository_id \
         WHERE r.profile_id = ?1 \
       UNION SELECT c.child FROM manifest_children c JOIN reach ON c.parent = reach.d)";

#[derive(Debug, Clone)]
pub struct TrashManifest {
    pub digest: String,
    pub media_type: String,
    pub raw: Vec<u8>,
}

/// A trash entry to record.
#[derive(Debug, Clone)]
pub struct NewTrashEntry {
    pub profile_id: i64,
    pub operation: String,
    pub repository: String,
    pub digest: String,
    pub media_type: String,
    /// `untag` or `delete`.
    pub kind: String,
    pub tags: Vec<String>,
    pub reclaimable: u64,
    /// Restore order: children before their index.
    pub manifests: Vec<TrashManifest>,
    /// Blobs predicted freed by this entry, with sizes.
    pub blobs: Vec<(String, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrashRow {
    pub id: i64,
    pub operation: String,
    pub repository: String,
    pub digest: String,
    pub media_type: String,
    pub kind: String,
    pub tags: Vec<String>,
    pub reclaimable: u64,
    pub deleted_at: String,
    pub state: String,
    pub state_at: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewAudit<'a> {
    pub profile_id: i64,
    pub profile_name: &'a str,
    pub operation: &'a str,
    pub action: &'a str,
    pub repository: Option<&'a str>,
    pub target: &'a str,
    pub digest: Option<&'a str>,
    /// `ok`, `skipped` or `failed`.
    pub result: &'a str,
    pub message: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
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

fn trash_row(r: &sqlx::sqlite::SqliteRow) -> TrashRow {
    let tags: String = r.get("tags");
    TrashRow {
        id: r.get("id"),
        operation: r.get("operation"),
        repository: r.get("repository"),
        digest: r.get("digest"),
        media_type: r.get("media_type"),
        kind: r.get("kind"),
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        reclaimable: r.get::<i64, _>("reclaimable") as u64,
        deleted_at: r.get("deleted_at"),
        state: r.get("state"),
        state_at: r.get("state_at"),
    }
}

impl Store {
    /// The profile's content graph from the cache: every tag, and every manifest, child, blob and referrer
    /// its tags reach.
    pub async fn profile_graph(&self, profile_id: i64) -> Result<ProfileGraph, StoreError> {
        let mut g = ProfileGraph::default();
        let rows = sqlx::query(
            "SELECT r.name AS repository, t.name, t.digest, t.media_type, t.created FROM tags t \
             JOIN repositories r ON r.id = t.repository_id WHERE r.profile_id = ? ORDER BY r.name, t.name",
        )
        .bind(profile_id)
        .fetch_all(self.pool())
        .await?;
        g.tags = rows
            .iter()
            .map(|r| GraphTag {
                repository: r.get("repository"),
                name: r.get("name"),
                digest: r.get("digest"),
                media_type: r.get("media_type"),
                created: r.get("created"),
            })
            .collect();
        let rows = sqlx::query(&format!(
            "{REACH} SELECT m.digest, m.media_type, m.size, m.subject, m.artifact_type FROM manifests m \
             JOIN reach ON m.digest = reach.d"
        ))
        .bind(profile_id)
        .fetch_all(self.pool())
        .await?;
        for r in rows {
            g.manifests.insert(
                r.get("digest"),
                GraphManifest {
                    media_type: r.get("media_type"),
                    size: r.get::<i64, _>("size") as u64,
                    subject: r.get("subject"),
                    artifact_type: r.get("artifact_type"),
                    ..Default::default()
                },
            );
        }
        let rows: Vec<(String, String, Option<String>, Option<String>, Option<String>)> = sqlx::query_as(&format!(
            "{REACH} SELECT c.parent, c.child, c.os, c.architecture, c.variant FROM manifest_children c \
             JOIN reach ON c.parent = reach.d"
        ))
        .bind(profile_id)
        .fetch_all(self.pool())
        .await?;
        for (parent, child, os, arch, variant) in rows {
            let platform = match (os, arch) {
                (Some(o), Some(a)) => Some(match variant {
                    Some(v) if !v.is_empty() => format!("{o}/{a}/{v}"),
                    _ => format!("{o}/{a}"),
                }),
                _ => None,
            };
            if let Some(m) = g.manifests.get_mut(&parent) {
                m.children.push((child, platform));
            }
        }
        let rows: Vec<(String, String, i64)> = sqlx::query_as(&format!(
            "{REACH} SELECT mb.manifest, mb.blob, b.size FROM manifest_blobs mb JOIN reach ON mb.manifest = reach.d \
             JOIN blobs b ON b.digest = mb.blob \
             UNION ALL SELECT m.digest, m.config_digest, b.size FROM reach JOIN manifests m ON m.digest = reach.d \
             JOIN blobs b ON b.digest = m.config_digest"
        ))
        .bind(profile_id)
        .fetch_all(self.pool())
        .await?;
        for (manifest, blob, size) in rows {
            if let Some(m) = g.manifests.get_mut(&manifest) {
                m.blobs.push((blob, size as u64));
            }
        }
        let rows: Vec<(String, String)> = sqlx::query_as(&format!(
            "{REACH} SELECT f.subject, f.referrer FROM referrers f JOIN reach ON f.subject = reach.d"
        ))
        .bind(profile_id)
        .fetch_all(self.pool())
        .await?;
        for (subject, referrer) in rows {
            g.referrers.entry(subject).or_default().push(referrer);
        }
        g.untagged =
            self.untagged_manifests(profile_id, None).await?.into_iter().map(|u| (u.repository, u.digest)).collect();
        Ok(g)
    }

    /// Records a trash entry with its manifests and blobs; returns its id.
    pub async fn add_trash_entry(&self, e: &NewTrashEntry) -> Result<i64, StoreError> {
        let mut tx = self.pool().begin().await?;
        let id = sqlx::query(
            "INSERT INTO trash_entries (profile_id, operation, repository, digest, media_type, kind, tags, \
             reclaimable, deleted_at) VALUES (?,?,?,?,?,?,?,?,?)",
        )
        .bind(e.profile_id)
        .bind(&e.operation)
        .bind(&e.repository)
        .bind(&e.digest)
        .bind(&e.media_type)
        .bind(&e.kind)
        .bind(serde_json::to_string(&e.tags).unwrap_or_else(|_| "[]".into()))
        .bind(e.reclaimable as i64)
        .bind(now_rfc3339())
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        for (i, m) in e.manifests.iter().enumerate() {
            sqlx::query("INSERT INTO trash_manifests (entry_id, position, digest, media_type, raw) VALUES (?,?,?,?,?)")
                .bind(id)
                .bind(i as i64)
                .bind(&m.digest)
                .bind(&m.media_type)
                .bind(&m.raw)
                .execute(&mut *tx)
                .await?;
        }
        for (digest, size) in &e.blobs {
            sqlx::query("INSERT OR IGNORE INTO trash_blobs (entry_id, digest, size) VALUES (?,?,?)")
                .bind(id)
                .bind(digest)
                .bind(i64::try_from(*size).unwrap_or(i64::MAX))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// The profile's trash, newest first (`all`: also restored and collected entries).
    pub async fn trash_entries(&self, profile_id: i64, all: bool) -> Result<Vec<TrashRow>, StoreError> {
        let sql = format!(
            "SELECT * FROM trash_entries WHERE profile_id = ? {} ORDER BY id DESC",
            if all { "" } else { "AND state = 'trashed'" }
        );
        let rows = sqlx::query(&sql).bind(profile_id).fetch_all(self.pool()).await?;
        Ok(rows.iter().map(trash_row).collect())
    }

    pub async fn trash_entry(&self, profile_id: i64, id: i64) -> Result<Option<TrashRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM trash_entries WHERE profile_id = ? AND id = ?")
            .bind(profile_id)
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.as_ref().map(trash_row))
    }

    /// The manifests of a trash entry, in restore order.
    pub async fn trash_manifests(&self, id: i64) -> Result<Vec<TrashManifest>, StoreError> {
        let rows: Vec<(String, String, Vec<u8>)> =
            sqlx::query_as("SELECT digest, media_type, raw FROM trash_manifests WHERE entry_id = ? ORDER BY position")
                .bind(id)
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(|(digest, media_type, raw)| TrashManifest { digest, media_type, raw }).collect())
    }

    /// The blobs predicted freed by the profile's entries still in the trash (for GC), each once.
    pub async fn trashed_blobs(&self, profile_id: i64) -> Result<Vec<(String, u64)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT b.digest, MAX(b.size) FROM trash_blobs b JOIN trash_entries e ON e.id = b.entry_id \
             WHERE e.profile_id = ? AND e.state = 'trashed' GROUP BY b.digest ORDER BY b.digest",
        )
        .bind(profile_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(d, s)| (d, s as u64)).collect())
    }

    /// Marks an entry `restored` or `collected`.
    pub async fn set_trash_state(&self, id: i64, state: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE trash_entries SET state = ?, state_at = ? WHERE id = ?")
            .bind(state)
            .bind(now_rfc3339())
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn add_audit(&self, a: &NewAudit<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_log (profile_id, profile_name, at, operation, action, repository, target, digest, \
             result, message) VALUES (?,?,?,?,?,?,?,?,?,?)",
        )
        .bind(a.profile_id)
        .bind(a.profile_name)
        .bind(now_rfc3339())
        .bind(a.operation)
        .bind(a.action)
        .bind(a.repository)
        .bind(a.target)
        .bind(a.digest)
        .bind(a.result)
        .bind(a.message)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The audit log of a profile (by name, so it outlives the profile), newest first.
    pub async fn audit_log(&self, profile_name: &str, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, profile_name, operation, action, repository, target, digest, result, message \
             FROM audit_log WHERE profile_name = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(profile_name)
        .bind(limit as i64)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| AuditRow {
                id: r.get("id"),
                at: r.get("at"),
                profile: r.get("profile_name"),
                operation: r.get("operation"),
                action: r.get("action"),
                repository: r.get("repository"),
                target: r.get("target"),
                digest: r.get("digest"),
                result: r.get("result"),
                message: r.get("message"),
            })
            .collect())
    }

    /// Raw bytes of cached manifests by digest (for the trash).
    pub async fn manifests_raw(&self, digests: &[String]) -> Result<HashMap<String, (String, Vec<u8>)>, StoreError> {
        let mut out = HashMap::new();
        for d in digests {
            if let Some((mt, raw)) =
                sqlx::query_as::<_, (String, Vec<u8>)>("SELECT media_type, raw FROM manifests WHERE digest = ?")
                    .bind(d)
                    .fetch_optional(self.pool())
                    .await?
            {
                out.insert(d.clone(), (mt, raw));
            }
        }
        Ok(out)
    }
}

/// A finished GC run, for the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcRunRow {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub dry_run: bool,
    pub status: String,
    pub predicted_bytes: u64,
    pub predicted_blobs: u64,
    pub freed_bytes: u64,
    pub blobs_freed: u64,
    pub verified: Option<bool>,
    pub message: Option<String>,
    pub log: String,
    /// The after command this run still owes (a crash between the before and after commands).
    pub after_pending: Option<String>,
}

/// How a GC run ended.
#[derive(Debug, Clone, Default)]
pub struct GcOutcome {
    pub status: String,
    pub predicted_bytes: u64,
    pub predicted_blobs: u64,
    pub freed_bytes: u64,
    pub blobs_freed: u64,
    pub verified: Option<bool>,
    pub message: Option<String>,
    pub log: String,
}

/// The GC log kept per run: its last MiB.
const GC_LOG_KEEP: usize = 1 << 20;

impl Store {
    pub async fn start_gc_run(&self, profile_id: i64, dry_run: bool) -> Result<i64, StoreError> {
        Ok(sqlx::query("INSERT INTO gc_runs (profile_id, started_at, dry_run) VALUES (?, ?, ?)")
            .bind(profile_id)
            .bind(now_rfc3339())
            .bind(dry_run)
            .execute(self.pool())
            .await?
            .last_insert_rowid())
    }

    pub async fn finish_gc_run(&self, id: i64, o: &GcOutcome) -> Result<(), StoreError> {
        let log = if o.log.len() > GC_LOG_KEEP {
            let mut cut = o.log.len() - GC_LOG_KEEP;
            while !o.log.is_char_boundary(cut) {
                cut += 1;
            }
            format!("[… earlier lines dropped]\n{}", &o.log[cut..])
        } else {
            o.log.clone()
        };
        sqlx::query(
            "UPDATE gc_runs SET finished_at = ?, status = ?, predicted_bytes = ?, predicted_blobs = ?, freed_bytes = ?, \
             blobs_freed = ?, verified = ?, message = ?, log = ? WHERE id = ?",
        )
        .bind(now_rfc3339())
        .bind(&o.status)
        .bind(o.predicted_bytes as i64)
        .bind(o.predicted_blobs as i64)
        .bind(o.freed_bytes as i64)
        .bind(o.blobs_freed as i64)
        .bind(o.verified)
        .bind(&o.message)
        .bind(log)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records (or clears, with `None`) the after command a GC run owes from now on.
    pub async fn set_gc_after_pending(&self, id: i64, after: Option<&str>) -> Result<(), StoreError> {
        sqlx::query("UPDATE gc_runs SET after_pending = ? WHERE id = ?")
            .bind(after)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The profile's GC runs, newest first (`with_log`: include each run's log).
    pub async fn gc_runs(&self, profile_id: i64, with_log: bool) -> Result<Vec<GcRunRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT id, started_at, finished_at, dry_run, status, predicted_bytes, predicted_blobs, freed_bytes, \
             blobs_freed, verified, message, after_pending, {} AS log FROM gc_runs WHERE profile_id = ? ORDER BY id DESC",
            if with_log { "log" } else { "''" }
        ))
        .bind(profile_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| GcRunRow {
                id: r.get("id"),
                started_at: r.get("started_at"),
                finished_at: r.get("finished_at"),
                dry_run: r.get("dry_run"),
                status: r.get("status"),
                predicted_bytes: r.get::<i64, _>("predicted_bytes") as u64,
                predicted_blobs: r.get::<i64, _>("predicted_blobs") as u64,
                freed_bytes: r.get::<i64, _>("freed_bytes") as u64,
                blobs_freed: r.get::<i64, _>("blobs_freed") as u64,
                verified: r.get("verified"),
                message: r.get("message"),
                log: r.get("log"),
                after_pending: r.get("after_pending"),
            })
            .collect())
    }

    /// Trash entries still `trashed`, with the blobs each predicted freed: (entry id, repository, blobs).
    pub async fn trashed_entry_blobs(
        &self,
        profile_id: i64,
    ) -> Result<Vec<(i64, String, Vec<(String, u64)>)>, StoreError> {
        let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
            "SELECT e.id, e.repository, b.digest, b.size FROM trash_entries e JOIN trash_blobs b ON b.entry_id = e.id \
             WHERE e.profile_id = ? AND e.state = 'trashed' ORDER BY e.id",
        )
        .bind(profile_id)
        .fetch_all(self.pool())
        .await?;
        let mut out: Vec<(i64, String, Vec<(String, u64)>)> = Vec::new();
        for (id, repo, digest, size) in rows {
            match out.last_mut() {
                Some((last, _, blobs)) if *last == id => blobs.push((digest, size as u64)),
                _ => out.push((id, repo, vec![(digest, size as u64)])),
            }
        }
        Ok(out)
    }

    /// Sizes of blobs and manifests the cache knows, by digest (for what a GC freed).
    pub async fn known_sizes(&self, digests: &[String]) -> Result<HashMap<String, u64>, StoreError> {
        let mut out = HashMap::new();
        for d in digests {
            let size: Option<i64> = sqlx::query_scalar(
                "SELECT size FROM blobs WHERE digest = ?1 UNION ALL SELECT size FROM manifests WHERE digest = ?1 \
                 UNION ALL SELECT size FROM trash_blobs WHERE digest = ?1 LIMIT 1",
            )
            .bind(d)
            .fetch_optional(self.pool())
            .await?;
            if let Some(s) = size {
                out.insert(d.clone(), s as u64);
            }
        }
        Ok(out)
    }
}

impl Store {
    /// Saves a retention policy (JSON) for a profile; returns its id.
    pub async fn save_retention_policy(&self, profile_id: i64, policy_json: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query("INSERT INTO retention_policies (profile_id, policy, created_at) VALUES (?, ?, ?)")
            .bind(profile_id)
            .bind(policy_json)
            .bind(now_rfc3339())
            .execute(self.pool())
            .await?
            .last_insert_rowid())
    }

    /// The profile's saved retention policies: (id, JSON), oldest first.
    pub async fn retention_policies(&self, profile_id: i64) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT id, policy FROM retention_policies WHERE profile_id = ? ORDER BY id")
            .bind(profile_id)
            .fetch_all(self.pool())
            .await?)
    }

    /// Forgets a saved policy; false when the profile has no such policy.
    pub async fn delete_retention_policy(&self, profile_id: i64, id: i64) -> Result<bool, StoreError> {
        Ok(sqlx::query("DELETE FROM retention_policies WHERE profile_id = ? AND id = ?")
            .bind(profile_id)
            .bind(id)
            .execute(self.pool())
            .await?
            .rows_affected()
            > 0)
    }
}
