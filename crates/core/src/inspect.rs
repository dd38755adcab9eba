//! Inspecting one image (tag or digest) and testing a profile's connection: views for the CLI and the window.

use std::collections::{BTreeMap, BTreeSet};

use berth_registry::config::ImageConfig;
use berth_registry::{
    cosign_tags, fetch_certificate_chain, CertificateInfo, Digest, ErrorKind, FetchedManifest, Manifest, Reference,
    RegistryClient,
};
use berth_store::Store;
use serde::Serialize;
use ts_rs::TS;

use crate::ApiError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct PlatformView {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    pub digest: String,
    /// Config + layers of this platform's image, in bytes.
    #[ts(type = "number")]
    pub size: u64,
    /// This platform's creation time (its config), when known.
    pub created: Option<String>,
    /// `docker pull HOST/REPO@DIGEST` of this platform's image.
    pub pull: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct LayerView {
    pub digest: String,
    pub media_type: String,
    #[ts(type = "number")]
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct HistoryView {
    pub created: Option<String>,
    pub created_by: Option<String>,
    pub comment: Option<String>,
    pub empty_layer: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ConfigView {
    pub created: Option<String>,
    pub os: Option<String>,
    pub architecture: Option<String>,
    pub variant: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub env: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub history: Vec<HistoryView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ReferrerView {
    pub digest: String,
    pub media_type: String,
    pub artifact_type: Option<String>,
    #[ts(type = "number")]
    pub size: u64,
    /// `api`, `fallback_tag` or `cosign_tag`.
    pub source: String,
    /// The tag it lives under, for cosign-style tags.
    pub tag: Option<String>,
}

/// One image as Berth shows it. For an index, `layers` and `config` are those of `resolved_platform`
/// (linux/amd64 when present, else the first platform).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ImageDetail {
    pub repository: String,
    pub reference: String,
    pub digest: String,
    pub media_type: String,
    /// Bytes stored for this image: manifests, configs and layers, each distinct blob counted once.
    #[ts(type = "number")]
    pub size: u64,
    pub platforms: Vec<PlatformView>,
    pub resolved_platform: Option<String>,
    pub layers: Vec<LayerView>,
    pub config: Option<ConfigView>,
    pub artifact_type: Option<String>,
    pub subject: Option<String>,
    pub referrers: Vec<ReferrerView>,
    /// Other tags of this repository with the same digest (a digest delete takes them along).
    pub sibling_tags: Vec<String>,
    /// The manifest exactly as the registry sent it.
    pub raw_manifest: String,
    /// `docker pull HOST/REPO@DIGEST`.
    pub pull: String,
    /// `docker pull HOST/REPO:TAG` when the reference is a tag.
    pub pull_tag: Option<String>,
    /// Whether this detail came from the registry just now or from the cache.
    pub source: DetailSource,
    /// When the registry last confirmed the reference: now for `registry`; for `cache`, when the last
    /// sync saw the tag (a digest: the repository). None: never synced.
    pub checked_at: Option<String>,
    /// What the detail could not show, in words (the registry did not answer; a config never cached).
    pub notes: Vec<String>,
}

/// Where an image's detail came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum DetailSource {
    Registry,
    Cache,
}

/// Where to look first for an image's detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InspectFrom {
    /// The registry (what it holds now); the cache when the registry cannot be reached.
    #[default]
    Registry,
    /// The cache, as the last sync saw it (offline, instant); the registry when the cache lacks it.
    Cache,
}

/// What one inspect reads with: the registry client, the cache, and the profile.
pub(crate) struct InspectCtx<'a> {
    pub client: &'a RegistryClient,
    pub store: &'a Store,
    pub profile_id: i64,
    pub profile: &'a str,
}

/// A manifest as the registry sent it, from the registry or the cache.
struct Got {
    digest: Digest,
    media_type: String,
    bytes: Vec<u8>,
    manifest: Manifest,
}

