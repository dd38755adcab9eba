//! Berth's sync engine (store is SQLite only; this crate fills it from a registry): catalog → tags of each repository → HEAD each cached tag (conditional: `304` when it
//! has not moved), GET each new tag → GET only digests not yet cached (manifest, config, index
//! children), then a transaction for the repositories resolved meanwhile, on one connection. Bounded concurrency, progress events, cancel at any
//! moment; a failed or cancelled sync leaves the store consistent and the next one resumes (what is
//! cached is not fetched again).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use berth_registry::{media, Digest, FetchedManifest, Manifest, ManifestCheck, Reference, RegistryClient};
use futures::future::BoxFuture;
use futures::StreamExt;
use tokio::sync::{OnceCell, Semaphore};
use tokio_util::sync::CancellationToken;

use berth_backend::Backend;
use berth_store::{ChildRecord, ManifestRecord, RepositoryWrite, Store, StoreError, SyncCounts, TagRecord};

/// Index → index nesting Berth follows (an image index of image indexes is already unusual).
pub const MAX_INDEX_DEPTH: usize = 8;

/// How a sync runs. Owns the defaults and caps every front end uses.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Requests in flight at most.
    pub concurrency: usize,
}

impl SyncOptions {
    /// Requests in flight when the user does not say.
    pub const DEFAULT_CONCURRENCY: usize = 16;
    /// More than this only queues inside the registry.
    pub const MAX_CONCURRENCY: usize = 256;

    /// `concurrency` requests in flight (the default when `None`), capped to 1..=[`Self::MAX_CONCURRENCY`].
    pub fn with_concurrency(concurrency: Option<usize>) -> Self {
        SyncOptions { concurrency: concurrency.unwrap_or(Self::DEFAULT_CONCURRENCY).clamp(1, Self::MAX_CONCURRENCY) }
    }
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions { concurrency: Self::DEFAULT_CONCURRENCY }
    }
}

/// Progress of a running sync, sent to the CLI's progress bar and the window.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncProgress {
    pub repositories_done: u64,
    pub repositories_total: u64,
    pub tags_done: u64,
    pub tags_total: u64,
    pub manifests_fetched: u64,
    pub requests: u64,
    pub errors: u64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SyncSummary {
    /// `ok`, `failed` or `cancelled`.
    pub status: String,
    pub repositories: u64,
    pub tags: u64,
    pub manifests_fetched: u64,
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    /// Repositories removed from the cache because the server no longer lists them.
    pub repositories_removed: u64,
    /// A few of the per-repository errors, for the log.
    pub error_samples: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0}")]
    Registry(berth_registry::Error),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("sync cancelled")]
    Cancelled(SyncSummary),
}

struct Shared {
    store: Store,
    client: RegistryClient,
    permits: Semaphore,
    /// SQLite has one writer: repositories queue for the sync's writer task (see [`spawn_writer`]).
    /// Taken (closed) when no repository is left to queue, so the writer commits its last batch at once.
    writes: Mutex<Option<tokio::sync::mpsc::Sender<WriteJob>>>,
    /// Which digests are cached, and this sync's fetches not written yet.
    digests: Mutex<Digests>,
    concurrency: usize,
    tags_done: AtomicU64,
    tags_total: AtomicU64,
    repos_done: AtomicU64,
    repos_total: AtomicU64,
    fetched: AtomicU64,
    errors: AtomicU64,
    samples: Mutex<Vec<String>>,
    start_requests: usize,
    /// Set on the first error that makes going on pointless (the registry went away).
    fatal: Mutex<Option<berth_registry::Error>>,
    abort: CancellationToken,
}

impl Shared {
    /// `window`: how long the writer waits for more repositories to join a transaction (zero when
    /// every repository is awaited before the next starts).
    async fn new(
        store: &Store,
        client: &RegistryClient,
        opts: &SyncOptions,
        cancel: &CancellationToken,
        window: Duration,
    ) -> Result<Arc<Self>, StoreError> {
        let mut stored = DigestSet::default();
        store.each_known_manifest(|d| stored.insert(d)).await?;
        let abort = cancel.child_token();
        Ok(Arc::new(Shared {
            store: store.clone(),
            client: client.clone(),
            permits: Semaphore::new(opts.concurrency.max(1)),
            writes: Mutex::new(Some(spawn_writer(store.clone(), window, abort.clone()))),
            digests: Mutex::new(Digests { stored, pending: HashMap::new() }),
            concurrency: opts.concurrency.max(1),
            tags_done: AtomicU64::new(0),
            tags_total: AtomicU64::new(0),
            repos_done: AtomicU64::new(0),
            repos_total: AtomicU64::new(0),
            fetched: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            samples: Mutex::new(Vec::new()),
            start_requests: client.requests(),
            fatal: Mutex::new(None),
            abort,
        }))
    }

