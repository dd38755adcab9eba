//! Copy, retag and promote images between profiles of any kind: plan first (what is sent, what the
//! target has, what can be mounted, which tags are created or would be overwritten), then execute
//! with bounded concurrency, streaming blobs from source to target, then verify on the target and
//! write the audit log.
//!
//! Manifests are copied byte for byte, so digests are identical on both sides; an index is copied
//! with every child. A copy within one registry never moves a blob: a manifest PUT under the new tag,
//! and cross-repository mounts where the repository changes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use berth_registry::{
    media, Descriptor, Digest, ErrorKind, Manifest, Reference, SendMeter, UploadMode, DEFAULT_UPLOAD_CHUNK,
};
use berth_store::NewAudit;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::{operation_id, Target, WorkflowError};

/// Blobs in flight at once per copy (the target's capacity, not Berth's, is the bound).
pub const COPY_CONCURRENCY: usize = 4;
/// Attempts per blob on a transient failure (reset, timeout, 5xx): the blob is read again from the source.
const BLOB_ATTEMPTS: u32 = 3;
/// The smallest upload chunk tried when a proxy refuses larger bodies.
const MIN_UPLOAD_CHUNK: usize = 256 * 1024;
/// Index → index nesting followed (as the sync does).
const MAX_INDEX_DEPTH: usize = 8;

/// What to copy and where.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CopyRequest {
    /// `repo:tag`, `repo@sha256:…`, `repo` (every tag) or `repo:pattern` (`*` and `?` as in a shell).
    pub sources: Vec<String>,
    /// The target repository; `{repo}` is the source repository's name (default: `{repo}`).
    #[ts(optional)]
    pub target_repository: Option<String>,
    /// The target tag; `{tag}` is the source tag (default: `{tag}`; a digest source keeps no tag).
    #[ts(optional)]
    pub target_tag: Option<String>,
    /// Replace target tags that point at another image (refused otherwise).
    #[serde(default)]
    pub overwrite: bool,
    /// Copy signatures, SBOMs and attestations (OCI referrers and cosign tags) along.
    #[serde(default)]
    pub with_referrers: bool,
}

/// What happens to one blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum BlobAction {
    /// Streamed from the source.
    Send,
    /// The target repository has it already.
    Present,
    /// Mounted from another repository of the target registry (no bytes sent).
    Mount { from: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PlannedBlob {
    pub digest: String,
    #[ts(type = "number")]
    pub size: u64,
    pub action: BlobAction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PlannedManifest {
    pub digest: String,
    pub media_type: String,
    #[ts(type = "number")]
    pub size: u64,
    /// `linux/arm64` for an index child.
    #[ts(optional)]
    pub platform: Option<String>,
}

/// What happens to the target tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum TagAction {
    /// A new tag.
    Create,
    /// The tag points at this image already: nothing to do for it.
    Same,
    /// The tag points at `previous` now and will be moved (chosen with `overwrite`).
    Overwrite { previous: String },
    /// A digest copied without a tag.
    Untagged,
}

/// A referrer copied along (a signature, an SBOM, an attestation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CopyReferrer {
    pub digest: String,
    /// What it is (`application/vnd.dev.cosign.simplesigning.v1+json`, `signature.cosign`…).
    pub kind: String,
    /// A tag it lives under (cosign `sha256-<hex>.sig`, the OCI fallback `sha256-<hex>`).
    #[ts(optional)]
    pub tag: Option<String>,
    pub manifests: Vec<PlannedManifest>,
    pub blobs: Vec<PlannedBlob>,
}

/// One image of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PlannedCopy {
    pub source_repository: String,
    /// The tag or digest as asked.
    pub source_reference: String,
    pub digest: String,
    pub media_type: String,
    pub target_repository: String,
    #[ts(optional)]
    pub target_tag: Option<String>,
    pub tag_action: TagAction,
    /// Children first, the image's own manifest last.
    pub manifests: Vec<PlannedManifest>,
    pub blobs: Vec<PlannedBlob>,
    pub referrers: Vec<CopyReferrer>,
    /// Bytes this image adds to the transfer (a blob shared with an earlier image counts once).
    #[ts(type = "number")]
    pub bytes_to_send: u64,
}

/// An image the plan will not copy, with why and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CopyRefusal {
    pub reference: String,
    pub reason: String,
    pub hint: String,
}

/// A dry run: everything that would be sent, skipped, mounted and tagged. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CopyPlan {
    pub source_profile: String,
    pub target_profile: String,
    /// Source and target are the same registry: no blob is sent (a retag, or mounts).
    pub same_registry: bool,
    pub request: CopyRequest,
    pub images: Vec<PlannedCopy>,
    pub refused: Vec<CopyRefusal>,
    #[ts(type = "number")]
    pub bytes_to_send: u64,
    pub blobs_to_send: usize,
    pub blobs_present: usize,
    pub blobs_to_mount: usize,
    pub notes: Vec<String>,
}

/// Where a copy is.
#[derive(Debug, Clone, Default, Serialize, TS)]
#[ts(export)]
pub struct CopyProgress {
    /// `blobs`, `manifests`, `verify`.
    pub phase: String,
    pub images_done: usize,
    pub images_total: usize,
    pub blobs_done: usize,
    pub blobs_total: usize,
    #[ts(type = "number")]
    pub bytes_done: u64,
    #[ts(type = "number")]
    pub bytes_total: u64,
}

/// How one image's copy ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct CopyResult {
    /// `profile/repo:tag` or `…@digest` on the source.
    pub source: String,
    /// `repo:tag` (or `repo@digest`) on the target.
    pub target: String,
    pub digest: String,
    /// `copied`, `skipped` or `failed`.
    pub result: String,
    pub message: String,
}