impl From<FetchedManifest> for Got {
    fn from(m: FetchedManifest) -> Self {
        Got { digest: m.digest, media_type: m.media_type, bytes: m.bytes.to_vec(), manifest: m.manifest }
    }
}

/// Reads manifests and configs by digest: from the cache first (a digest's content never changes), else
/// from the registry unless it cannot be reached. A config fetched is kept for the next (offline) time.
struct Lookup<'a> {
    cx: &'a InspectCtx<'a>,
    offline: bool,
}

impl Lookup<'_> {
    async fn cached(&self, digest: &Digest) -> Result<Option<Got>, ApiError> {
        let Some(c) = self.cx.store.cached_manifest(&digest.to_string()).await? else { return Ok(None) };
        Ok(Manifest::parse(Some(&c.media_type), &c.raw).ok().map(|(media_type, manifest)| Got {
            digest: digest.clone(),
            media_type,
            bytes: c.raw,
            manifest,
        }))
    }

    async fn by_digest(&self, repo: &str, digest: &Digest) -> Result<Option<Got>, ApiError> {
        if let Some(g) = self.cached(digest).await? {
            return Ok(Some(g));
        }
        if self.offline {
            return Ok(None);
        }
        Ok(self.cx.client.get_manifest(repo, &Reference::Digest(digest.clone())).await?.map(Got::from))
    }

    /// The config of an image manifest (None: an index, an artifact, or not cached while offline).
    async fn config(&self, repo: &str, digest: &Digest, m: &Manifest) -> Result<Option<ImageConfig>, ApiError> {
        if !matches!(m, Manifest::Image(_)) {
            return Ok(None);
        }
        let key = digest.to_string();
        if let Some(json) = self.cx.store.cached_manifest(&key).await?.and_then(|c| c.config) {
            if let Ok(c) = serde_json::from_str::<ImageConfig>(&json) {
                return Ok(Some(c));
            }
        }
        if self.offline {
            return Ok(None);
        }
        let config = self.cx.client.image_config(repo, m).await?;
        if let Some(json) = config.as_ref().and_then(|c| serde_json::to_string(c).ok()) {
            self.cx.store.set_manifest_config(&key, &json).await?;
        }
        Ok(config)
    }

    /// The reference as the last sync saw it, with when that was; None when the cache lacks it.
    async fn resolve_cached(
        &self,
        repo: &str,
        r: &Reference,
        tags: Option<&[(String, String, String)]>,
    ) -> Result<Option<(Got, Option<String>)>, ApiError> {
        let (digest, seen) = match r {
            Reference::Tag(t) => match tags.and_then(|ts| ts.iter().find(|(n, _, _)| n == t)) {
                Some((_, d, seen)) => (Digest::parse(d), Some(seen.clone())),
                None => return Ok(None),
            },
            Reference::Digest(d) => {
                (Some(d.clone()), self.cx.store.repository_last_seen(self.cx.profile_id, repo).await?)
            }
        };
        let Some(digest) = digest else { return Ok(None) };
        Ok(self.cached(&digest).await?.map(|g| (g, seen)))
    }
}

