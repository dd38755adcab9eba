//! Inspecting one image (tag or digest) and testing a profile's connection: views for the CLI and the window.

use std::collections::{BTreeMap, BTreeSet};

use berth_registry::{
    cosign_tags, fetch_certificate_chain, CertificateInfo, Digest, ErrorKind, Manifest, Reference, RegistryClient,
};
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
    pub pull: String,
}

pub(crate) async fn inspect(client: &RegistryClient, repo: &str, reference: &str) -> Result<ImageDetail, ApiError> {
    let r = Reference::parse(reference).ok_or_else(|| {
        ApiError::new(
            crate::ErrorCode::InvalidInput,
            format!("invalid tag or digest {reference:?}"),
            "give REPO:TAG or REPO@sha256:…",
        )
    })?;
    let m = client.get_manifest(repo, &r).await?.ok_or_else(|| {
        ApiError::new(
            crate::ErrorCode::NotFound,
            format!("{repo}:{reference} not found"),
            "the repository's tag list shows what it has now: sync, then choose again",
        )
        .with_fix(crate::FixAction::Command, format!("berth tags PROFILE {repo}"))
    })?;
    let mut blobs: BTreeMap<Digest, u64> = BTreeMap::new();
    blobs.insert(m.digest.clone(), m.bytes.len() as u64);
    let mut platforms = Vec::new();
    let (image, resolved_platform) = match &m.manifest {
        Manifest::Index(index) => {
            let mut chosen = None;
            for child in &index.manifests {
                let Some(cm) = client.get_manifest(repo, &Reference::Digest(child.digest.clone())).await? else {
                    continue;
                };
                blobs.insert(cm.digest.clone(), cm.bytes.len() as u64);
                for d in cm.manifest.references() {
                    blobs.insert(d.digest.clone(), d.size);
                }
                if let Some(p) = &child.platform {
                    platforms.push(PlatformView {
                        os: p.os.clone(),
                        architecture: p.architecture.clone(),
                        variant: p.variant.clone(),
                        digest: child.digest.to_string(),
                        size: cm.manifest.image_size().unwrap_or(0),
                    });
                    let amd64 = p.os == "linux" && p.architecture == "amd64";
                    if chosen.is_none()
                        || (amd64 && !chosen.as_ref().is_some_and(|(_, s): &(_, String)| s == "linux/amd64"))
                    {
                        chosen = Some((cm.manifest.clone(), p.to_string()));
                    }
                }
            }
            match chosen {
                Some((man, plat)) => (Some(man), Some(plat)),
                None => (None, None),
            }
        }
        other => {
            for d in other.references() {
                blobs.insert(d.digest.clone(), d.size);
            }
            (Some(other.clone()), None)
        }
    };
    let (layers, config) = match &image {
        Some(im @ Manifest::Image(img)) => {
            let layers = img
                .layers
                .iter()
                .map(|l| LayerView { digest: l.digest.to_string(), media_type: l.media_type.clone(), size: l.size })
                .collect();
            let config = client.image_config(repo, im).await?.map(|c| {
                let rc = c.config.clone().unwrap_or_default();
                if platforms.is_empty() {
                    if let (Some(os), Some(arch)) = (&c.os, &c.architecture) {
                        platforms.push(PlatformView {
                            os: os.clone(),
                            architecture: arch.clone(),
                            variant: c.variant.clone(),
                            digest: m.digest.to_string(),
                            size: im.image_size().unwrap_or(0),
                        });
                    }
                }
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
            });
            (layers, config)
        }
        _ => (Vec::new(), None),
    };

    // Referrers: the API or its fallback tag, plus cosign-style tags; siblings: tags with this digest.
    let tags = client.tags(repo).await?;
    let found = client.referrers(repo, &m.digest).await?;
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
        if let Some(h) = client.head_manifest(repo, &Reference::Tag(t.to_string())).await? {
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
    let mut sibling_tags = BTreeSet::new();
    for t in &tags {
        if Some(t.as_str()) == matches_tag(&r) || t.starts_with(&m.digest.referrers_tag()) {
            continue;
        }
        if let Some(h) = client.head_manifest(repo, &Reference::Tag(t.clone())).await? {
            if h.digest == m.digest {
                sibling_tags.insert(t.clone());
            }
        }
    }
    let host = client.base_url().host_str().unwrap_or("").to_string();
    let host = match client.base_url().port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    };
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
        pull: format!("docker pull {host}/{repo}@{}", m.digest),
    })
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