/// What a copy did, as the target shows it afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct CopyReport {
    pub operation: String,
    pub results: Vec<CopyResult>,
    pub blobs_sent: usize,
    #[ts(type = "number")]
    pub bytes_sent: u64,
    pub blobs_present: usize,
    pub blobs_mounted: usize,
    /// Every copied tag resolves on the target to the source digest (checked after the copy).
    pub verified: bool,
    pub cancelled: bool,
}

/// One source reference, resolved.
struct Source {
    repo: String,
    /// As asked: a tag or a digest.
    reference: String,
    tag: Option<String>,
}

fn parse_source(s: &str) -> Result<(String, Option<String>, Option<String>), WorkflowError> {
    let bad = || {
        WorkflowError::invalid(
            format!("not a source reference: {s:?}"),
            "use REPO:TAG, REPO@sha256:…, REPO or REPO:PATTERN",
        )
    };
    let s = s.trim();
    if let Some((repo, digest)) = s.split_once('@') {
        berth_registry::validate_repo(repo).map_err(|_| bad())?;
        Digest::parse(digest).ok_or_else(bad)?;
        return Ok((repo.to_string(), None, Some(digest.to_string())));
    }
    // The tag follows the last ':' after the last '/' (a registry host is never part of it here).
    let slash = s.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (repo, tag) = match s.get(slash..).and_then(|t| t.find(':')).map(|i| slash + i) {
        Some(i) => (s.get(..i).unwrap_or(s), s.get(i + 1..).map(str::to_string)),
        None => (s, None),
    };
    berth_registry::validate_repo(repo).map_err(|_| bad())?;
    Ok((repo.to_string(), tag.filter(|t| !t.is_empty()), None))
}

/// `*` and `?` as in a shell, over a whole tag.
fn glob_match(pattern: &str, s: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => {
                go(p.get(1..).unwrap_or_default(), s) || (!s.is_empty() && go(p, s.get(1..).unwrap_or_default()))
            }
            (Some(b'?'), Some(_)) => go(p.get(1..).unwrap_or_default(), s.get(1..).unwrap_or_default()),
            (Some(a), Some(b)) if a == b => go(p.get(1..).unwrap_or_default(), s.get(1..).unwrap_or_default()),
            _ => false,
        }
    }
    go(pattern.as_bytes(), s.as_bytes())
}

fn render(template: &str, repo: &str, tag: &str) -> String {
    template.replace("{repo}", repo).replace("{tag}", tag)
}

/// The manifests and blobs under one root, walked on the source.
#[derive(Default)]
struct Walked {
    manifests: Vec<PlannedManifest>,
    blobs: Vec<(String, u64)>,
}

async fn walk(
    source: &Target<'_>,
    repo: &str,
    digest: &Digest,
    size: u64,
    platform: Option<String>,
    depth: usize,
    out: &mut Walked,
) -> Result<(), WorkflowError> {
    if depth > MAX_INDEX_DEPTH {
        return Err(WorkflowError::invalid(
            format!("{repo}@{digest}: indexes nested more than {MAX_INDEX_DEPTH} deep"),
            "the image is malformed; it is not copied",
        ));
    }
    let Some(m) = source.client().get_manifest(repo, &Reference::Digest(digest.clone())).await? else {
        return Err(WorkflowError::invalid(
            format!("{repo}@{digest} is not on the source (any more)"),
            "sync the source profile and plan again",
        ));
    };
    match &m.manifest {
        Manifest::Schema1(_) => return Err(WorkflowError::invalid(
            format!("{repo}@{digest} is a Docker schema1 manifest"),
            "schema1 is signed for its repository and deprecated: push the image again as schema2 or OCI, then copy it",
        )),
        Manifest::Image(im) => {
            let mut seen = BTreeSet::new();
            for d in std::iter::once(&im.config).chain(im.layers.iter()) {
                if seen.insert(d.digest.to_string()) && !out.blobs.iter().any(|(b, _)| b == d.digest.as_str()) {
                    out.blobs.push((d.digest.to_string(), d.size));
                }
            }
        }
        Manifest::Index(ix) => {
            for child in &ix.manifests {
                if out.manifests.iter().any(|p| p.digest == child.digest.as_str()) {
                    continue;
                }
                let plat = child.platform.as_ref().map(|p| p.to_string());
                Box::pin(walk(source, repo, &child.digest, child.size, plat, depth + 1, out)).await?;
            }
        }
    }
    let size = if size == 0 { m.bytes.len() as u64 } else { size };
    out.manifests.push(PlannedManifest {
        digest: m.digest.to_string(),
        media_type: m.media_type.clone(),
        size,
        platform,
    });
    Ok(())
}