pub(crate) async fn inspect(
    cx: InspectCtx<'_>,
    repo: &str,
    reference: &str,
    from: InspectFrom,
) -> Result<ImageDetail, ApiError> {
    let r = Reference::parse(reference).ok_or_else(|| {
        ApiError::new(
            crate::ErrorCode::InvalidInput,
            format!("invalid tag or digest {reference:?}"),
            "give REPO:TAG or REPO@sha256:…",
        )
    })?;
    let profile = cx.profile;
    let not_found = || {
        ApiError::new(
            crate::ErrorCode::NotFound,
            format!("{repo}:{reference} not found"),
            "the registry no longer has it: sync to see what the repository holds now, then choose again",
        )
        .with_fix(crate::FixAction::Sync { profile: profile.to_string() }, format!("berth sync {profile}"))
    };
    let cached_tags = cx.store.repository_tag_digests(cx.profile_id, repo).await?;
    let mut look = Lookup { cx: &cx, offline: false };
    let mut notes = Vec::new();

    // The reference: from the cache when asked and it has it, else from the registry; when the registry
    // cannot be reached, from the cache after all.
    let mut resolved = None;
    if from == InspectFrom::Cache {
        resolved = look.resolve_cached(repo, &r, cached_tags.as_deref()).await?;
    }
    let (m, source, checked_at) = match resolved {
        Some((got, seen)) => (got, DetailSource::Cache, seen),
        None => match cx.client.get_manifest(repo, &r).await {
            Ok(Some(m)) => (Got::from(m), DetailSource::Registry, Some(berth_store::now_rfc3339())),
            Ok(None) => return Err(not_found()),
            Err(e) => {
                let e = ApiError::from(e);
                if !e.unreachable {
                    return Err(e);
                }
                look.offline = true;
                let Some((got, seen)) = look.resolve_cached(repo, &r, cached_tags.as_deref()).await? else {
                    return Err(e);
                };
                notes.push(format!("The registry did not answer ({}): this is the cache's copy.", e.message));
                (got, DetailSource::Cache, seen)
            }
        },
    };

    let host = client_host(cx.client);
    let pull_of = |d: &Digest| format!("docker pull {host}/{repo}@{d}");
    let mut blobs: BTreeMap<Digest, u64> = BTreeMap::new();
    blobs.insert(m.digest.clone(), m.bytes.len() as u64);
    let mut platforms = Vec::new();
    let (image, resolved_platform) = match &m.manifest {
        Manifest::Index(index) => {
            let mut chosen: Option<(Digest, Manifest, String)> = None;
            let mut missing = 0;
            for child in &index.manifests {
                let Some(cm) = look.by_digest(repo, &child.digest).await? else {
                    missing += 1;
                    continue;
                };
                blobs.insert(cm.digest.clone(), cm.bytes.len() as u64);
                for d in cm.manifest.references() {
                    blobs.insert(d.digest.clone(), d.size);
                }
                if let Some(p) = &child.platform {
                    // A platform's creation time is worth a config read, not a failed detail.
                    let created =
                        look.config(repo, &cm.digest, &cm.manifest).await.ok().flatten().and_then(|c| c.created);
                    platforms.push(PlatformView {
                        os: p.os.clone(),
                        architecture: p.architecture.clone(),
                        variant: p.variant.clone(),
                        digest: child.digest.to_string(),
                        size: cm.manifest.image_size().unwrap_or(0),
                        created,
                        pull: pull_of(&child.digest),
                    });
                    let amd64 = p.os == "linux" && p.architecture == "amd64";
                    if chosen.is_none() || (amd64 && !chosen.as_ref().is_some_and(|(_, _, s)| s == "linux/amd64")) {
                        chosen = Some((cm.digest.clone(), cm.manifest.clone(), p.to_string()));
                    }
                }
            }
            if missing > 0 {
                notes.push(format!("{missing} of the index's manifests are not in the cache: they are left out."));
            }
            match chosen {
                Some((d, man, plat)) => (Some((d, man)), Some(plat)),
                None => (None, None),
            }
        }
        other => {
            for d in other.references() {
                blobs.insert(d.digest.clone(), d.size);
            }
            (Some((m.digest.clone(), other.clone())), None)
        }
    };
    let (layers, config) = match &image {
        Some((digest, im @ Manifest::Image(img))) => {
            let layers = img
                .layers
                .iter()
                .map(|l| LayerView { digest: l.digest.to_string(), media_type: l.media_type.clone(), size: l.size })
                .collect();
            let fetched = look.config(repo, digest, im).await?;
            if fetched.is_none() && look.offline && is_image_config(&img.config.media_type) {
                notes.push(
                    "The image's configuration is not in the cache (it was synced before Berth kept configurations): \
                     it shows once the registry answers."
                        .into(),
                );
            }
            let config = fetched.map(|c| {
                if platforms.is_empty() {
                    if let (Some(os), Some(arch)) = (&c.os, &c.architecture) {
                        platforms.push(PlatformView {
                            os: os.clone(),
                            architecture: arch.clone(),
                            variant: c.variant.clone(),
                            digest: m.digest.to_string(),
                            size: im.image_size().unwrap_or(0),
                            created: c.created.clone(),
                            pull: pull_of(&m.digest),
                        });
                    }
                }
                config_view(&c)
            });
            (layers, config)
        }
        _ => (Vec::new(), None),
    };

    let (referrers, registry_tags) = if source == DetailSource::Cache || look.offline {
        (cached_referrers(&look, &m.digest, cached_tags.as_deref()).await?, None)
    } else {
        // The referrers API or its fallback tag, plus cosign-style tags.
        let tags = cx.client.tags(repo).await?;
        let found = cx.client.referrers(repo, &m.digest).await?;
        let source = match found.source {
            berth_registry::ReferrerSource::Api => "api",
            berth_registry::ReferrerSource::FallbackTag => "fallback_tag",
        };
        let mut referrers: Vec<ReferrerView> = found
            .descriptors
            .into_iter()
            .map(|d| ReferrerView {
                digest: d.digest.to_string(),
                media_type: d.media_type,
                artifact_type: d.artifact_type,
                size: d.size,
                source: source.into(),
                tag: None,
            })
            .collect();
        for t in cosign_tags(&tags, &m.digest) {
            if let Some(h) = cx.client.head_manifest(repo, &Reference::Tag(t.to_string())).await? {
                referrers.push(ReferrerView {
                    digest: h.digest.to_string(),
                    media_type: h.media_type,
                    artifact_type: None,
                    size: h.size,
                    source: "cosign_tag".into(),
                    tag: Some(t.to_string()),
                });
            }
        }
        (referrers, Some(tags))
    };

    // Sibling tags: from the cache once the repository was synced (no request per tag); else one HEAD
    // per tag of the registry's list.
    let skip = |t: &str| Some(t) == matches_tag(&r) || t.starts_with(&m.digest.referrers_tag());
    let mut sibling_tags = BTreeSet::new();
    match (&cached_tags, registry_tags) {
        (Some(cached), _) => {
            let digest = m.digest.to_string();
            sibling_tags.extend(cached.iter().filter(|(n, d, _)| *d == digest && !skip(n)).map(|(n, _, _)| n.clone()));
        }
        (None, Some(tags)) => {
            for t in tags.iter().filter(|t| !skip(t)) {
                if let Some(h) = cx.client.head_manifest(repo, &Reference::Tag(t.clone())).await? {
                    if h.digest == m.digest {
                        sibling_tags.insert(t.clone());
                    }
                }
            }
        }
        (None, None) => {}
    }
    Ok(ImageDetail {
        repository: repo.to_string(),
        reference: reference.to_string(),
        digest: m.digest.to_string(),
        media_type: m.media_type.clone(),
        size: berth_registry::saturating_sum(blobs.values().copied()),
        platforms,
        resolved_platform,
        layers,
        config,
        artifact_type: m.manifest.artifact_type(),
        subject: m.manifest.subject().map(|s| s.digest.to_string()),
        referrers,
        sibling_tags: sibling_tags.into_iter().collect(),
        raw_manifest: String::from_utf8_lossy(&m.bytes).into_owned(),
        pull: pull_of(&m.digest),
        pull_tag: matches_tag(&r).map(|t| format!("docker pull {host}/{repo}:{t}")),
        source,
        checked_at,
        notes,
    })
}