    fn progress(&self) -> SyncProgress {
        SyncProgress {
            repositories_done: self.repos_done.load(Ordering::Relaxed),
            repositories_total: self.repos_total.load(Ordering::Relaxed),
            tags_done: self.tags_done.load(Ordering::Relaxed),
            tags_total: self.tags_total.load(Ordering::Relaxed),
            manifests_fetched: self.fetched.load(Ordering::Relaxed),
            requests: (self.client.requests() - self.start_requests) as u64,
            errors: self.errors.load(Ordering::Relaxed),
        }
    }

    fn record_error(&self, repo: &str, e: &berth_registry::Error) {
        if e.is_fatal() {
            let mut f = self.fatal.lock().expect("fatal lock");
            if f.is_none() {
                *f = Some(e.clone());
            }
            self.abort.cancel();
            return;
        }
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut s = self.samples.lock().expect("samples lock");
        if s.len() < 20 {
            s.push(format!("{repo}: {e}"));
        }
    }

    /// The manifests `digest` (as found in `repo`) needs cached that are not yet: itself and, for an index,
    /// its children (children first). Empty when it is cached. `prefetched`: the manifest when the caller
    /// already has it (a GET by tag), saving a request.
    fn collect<'a>(
        self: &'a Arc<Self>,
        repo: &'a str,
        digest: &'a Digest,
        prefetched: Option<FetchedManifest>,
        depth: usize,
    ) -> BoxFuture<'a, Result<Vec<Arc<ManifestRecord>>, berth_registry::Error>> {
        Box::pin(async move {
            if depth > MAX_INDEX_DEPTH {
                return Err(berth_registry::Error::new(
                    berth_registry::ErrorKind::Protocol,
                    format!("{repo}@{digest}: indexes nested more than {MAX_INDEX_DEPTH} deep"),
                    "no image needs that: the registry serves a broken or hostile index; this image is skipped",
                ));
            }
            let cell = {
                let mut d = self.digests.lock().expect("digests lock");
                if d.stored.contains(digest.as_str()) {
                    return Ok(Vec::new());
                }
                d.pending.entry(digest.to_string()).or_default().clone()
            };
            let record = cell.get_or_try_init(|| self.fetch_manifest(repo, digest, prefetched)).await?.clone();
            let Some(record) = record else {
                return Ok(Vec::new()); // gone between the HEAD and the GET (someone deleted it)
            };
            let children: Vec<Digest> = record.children.iter().filter_map(|c| Digest::parse(&c.digest)).collect();
            let mut out: Vec<Arc<ManifestRecord>> = Vec::new();
            for mut kids in
                futures::future::try_join_all(children.iter().map(|c| self.collect(repo, c, None, depth + 1))).await?
            {
                out.append(&mut kids);
            }
            out.push(record);
            Ok(out)
        })
    }

    /// GETs a manifest (unless prefetched) and, for an image, its config: the record to cache. An index's
    /// creation time and size are computed from its children when it is written.
    async fn fetch_manifest(
        self: &Arc<Self>,
        repo: &str,
        digest: &Digest,
        prefetched: Option<FetchedManifest>,
    ) -> Result<Option<Arc<ManifestRecord>>, berth_registry::Error> {
        let fetched = match prefetched {
            Some(m) => Some(m),
            None => {
                let _p = self.permits.acquire().await.expect("semaphore open");
                self.client.get_manifest(repo, &Reference::Digest(digest.clone())).await?
            }
        };
        let Some(m) = fetched else {
            return Ok(None);
        };
        let mut rec = ManifestRecord {
            digest: m.digest.to_string(),
            media_type: m.media_type.clone(),
            raw: m.bytes.to_vec(),
            artifact_type: m.manifest.artifact_type(),
            subject: m.manifest.subject().map(|s| s.digest.to_string()),
            ..Default::default()
        };
        match &m.manifest {
            Manifest::Image(img) => {
                rec.config_digest = Some(img.config.digest.to_string());
                rec.blobs.push((img.config.digest.to_string(), img.config.size, img.config.media_type.clone()));
                for l in &img.layers {
                    rec.blobs.push((l.digest.to_string(), l.size, l.media_type.clone()));
                }
                rec.total_size = m.manifest.image_size().unwrap_or(0);
                let config = {
                    let _p = self.permits.acquire().await.expect("semaphore open");
                    self.client.image_config(repo, &m.manifest).await?
                };
                if let Some(c) = config {
                    rec.config = serde_json::to_string(&c).ok();
                    rec.created = c.created;
                    rec.os = c.os;
                    rec.architecture = c.architecture;
                    rec.variant = c.variant;
                }
            }
            Manifest::Index(index) => {
                rec.children = index
                    .manifests
                    .iter()
                    .filter(|d| media::is_manifest(&d.media_type) || d.media_type.is_empty())
                    .map(|child| ChildRecord {
                        digest: child.digest.to_string(),
                        os: child.platform.as_ref().map(|p| p.os.clone()),
                        architecture: child.platform.as_ref().map(|p| p.architecture.clone()),
                        variant: child.platform.as_ref().and_then(|p| p.variant.clone()),
                    })
                    .collect();
            }
            Manifest::Schema1(_) => {}
        }
        self.fetched.fetch_add(1, Ordering::Relaxed);
        Ok(Some(Arc::new(rec)))
    }

    /// Syncs one repository: its tags, their digests, the manifests not cached yet, then one transaction.
    /// `bulk`: the tags with their digests as the backend lists them in bulk (Harbor's artifacts API,
    /// Nexus's components API): a tag whose listed digest is the cached one costs no request; a moved or
    /// new one is fetched by digest. Without it, the tag list and a conditional HEAD per cached tag.
    async fn sync_repository(
        self: &Arc<Self>,
        profile_id: i64,
        repo: String,
        bulk: Option<Vec<(String, String)>>,
    ) -> Result<(), berth_registry::Error> {
        self.resolve_repository(profile_id, repo, bulk).await?.await
    }

    /// [`Self::sync_repository`] up to queueing its transaction: returns what resolves when the
    /// transaction committed, so that the caller can resolve other repositories meanwhile.
    async fn resolve_repository(
        self: &Arc<Self>,
        profile_id: i64,
        repo: String,
        bulk: Option<Vec<(String, String)>>,
    ) -> Result<PendingWrite, berth_registry::Error> {
        // Names come from the server: one that is not a valid name skips that repository only.
        if berth_registry::validate_repo(&repo).is_err() {
            return Err(berth_registry::Error::new(
                berth_registry::ErrorKind::Protocol,
                format!(
                    "the registry lists {:?}, which is not a valid repository name: skipped",
                    repo.escape_debug().to_string()
                ),
                "the registry's catalog is broken or hostile; report it to its administrator",
            ));
        }
        let (listed, bulk): (Vec<String>, Option<Arc<HashMap<String, Digest>>>) = match bulk {
            Some(v) => {
                // A tag listed twice is listed once; listed twice with different digests, `/v2` decides.
                let mut map: HashMap<String, Digest> = HashMap::new();
                let mut seen = HashSet::new();
                let mut names = Vec::new();
                for (t, d) in v {
                    let first = seen.insert(t.clone());
                    match (map.get(&t), Digest::parse(&d)) {
                        (None, Some(d)) if first => {
                            map.insert(t.clone(), d);
                        }
                        (Some(known), Some(d)) if *known == d => {}
                        _ => {
                            map.remove(&t);
                        }
                    }
                    if first {
                        names.push(t);
                    }
                }
                (names, Some(Arc::new(map)))
            }
            None => {
                let _p = self.permits.acquire().await.expect("semaphore open");
                (self.client.tags(&repo).await?, None)
            }
        };
        let (tags, bad): (Vec<String>, Vec<String>) = listed.into_iter().partition(|t| berth_registry::valid_tag(t));
        if !bad.is_empty() {
            self.record_error(
                &repo,
                &berth_registry::Error::new(
                    berth_registry::ErrorKind::Protocol,
                    format!("{} tag name(s) the registry lists are not valid tag names: skipped", bad.len()),
                    "the registry's tag list is broken or hostile",
                ),
            );
        }
        self.tags_total.fetch_add(tags.len() as u64, Ordering::Relaxed);
        // Tags already cached: a conditional HEAD (has it moved? `304` when not). New tags: GET by tag,
        // which gives the digest and the manifest in one request.
        let cached = Arc::new(self.store.cached_tags(profile_id, &repo).await.map_err(store_as_registry_error)?);
        let resolved = futures::stream::iter(tags.iter().cloned())
            .map(|t| {
                let this = self.clone();
                let repo = repo.clone();
                let cached = cached.clone();
                let bulk = bulk.clone();
                async move {
                    let reference = Reference::Tag(t.clone());
                    let known = cached.get(&t).and_then(|c| Digest::parse(&c.digest).map(|d| (d, c)));
                    let listed = bulk.as_ref().and_then(|b| b.get(&t)).cloned();
                    let res = match (listed, known) {
                        // Listed in bulk at the digest the cache has: unchanged, no request.
                        (Some(listed), Some((digest, c))) if listed == digest => {
                            Ok(Some((digest, c.media_type.clone(), None)))
                        }
                        // Listed in bulk, moved or new: the manifest by its digest.
                        (Some(listed), _) => {
                            let _p = this.permits.acquire().await.expect("semaphore open");
                            this.client
                                .get_manifest(&repo, &Reference::Digest(listed))
                                .await
                                .map(|m| m.map(|m| (m.digest.clone(), m.media_type.clone(), Some(m))))
                        }
                        (None, known) => {
                            let _p = this.permits.acquire().await.expect("semaphore open");
                            match known {
                                Some((digest, c)) => {
                                    this.client.check_manifest(&repo, &reference, &digest).await.map(|h| {
                                        h.map(|h| match h {
                                            ManifestCheck::Unchanged => (digest, c.media_type.clone(), None),
                                            ManifestCheck::Head(h) => (h.digest, h.media_type, None),
                                        })
                                    })
                                }
                                None => this
                                    .client
                                    .get_manifest(&repo, &reference)
                                    .await
                                    .map(|m| m.map(|m| (m.digest.clone(), m.media_type.clone(), Some(m)))),
                            }
                        }
                    };
                    this.tags_done.fetch_add(1, Ordering::Relaxed);
                    (t, res)
                }
            })
            .buffer_unordered(64)
            .collect::<Vec<_>>()
            .await;
        let mut records = Vec::with_capacity(resolved.len());
        let mut wanted: HashMap<Digest, Option<FetchedManifest>> = HashMap::new();
        for (tag, res) in resolved {
            match res? {
                Some((digest, media_type, body)) => {
                    records.push(TagRecord { name: tag, digest: digest.to_string(), media_type });
                    let slot = wanted.entry(digest).or_default();
                    if slot.is_none() {
                        *slot = body;
                    }
                }
                None => continue, // deleted since the tag list: not there any more
            }
        }
        // The manifests not cached yet, fetched side by side (each digest once, even across repositories).
        let mut manifests: Vec<Arc<ManifestRecord>> = Vec::new();
        let mut fetches = futures::stream::iter(wanted)
            .map(|(digest, body)| {
                let this = self.clone();
                let repo = repo.clone();
                async move { this.collect(&repo, &digest, body, 0).await }
            })
            .buffer_unordered(self.concurrency);
        while let Some(found) = fetches.next().await {
            manifests.extend(found?);
        }
        drop(fetches);
        // Referrers found by tag: the OCI fallback index `sha256-<hex>` and cosign `sha256-<hex>.sig|.att|.sbom`.
        let mut referrers = Vec::new();
        for r in &records {
            let Some((subject, suffix)) = referrer_tag(&r.name) else { continue };
            if suffix.is_none() && media::is_index(&r.media_type) {
                let raw = match manifests.iter().find(|m| m.digest == r.digest) {
                    Some(m) => Some(m.raw.clone()),
                    None => self.store.manifest_raw(&r.digest).await.ok().flatten(),
                };
                if let Some(Ok((_, Manifest::Index(i)))) = raw.map(|raw| Manifest::parse(Some(&r.media_type), &raw)) {
                    for d in i.manifests {
                        referrers.push((subject.clone(), d.digest.to_string(), d.artifact_type));
                    }
                }
            } else if let Some(kind) = suffix {
                referrers.push((subject, r.digest.clone(), Some(kind.to_string())));
            }
        }
        let written: Vec<String> = manifests.iter().map(|m| m.digest.clone()).collect();
        let write = RepositoryWrite { profile_id, repo, manifests, referrers, tags: records };
        let (done, written_ok) = tokio::sync::oneshot::channel();
        let closed = || {
            berth_registry::Error::new(
                berth_registry::ErrorKind::Protocol,
                "the local cache's writer stopped",
                "check the disk space and permissions of the data directory",
            )
        };
        let writes = self.writes.lock().expect("writes lock").clone().ok_or_else(closed)?;
        writes.send((write, done)).await.map_err(|_| closed())?;
        drop(writes);
        let this = self.clone();
        Ok(Box::pin(async move {
            written_ok.await.map_err(|_| closed())??;
            let mut d = this.digests.lock().expect("digests lock");
            for m in written {
                d.pending.remove(&m);
                d.stored.insert(&m);
            }
            Ok(())
        }))
    }
}