/// Plans a copy from `source` to `target` (the same profile for a retag). Reads both registries;
/// writes nothing (a push probe opens and cancels an upload session on the target).
pub async fn plan_copy(
    source: Target<'_>,
    target: Target<'_>,
    request: &CopyRequest,
    cancel: &CancellationToken,
) -> Result<CopyPlan, WorkflowError> {
    if request.sources.is_empty() {
        return Err(WorkflowError::invalid("nothing to copy", "name at least one REPO:TAG"));
    }
    let repo_template = request.target_repository.clone().filter(|s| !s.trim().is_empty()).unwrap_or("{repo}".into());
    let tag_template = request.target_tag.clone().filter(|s| !s.trim().is_empty()).unwrap_or("{tag}".into());
    let same_registry = source.client().base_url() == target.client().base_url();

    // Resolve every source reference on the source registry (live, not from the cache).
    let mut sources: Vec<Source> = Vec::new();
    let mut tag_lists: HashMap<String, Vec<String>> = HashMap::new();
    for s in &request.sources {
        let (repo, tag, digest) = parse_source(s)?;
        if let Some(d) = digest {
            sources.push(Source { repo, reference: d, tag: None });
            continue;
        }
        let is_pattern = tag.as_deref().is_none_or(|t| t.contains('*') || t.contains('?'));
        if is_pattern {
            if !tag_lists.contains_key(&repo) {
                tag_lists.insert(repo.clone(), source.client().tags(&repo).await?);
            }
            let pattern = tag.unwrap_or_else(|| "*".into());
            let tags = tag_lists.get(&repo).cloned().unwrap_or_default();
            let matched: Vec<String> = tags
                .into_iter()
                .filter(|t| glob_match(&pattern, t))
                // cosign tags travel with their subject (--with-referrers), not as images of their own
                .filter(|t| !(t.starts_with("sha256-") && pattern == "*"))
                .collect();
            if matched.is_empty() {
                return Err(WorkflowError::invalid(
                    format!("no tag of {repo} matches {pattern:?} on {}", source.profile),
                    "check the repository and the pattern (the source's tags are listed live)",
                ));
            }
            for t in matched {
                sources.push(Source { repo: repo.clone(), reference: t.clone(), tag: Some(t) });
            }
        } else if let Some(t) = tag {
            if !berth_registry::valid_tag(&t) {
                return Err(WorkflowError::invalid(
                    format!("invalid tag {t:?}"),
                    "tags are up to 128 of A-Z a-z 0-9 _ . -",
                ));
            }
            sources.push(Source { repo, reference: t.clone(), tag: Some(t) });
        }
    }

    let mut plan = CopyPlan {
        source_profile: source.profile.to_string(),
        target_profile: target.profile.to_string(),
        same_registry,
        request: request.clone(),
        images: Vec::new(),
        refused: Vec::new(),
        bytes_to_send: 0,
        blobs_to_send: 0,
        blobs_present: 0,
        blobs_to_mount: 0,
        notes: Vec::new(),
    };
    let mut blocked: HashMap<String, Option<(String, String)>> = HashMap::new();
    // (target repo, blob) → action, decided once per plan.
    let mut decided: HashMap<(String, String), BlobAction> = HashMap::new();
    let mut targets_seen: BTreeSet<(String, String)> = BTreeSet::new();

    // What each source needs from the network, fetched for several sources at once (in order): its
    // manifest head and walk on the source, and the target tag's state (used only once the target
    // repository is known not to be blocked: an account without pull there gets a refusal, not an error).
    let (source_ref, target_ref) = (&source, &target);
    let (repo_t, tag_t) = (repo_template.as_str(), tag_template.as_str());
    let prefetches: Vec<PrefetchFuture<'_>> = sources
        .iter()
        .map(|src| -> PrefetchFuture<'_> { Box::pin(prefetch(source_ref, target_ref, src, repo_t, tag_t, request)) })
        .collect();
    let prefetched: Vec<Prefetched> = futures::stream::iter(prefetches).buffered(PLAN_CONCURRENCY).collect().await;
    for (src, pre) in sources.into_iter().zip(prefetched) {
        if cancel.is_cancelled() {
            return Err(WorkflowError::Cancelled);
        }
        let asked = match &src.tag {
            Some(t) => format!("{}:{t}", src.repo),
            None => format!("{}@{}", src.repo, src.reference),
        };
        let Some(head) = pre.head? else {
            plan.refused.push(CopyRefusal {
                reference: asked,
                reason: format!("not on {}", source.profile),
                hint: "check the name, or sync the source profile to see what it has".into(),
            });
            continue;
        };
        let target_repo = render(&repo_template, &src.repo, src.tag.as_deref().unwrap_or(""));
        if let Err(e) = berth_registry::validate_repo(&target_repo) {
            return Err(WorkflowError::invalid(format!("target repository {target_repo:?}: {}", e.message), e.hint));
        }
        let target_tag = match &src.tag {
            Some(t) => Some(render(&tag_template, &src.repo, t)),
            None => request.target_tag.clone().filter(|t| !t.contains("{tag}") && !t.trim().is_empty()),
        };
        if let Some(t) = &target_tag {
            if !berth_registry::valid_tag(t) {
                return Err(WorkflowError::invalid(
                    format!("target tag {t:?} is not a valid tag"),
                    "tags are up to 128 of A-Z a-z 0-9 _ . -",
                ));
            }
        }
        let target_ref = match &target_tag {
            Some(t) => format!("{target_repo}:{t}"),
            None => format!("{target_repo}@{}", head.digest),
        };
        if !targets_seen.insert((target_repo.clone(), target_tag.clone().unwrap_or_else(|| head.digest.to_string()))) {
            plan.refused.push(CopyRefusal {
                reference: asked,
                reason: format!("{target_ref} is the target of another source in this copy"),
                hint: "use a tag template with {tag} so each source gets its own tag".into(),
            });
            continue;
        }
        if !blocked.contains_key(&target_repo) {
            blocked.insert(target_repo.clone(), target.backend.push_blocked(&target_repo).await?);
        }
        if let Some(Some((why, hint))) = blocked.get(&target_repo) {
            plan.refused.push(CopyRefusal {
                reference: asked,
                reason: format!("{why}: nothing will be sent to {target_ref}"),
                hint: hint.clone(),
            });
            continue;
        }
        // The target tag's state now.
        let tag_action = match &target_tag {
            None => TagAction::Untagged,
            Some(_) => match pre.target_head.ok_or_else(|| WorkflowError::invalid("no target state", ""))?? {
                None => TagAction::Create,
                Some(h) if h.digest == head.digest => TagAction::Same,
                Some(h) => TagAction::Overwrite { previous: h.digest.to_string() },
            },
        };
        if let TagAction::Overwrite { previous } = &tag_action {
            if !request.overwrite {
                plan.refused.push(CopyRefusal {
                    reference: asked,
                    reason: format!(
                        "{target_ref} exists on {} and points at another image ({previous})",
                        target.profile
                    ),
                    hint: "choose overwrite to move the tag, or give another target tag".into(),
                });
                continue;
            }
        }
        let walked = match pre.walked.ok_or_else(|| WorkflowError::invalid("no walk", ""))? {
            Ok(w) => w,
            Err(WorkflowError::Invalid { message, hint }) => {
                plan.refused.push(CopyRefusal { reference: asked, reason: message, hint });
                continue;
            }
            Err(other) => return Err(other),
        };
        let same_repo = same_registry && src.repo == target_repo;
        let blobs =
            decide_blobs(&target, &src.repo, &target_repo, same_registry, same_repo, &walked.blobs, &mut decided)
                .await?;
        let mut referrers = Vec::new();
        if request.with_referrers {
            referrers = plan_referrers(
                &source,
                &target,
                &src.repo,
                &target_repo,
                &head.digest,
                same_registry,
                &mut tag_lists,
                &mut decided,
            )
            .await?;
        }
        let bytes: u64 = blobs
            .iter()
            .chain(referrers.iter().flat_map(|r| r.blobs.iter()))
            .filter(|b| b.action == BlobAction::Send)
            .map(|b| b.size)
            .fold(0u64, u64::saturating_add);
        plan.images.push(PlannedCopy {
            source_repository: src.repo.clone(),
            source_reference: src.reference.clone(),
            digest: head.digest.to_string(),
            media_type: head.media_type.clone(),
            target_repository: target_repo,
            target_tag,
            tag_action,
            manifests: walked.manifests,
            blobs,
            referrers,
            bytes_to_send: bytes,
        });
    }
    // Totals over unique blobs: a blob counted "send" for the first image that needs it.
    for img in &plan.images {
        for b in img.blobs.iter().chain(img.referrers.iter().flat_map(|r| r.blobs.iter())) {
            match b.action {
                BlobAction::Send => {
                    plan.blobs_to_send += 1;
                    plan.bytes_to_send = plan.bytes_to_send.saturating_add(b.size);
                }
                BlobAction::Present => plan.blobs_present += 1,
                BlobAction::Mount { .. } => plan.blobs_to_mount += 1,
            }
        }
    }
    if same_registry && plan.bytes_to_send == 0 && !plan.images.is_empty() {
        plan.notes.push("source and target are the same registry: no blob is sent".into());
    }
    Ok(plan)
}

/// Sources resolved at once while planning.
const PLAN_CONCURRENCY: usize = 8;

/// The network reads one source needs for its plan, done ahead of the (sequential) decisions.
struct Prefetched {
    head: Result<Option<berth_registry::ManifestHead>, WorkflowError>,
    walked: Option<Result<Walked, WorkflowError>>,
    target_head: Option<Result<Option<berth_registry::ManifestHead>, WorkflowError>>,
}

async fn prefetch(
    source: &Target<'_>,
    target: &Target<'_>,
    src: &Source,
    repo_template: &str,
    tag_template: &str,
    request: &CopyRequest,
) -> Prefetched {
    let reference = match &src.tag {
        Some(t) => Reference::Tag(t.clone()),
        None => match Digest::parse(&src.reference) {
            Some(d) => Reference::Digest(d),
            None => {
                return Prefetched {
                    head: Err(WorkflowError::invalid("bad digest", "")),
                    walked: None,
                    target_head: None,
                }
            }
        },
    };
    let head = match source.client().head_manifest(&src.repo, &reference).await {
        Ok(Some(h)) => h,
        other => return Prefetched { head: other.map_err(Into::into), walked: None, target_head: None },
    };
    let mut walked = Walked::default();
    let walk_result = walk(source, &src.repo, &head.digest, head.size, None, 0, &mut walked).await.map(|()| walked);
    let target_repo = render(repo_template, &src.repo, src.tag.as_deref().unwrap_or(""));
    let target_tag = match &src.tag {
        Some(t) => Some(render(tag_template, &src.repo, t)),
        None => request.target_tag.clone().filter(|t| !t.contains("{tag}") && !t.trim().is_empty()),
    };
    let target_head = match &target_tag {
        Some(t) if berth_registry::validate_repo(&target_repo).is_ok() && berth_registry::valid_tag(t) => Some(
            target.client().head_manifest(&target_repo, &Reference::Tag(t.clone())).await.map_err(WorkflowError::from),
        ),
        _ => None,
    };
    Prefetched { head: Ok(Some(head)), walked: Some(walk_result), target_head }
}

/// Decides per blob: present on the target, mountable there, or to send. A blob decided for an
/// earlier image of the plan is not counted again (it is present by the time this image's turn comes).
#[allow(clippy::too_many_arguments)]
async fn decide_blobs(
    target: &Target<'_>,
    source_repo: &str,
    target_repo: &str,
    same_registry: bool,
    same_repo: bool,
    blobs: &[(String, u64)],
    decided: &mut HashMap<(String, String), BlobAction>,
) -> Result<Vec<PlannedBlob>, WorkflowError> {
    let mut out = Vec::new();
    let unknown: Vec<String> = blobs
        .iter()
        .filter(|(d, _)| !decided.contains_key(&(target_repo.to_string(), d.clone())))
        .map(|(d, _)| d.clone())
        .collect();
    let homes = if same_registry || unknown.is_empty() {
        HashMap::new()
    } else {
        target.store.blob_repositories(target.profile_id, &unknown).await?
    };
    for (digest, size) in blobs {
        let key = (target_repo.to_string(), digest.clone());
        if decided.contains_key(&key) {
            // Sent or mounted for an earlier image: present by now.
            out.push(PlannedBlob { digest: digest.clone(), size: *size, action: BlobAction::Present });
            continue;
        }
        let action = if same_repo {
            // The manifest is in this very repository: so are its blobs.
            BlobAction::Present
        } else {
            let d =
                Digest::parse(digest).ok_or_else(|| WorkflowError::invalid(format!("bad blob digest {digest}"), ""))?;
            if target.client().head_blob(target_repo, &d).await?.is_some() {
                BlobAction::Present
            } else if same_registry {
                BlobAction::Mount { from: source_repo.to_string() }
            } else if let Some(from) = decided.iter().find_map(|((r, d), a)| match a {
                _ if d != digest || r == target_repo => None,
                BlobAction::Send => Some(r.clone()),
                BlobAction::Mount { from } if from != target_repo => Some(from.clone()),
                _ => None,
            }) {
                // Sent to another repository of the target earlier in this copy: mounted from there
                // once that upload is done.
                BlobAction::Mount { from }
            } else if let Some(from) = homes.get(digest).and_then(|r| r.iter().find(|r| r.as_str() != target_repo)) {
                BlobAction::Mount { from: from.clone() }
            } else {
                BlobAction::Send
            }
        };
        decided.insert(key, action.clone());
        out.push(PlannedBlob { digest: digest.clone(), size: *size, action });
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
async fn plan_referrers(
    source: &Target<'_>,
    target: &Target<'_>,
    source_repo: &str,
    target_repo: &str,
    subject: &Digest,
    same_registry: bool,
    tag_lists: &mut HashMap<String, Vec<String>>,
    decided: &mut HashMap<(String, String), BlobAction>,
) -> Result<Vec<CopyReferrer>, WorkflowError> {
    let mut out = Vec::new();
    let same_repo = same_registry && source_repo == target_repo;
    let found = source.client().referrers(source_repo, subject).await?;
    let mut descriptors: Vec<Descriptor> = found.descriptors;
    descriptors.sort_by(|a, b| a.digest.as_str().cmp(b.digest.as_str()));
    descriptors.dedup_by(|a, b| a.digest == b.digest);
    for d in &descriptors {
        let mut walked = Walked::default();
        walk(source, source_repo, &d.digest, d.size, None, 0, &mut walked).await?;
        let blobs =
            decide_blobs(target, source_repo, target_repo, same_registry, same_repo, &walked.blobs, decided).await?;
        out.push(CopyReferrer {
            digest: d.digest.to_string(),
            kind: d.artifact_type.clone().unwrap_or_else(|| d.media_type.clone()),
            tag: None,
            manifests: walked.manifests,
            blobs,
        });
    }
    // cosign's tags (`sha256-<hex>.sig`, `.att`, `.sbom`).
    if !tag_lists.contains_key(source_repo) {
        tag_lists.insert(source_repo.to_string(), source.client().tags(source_repo).await?);
    }
    let tags = tag_lists.get(source_repo).cloned().unwrap_or_default();
    for t in berth_registry::cosign_tags(&tags, subject) {
        let Some(h) = source.client().head_manifest(source_repo, &Reference::Tag(t.to_string())).await? else {
            continue;
        };
        let mut walked = Walked::default();
        walk(source, source_repo, &h.digest, h.size, None, 0, &mut walked).await?;
        let blobs =
            decide_blobs(target, source_repo, target_repo, same_registry, same_repo, &walked.blobs, decided).await?;
        let kind = t.rsplit('.').next().map(|s| format!("cosign {s}")).unwrap_or_else(|| "cosign".into());
        out.push(CopyReferrer {
            digest: h.digest.to_string(),
            kind,
            tag: Some(t.to_string()),
            manifests: walked.manifests,
            blobs,
        });
    }
    Ok(out)
}

/// Executes a plan: blobs first (bounded concurrency, each read again from the source and verified
/// on the way), then manifests children first, then tags (each re-checked: a target tag that moved
/// since the plan is not overwritten without consent), then referrers; then every copied tag is
/// checked on the target and every image audited. Resumable: blobs the target already has are not
/// sent again.
pub async fn execute_copy(
    source: Target<'_>,
    target: Target<'_>,
    plan: &CopyPlan,
    cancel: &CancellationToken,
    progress: &(dyn Fn(&CopyProgress) + Send + Sync),
) -> Result<CopyReport, WorkflowError> {
    let operation = operation_id("copy");
    let mut report = CopyReport {
        operation: operation.clone(),
        results: Vec::new(),
        blobs_sent: 0,
        bytes_sent: 0,
        blobs_present: 0,
        blobs_mounted: 0,
        verified: false,
        cancelled: false,
    };
    // Unique (target repo, blob) work, in plan order.
    let mut work: Vec<(String, String, u64, BlobAction, String)> = Vec::new();
    let mut queued: BTreeSet<(String, String)> = BTreeSet::new();
    for img in &plan.images {
        for b in img.blobs.iter().chain(img.referrers.iter().flat_map(|r| r.blobs.iter())) {
            if b.action != BlobAction::Present && queued.insert((img.target_repository.clone(), b.digest.clone())) {
                work.push((
                    img.target_repository.clone(),
                    b.digest.clone(),
                    b.size,
                    b.action.clone(),
                    img.source_repository.clone(),
                ));
            }
        }
    }
    let bytes_total: u64 = work.iter().filter(|w| w.3 == BlobAction::Send).map(|w| w.2).fold(0, u64::saturating_add);
    let sent = Arc::new(AtomicU64::new(0));
    let mut state = CopyProgress {
        phase: "blobs".into(),
        images_total: plan.images.len(),
        blobs_total: work.len(),
        bytes_total,
        ..Default::default()
    };
    progress(&state);

    // Blobs.
    let mut failed_blobs: BTreeMap<(String, String), String> = BTreeMap::new();
    {
        // Mounts from a repository this copy writes wait for the uploads to it (a second wave).
        let sending: BTreeSet<(String, String)> =
            work.iter().filter(|w| w.3 == BlobAction::Send).map(|w| (w.0.clone(), w.1.clone())).collect();
        let (later, first): (Vec<_>, Vec<_>) = work.iter().partition(|w| match &w.3 {
            BlobAction::Mount { from } => sending.contains(&(from.clone(), w.1.clone())),
            _ => false,
        });
        'waves: for wave in [first, later] {
            let futures: Vec<BlobFuture<'_>> = wave
                .into_iter()
                .map(|(repo, digest, size, action, from_repo)| -> BlobFuture<'_> {
                    let sent = sent.clone();
                    Box::pin(async move {
                        let r =
                            transfer_blob(&source, &target, from_repo, repo, digest, *size, action, sent, cancel).await;
                        (repo.clone(), digest.clone(), r)
                    })
                })
                .collect();
            let mut stream = futures::stream::iter(futures).buffer_unordered(COPY_CONCURRENCY);
            let mut ticker = tokio::time::interval(Duration::from_millis(250));
            loop {
                tokio::select! {
                    next = stream.next() => match next {
                        Some((repo, digest, done)) => {
                            state.blobs_done += 1;
                            match done {
                                Ok(Transferred::Sent) => report.blobs_sent += 1,
                                Ok(Transferred::Present) => report.blobs_present += 1,
                                Ok(Transferred::Mounted) => report.blobs_mounted += 1,
                                Err(e) => {
                                    failed_blobs.insert((repo, digest), e);
                                }
                            }
                            state.bytes_done = sent.load(Ordering::Relaxed);
                            progress(&state);
                        }
                        None => break,
                    },
                    _ = ticker.tick() => {
                        state.bytes_done = sent.load(Ordering::Relaxed);
                        progress(&state);
                    }
                    _ = cancel.cancelled() => {
                        report.cancelled = true;
                        break 'waves;
                    }
                }
            }
        }
    }
    report.bytes_sent = sent.load(Ordering::Relaxed);

    // Manifests and tags, image by image.
    state.phase = "manifests".into();
    progress(&state);
    let cancelled_before = report.cancelled;
    let outcomes: Vec<Result<String, (&'static str, String)>> = {
        let failed_blobs = &failed_blobs;
        let work: Vec<ManifestFuture<'_>> = plan
            .images
            .iter()
            .map(|img| -> ManifestFuture<'_> {
                Box::pin(async move {
                    if cancelled_before || cancel.is_cancelled() {
                        return Err((
                            "skipped",
                            "cancelled before this image: run the copy again to finish it (sent blobs are not sent again)"
                                .to_string(),
                        ));
                    }
                    if let Some(((_, d), e)) = failed_blobs.iter().find(|((r, d), _)| {
                        r == &img.target_repository
                            && (img.blobs.iter().any(|b| &b.digest == d)
                                || img.referrers.iter().any(|x| x.blobs.iter().any(|b| &b.digest == d)))
                    }) {
                        return Err(("failed", format!("blob {d}: {e}")));
                    }
                    copy_manifests(&source, &target, plan, img).await
                })
            })
            .collect();
        let mut stream = futures::stream::iter(work).buffered(PLAN_CONCURRENCY);
        let mut out = Vec::new();
        while let Some(o) = stream.next().await {
            state.images_done += 1;
            progress(&state);
            out.push(o);
        }
        out
    };
    for (img, outcome) in plan.images.iter().zip(outcomes) {
        let source_ref =
            match img.source_reference.starts_with("sha256:") || img.source_reference.starts_with("sha512:") {
                true => format!("{}/{}@{}", plan.source_profile, img.source_repository, img.source_reference),
                false => format!("{}/{}:{}", plan.source_profile, img.source_repository, img.source_reference),
            };
        let target_ref = match &img.target_tag {
            Some(t) => format!("{}:{t}", img.target_repository),
            None => format!("{}@{}", img.target_repository, img.digest),
        };
        if outcome.as_ref().is_err_and(|(r, _)| *r == "skipped") && cancel.is_cancelled() {
            report.cancelled = true;
        }
        let (result, message) = match outcome {
            Ok(m) => ("copied", m),
            Err((r, m)) => (r, m),
        };
        let action = if plan.same_registry { "retag" } else { "copy" };
        target
            .store
            .add_audit(&NewAudit {
                profile_id: target.profile_id,
                profile_name: target.profile,
                operation: &operation,
                action,
                repository: Some(&img.target_repository),
                target: &target_ref,
                digest: Some(&img.digest),
                result: if result == "copied" { "ok" } else { result },
                message: Some(&format!("from {source_ref}: {message}")),
            })
            .await?;
        report.results.push(CopyResult {
            source: source_ref,
            target: target_ref,
            digest: img.digest.clone(),
            result: result.into(),
            message,
        });
    }

    // Verify on the target: every copied tag (or digest) resolves to the source digest.
    state.phase = "verify".into();
    progress(&state);
    let target_ref = &target;
    let verifications: Vec<VerifyFuture<'_>> = plan
        .images
        .iter()
        .zip(report.results.iter())
        .map(|(img, res)| -> VerifyFuture<'_> {
            let copied = res.result == "copied";
            Box::pin(async move {
                if !copied {
                    return Ok(None);
                }
                let reference = match &img.target_tag {
                    Some(t) => Reference::Tag(t.clone()),
                    None => match Digest::parse(&img.digest) {
                        Some(d) => Reference::Digest(d),
                        None => return Ok(None),
                    },
                };
                target_ref.client().head_manifest(&img.target_repository, &reference).await
            })
        })
        .collect();
    let checks: Vec<Result<Option<berth_registry::ManifestHead>, berth_registry::Error>> =
        futures::stream::iter(verifications).buffered(PLAN_CONCURRENCY).collect().await;
    let mut verified = true;
    for ((img, res), check) in plan.images.iter().zip(report.results.iter_mut()).zip(checks) {
        if res.result != "copied" {
            continue;
        }
        match check? {
            Some(h) if h.digest.as_str() == img.digest => {}
            other => {
                verified = false;
                res.result = "failed".into();
                res.message = format!(
                    "the target answers {} for {}, not the source digest",
                    other.map(|h| h.digest.to_string()).unwrap_or_else(|| "nothing".into()),
                    res.target
                );
            }
        }
    }
    report.verified = verified && !report.results.is_empty() && report.results.iter().all(|r| r.result == "copied");
    // The target's cache learns the new tags at once.
    let repos: Vec<String> =
        plan.images.iter().map(|i| i.target_repository.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    if !repos.is_empty() {
        let _ = berth_sync::refresh_repositories(
            target.store,
            target.profile_id,
            target.client(),
            &repos,
            &CancellationToken::new(),
        )
        .await;
    }
    Ok(report)
}