fn is_image_config(media_type: &str) -> bool {
    media_type == berth_registry::media::OCI_CONFIG || media_type == berth_registry::media::DOCKER_CONFIG
}

/// The registry's host as `docker pull` names it (with its port, when it has one).
fn client_host(client: &RegistryClient) -> String {
    let host = client.base_url().host_str().unwrap_or("").to_string();
    match client.base_url().port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    }
}

fn config_view(c: &ImageConfig) -> ConfigView {
    let rc = c.config.clone().unwrap_or_default();
    ConfigView {
        created: c.created.clone(),
        os: c.os.clone(),
        architecture: c.architecture.clone(),
        variant: c.variant.clone(),
        labels: rc.labels.clone().unwrap_or_default(),
        env: rc.env.clone().unwrap_or_default(),
        entrypoint: rc.entrypoint.clone().unwrap_or_default(),
        cmd: rc.cmd.clone().unwrap_or_default(),
        working_dir: rc.working_dir.clone().filter(|s| !s.is_empty()),
        user: rc.user.clone().filter(|s| !s.is_empty()),
        history: c
            .history
            .iter()
            .map(|h| HistoryView {
                created: h.created.clone(),
                created_by: h.created_by.clone(),
                comment: h.comment.clone(),
                empty_layer: h.empty_layer.unwrap_or(false),
            })
            .collect(),
    }
}

