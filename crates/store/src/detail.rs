//! What an image's detail needs from the cache: a reference resolved as the last sync saw it, the
//! manifest's exact bytes, its config, sibling tags and referrers, so that the detail answers offline
//! (and sibling tags never cost one request per tag).

use sqlx::Row;

use crate::{Store, StoreError};

/// A cached manifest: its exact bytes and the config Berth keeps of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedManifest {
    pub digest: String,
    pub media_type: String,
    pub raw: Vec<u8>,
    pub created: Option<String>,
    /// The image config's shown parts as JSON (`berth_registry::ImageConfig`); None for an index, an
    /// artifact, or a manifest cached before configs were kept.
    pub config: Option<String>,
    pub fetched_at: String,
}

impl Store {
    /// A cached manifest by digest.
    pub async fn cached_manifest(&self, digest: &str) -> Result<Option<CachedManifest>, StoreError> {
        let row =
            sqlx::query("SELECT digest, media_type, raw, created, config, fetched_at FROM manifests WHERE digest = ?")
                .bind(digest)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|r| CachedManifest {
            digest: r.get("digest"),
            media_type: r.get("media_type"),
            raw: r.get("raw"),
            created: r.get("created"),
            config: r.get("config"),
            fetched_at: r.get("fetched_at"),
        }))
    }

    /// Keeps a manifest's config (JSON) once it was fetched; a manifest not cached is left alone.
    pub async fn set_manifest_config(&self, digest: &str, config: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE manifests SET config = ? WHERE digest = ? AND config IS NULL")
            .bind(config)
            .bind(digest)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// When the last sync saw the repository (None: never synced).
    pub async fn repository_last_seen(&self, profile_id: i64, repo: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT last_seen FROM repositories WHERE profile_id = ? AND name = ?")
            .bind(profile_id)
            .bind(repo)
            .fetch_optional(self.pool())
            .await?)
    }

    /// The repository's cached tags as (name, digest, when a sync last saw it: the repository's last
    /// sync), by name; None when the repository was never synced.
    pub async fn repository_tag_digests(
        &self,
        profile_id: i64,
        repo: &str,
    ) -> Result<Option<Vec<(String, String, String)>>, StoreError> {
        if self.repository_last_seen(profile_id, repo).await?.is_none() {
            return Ok(None);
        }
        let rows = sqlx::query(
            "SELECT t.name, t.digest, r.last_seen FROM tags t JOIN repositories r ON r.id = t.repository_id \
             WHERE r.profile_id = ? AND r.name = ? ORDER BY t.name",
        )
        .bind(profile_id)
        .bind(repo)
        .fetch_all(self.pool())
        .await?;
        Ok(Some(rows.iter().map(|r| (r.get("name"), r.get("digest"), r.get("last_seen"))).collect()))
    }
}