/// A repository's transaction, queued for the writer: resolves once it committed.
type PendingWrite = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), berth_registry::Error>> + Send>>;

/// A repository to write and where to say it was written.
type WriteJob = (RepositoryWrite, tokio::sync::oneshot::Sender<Result<(), berth_registry::Error>>);

/// Repositories written per transaction at most, and tags.
const WRITE_BATCH_REPOSITORIES: usize = 64;
const WRITE_BATCH_TAGS: usize = 20_000;
/// How long a full sync's writer waits for more repositories to share a transaction with the first
/// (a commit costs about the same whether it writes one repository or fifty: measured in `make bench`).
const WRITE_BATCH_WINDOW: Duration = Duration::from_millis(500);

/// The sync's one writer: takes each repository as it is resolved and writes it, together with the
/// ones that queued meanwhile, in one transaction on one connection (see [`berth_store::CatalogWriter`]).
/// A repository counts as done when its transaction committed. Ends when the sync drops its sender.
/// Once `abort` is cancelled, what is still queued is not written.
fn spawn_writer(store: Store, window: Duration, abort: CancellationToken) -> tokio::sync::mpsc::Sender<WriteJob> {
    // Resolved repositories wait here (their manifests in memory) while a transaction commits.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<WriteJob>(WRITE_BATCH_REPOSITORIES);
    tokio::spawn(async move {
        let mut writer = None;
        while let Some(first) = rx.recv().await {
            let mut tags = first.0.tags.len();
            let mut batch = vec![first];
            // The repositories resolved within the window join the transaction: each commit writes
            // its pages to the WAL and flushes a search-index segment, whatever its size.
            let deadline = tokio::time::Instant::now() + window;
            while batch.len() < WRITE_BATCH_REPOSITORIES && tags < WRITE_BATCH_TAGS {
                let job = tokio::select! {
                    biased;
                    job = rx.recv() => job,
                    _ = tokio::time::sleep_until(deadline) => None,
                };
                match job {
                    Some(job) => {
                        tags += job.0.tags.len();
                        batch.push(job);
                    }
                    None => break,
                }
            }
            if abort.is_cancelled() {
                for (_, done) in batch {
                    let _ = done.send(Err(berth_registry::Error::new(
                        berth_registry::ErrorKind::Cancelled,
                        "sync cancelled",
                        "sync again",
                    )));
                }
                continue;
            }
            let res = match writer.take() {
                Some(w) => Ok(w),
                None => store.catalog_writer().await,
            };
            let res = match res {
                Ok(mut w) => {
                    let writes: Vec<&RepositoryWrite> = batch.iter().map(|(w, _)| w).collect();
                    let r = w.write_repositories(&writes).await;
                    if r.is_ok() {
                        writer = Some(w); // after an error, a fresh connection for the next batch
                    }
                    r
                }
                Err(e) => Err(e),
            }
            .map_err(store_as_registry_error);
            for (_, done) in batch {
                let _ = done.send(res.clone());
            }
        }
    });
    tx
}