type PrefetchFuture<'f> = std::pin::Pin<Box<dyn std::future::Future<Output = Prefetched> + Send + 'f>>;

type VerifyFuture<'f> = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<Option<berth_registry::ManifestHead>, berth_registry::Error>>
            + Send
            + 'f,
    >,
>;

type ManifestFuture<'f> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, (&'static str, String)>> + Send + 'f>>;

type BlobFuture<'f> =
    std::pin::Pin<Box<dyn std::future::Future<Output = (String, String, Result<Transferred, String>)> + Send + 'f>>;

enum Transferred {
    Sent,
    Present,
    Mounted,
}

#[allow(clippy::too_many_arguments)]
async fn transfer_blob(
    source: &Target<'_>,
    target: &Target<'_>,
    source_repo: &str,
    repo: &str,
    digest: &str,
    size: u64,
    action: &BlobAction,
    sent: Arc<AtomicU64>,
    cancel: &CancellationToken,
) -> Result<Transferred, String> {
    let d = Digest::parse(digest).ok_or_else(|| format!("bad digest {digest}"))?;
    let tc = target.client();
    // Someone (an earlier, interrupted run) may have sent it since the plan.
    if tc.head_blob(repo, &d).await.map_err(|e| e.message)?.is_some() {
        return Ok(Transferred::Present);
    }
    if let BlobAction::Mount { from } = action {
        if tc.mount_blob(repo, &d, from).await.map_err(|e| e.message)? {
            return Ok(Transferred::Mounted);
        }
    }
    let mut mode = UploadMode::Monolithic;
    let mut attempt = 0;
    loop {
        attempt += 1;
        // This attempt's own bytes: taken back from the total when it fails (only what reached the
        // target counts as sent).
        let meter = SendMeter::new(sent.clone());
        let run = async {
            let reader = source.client().open_blob(source_repo, &d).await?;
            tc.push_blob(repo, &d, size, reader, mode, meter.clone()).await
        };
        let r = tokio::select! {
            r = run => r,
            _ = cancel.cancelled() => {
                meter.abandon();
                return Err("cancelled".into());
            }
        };
        match r {
            Ok(()) => return Ok(Transferred::Sent),
            Err(e) if e.kind == ErrorKind::ProxyBodyTooLarge || e.status == Some(413) => {
                // A proxy's body limit (nginx's 1 MiB default): chunks, smaller until they pass.
                meter.abandon();
                mode = match mode {
                    UploadMode::Monolithic => UploadMode::Chunked(DEFAULT_UPLOAD_CHUNK),
                    UploadMode::Chunked(n) if n > MIN_UPLOAD_CHUNK => UploadMode::Chunked(n / 4),
                    UploadMode::Chunked(_) => return Err(format!("{} ({})", e.message, e.hint)),
                };
                attempt -= 1;
            }
            Err(e)
                if attempt < BLOB_ATTEMPTS
                    && matches!(
                        e.kind,
                        ErrorKind::ConnectionLost | ErrorKind::Timeout | ErrorKind::Server | ErrorKind::TooManyRequests
                    ) =>
            {
                meter.abandon();
                tokio::time::sleep(Duration::from_millis(250 * u64::from(attempt))).await;
                if tc.head_blob(repo, &d).await.map_err(|e| e.message)?.is_some() {
                    return Ok(Transferred::Present);
                }
            }
            Err(e) => {
                meter.abandon();
                return Err(format!("{} ({})", e.message, e.hint));
            }
        }
    }
}

