//! The catalog cache: repositories, tags, manifests, blobs and their edges, sync runs; and the
//! queries the CLI and the window browse with, offline.

use std::collections::{HashMap, HashSet};

use sqlx::sqlite::SqliteArguments;
use sqlx::{Arguments, Row};

use crate::{now_rfc3339, Store, StoreError};

/// A manifest to cache: everything needed to browse and size it without the registry.
#[derive(Debug, Clone, Default)]
pub struct ManifestRecord {
    pub digest: String,
    pub media_type: String,
    pub raw: Vec<u8>,
    pub created: Option<String>,
    pub os: Option<String>,
    pub architecture: Option<String>,
    pub variant: Option<String>,
    pub config_digest: Option<String>,
    pub artifact_type: Option<String>,
    pub subject: Option<String>,
    pub total_size: u64,
    /// The image config's shown parts as JSON (`berth_registry::ImageConfig`), for the offline detail.
    pub config: Option<String>,
    /// Index children with their platforms.
    pub children: Vec<ChildRecord>,
    /// Image config and layers: (digest, size, media type).
    pub blobs: Vec<(String, u64, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct ChildRecord {
    pub digest: String,
    pub os: Option<String>,
    pub architecture: Option<String>,
    pub variant: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TagRecord {
    pub name: String,
    pub digest: String,
    pub media_type: String,
}

/// What one repository's sync learned: the manifests not cached yet (index children before their
/// index), referrer edges (subject, referrer, artifact type) and the repository's tag set.
#[derive(Debug, Clone, Default)]
pub struct RepositoryWrite {
    pub profile_id: i64,
    pub repo: String,
    pub manifests: Vec<std::sync::Arc<ManifestRecord>>,
    pub referrers: Vec<(String, String, Option<String>)>,
    pub tags: Vec<TagRecord>,
}

/// The sync's writer: one pooled connection kept for the whole sync, so its page cache stays warm (a
/// connection's cache is dropped whenever another one has written), writing several repositories per
/// transaction (each commit writes every page it touched to the WAL again, the shared index pages too).
pub struct CatalogWriter {
    conn: sqlx::pool::PoolConnection<sqlx::Sqlite>,
}

impl Store {
    /// A writer holding one of the pool's connections until it is dropped, with an 8 MB page cache;
    /// the connection is closed then (the pool opens another with a reader's 2 MB when it needs one).
    pub async fn catalog_writer(&self) -> Result<CatalogWriter, StoreError> {
        let mut conn = self.pool().acquire().await?;
        conn.close_on_drop();
        crate::set_cache_size(&mut conn, crate::WRITER_CACHE_SIZE).await?;
        Ok(CatalogWriter { conn })
    }
}

impl CatalogWriter {
    /// Writes the repositories in one transaction, in order: for each, its manifests (an index's
    /// creation time and size are computed from its children here), referrers, then its tag set,
    /// replaced as [`Store::replace_repository_tags`] does. A few statements per repository.
    pub async fn write_repositories(&mut self, writes: &[&RepositoryWrite]) -> Result<(), StoreError> {
        use sqlx::Connection;
        let mut tx = self.conn.begin().await?;
        for w in writes {
            let refs: Vec<&ManifestRecord> = w.manifests.iter().map(|m| m.as_ref()).collect();
            insert_manifests(&mut tx, &refs).await?;
            if !w.referrers.is_empty() {
                let rows: Vec<_> = w.referrers.iter().map(|(s, r, a)| serde_json::json!([s, r, a])).collect();
                sqlx::query(
                    "INSERT OR IGNORE INTO referrers (subject, referrer, artifact_type) \
                     SELECT value->>0, value->>1, value->>2 FROM json_each(?)",
                )
                .bind(serde_json::Value::Array(rows).to_string())
                .execute(&mut *tx)
                .await?;
            }
            write_tags(&mut tx, w.profile_id, &w.repo, &w.tags).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// A repository with its tag count and its size (each blob counted once within the repository).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositorySummary {
    pub name: String,
    pub tags: u64,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRow {
    pub repository: String,
    pub name: String,
    pub digest: String,
    pub media_type: String,
    pub created: Option<String>,
    pub size: u64,
    pub first_seen: String,
    /// `os/arch[/variant]` of the image, or of each platform of an index (attestations left out),
    /// joined by ", "; empty when unknown.
    pub platforms: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TagSort {
    #[default]
    Name,
    /// Newest first.
    Created,
    /// Largest first.
    Size,
    Digest,
    /// By the platforms text (`linux/amd64, linux/arm64`).
    Platforms,
    /// By repository, then tag (search results across repositories).
    Repository,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRunRow {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub status: String,
    pub repositories: i64,
    pub tags: i64,
    pub manifests_fetched: i64,
    pub requests: i64,
    pub errors: i64,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct SyncCounts {
    pub repositories: u64,
    pub tags: u64,
    pub manifests_fetched: u64,
    pub requests: u64,
    pub errors: u64,
}

/// `os/arch[/variant]` of a tag's image, or of each platform of its index; empty when unknown.
macro_rules! platforms_expr {
    () => {
        "COALESCE((SELECT group_concat(c.os || '/' || COALESCE(c.architecture, '?') || COALESCE('/' || c.variant, ''), ', ' \
                       ORDER BY c.os, c.architecture, c.variant) \
                     FROM manifest_children c WHERE c.parent = t.digest AND c.os IS NOT NULL AND c.os != 'unknown'), \
                  (SELECT m.os || '/' || COALESCE(m.architecture, '?') || COALESCE('/' || m.variant, '') \
                     FROM manifests m WHERE m.digest = t.digest AND m.os IS NOT NULL AND m.os != 'unknown'), '')"
    };
}

const TAG_COLUMNS: &str = concat!(
    "r.name AS repository, t.name, t.digest, t.media_type, t.created, t.size, t.first_seen, ",
    platforms_expr!(),
    " AS platforms"
);

/// Most tags whose repositories' sizes [`Store::refresh_repository_sizes`] computes in one statement.
pub const SIZE_BATCH_TAGS: i64 = 5_000;

/// The ORDER BY of a sort; those by creation date and size follow `tags_by_created` and
/// `tags_by_size` (SQLite puts NULL last in a descending order: tags without a date come last).
fn order_by(sort: TagSort) -> &'static str {
    match sort {
        TagSort::Name => "t.name",
        TagSort::Created => "t.created DESC, t.name",
        TagSort::Size => "t.size DESC, t.name",
        TagSort::Digest => "t.digest, t.name",
        TagSort::Platforms => "platforms, t.name",
        TagSort::Repository => "r.name, t.name",
    }
}

/// Every name of a repository's tags (`?1` the profile, `?2` the repository) in `sort`'s order, as one
/// row holding a JSON array: sqlx hands each row over from its worker thread on its own, which cost
/// more than the query at 100,000 rows. An aggregate over a subquery with ORDER BY takes the rows in
/// that order (SQLite does not flatten such a subquery).
fn tag_names_sql(sort: TagSort) -> String {
    // Only the platforms sort needs each tag's platforms (a subquery per tag).
    let platforms = if sort == TagSort::Platforms { concat!(", ", platforms_expr!(), " AS platforms") } else { "" };
    format!(
        "SELECT json_group_array(name) FROM (SELECT t.name AS name{platforms} FROM tags t \
         JOIN repositories r ON r.id = t.repository_id WHERE r.profile_id = ? AND r.name = ? ORDER BY {})",
        order_by(sort)
    )
}

/// `order_by` over the bare columns of a search page (`name`, `created`, … `rname`).
fn order_by_bare(sort: TagSort) -> &'static str {
    match sort {
        TagSort::Name => "name",
        TagSort::Created => "created DESC, name",
        TagSort::Size => "size DESC, name",
        TagSort::Digest => "digest, name",
        TagSort::Platforms => "platforms, name",
        TagSort::Repository => "rname, name",
    }
}

/// How `search_tags` finds a needle: disjoint parts (FROM, WHERE) whose union is the hits, and the
/// arguments they share (`?1` is the profile).
struct SearchPlan {
    parts: Vec<(&'static str, String)>,
    args: Vec<SearchArg>,
}

enum SearchArg {
    Int(i64),
    Text(String),
}

const REPO_TAGS: &str = "repositories r JOIN tags t ON t.repository_id = r.id";
// CROSS JOIN: tags first (SQLite keeps the order), found by their digest's range in `tags_digest`;
// the planner otherwise walked every tag of the profile's repositories.
const DIGEST_TAGS: &str = "tags t CROSS JOIN repositories r ON r.id = t.repository_id";
const INDEXED_TAGS: &str =
    "tags_search JOIN tags t ON t.rowid = tags_search.rowid JOIN repositories r ON r.id = t.repository_id";

impl SearchPlan {
    /// None when nothing can match (a needle with two colons: names hold none, hex digests neither).
    fn new(profile_id: i64, needle: &str) -> Option<Self> {
        let needle = needle.to_lowercase();
        // A pasted digest: search its hex (a digest matches by its hex's start, whatever its algorithm).
        let needle = ["sha256:", "sha512:"]
            .iter()
            .find_map(|p| needle.strip_prefix(p))
            .filter(|h| !h.is_empty())
            .unwrap_or(&needle);
        let mut plan = SearchPlan { parts: Vec::new(), args: vec![SearchArg::Int(profile_id)] };
        if let Some((repo_end, tag_start)) = needle.split_once(':') {
            // Repository and tag names hold no colon: the needle spans "repository:tag" at its colon.
            if tag_start.contains(':') {
                return None;
            }
            let mut filter = "r.profile_id = ?1".to_string();
            if !repo_end.is_empty() {
                let len = plan.arg(SearchArg::Int(repo_end.chars().count() as i64));
                let end = plan.arg(SearchArg::Text(repo_end.to_string()));
                filter += &format!(" AND length(r.name) >= {len} AND substr(lower(r.name), -{len}) = {end}");
            }
            if !tag_start.is_empty() {
                let len = plan.arg(SearchArg::Int(tag_start.chars().count() as i64));
                let start = plan.arg(SearchArg::Text(tag_start.to_string()));
                filter += &format!(" AND substr(lower(t.name), 1, {len}) = {start}");
            }
            if repo_end.is_empty() && tag_start.chars().count() >= 3 {
                let phrase = plan.arg(SearchArg::Text(format!("name : {}", fts_phrase(tag_start))));
                plan.parts.push((INDEXED_TAGS, format!("tags_search MATCH {phrase} AND {filter}")));
            } else {
                plan.parts.push((REPO_TAGS, filter));
            }
            return Some(plan);
        }
        let n = plan.arg(SearchArg::Text(needle.to_string()));
        plan.parts.push((REPO_TAGS, format!("r.profile_id = ?1 AND instr(lower(r.name), {n}) > 0")));
        // Digests match by their start: hex digits only, so a needle with anything else names none.
        let hex = needle.bytes().all(|b| b.is_ascii_hexdigit());
        if needle.chars().count() >= 3 {
            let phrase = plan.arg(SearchArg::Text(fts_phrase(needle)));
            plan.parts.push((
                INDEXED_TAGS,
                format!("tags_search MATCH {phrase} AND r.profile_id = ?1 AND instr(lower(r.name), {n}) = 0"),
            ));
            if hex {
                // A range of `tags_digest` per algorithm (a part each): every digest that starts with
                // the needle sorts between it and it followed by 'g' (past every hex digit).
                for alg in ["sha256:", "sha512:"] {
                    let lo = plan.arg(SearchArg::Text(format!("{alg}{needle}")));
                    let hi = plan.arg(SearchArg::Text(format!("{alg}{needle}g")));
                    plan.parts.push((
                        DIGEST_TAGS,
                        format!(
                            "t.digest >= {lo} AND t.digest < {hi} AND r.profile_id = ?1 \
                             AND instr(lower(r.name), {n}) = 0 AND instr(lower(t.name), {n}) = 0"
                        ),
                    ));
                }
            }
        } else {
            let digest = if hex {
                let len = plan.arg(SearchArg::Int(needle.len() as i64));
                format!(" OR substr(t.digest, instr(t.digest, ':') + 1, {len}) = {n}")
            } else {
                String::new()
            };
            plan.parts.push((
                REPO_TAGS,
                format!(
                    "r.profile_id = ?1 AND instr(lower(r.name), {n}) = 0 AND (instr(lower(t.name), {n}) > 0{digest})"
                ),
            ));
        }
        Some(plan)
    }

    /// Adds an argument; returns its placeholder.
    fn arg(&mut self, a: SearchArg) -> String {
        self.args.push(a);
        format!("?{}", self.args.len())
    }

    /// The arguments, then the page size and offset.
    fn arguments(&self, limit: i64, offset: i64) -> Result<SqliteArguments<'static>, StoreError> {
        let mut out = SqliteArguments::default();
        for a in &self.args {
            match a {
                SearchArg::Int(i) => out.add(*i),
                SearchArg::Text(s) => out.add(s.clone()),
            }
            .map_err(sqlx::Error::Encode)?;
        }
        out.add(limit).map_err(sqlx::Error::Encode)?;
        out.add(offset).map_err(sqlx::Error::Encode)?;
        Ok(out)
    }
}

/// An FTS5 phrase: the text as one quoted string ("" escapes a quote); the trigram tokenizer makes it
/// a case-insensitive substring match.
fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

fn tag_row(r: &sqlx::sqlite::SqliteRow) -> TagRow {
    TagRow {
        repository: r.get("repository"),
        name: r.get("name"),
        digest: r.get("digest"),
        media_type: r.get("media_type"),
        created: r.get("created"),
        size: r.get::<i64, _>("size") as u64,
        first_seen: r.get("first_seen"),
        platforms: r.get("platforms"),
    }
}

impl Store {
    /// Every manifest digest already cached (they never change, so they are never fetched again),
    /// handed to `f` one by one as they are read (at 100,000 manifests, a list of them all would be
    /// 10 MB held besides the caller's own set).
    pub async fn each_known_manifest(&self, mut f: impl FnMut(&str) + Send) -> Result<(), StoreError> {
        use futures::TryStreamExt;
        let mut rows = sqlx::query_scalar::<_, String>("SELECT digest FROM manifests").fetch(self.pool());
        while let Some(d) = rows.try_next().await? {
            f(&d);
        }
        Ok(())
    }

    /// Caches a manifest with its blobs, children and referrer edge. Idempotent.
    pub async fn insert_manifest(&self, m: &ManifestRecord) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        insert_manifests(&mut tx, &[m]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Manifests a repository holds that no sync saw tagged (found in the registry's storage): caches
    /// `manifests` (children first) and records each of `digests` as held by `repo` (a repository the
    /// cache does not know is skipped), in one transaction.
    pub async fn write_repository_manifests(
        &self,
        profile_id: i64,
        repo: &str,
        manifests: &[&ManifestRecord],
        digests: &[String],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        insert_manifests(&mut tx, manifests).await?;
        let now = crate::now_rfc3339();
        for d in digests {
            sqlx::query(
                "INSERT INTO repository_manifests (repository_id, digest, first_seen, last_tagged) \
                 SELECT id, ?3, ?4, NULL FROM repositories WHERE profile_id = ?1 AND name = ?2 \
                 ON CONFLICT (repository_id, digest) DO NOTHING",
            )
            .bind(profile_id)
            .bind(repo)
            .bind(d)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The tags of a repository already in the cache, by name: a resync asks the registry whether each
    /// still points at its cached digest, and GETs new tags.
    pub async fn cached_tags(&self, profile_id: i64, repo: &str) -> Result<HashMap<String, TagRecord>, StoreError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT t.name, t.digest, t.media_type FROM tags t JOIN repositories r ON r.id = t.repository_id \
             WHERE r.profile_id = ? AND r.name = ?",
        )
        .bind(profile_id)
        .bind(repo)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(name, digest, media_type)| (name.clone(), TagRecord { name, digest, media_type }))
            .collect())
    }

    /// The exact bytes of a cached manifest.
    pub async fn manifest_raw(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(sqlx::query_scalar("SELECT raw FROM manifests WHERE digest = ?")
            .bind(digest)
            .fetch_optional(self.pool())
            .await?)
    }

    /// Replaces a repository's tag set in one transaction: new tags appear, moved tags update, tags gone
    /// from the server disappear. `created` and `size` come from the cached manifests.
    pub async fn replace_repository_tags(
        &self,
        profile_id: i64,
        repo: &str,
        tags: &[TagRecord],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        write_tags(&mut tx, profile_id, repo, tags).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Drops the repositories of a profile that the server no longer lists (after a complete catalog).
    pub async fn retain_repositories(&self, profile_id: i64, names: &[String]) -> Result<u64, StoreError> {
        let keep: HashSet<&str> = names.iter().map(String::as_str).collect();
        let existing: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM repositories WHERE profile_id = ?")
            .bind(profile_id)
            .fetch_all(self.pool())
            .await?;
        let mut removed = 0;
        let mut tx = self.pool().begin().await?;
        for (id, name) in existing {
            if !keep.contains(name.as_str()) {
                sqlx::query("DELETE FROM repositories WHERE id = ?").bind(id).execute(&mut *tx).await?;
                removed += 1;
            }
        }
        tx.commit().await?;
        Ok(removed)
    }

    pub async fn start_sync_run(&self, profile_id: i64) -> Result<i64, StoreError> {
        let id = sqlx::query("INSERT INTO sync_runs (profile_id, started_at) VALUES (?, ?)")
            .bind(profile_id)
            .bind(now_rfc3339())
            .execute(self.pool())
            .await?
            .last_insert_rowid();
        Ok(id)
    }

    pub async fn finish_sync_run(
        &self,
        run: i64,
        status: &str,
        c: &SyncCounts,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sync_runs SET finished_at = ?, status = ?, repositories = ?, tags = ?, manifests_fetched = ?, \
             requests = ?, errors = ?, message = ? WHERE id = ?",
        )
        .bind(now_rfc3339())
        .bind(status)
        .bind(c.repositories as i64)
        .bind(c.tags as i64)
        .bind(c.manifests_fetched as i64)
        .bind(c.requests as i64)
        .bind(c.errors as i64)
        .bind(message)
        .bind(run)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The latest sync run of a profile, finished or not.
    pub async fn last_sync_run(&self, profile_id: i64) -> Result<Option<SyncRunRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, started_at, finished_at, status, repositories, tags, manifests_fetched, requests, errors, message \
             FROM sync_runs WHERE profile_id = ? ORDER BY id DESC LIMIT 1",
        )
        .bind(profile_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| SyncRunRow {
            id: r.get("id"),
            started_at: r.get("started_at"),
            finished_at: r.get("finished_at"),
            status: r.get("status"),
            repositories: r.get("repositories"),
            tags: r.get("tags"),
            manifests_fetched: r.get("manifests_fetched"),
            requests: r.get("requests"),
            errors: r.get("errors"),
            message: r.get("message"),
        }))
    }

    /// Whether a profile has ever completed a sync (then browsing answers from the cache).
    pub async fn has_synced(&self, profile_id: i64) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sync_runs WHERE profile_id = ? AND status = 'ok'")
            .bind(profile_id)
            .fetch_one(self.pool())
            .await?;
        Ok(n > 0)
    }

    /// For each of `blobs`, the repositories of this profile whose cached tags reach it (through an
    /// index's children too): where a copy can mount it from instead of sending it.
    pub async fn blob_repositories(
        &self,
        profile_id: i64,
        blobs: &[String],
    ) -> Result<std::collections::HashMap<String, Vec<String>>, StoreError> {
        let mut out: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
        if blobs.is_empty() {
            return Ok(out);
        }
        let rows = sqlx::query(
            "WITH RECURSIVE reach(repo, d) AS ( \
               SELECT r.name, t.digest FROM tags t JOIN repositories r ON r.id = t.repository_id WHERE r.profile_id = ?1 \
               UNION SELECT reach.repo, c.child FROM manifest_children c JOIN reach ON c.parent = reach.d) \
             SELECT DISTINCT blob, repo FROM ( \
               SELECT mb.blob AS blob, reach.repo AS repo FROM reach JOIN manifest_blobs mb ON mb.manifest = reach.d \
               UNION ALL SELECT m.config_digest, reach.repo FROM reach JOIN manifests m ON m.digest = reach.d) \
             WHERE blob IN (SELECT value FROM json_each(?2)) ORDER BY repo",
        )
        .bind(profile_id)
        .bind(serde_json::to_string(blobs).unwrap_or_default())
        .fetch_all(self.pool())
        .await?;
        for row in rows {
            let blob: String = row.try_get(0)?;
            let repo: String = row.try_get(1)?;
            out.entry(blob).or_default().push(repo);
        }
        Ok(out)
    }

    /// Repositories of a profile with tag counts and sizes; a blob shared by several tags (or platforms)
    /// of a repository is counted once. Counts and sizes are kept on each repository's row (migration
    /// 0018); sizes gone stale since the last read are computed first.
    pub async fn repository_summaries(&self, profile_id: i64) -> Result<Vec<RepositorySummary>, StoreError> {
        self.refresh_repository_sizes(profile_id).await?;
        let rows = sqlx::query(
            "SELECT name, tag_count, COALESCE(size, 0) AS size FROM repositories WHERE profile_id = ? ORDER BY name",
        )
        .bind(profile_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| RepositorySummary {
                name: r.get("name"),
                tags: r.get::<i64, _>("tag_count").max(0) as u64,
                size: r.get::<i64, _>("size").max(0) as u64,
            })
            .collect())
    }

    /// Computes the sizes that changes to tags or manifests left stale (NULL), for those repositories
    /// only. Returns how many repositories it computed. A sync calls it at its end, so that the
    /// window's first tree after it does not wait.
    ///
    /// In batches of repositories holding at most [`SIZE_BATCH_TAGS`] tags together (a larger one
    /// alone): the query's working sets (each repository's distinct manifests and blobs) live in
    /// memory, and a million tags at once took 765 MB. Each batch is one write transaction, so a tag
    /// written meanwhile waits and marks its repository stale again after.
    pub async fn refresh_repository_sizes(&self, profile_id: i64) -> Result<u64, StoreError> {
        let stale: Vec<(i64, i64)> =
            sqlx::query_as("SELECT id, tag_count FROM repositories WHERE profile_id = ? AND size IS NULL ORDER BY id")
                .bind(profile_id)
                .fetch_all(self.pool())
                .await?;
        let mut batches: Vec<Vec<i64>> = Vec::new();
        let mut tags_in_last = 0i64;
        for (id, tags) in &stale {
            match batches.last_mut() {
                Some(b) if tags_in_last + tags <= SIZE_BATCH_TAGS => {
                    b.push(*id);
                    tags_in_last += tags;
                }
                _ => {
                    batches.push(vec![*id]);
                    tags_in_last = *tags;
                }
            }
        }
        for batch in batches {
            let ids = serde_json::to_string(&batch).unwrap_or_else(|_| "[]".into());
            // IMMEDIATE: the write lock first (waiting for a sync's writer), then the reads; a deferred
            // transaction whose statement read before writing could not take the lock once another
            // connection had committed meanwhile (SQLITE_BUSY_SNAPSHOT, not retried).
            let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
            sqlx::query(
                "WITH RECURSIVE \
                   batch(id) AS (SELECT value FROM json_each(?1)), \
                   reach(rid, d) AS ( \
                     SELECT DISTINCT t.repository_id, t.digest FROM tags t \
                     WHERE t.repository_id IN (SELECT id FROM batch) \
                     UNION SELECT reach.rid, c.child FROM manifest_children c JOIN reach ON c.parent = reach.d), \
                   bl(rid, b) AS (SELECT reach.rid, mb.blob FROM reach JOIN manifest_blobs mb ON mb.manifest = reach.d \
                     UNION SELECT reach.rid, m.config_digest FROM reach JOIN manifests m ON m.digest = reach.d \
                     WHERE m.config_digest IS NOT NULL), \
                   sizes(rid, s) AS (SELECT rid, SUM(s) FROM ( \
                     SELECT reach.rid AS rid, m.size AS s FROM reach JOIN manifests m ON m.digest = reach.d \
                     UNION ALL SELECT bl.rid, b.size FROM bl JOIN blobs b ON b.digest = bl.b) GROUP BY rid) \
                 UPDATE repositories SET size = sizes.s FROM sizes WHERE repositories.id = sizes.rid",
            )
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
            // Repositories without a tag (or whose tags reach nothing cached) hold nothing.
            sqlx::query(
                "UPDATE repositories SET size = 0 WHERE id IN (SELECT value FROM json_each(?)) AND size IS NULL",
            )
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        Ok(stale.len() as u64)
    }

    /// The bytes a profile's registry stores for its tagged content, every blob counted once across
    /// all repositories (blobs are stored once per registry).
    pub async fn registry_size(&self, profile_id: i64) -> Result<u64, StoreError> {
        let size: i64 = sqlx::query_scalar(
            "WITH RECURSIVE \
               reach(d) AS ( \
                 SELECT DISTINCT t.digest FROM tags t JOIN repositories r ON r.id = t.repository_id WHERE r.profile_id = ?1 \
                 UNION SELECT c.child FROM manifest_children c JOIN reach ON c.parent = reach.d) \
             SELECT COALESCE((SELECT SUM(m.size) FROM reach JOIN manifests m ON m.digest = reach.d), 0) \
                  + COALESCE((SELECT SUM(b.size) FROM blobs b WHERE b.digest IN \
                      (SELECT mb.blob FROM manifest_blobs mb WHERE mb.manifest IN (SELECT d FROM reach) \
                       UNION SELECT m.config_digest FROM manifests m WHERE m.digest IN (SELECT d FROM reach))), 0)",
        )
        .bind(profile_id)
        .fetch_one(self.pool())
        .await?;
        Ok(size as u64)
    }

    /// Tags of one repository, sorted (the whole set, not a page).
    pub async fn repository_tags(&self, profile_id: i64, repo: &str, sort: TagSort) -> Result<Vec<TagRow>, StoreError> {
        let sql = format!(
            "SELECT {TAG_COLUMNS} FROM tags t JOIN repositories r ON r.id = t.repository_id \
             WHERE r.profile_id = ? AND r.name = ? ORDER BY {}",
            order_by(sort)
        );
        let rows = sqlx::query(&sql).bind(profile_id).bind(repo).fetch_all(self.pool()).await?;
        Ok(rows.iter().map(tag_row).collect())
    }

    /// The names of a repository's tags in the order of [`Store::repository_tags`], without the rest of
    /// each row: a window pages through a repository of 100,000 tags by these, and reads the rows it
    /// shows with [`Store::repository_tags_named`].
    pub async fn repository_tag_names(
        &self,
        profile_id: i64,
        repo: &str,
        sort: TagSort,
    ) -> Result<Vec<String>, StoreError> {
        let sql = tag_names_sql(sort);
        // A writer's 8 MB page cache for this query, given back after it: measured a fifth faster by
        // creation date than with a reader's 2 MB when that sort went through a temporary B-tree; since
        // migration 0019 it walks an index once, and whether the larger cache still pays is not measured.
        let mut conn = self.pool().acquire().await?;
        crate::set_cache_size(&mut conn, crate::WRITER_CACHE_SIZE).await?;
        let json = sqlx::query_scalar::<_, String>(&sql).bind(profile_id).bind(repo).fetch_one(&mut *conn).await;
        if crate::set_cache_size(&mut conn, crate::READER_CACHE_SIZE).await.is_err() {
            conn.close_on_drop();
        }
        serde_json::from_str(&json?).map_err(|e| StoreError::Db(sqlx::Error::Decode(Box::new(e))))
    }

    /// The rows of the tags of `repo` named in `names`, in that order; a name the repository does not
    /// hold (any more) is left out.
    pub async fn repository_tags_named(
        &self,
        profile_id: i64,
        repo: &str,
        names: &[String],
    ) -> Result<Vec<TagRow>, StoreError> {
        let sql = format!(
            "SELECT {TAG_COLUMNS} FROM tags t JOIN repositories r ON r.id = t.repository_id \
             WHERE r.profile_id = ? AND r.name = ? AND t.name IN (SELECT value FROM json_each(?))"
        );
        let list = serde_json::to_string(names).unwrap_or_else(|_| "[]".into());
        let rows = sqlx::query(&sql).bind(profile_id).bind(repo).bind(list).fetch_all(self.pool()).await?;
        let mut by_name: HashMap<String, TagRow> = rows.iter().map(tag_row).map(|t| (t.name.clone(), t)).collect();
        Ok(names.iter().filter_map(|n| by_name.remove(n)).collect())
    }

    /// Searches every tag of a profile: `needle` is a case-insensitive substring of "repository:tag" or
    /// the start of the digest's hex (a pasted "sha256:…" searches the hex). Returns the exact number of
    /// hits and the first `limit`, sorted.
    ///
    /// The hits are split into disjoint parts, each cheap on its own: the tags of the repositories whose
    /// name holds the needle (found in the small repositories table, then counted and sorted from
    /// `tags_by_created`), the other tags whose name holds it (trigram index for needles of three
    /// characters or more, a scan for shorter ones), and the others whose digest starts with it (a range
    /// of `tags_digest`; in the scan for short needles). A needle with a colon spans the
    /// two: a repository name ending with the part before it and a tag name starting with the part after.
    pub async fn search_tags(
        &self,
        profile_id: i64,
        needle: &str,
        sort: TagSort,
        limit: u32,
    ) -> Result<(u64, Vec<TagRow>), StoreError> {
        self.search_tags_page(profile_id, needle, sort, 0, limit).await
    }

    /// [`Store::search_tags`] from the `offset`-th hit on (pages of a result without a cap).
    pub async fn search_tags_page(
        &self,
        profile_id: i64,
        needle: &str,
        sort: TagSort,
        offset: u64,
        limit: u32,
    ) -> Result<(u64, Vec<TagRow>), StoreError> {
        let Some(plan) = SearchPlan::new(profile_id, needle) else {
            return Ok((0, Vec::new()));
        };
        // One statement: each part a CTE of bare rows (the index-backed repository part inlined, the
        // others computed once and reused by the count and the page), each part sorted and cut, the
        // parts' pages merged and cut; the per-row columns (platforms) only for the final page, unless
        // they are the sort key. At least one row is fetched: it carries the total.
        let extra = match sort {
            TagSort::Digest => ", t.digest AS digest",
            TagSort::Platforms => concat!(", ", platforms_expr!(), " AS platforms"),
            _ => "",
        };
        let ctes = plan
            .parts
            .iter()
            .enumerate()
            .map(|(i, (from, filter))| {
                let materialized = if *from == REPO_TAGS && i == 0 { "NOT MATERIALIZED" } else { "MATERIALIZED" };
                format!(
                    "p{i} AS {materialized} (SELECT t.rowid AS rid, t.name AS name, t.created AS created, \
                     t.size AS size, r.name AS rname{extra} FROM {from} WHERE {filter})"
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        // Each part is cut at offset + limit (the page can only hold its first hits), the merge at the page.
        let limit_arg = format!("?{}", plan.args.len() + 1);
        let offset_arg = format!("?{}", plan.args.len() + 2);
        let bare = order_by_bare(sort);
        let pages = (0..plan.parts.len())
            .map(|i| {
                format!("SELECT * FROM (SELECT * FROM p{i} ORDER BY {bare}, rname LIMIT {limit_arg} + {offset_arg})")
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let total =
            (0..plan.parts.len()).map(|i| format!("(SELECT COUNT(*) FROM p{i})")).collect::<Vec<_>>().join(" + ");
        let sql = format!(
            "WITH {ctes}, page AS (SELECT rid FROM ({pages}) ORDER BY {bare}, rname LIMIT {limit_arg} OFFSET {offset_arg}) \
             SELECT {TAG_COLUMNS}, {total} AS total FROM page JOIN tags t ON t.rowid = page.rid \
             JOIN repositories r ON r.id = t.repository_id ORDER BY {}, r.name",
            order_by(sort)
        );
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let rows =
            sqlx::query_with(&sql, plan.arguments(i64::from(limit.max(1)), offset)?).fetch_all(self.pool()).await?;
        let total = match rows.first() {
            Some(r) => r.get::<i64, _>("total") as u64,
            // Past the last hit: count them on their own.
            None if offset > 0 => Box::pin(self.search_tags_page(profile_id, needle, sort, 0, 1)).await?.0,
            None => 0,
        };
        Ok((total, rows.iter().take(limit as usize).map(tag_row).collect()))
    }

    /// The newest tag (by image creation time) of every repository of a profile.
    pub async fn latest_tags(&self, profile_id: i64) -> Result<Vec<TagRow>, StoreError> {
        let sql = format!(
            "SELECT {TAG_COLUMNS} FROM tags t JOIN repositories r ON r.id = t.repository_id \
             WHERE r.profile_id = ?1 AND t.name = (SELECT t2.name FROM tags t2 WHERE t2.repository_id = t.repository_id \
               ORDER BY t2.created IS NULL, t2.created DESC, t2.name DESC LIMIT 1) \
             ORDER BY r.name"
        );
        let rows = sqlx::query(&sql).bind(profile_id).fetch_all(self.pool()).await?;
        Ok(rows.iter().map(tag_row).collect())
    }

    /// Referrers cached for a subject digest: (referrer digest, artifact type).
    pub async fn referrers_of(&self, subject: &str) -> Result<Vec<(String, Option<String>)>, StoreError> {
        Ok(sqlx::query_as("SELECT referrer, artifact_type FROM referrers WHERE subject = ? ORDER BY referrer")
            .bind(subject)
            .fetch_all(self.pool())
            .await?)
    }
}

/// For an index: the creation time of its first child that has one, and the bytes of the children's
/// manifests, configs and layers, each distinct blob counted once.
async fn children_summary(
    conn: &mut sqlx::SqliteConnection,
    children: &[String],
) -> Result<(Option<String>, u64), StoreError> {
    if children.is_empty() {
        return Ok((None, 0));
    }
    let list = serde_json::to_string(children).expect("strings serialize");
    let created: Option<String> = sqlx::query_scalar(
        "SELECT m.created FROM json_each(?1) j JOIN manifests m ON m.digest = j.value \
         WHERE m.created IS NOT NULL ORDER BY j.key LIMIT 1",
    )
    .bind(&list)
    .fetch_optional(&mut *conn)
    .await?
    .flatten();
    let size: i64 = sqlx::query_scalar(
        "WITH RECURSIVE reach(d) AS (SELECT value FROM json_each(?1) \
           UNION SELECT c.child FROM manifest_children c JOIN reach ON c.parent = reach.d) \
         SELECT COALESCE((SELECT SUM(m.size) FROM reach JOIN manifests m ON m.digest = reach.d), 0) \
              + COALESCE((SELECT SUM(b.size) FROM blobs b WHERE b.digest IN \
                  (SELECT mb.blob FROM manifest_blobs mb WHERE mb.manifest IN (SELECT d FROM reach) \
                   UNION SELECT m.config_digest FROM manifests m WHERE m.digest IN (SELECT d FROM reach))), 0)",
    )
    .bind(&list)
    .fetch_one(&mut *conn)
    .await?;
    Ok((created, size as u64))
}

/// Inserts manifests (already cached ones are left as they are: rows keyed by digest never change) with
/// their children, blobs and subject edges. Images go in batches; an index, after its children, with its
/// creation time and size computed from them.
async fn insert_manifests(conn: &mut sqlx::SqliteConnection, records: &[&ManifestRecord]) -> Result<(), StoreError> {
    let mut batch: Vec<&ManifestRecord> = Vec::new();
    for &m in records {
        if m.children.is_empty() {
            batch.push(m);
            if batch.len() == 500 {
                insert_manifest_rows(conn, &batch).await?;
                batch.clear();
            }
            continue;
        }
        insert_manifest_rows(conn, &batch).await?;
        batch.clear();
        let children: Vec<String> = m.children.iter().map(|c| c.digest.clone()).collect();
        let (created, size) = children_summary(conn, &children).await?;
        let index =
            ManifestRecord { created: m.created.clone().or(created), total_size: m.total_size.max(size), ..m.clone() };
        insert_manifest_rows(conn, &[&index]).await?;
    }
    insert_manifest_rows(conn, &batch).await
}

async fn insert_manifest_rows(
    conn: &mut sqlx::SqliteConnection,
    records: &[&ManifestRecord],
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let fetched_at = now_rfc3339();
    let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
        "INSERT OR IGNORE INTO manifests (digest, media_type, raw, size, created, os, architecture, variant, \
         config_digest, artifact_type, subject, total_size, fetched_at, config) ",
    );
    qb.push_values(records, |mut b, m| {
        b.push_bind(&m.digest)
            .push_bind(&m.media_type)
            .push_bind(&m.raw)
            .push_bind(m.raw.len() as i64)
            .push_bind(&m.created)
            .push_bind(&m.os)
            .push_bind(&m.architecture)
            .push_bind(&m.variant)
            .push_bind(&m.config_digest)
            .push_bind(&m.artifact_type)
            .push_bind(&m.subject)
            .push_bind(i64::try_from(m.total_size).unwrap_or(i64::MAX))
            .push_bind(&fetched_at)
            .push_bind(&m.config);
    });
    qb.build().execute(&mut *conn).await?;
    // The edges as JSON rows: one statement per table, whatever the number of manifests.
    let (mut children, mut blobs, mut edges, mut subjects) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for m in records {
        for c in &m.children {
            children.push(serde_json::json!([m.digest, c.digest, c.os, c.architecture, c.variant]));
        }
        for (d, size, mt) in &m.blobs {
            blobs.push(serde_json::json!([d, size, mt]));
            // The config is the manifest's `config_digest`: an edge for it would repeat two digests.
            if m.config_digest.as_ref() != Some(d) {
                edges.push(serde_json::json!([m.digest, d]));
            }
        }
        if let Some(s) = &m.subject {
            subjects.push(serde_json::json!([s, m.digest, m.artifact_type]));
        }
    }
    let statements = [
        (
            children,
            "INSERT OR IGNORE INTO manifest_children (parent, child, os, architecture, variant) \
             SELECT value->>0, value->>1, value->>2, value->>3, value->>4 FROM json_each(?)",
        ),
        (blobs, "INSERT OR IGNORE INTO blobs (digest, size, media_type) SELECT value->>0, value->>1, value->>2 FROM json_each(?)"),
        (edges, "INSERT OR IGNORE INTO manifest_blobs (manifest, blob) SELECT value->>0, value->>1 FROM json_each(?)"),
        (
            subjects,
            "INSERT OR IGNORE INTO referrers (subject, referrer, artifact_type) \
             SELECT value->>0, value->>1, value->>2 FROM json_each(?)",
        ),
    ];
    for (rows, sql) in statements {
        if !rows.is_empty() {
            sqlx::query(sql).bind(serde_json::Value::Array(rows).to_string()).execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// Replaces a repository's tag set: new tags appear, moved tags update (a new `first_seen`), tags gone
/// from the server disappear. `created` and `size` come from the cached manifests. One upsert for all.
async fn write_tags(
    conn: &mut sqlx::SqliteConnection,
    profile_id: i64,
    repo: &str,
    tags: &[TagRecord],
) -> Result<(), StoreError> {
    let now = now_rfc3339_nanos();
    let repo_id: i64 = sqlx::query_scalar(
        "INSERT INTO repositories (profile_id, name, first_seen, last_seen) VALUES (?,?,?,?) \
         ON CONFLICT(profile_id, name) DO UPDATE SET last_seen = excluded.last_seen RETURNING id",
    )
    .bind(profile_id)
    .bind(repo)
    .bind(&now)
    .bind(&now)
    .fetch_one(&mut *conn)
    .await?;
    let rows: Vec<_> = tags.iter().map(|t| serde_json::json!([t.name, t.digest, t.media_type])).collect();
    let rows = serde_json::Value::Array(rows).to_string();
    if !tags.is_empty() {
        sqlx::query(
            "INSERT INTO tags (repository_id, name, digest, media_type, created, size, first_seen, last_seen) \
             SELECT ?1, j.value->>0, j.value->>1, j.value->>2, m.created, COALESCE(m.total_size, 0), ?2, ?2 \
             FROM json_each(?3) j LEFT JOIN manifests m ON m.digest = j.value->>1 WHERE true \
             ON CONFLICT(repository_id, name) DO UPDATE SET \
               first_seen = CASE WHEN tags.digest = excluded.digest THEN tags.first_seen ELSE excluded.first_seen END, \
               digest = excluded.digest, media_type = excluded.media_type, created = excluded.created, \
               size = excluded.size, last_seen = excluded.last_seen \
             WHERE tags.digest IS NOT excluded.digest OR tags.media_type IS NOT excluded.media_type \
               OR tags.created IS NOT excluded.created OR tags.size IS NOT excluded.size",
        )
        .bind(repo_id)
        .bind(&now)
        .bind(&rows)
        .execute(&mut *conn)
        .await?;
    }
    // Tags the server no longer lists go. An unchanged tag is not written at all (a resync of an unchanged
    // registry writes one row per repository): its `last_seen` is when it last changed, and the
    // repository's `last_seen` says when the sync last saw it.
    sqlx::query("DELETE FROM tags WHERE repository_id = ?1 AND name NOT IN (SELECT value->>0 FROM json_each(?2))")
        .bind(repo_id)
        .bind(&rows)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A timestamp unique enough to mark the rows one sync touched.
fn now_rfc3339_nanos() -> String {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z");
    now.format(&fmt).unwrap_or_else(|_| now_rfc3339())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sorts a user clicks in a repository's table walk an index in their order: no temporary
    /// B-tree, which took most of the time of a sort of 100,000 tags.
    #[tokio::test]
    async fn a_repositorys_names_come_in_index_order_by_name_created_and_size() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        for sort in [TagSort::Name, TagSort::Created, TagSort::Size] {
            let rows = sqlx::query(&format!("EXPLAIN QUERY PLAN {}", tag_names_sql(sort)))
                .bind(1_i64)
                .bind("big/app")
                .fetch_all(store.pool())
                .await
                .unwrap();
            let plan: Vec<String> = rows.iter().map(|r| r.get::<String, _>("detail")).collect();
            assert!(plan.iter().any(|d| d.contains("INDEX")), "{sort:?}: {plan:?}");
            assert!(!plan.iter().any(|d| d.contains("TEMP B-TREE")), "{sort:?} sorts in a temporary B-tree: {plan:?}");
        }
    }
}