/// Referrers as the last sync saw them: the cached referrer edges and cosign-style tags.
async fn cached_referrers(
    look: &Lookup<'_>,
    subject: &Digest,
    tags: Option<&[(String, String, String)]>,
) -> Result<Vec<ReferrerView>, ApiError> {
    let mut out = Vec::new();
    for (referrer, artifact_type) in look.cx.store.referrers_of(&subject.to_string()).await? {
        let Some(d) = Digest::parse(&referrer) else { continue };
        let Some(g) = look.cached(&d).await? else { continue };
        out.push(ReferrerView {
            digest: referrer,
            media_type: g.media_type,
            artifact_type,
            size: g.bytes.len() as u64,
            source: "cache".into(),
            tag: None,
        });
    }
    let names: Vec<String> = tags.unwrap_or_default().iter().map(|(n, _, _)| n.clone()).collect();
    for t in cosign_tags(&names, subject) {
        let Some((_, d, _)) = tags.unwrap_or_default().iter().find(|(n, _, _)| n == t) else { continue };
        let Some(digest) = Digest::parse(d) else { continue };
        // The sync records a cosign signature's edge too: list it once, as the tag it lives under.
        if let Some(known) = out.iter_mut().find(|r| r.digest == *d) {
            known.source = "cosign_tag".into();
            known.tag = Some(t.to_string());
            continue;
        }
        let Some(g) = look.cached(&digest).await? else { continue };
        out.push(ReferrerView {
            digest: d.clone(),
            media_type: g.media_type,
            artifact_type: None,
            size: g.bytes.len() as u64,
            source: "cosign_tag".into(),
            tag: Some(t.to_string()),
        });
    }
    Ok(out)
}

fn matches_tag(r: &Reference) -> Option<&str> {
    match r {
        Reference::Tag(t) => Some(t),
        Reference::Digest(_) => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct CertificateView {
    pub subject: String,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
    pub sha256: String,
    pub is_ca: bool,
    pub self_signed: bool,
    pub names: Vec<String>,
}

impl From<CertificateInfo> for CertificateView {
    fn from(c: CertificateInfo) -> Self {
        CertificateView {
            subject: c.subject,
            issuer: c.issuer,
            not_before: c.not_before,
            not_after: c.not_after,
            sha256: c.sha256,
            is_ca: c.is_ca,
            self_signed: c.self_signed,
            names: c.names,
        }
    }
}

/// The result of `berth profile test` / the window's "Test connection".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ConnectionReport {
    pub profile: String,
    pub url: String,
    pub ok: bool,
    pub status: Option<u16>,
    pub api_version: Option<String>,
    /// `basic`, `bearer`, or null when the registry asked for no authentication.
    pub auth: Option<String>,
    /// The chain the server presented, leaf first (https only).
    pub certificates: Vec<CertificateView>,
    pub catalog_accessible: Option<bool>,
    /// How many repositories the catalog lists (when accessible).
    #[ts(type = "number | null")]
    pub repositories: Option<u64>,
    /// `enabled`, `disabled`, `read_only` or `no_permission` (probed on the first repository, no side effects).
    pub delete: Option<String>,
    pub delete_explained: Option<String>,
    /// The token service the registry's Bearer challenge names (when it uses tokens).
    pub token_service: Option<TokenServiceView>,
    /// What went wrong and how to fix it.
    pub error: Option<ApiError>,
    /// What the backend checked beyond `/v2/` (a Nexus server: its REST API, the account's rights,
    /// realms, each repository's endpoint), each with its fix.
    pub checks: Vec<CheckView>,
}

/// Where the registry sends the password for its tokens, and whether Berth may send it there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct TokenServiceView {
    /// The realm, as the registry names it.
    pub realm: String,
    /// `https://auth.example.com`: what the profile trusts.
    pub origin: String,
    /// On another host than the registry (the port does not count).
    pub other_host: bool,
    /// The password may go there (the registry's own host, or trusted for this profile).
    pub trusted: bool,
}