/// PUTs an image's manifests (children first) and its tag, then its referrers. `Err((result, why))`.
async fn copy_manifests(
    source: &Target<'_>,
    target: &Target<'_>,
    plan: &CopyPlan,
    img: &PlannedCopy,
) -> Result<String, (&'static str, String)> {
    let err = |e: berth_registry::Error| ("failed", format!("{} ({})", e.message, e.hint));
    let tc = target.client();
    let same_repo = plan.same_registry && img.source_repository == img.target_repository;
    // The tag's state now: moved since the plan?
    if let Some(t) = &img.target_tag {
        let now = tc.head_manifest(&img.target_repository, &Reference::Tag(t.clone())).await.map_err(err)?;
        match (&img.tag_action, now) {
            (_, Some(h)) if h.digest.as_str() == img.digest => {
                if img.referrers.is_empty() {
                    return Ok("the tag already points at this image".into());
                }
            }
            (TagAction::Overwrite { previous }, Some(h)) if h.digest.as_str() == previous => {}
            (TagAction::Create, None) => {}
            (_, now) => {
                return Err((
                    "skipped",
                    format!(
                        "{}:{t} changed on the target since the plan (now {}): not overwritten; plan again",
                        img.target_repository,
                        now.map(|h| h.digest.to_string()).unwrap_or_else(|| "absent".into())
                    ),
                ))
            }
        }
    }
    let (last, children) = img.manifests.split_last().ok_or(("failed", "no manifest in the plan".to_string()))?;
    if !same_repo {
        for m in children {
            put_by_digest(source, target, &img.source_repository, &img.target_repository, m).await.map_err(err)?;
        }
    }
    let root = fetch(source, &img.source_repository, &last.digest).await.map_err(err)?;
    let reference = img.target_tag.clone().unwrap_or_else(|| img.digest.clone());
    let stored =
        tc.put_manifest_stored(&img.target_repository, &reference, &root.media_type, &root.bytes).await.map_err(err)?;
    if stored.digest.as_str() != img.digest {
        return Err(("failed", format!("the target stored the manifest as {}, not {}", stored.digest, img.digest)));
    }
    // Referrers: each by digest (cosign's under their tag), then the fallback index where needed.
    let mut unindexed: Vec<Descriptor> = Vec::new();
    for r in &img.referrers {
        let (rlast, rchildren) = match r.manifests.split_last() {
            Some(x) => x,
            None => continue,
        };
        for m in rchildren {
            put_by_digest(source, target, &img.source_repository, &img.target_repository, m).await.map_err(err)?;
        }
        let f = fetch(source, &img.source_repository, &rlast.digest).await.map_err(err)?;
        let reference = r.tag.clone().unwrap_or_else(|| r.digest.clone());
        let s =
            tc.put_manifest_stored(&img.target_repository, &reference, &f.media_type, &f.bytes).await.map_err(err)?;
        if r.tag.is_none() && !s.subject_processed {
            let artifact_type = match &f.manifest {
                Manifest::Image(im) => im.artifact_type.clone().or_else(|| Some(im.config.media_type.clone())),
                Manifest::Index(ix) => ix.artifact_type.clone(),
                Manifest::Schema1(_) => None,
            };
            unindexed.push(Descriptor {
                media_type: f.media_type.clone(),
                digest: f.digest.clone(),
                size: f.bytes.len() as u64,
                platform: None,
                artifact_type,
                annotations: Default::default(),
            });
        }
    }
    if !unindexed.is_empty() {
        update_fallback_index(target, &img.target_repository, &img.digest, unindexed).await.map_err(err)?;
    }
    let n = img.referrers.len();
    Ok(match (plan.same_registry, n) {
        (true, 0) => "tagged (no blob moved)".into(),
        (true, n) => format!("tagged with {n} referrer(s) (no blob moved)"),
        (false, 0) => "copied".into(),
        (false, n) => format!("copied with {n} referrer(s)"),
    })
}

