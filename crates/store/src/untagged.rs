//! Untagged manifests: what a repository held under a tag that no tag points at any more (a tag moved
//! to a newer push, or went), from `repository_manifests` (kept in step with tags by triggers). The
//! registry keeps them until they are deleted by digest; they hold blobs GC cannot free.

use sqlx::Row;

use crate::{Store, StoreError};

/// One untagged manifest of a repository, as the cache knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UntaggedRow {
    pub repository: String,
    pub digest: String,
    /// Empty when the manifest itself was never cached.
    pub media_type: String,
    pub created: Option<String>,
    /// The image's bytes (config and layers; for an index, of its platforms), each blob once.
    pub size: u64,
    pub first_seen: String,
    /// When a tag last left it (None: before Berth tracked it).
    pub last_tagged: Option<String>,
    /// An untagged index of the same repository that lists it (it goes when that index goes).
    pub index_parent: Option<String>,
}

/// Untagged digests of a profile: in `repository_manifests`, pointed at by no tag of the repository,
/// and not a platform of a tagged index there. `?1` is the profile, `?2` a repository or NULL.
const UNTAGGED: &str = "SELECT r.name AS repository, rm.digest, COALESCE(m.media_type, '') AS media_type, m.created, \
       COALESCE(m.total_size, 0) AS size, rm.first_seen, rm.last_tagged, \
       (SELECT c.parent FROM manifest_children c JOIN repository_manifests p \
          ON p.digest = c.parent AND p.repository_id = rm.repository_id WHERE c.child = rm.digest \
          ORDER BY c.parent LIMIT 1) AS index_parent \
     FROM repository_manifests rm JOIN repositories r ON r.id = rm.repository_id \
     LEFT JOIN manifests m ON m.digest = rm.digest \
     WHERE r.profile_id = ?1 AND (?2 IS NULL OR r.name = ?2) \
       AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.repository_id = rm.repository_id AND t.digest = rm.digest) \
       AND NOT EXISTS (SELECT 1 FROM tags t JOIN manifest_children c ON c.parent = t.digest \
                        WHERE t.repository_id = rm.repository_id AND c.child = rm.digest)";

fn untagged_row(r: &sqlx::sqlite::SqliteRow) -> UntaggedRow {
    UntaggedRow {
        repository: r.get("repository"),
        digest: r.get("digest"),
        media_type: r.get("media_type"),
        created: r.get("created"),
        size: r.get::<i64, _>("size").max(0) as u64,
        first_seen: r.get("first_seen"),
        last_tagged: r.get("last_tagged"),
        index_parent: r.get("index_parent"),
    }
}

impl Store {
    /// Untagged manifests of one repository (`Some`) or of every repository of the profile, newest first.
    pub async fn untagged_manifests(
        &self,
        profile_id: i64,
        repo: Option<&str>,
    ) -> Result<Vec<UntaggedRow>, StoreError> {
        let sql = format!("{UNTAGGED} ORDER BY r.name, m.created IS NULL, m.created DESC, rm.digest");
        let rows = sqlx::query(&sql).bind(profile_id).bind(repo).fetch_all(self.pool()).await?;
        Ok(rows.iter().map(untagged_row).collect())
    }

    /// Forgets an untagged manifest the registry no longer has (deleted, collected).
    pub async fn forget_repository_manifest(
        &self,
        profile_id: i64,
        repo: &str,
        digest: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM repository_manifests WHERE digest = ?3 AND repository_id = \
             (SELECT id FROM repositories WHERE profile_id = ?1 AND name = ?2)",
        )
        .bind(profile_id)
        .bind(repo)
        .bind(digest)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records a manifest the repository holds untagged (a restored untagged delete).
    pub async fn remember_repository_manifest(
        &self,
        profile_id: i64,
        repo: &str,
        digest: &str,
    ) -> Result<(), StoreError> {
        self.write_repository_manifests(profile_id, repo, &[], &[digest.to_string()]).await
    }
}