/// One finding of a connection test, with what to do when it failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct CheckView {
    pub name: String,
    pub ok: bool,
    pub detail: String,
    pub hint: Option<String>,
    pub fix: Option<crate::Fix>,
    /// Nothing works while this fails.
    pub fatal: bool,
}

impl ConnectionReport {
    pub(crate) fn new(profile: &str, url: &str) -> ConnectionReport {
        ConnectionReport {
            profile: profile.to_string(),
            url: url.to_string(),
            ok: false,
            status: None,
            api_version: None,
            auth: None,
            certificates: Vec::new(),
            catalog_accessible: None,
            repositories: None,
            delete: None,
            delete_explained: None,
            token_service: None,
            error: None,
            checks: Vec::new(),
        }
    }
}

pub(crate) async fn test_connection(profile: &str, client: &RegistryClient) -> ConnectionReport {
    let url = client.base_url().clone();
    let mut report = ConnectionReport::new(profile, url.as_str());
    let ping = client.ping().await;
    if url.scheme() == "https" {
        let wants_chain = match &ping {
            Ok(_) => true,
            Err(e) => matches!(
                e.kind,
                ErrorKind::TlsUnknownCa
                    | ErrorKind::TlsCaUsedAsLeaf
                    | ErrorKind::TlsHostnameMismatch
                    | ErrorKind::TlsExpired
                    | ErrorKind::Tls
            ),
        };
        if wants_chain {
            if let Ok(chain) = fetch_certificate_chain(&url).await {
                report.certificates = chain.into_iter().map(CertificateView::from).collect();
            }
        }
    }
    report.token_service = client.token_service().map(|t| TokenServiceView {
        realm: t.realm.to_string(),
        origin: t.origin.clone(),
        other_host: t.other_host,
        trusted: t.trusted,
    });
    match ping {
        Err(e) => {
            let untrusted = e.kind == ErrorKind::UntrustedTokenService;
            let mut e: ApiError = e.into();
            if let (true, Some(t)) = (untrusted, &report.token_service) {
                e = e.with_fix(
                    crate::FixAction::TrustTokenService { profile: profile.to_string(), origin: t.origin.clone() },
                    format!("berth profile edit {profile} --trust-token-service {}", t.origin),
                );
            }
            report.error = Some(e);
            return report;
        }
        Ok(p) => {
            report.status = Some(p.status);
            report.api_version = p.api_version;
            report.auth = p.auth_scheme;
        }
    }
    report.ok = true;
    match client.catalog().await {
        Ok(repos) => {
            report.catalog_accessible = Some(true);
            report.repositories = Some(repos.len() as u64);
            if let Some(first) = repos.first() {
                match client.probe_delete(first).await {
                    Ok(cap) => {
                        report.delete = serde_json::to_value(cap).ok().and_then(|v| v.as_str().map(str::to_string));
                        report.delete_explained = Some(cap.explain().to_string());
                    }
                    Err(e) => report.error = Some(e.into()),
                }
            }
        }
        Err(e) if matches!(e.kind, ErrorKind::PermissionDenied | ErrorKind::Unauthorized | ErrorKind::NotFound) => {
            report.catalog_accessible = Some(false);
        }
        Err(e) => {
            report.ok = false;
            report.error = Some(e.into());
        }
    }
    report
}