async fn fetch(
    source: &Target<'_>,
    repo: &str,
    digest: &str,
) -> Result<berth_registry::FetchedManifest, berth_registry::Error> {
    let d = Digest::parse(digest)
        .ok_or_else(|| berth_registry::Error::new(ErrorKind::Protocol, format!("bad digest {digest}"), "plan again"))?;
    source.client().get_manifest(repo, &Reference::Digest(d)).await?.ok_or_else(|| {
        berth_registry::Error::new(
            ErrorKind::NotFound,
            format!("{repo}@{digest} is gone from the source since the plan"),
            "sync the source and plan again",
        )
    })
}

async fn put_by_digest(
    source: &Target<'_>,
    target: &Target<'_>,
    source_repo: &str,
    target_repo: &str,
    m: &PlannedManifest,
) -> Result<(), berth_registry::Error> {
    let d = Digest::parse(&m.digest)
        .ok_or_else(|| berth_registry::Error::new(ErrorKind::Protocol, format!("bad digest {}", m.digest), ""))?;
    if target.client().head_manifest(target_repo, &Reference::Digest(d)).await?.is_some() {
        return Ok(());
    }
    let f = fetch(source, source_repo, &m.digest).await?;
    target.client().put_manifest_stored(target_repo, &m.digest, &f.media_type, &f.bytes).await?;
    Ok(())
}