/// Digests cached in the store, and the fetches of this sync not written yet: one cell per digest, so
/// concurrent repositories sharing a digest wait for the same fetch.
struct Digests {
    stored: DigestSet,
    pending: HashMap<String, Arc<OnceCell<Option<Arc<ManifestRecord>>>>>,
}

/// A set of digests, sha256 ones as their 32 bytes (a quarter of the memory of their text: the set of
/// a cache's manifests is held for the whole sync).
#[derive(Default)]
struct DigestSet {
    sha256: HashSet<[u8; 32]>,
    other: HashSet<String>,
}

impl DigestSet {
    fn key(digest: &str) -> Option<[u8; 32]> {
        // Canonical (lower-case) hex only: any other text stays text, so no two digests share a key.
        let hex = digest.strip_prefix("sha256:")?;
        if hex.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex, &mut out).ok()?;
        Some(out)
    }

    fn insert(&mut self, digest: &str) {
        match Self::key(digest) {
            Some(k) => self.sha256.insert(k),
            None => self.other.insert(digest.to_string()),
        };
    }

    fn contains(&self, digest: &str) -> bool {
        match Self::key(digest) {
            Some(k) => self.sha256.contains(&k),
            None => self.other.contains(digest),
        }
    }
}

/// `sha256-<hex>` → (subject digest, None); `sha256-<hex>.sig` → (subject, Some("sig")).
fn referrer_tag(tag: &str) -> Option<(String, Option<&str>)> {
    let (base, suffix) = match tag.split_once('.') {
        Some((b, s)) => (b, Some(s)),
        None => (tag, None),
    };
    let (alg, hex) = base.split_once('-')?;
    let d = Digest::parse(&format!("{alg}:{hex}"))?;
    Some((d.to_string(), suffix))
}

fn store_as_registry_error(e: StoreError) -> berth_registry::Error {
    berth_registry::Error::new(
        berth_registry::ErrorKind::Protocol,
        format!("the local cache failed: {e}"),
        "check the disk space and permissions of the data directory",
    )
}

/// Syncs one profile's registry into the store: the repositories from the backend (the catalog,
/// Harbor's projects API, …), their tags and manifests through its `/v2` client. `progress` is called
/// as work completes.
pub async fn sync_profile(
    store: &Store,
    profile_id: i64,
    backend: &dyn Backend,
    opts: &SyncOptions,
    cancel: &CancellationToken,
    progress: &(dyn Fn(&SyncProgress) + Send + Sync),
) -> Result<SyncSummary, SyncError> {
    let client = backend.client();
    let started = Instant::now();
    let run = store.start_sync_run(profile_id).await?;
    let shared = Shared::new(store, client, opts, cancel, WRITE_BATCH_WINDOW).await?;
    let finish = |status: &'static str, message: Option<String>, removed: u64| {
        let shared = shared.clone();
        async move {
            let p = shared.progress();
            let counts = SyncCounts {
                repositories: p.repositories_done,
                tags: p.tags_done,
                manifests_fetched: p.manifests_fetched,
                requests: p.requests,
                errors: p.errors,
            };
            store.finish_sync_run(run, status, &counts, message.as_deref()).await?;
            // The repositories' sizes, for the window's tree (computed here once, not on its next open).
            store.refresh_repository_sizes(profile_id).await?;
            // What the sync wrote, out of the write-ahead log (up to 32 MB) and into the database.
            let _ = store.checkpoint().await;
            Ok::<_, StoreError>(SyncSummary {
                status: status.to_string(),
                repositories: p.repositories_done,
                tags: p.tags_done,
                manifests_fetched: p.manifests_fetched,
                requests: p.requests,
                errors: p.errors,
                seconds: started.elapsed().as_secs_f64(),
                repositories_removed: removed,
                error_samples: shared.samples.lock().expect("samples lock").clone(),
            })
        }
    };

    let repos = tokio::select! {
        r = backend.repositories() => r,
        _ = cancel.cancelled() => {
            let s = finish("cancelled", Some("cancelled".into()), 0).await?;
            return Err(SyncError::Cancelled(s));
        }
    };
    let repos = match repos {
        Ok(r) => r,
        Err(e) => {
            finish("failed", Some(e.to_string()), 0).await?;
            return Err(SyncError::Registry(e));
        }
    };
    shared.repos_total.store(repos.len() as u64, Ordering::Relaxed);
    progress(&shared.progress());
    // A backend that lists every repository's tags together (Nexus's components) is read once here. A
    // bulk listing the account may not read (a limited account) or that fails leaves the sync to `/v2`.
    // (A registry:2 with a storage root lists every tag from its files in one command.)
    let (all_tags, bulk_ok) = match backend.all_tag_digests().await {
        Ok(all) => (all, true),
        Err(e) => {
            tracing::warn!(error = %e, hint = %e.hint, "the bulk tag listing failed: this sync asks /v2 for every tag");
            (None, false)
        }
    };
    let all_tags = &all_tags;

    let abort = shared.abort.clone();
    let mut work = futures::stream::iter(repos.clone())
        .map(|repo| {
            let shared = shared.clone();
            async move {
                // Where the backend lists tags with their digests in bulk, that listing replaces the
                // tag list and the HEAD per cached tag.
                let bulk = match all_tags {
                    Some(all) => Some(all.get(&repo).cloned().unwrap_or_default()),
                    None if bulk_ok => {
                        let _p = shared.permits.acquire().await.expect("semaphore open");
                        backend.tag_digests(&repo).await.ok().flatten()
                    }
                    None => None,
                };
                match shared.resolve_repository(profile_id, repo.clone(), bulk).await {
                    Ok(written) => Some((repo, written)),
                    Err(e) => {
                        shared.record_error(&repo, &e);
                        shared.repos_done.fetch_add(1, Ordering::Relaxed);
                        None
                    }
                }
            }
        })
        // More repositories than requests in flight: while some wait on the store, the others keep
        // every request slot busy (the semaphore bounds the requests).
        .buffer_unordered(opts.concurrency.max(1) * 4);
    // Repositories resolved and queued for the writer; each is done when its transaction committed.
    let mut written = futures::stream::FuturesUnordered::new();
    let mut resolving = true;
    while resolving || !written.is_empty() {
        tokio::select! {
            next = work.next(), if resolving => match next {
                Some(Some((repo, w))) => written.push(async move { (repo, w.await) }),
                Some(None) => progress(&shared.progress()),
                None => {
                    resolving = false;
                    shared.writes.lock().expect("writes lock").take(); // the last batch commits now
                }
            },
            Some((repo, res)) = written.next(), if !written.is_empty() => {
                if let Err(e) = res {
                    shared.record_error(&repo, &e);
                }
                shared.repos_done.fetch_add(1, Ordering::Relaxed);
                progress(&shared.progress());
            }
            _ = abort.cancelled() => break,
        }
    }
    // Cancels repositories still in flight; their transactions never began, rolled back or committed.
    drop(work);
    drop(written);

    let fatal = shared.fatal.lock().expect("fatal lock").clone();
    if let Some(e) = fatal {
        finish("failed", Some(e.to_string()), 0).await?;
        return Err(SyncError::Registry(e));
    }
    if cancel.is_cancelled() {
        let s = finish("cancelled", Some("cancelled".into()), 0).await?;
        return Err(SyncError::Cancelled(s));
    }
    let removed = store.retain_repositories(profile_id, &repos).await?;
    let summary = finish("ok", None, removed).await?;
    progress(&shared.progress());
    Ok(summary)
}