/// Adds referrers to the target's `sha256-<hex>` fallback index (kept beside what it lists already),
/// for a target without the referrers API.
async fn update_fallback_index(
    target: &Target<'_>,
    repo: &str,
    subject: &str,
    add: Vec<Descriptor>,
) -> Result<(), berth_registry::Error> {
    let subject = Digest::parse(subject)
        .ok_or_else(|| berth_registry::Error::new(ErrorKind::Protocol, format!("bad digest {subject}"), ""))?;
    let tag = subject.referrers_tag();
    let mut manifests: Vec<Descriptor> = match target.client().get_manifest(repo, &Reference::Tag(tag.clone())).await? {
        Some(f) => match f.manifest {
            Manifest::Index(ix) => ix.manifests,
            _ => Vec::new(),
        },
        None => Vec::new(),
    };
    let before = manifests.len();
    for d in add {
        if !manifests.iter().any(|m| m.digest == d.digest) {
            manifests.push(d);
        }
    }
    if manifests.len() == before {
        return Ok(());
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_INDEX,
        "manifests": manifests,
    });
    let bytes = serde_json::to_vec(&index).unwrap_or_default();
    target.client().put_manifest(repo, &tag, media::OCI_INDEX, &bytes).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_references_parse() {
        assert_eq!(parse_source("team/app:1.4").unwrap(), ("team/app".into(), Some("1.4".into()), None));
        assert_eq!(parse_source("team/app").unwrap(), ("team/app".into(), None, None));
        assert_eq!(parse_source("team/app:v1.*").unwrap(), ("team/app".into(), Some("v1.*".into()), None));
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(parse_source(&format!("app@{d}")).unwrap(), ("app".into(), None, Some(d)));
        assert!(parse_source("Team/App:1").is_err());
        assert!(parse_source("app@sha256:nothex").is_err());
    }

    #[test]
    fn globs_match_whole_tags() {
        assert!(glob_match("v1.*", "v1.2"));
        assert!(!glob_match("v1.*", "v2.1"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("1.?", "1.4"));
        assert!(!glob_match("1.?", "1.41"));
        assert_eq!(render("mirror/{repo}", "team/app", "1"), "mirror/team/app");
        assert_eq!(render("{tag}-prod", "a", "1.4"), "1.4-prod");
    }
}