/// Refreshes some repositories of a profile in the cache, right now: their tags are listed and resolved
/// again (what is cached is not fetched again). A repository the server no longer has loses its tags.
/// Safe deletes plan and re-check from this. Errors are returned, not counted.
pub async fn refresh_repositories(
    store: &Store,
    profile_id: i64,
    client: &RegistryClient,
    repos: &[String],
    cancel: &CancellationToken,
) -> Result<(), SyncError> {
    let shared = Shared::new(store, client, &SyncOptions::default(), cancel, Duration::ZERO).await?;
    for repo in repos {
        if cancel.is_cancelled() {
            return Err(SyncError::Cancelled(SyncSummary {
                status: "cancelled".into(),
                repositories: 0,
                tags: 0,
                manifests_fetched: 0,
                requests: 0,
                errors: 0,
                seconds: 0.0,
                repositories_removed: 0,
                error_samples: vec![],
            }));
        }
        // Straight from /v2 (a plan re-checks what the registry itself says): no bulk listing.
        match shared.sync_repository(profile_id, repo.clone(), None).await {
            Ok(()) => {}
            Err(e) if e.kind == berth_registry::ErrorKind::NotFound => {
                store.replace_repository_tags(profile_id, repo, &[]).await?;
            }
            Err(e) => return Err(SyncError::Registry(e)),
        }
    }
    Ok(())
}

/// Caches manifests the registry holds by digest that no sync saw tagged (`found`: repository and
/// digest, e.g. from the storage's `_manifests/revisions`): each is fetched (with its config, an
/// index with its children) unless cached, and recorded as held by its repository, so the untagged
/// view lists it. Repositories the cache does not know are skipped. Returns the manifests fetched.
pub async fn cache_repository_manifests(
    store: &Store,
    profile_id: i64,
    client: &RegistryClient,
    found: &[(String, String)],
    cancel: &CancellationToken,
) -> Result<u64, SyncError> {
    let shared = Shared::new(store, client, &SyncOptions::default(), cancel, Duration::ZERO).await?;
    let mut by_repo: std::collections::BTreeMap<&str, Vec<&str>> = std::collections::BTreeMap::new();
    for (repo, digest) in found {
        by_repo.entry(repo.as_str()).or_default().push(digest.as_str());
    }
    for (repo, digests) in by_repo {
        let mut records: Vec<Arc<ManifestRecord>> = Vec::new();
        let mut held: Vec<String> = Vec::new();
        for digest in digests {
            if cancel.is_cancelled() {
                return Err(SyncError::Registry(berth_registry::Error::new(
                    berth_registry::ErrorKind::Cancelled,
                    "cancelled",
                    "nothing after the cancel was cached",
                )));
            }
            let Some(d) = Digest::parse(digest) else { continue };
            match shared.collect(repo, &d, None, 0).await {
                Ok(mut r) => {
                    records.append(&mut r);
                    held.push(d.to_string());
                }
                // Deleted since the storage was read: nothing to record.
                Err(e) if e.kind == berth_registry::ErrorKind::NotFound => {}
                Err(e) => return Err(SyncError::Registry(e)),
            }
        }
        let refs: Vec<&ManifestRecord> = records.iter().map(|m| m.as_ref()).collect();
        store.write_repository_manifests(profile_id, repo, &refs, &held).await?;
        let mut d = shared.digests.lock().expect("digests lock");
        for m in &records {
            d.pending.remove(&m.digest);
            d.stored.insert(&m.digest);
        }
    }
    Ok(shared.fetched.load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    #[test]
    fn referrer_tags() {
        let hex = "a".repeat(64);
        assert_eq!(super::referrer_tag(&format!("sha256-{hex}")), Some((format!("sha256:{hex}"), None)));
        assert_eq!(super::referrer_tag(&format!("sha256-{hex}.sig")), Some((format!("sha256:{hex}"), Some("sig"))));
        assert_eq!(super::referrer_tag("v1.2"), None);
        assert_eq!(super::referrer_tag("sha256-abc.sig"), None);
    }

    #[test]
    fn digest_set_keeps_every_digest_apart() {
        let mut set = super::DigestSet::default();
        let a = format!("sha256:{}", "0123456789abcdef".repeat(4));
        let b = format!("sha256:{}", "0123456789abcdef".repeat(4).replacen('0', "1", 1));
        let long = format!("sha512:{}", "ab".repeat(64));
        let odd = format!("sha256:{}", "AB".repeat(32)); // not canonical: kept as text
        for d in [&a, &long, &odd] {
            set.insert(d);
        }
        assert!(set.contains(&a) && set.contains(&long) && set.contains(&odd));
        assert!(!set.contains(&b), "one nibble apart");
        assert!(!set.contains(&odd.to_lowercase()), "case is part of the text");
        assert!(!set.contains("sha256:abc"));
        assert_eq!((set.sha256.len(), set.other.len()), (1, 2));
    }
}
