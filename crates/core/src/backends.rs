//! Harbor and Nexus profiles: their APIs behind the same profiles, sync and browse flows as a
//! registry:2 profile.
//!
//! * Harbor: the sync takes its repositories from the projects API (robots and ordinary users
//!   cannot list `/v2/_catalog`); projects with quotas; deletes of a tag or an artifact through the
//!   API (412 explained).
//! * Nexus: a server profile discovers its docker repositories and gets one child profile per
//!   repository (`<server>-<repository>`, URL = the connector port or path route, same
//!   credentials); syncing the server profile discovers and syncs every child. Deletes go through
//!   the components API; blob stores show the space used.

use serde::Serialize;
use ts_rs::TS;

use crate::profiles::{self, Changes};
use crate::{ApiError, Berth, ErrorCode, ProfileView};

/// A Harbor project with its quota, as far as the profile's account may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct HarborProjectView {
    pub name: String,
    pub public: bool,
    #[ts(type = "number")]
    pub repo_count: u64,
    /// Bytes counted against the project's quota; `null`: not visible to this account.
    #[ts(type = "number | null")]
    pub quota_used: Option<u64>,
    /// `null`: unlimited (or not visible: see `quota_used`).
    #[ts(type = "number | null")]
    pub quota_limit: Option<u64>,
    /// The account's role in the project (`developer`, `limited guest`, …); `null`: not a member.
    pub role: Option<String>,
    /// What the account may do here (`pull, push, delete`); `null`: not readable.
    pub rights: Option<String>,
    pub can_delete: Option<bool>,
    /// What this account may not see here, each with the role or permission that would show it.
    pub hidden: Vec<String>,
}

/// A tag of a Harbor artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct HarborTagView {
    pub name: String,
    /// Protected by a tag immutability rule (deletes refused).
    pub immutable: bool,
    pub push_time: Option<String>,
}

/// A label on a Harbor artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct HarborLabelView {
    pub name: String,
    pub color: Option<String>,
}

/// A vulnerability scan's overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct HarborScanView {
    /// `Success`, `Running`, `Error`, …
    pub status: String,
    /// The highest severity found (`Critical` … `None`).
    pub severity: Option<String>,
    /// Severity → count, most severe first.
    pub counts: Vec<(String, i64)>,
    #[ts(type = "number")]
    pub total: i64,
    #[ts(type = "number")]
    pub fixable: i64,
    /// `Trivy v0.58.1`.
    pub scanner: Option<String>,
    pub finished: Option<String>,
}

/// A signature, SBOM or other accessory, shown under its subject and deleted with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct HarborAccessoryView {
    pub digest: String,
    /// `signature` (cosign, notation), `sbom`, `attestation`, `referrer`.
    pub kind: String,
    /// Harbor's own type: `signature.cosign`, `signature.notation`, `sbom.harbor`, `subject.accessory`.
    pub harbor_type: String,
    #[ts(type = "number")]
    pub size: u64,
    pub created: Option<String>,
}

/// A Harbor artifact: one manifest (image, index, chart, SBOM, …), tagged or not, with its tags,
/// labels, scan overview and accessories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct HarborArtifactView {
    pub repository: String,
    pub digest: String,
    pub media_type: String,
    /// `image`, `index`, `chart`, `sbom`, `signature`, `wasm`, `cnab` or `other`.
    pub kind: String,
    /// The OCI artifact type (or config media type); `null` on Harbor before 2.5.
    pub artifact_type: Option<String>,
    #[ts(type = "number")]
    pub size: u64,
    pub tags: Vec<HarborTagView>,
    pub push_time: Option<String>,
    /// `null`: never pulled.
    pub pull_time: Option<String>,
    /// `os/arch[/variant]` of an index's platforms.
    pub platforms: Vec<String>,
    pub labels: Vec<HarborLabelView>,
    pub scan: Option<HarborScanView>,
    pub accessories: Vec<HarborAccessoryView>,
}

/// The kind of a Harbor artifact as Berth names it.
fn artifact_kind(a: &berth_harbor::Artifact) -> &'static str {
    let mt = a.manifest_media_type.as_deref().unwrap_or("");
    let at = a.artifact_type.as_deref().or(a.media_type.as_deref()).unwrap_or("");
    match a.kind.as_deref().unwrap_or("").to_ascii_uppercase().as_str() {
        _ if mt.contains("index") || mt.contains("manifest.list") => "index",
        _ if at.contains("notary.signature") || at.contains("cosign") => "signature",
        _ if at.contains("sbom") || at.contains("spdx") || at.contains("cyclonedx") => "sbom",
        "IMAGE" => "image",
        "CHART" => "chart",
        "SBOM" => "sbom",
        "WASM" => "wasm",
        "CNAB" => "cnab",
        _ if at.contains("wasm") => "wasm",
        _ if at.contains("helm") => "chart",
        _ => "other",
    }
}

fn accessory_kind(t: &str) -> &'static str {
    match t {
        t if t.starts_with("signature.") => "signature",
        t if t.contains("sbom") => "sbom",
        t if t.contains("attest") => "attestation",
        _ => "referrer",
    }
}

/// Harbor's zero time means "never".
fn harbor_time(t: Option<String>) -> Option<String> {
    t.filter(|t| !t.starts_with("0001-01-01"))
}

/// A rule of a Harbor project's tag immutability or retention policy, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct HarborRuleView {
    #[ts(type = "number")]
    pub id: i64,
    pub disabled: bool,
    /// `retain the 5 most recently pushed`, `immutable`.
    pub action: String,
    /// `repositories matching "**", tags matching "release-*"`.
    pub scope: String,
}

/// A Harbor project's own policies: tag immutability and tag retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct HarborPolicyView {
    pub project: String,
    /// `null`: not visible to this account (see `hidden`).
    pub immutable: Option<Vec<HarborRuleView>>,
    /// `null`: the project has no retention policy, or it is not visible (see `hidden`).
    pub retention: Option<Vec<HarborRuleView>>,
    /// `or`: a tag is kept when any rule retains it.
    pub retention_algorithm: Option<String>,
    /// The retention policy's schedule (`0 0 0 * * *`).
    pub retention_schedule: Option<String>,
    pub hidden: Vec<String>,
}

/// What a retention rule's template keeps, in words.
fn retention_words(template: &str, params: &std::collections::BTreeMap<String, serde_json::Value>) -> String {
    let n = params.values().next().map(|v| v.to_string()).unwrap_or_else(|| "N".into());
    match template {
        "latestPushedK" => format!("retain the {n} most recently pushed"),
        "latestPulledN" => format!("retain the {n} most recently pulled"),
        "latestActiveK" => format!("retain the {n} most recently pushed or pulled"),
        "nDaysSinceLastPush" => format!("retain those pushed within the last {n} days"),
        "nDaysSinceLastPull" => format!("retain those pulled within the last {n} days"),
        "lastXDays" => format!("retain those pushed or pulled within the last {n} days"),
        "always" => "retain always".into(),
        "nothing" => "retain none".into(),
        other => format!("{other} {n}"),
    }
}

fn rule_view(r: &berth_harbor::Rule, action: String) -> HarborRuleView {
    HarborRuleView { id: r.id, disabled: r.disabled, action, scope: r.describe() }
}

/// A docker repository of a Nexus server, and the child profile that browses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct NexusRepositoryView {
    pub name: String,
    /// `hosted`, `proxy` or `group`.
    pub kind: String,
    /// Where Berth reaches its registry API: the user's endpoint if set, else the discovered one.
    pub endpoint: String,
    /// The endpoint discovery computed (connector port on the server's host, or the path route).
    pub discovered_endpoint: String,
    /// `connector`, `subdomain` or `path` (`/repository/<name>/` on the main port).
    pub routing: String,
    pub http_port: Option<u16>,
    pub https_port: Option<u16>,
    /// Path-based routing (`docker.pathEnabled`, recent versions).
    pub path_enabled: bool,
    /// Whether the account could read the repository's settings (ports, policy); without them the
    /// path route is used.
    pub settings_visible: bool,
    pub blob_store: Option<String>,
    /// Hosted: `ALLOW`, `ALLOW_ONCE` or `DENY`.
    pub write_policy: Option<String>,
    pub cleanup_policies: Vec<String>,
    /// Group: its members.
    pub members: Vec<String>,
    /// Why Berth does not delete here (proxy, group, read-only policy).
    pub read_only: Option<String>,
    /// The child profile browsing it.
    pub profile: String,
    /// Whether this discovery created the child profile.
    pub created: bool,
}

/// What a discovery found, and the child profiles it removed (their repository is gone from Nexus).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct NexusDiscoveryView {
    pub server: String,
    pub repositories: Vec<NexusRepositoryView>,
    pub removed: Vec<String>,
}

/// A docker component (one image:tag) with its assets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct NexusComponentView {
    pub id: String,
    pub image: String,
    pub tag: String,
    /// The manifest asset's sha256, as `sha256:<hex>`.
    pub digest: Option<String>,
    pub assets: Vec<NexusAssetView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct NexusAssetView {
    pub path: String,
    pub content_type: Option<String>,
    #[ts(type = "number | null")]
    pub size: Option<u64>,
    pub last_modified: Option<String>,
    pub blob_store: Option<String>,
}

/// One page of components; `continuation_token` asks for the next (`null`: the last page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct NexusComponentPage {
    pub repository: String,
    pub items: Vec<NexusComponentView>,
    pub continuation_token: Option<String>,
}

/// A Nexus task Berth runs or shows (docker GC, compact, cleanup).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct NexusTaskView {
    pub id: String,
    pub name: String,
    /// `repository.docker.gc`, `blobstore.compact`, `repository.cleanup`.
    pub kind: String,
    pub state: String,
    pub last_run: Option<String>,
    /// `OK`, `FAILED`, `CANCELED`, `INTERRUPTED`.
    pub last_result: Option<String>,
    pub message: Option<String>,
}

/// A cleanup policy and the repositories it is attached to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct NexusCleanupPolicyView {
    pub name: String,
    pub format: String,
    /// Component age: days since the last blob update.
    #[ts(type = "number | null")]
    pub last_blob_updated_days: Option<i64>,
    #[ts(type = "number | null")]
    pub last_downloaded_days: Option<i64>,
    pub asset_regex: Option<String>,
    pub notes: Option<String>,
    pub repositories: Vec<String>,
}

/// Cleanup policies; `available: false` when the server has no such API (before 3.9x) or the
/// account may not read it (the repositories still name their policies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct NexusCleanupView {
    pub available: bool,
    pub policies: Vec<NexusCleanupPolicyView>,
}

/// A Nexus blob store: the only place Nexus tells the space used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct BlobStoreView {
    pub name: String,
    pub kind: String,
    pub unavailable: bool,
    #[ts(type = "number")]
    pub blob_count: u64,
    /// Falls only after the blob store is compacted.
    #[ts(type = "number")]
    pub total_size: u64,
    #[ts(type = "number")]
    pub available_space: u64,
}

fn is_denied(e: &berth_registry::Error) -> bool {
    matches!(e.kind, berth_registry::ErrorKind::PermissionDenied | berth_registry::ErrorKind::Unauthorized)
}

/// A backend error as an [`ApiError`]; Harbor's 412 gets its own `registry` kind.
pub(crate) fn api_error(e: berth_registry::Error) -> ApiError {
    let mut e = e;
    if e.status == Some(412) {
        e.kind = berth_registry::ErrorKind::PreconditionFailed;
    }
    e.into()
}

impl Berth {
    /// Harbor projects visible to the profile's account, with their quotas. Checks the login first:
    /// Harbor answers a wrong password on public endpoints as if it were anonymous.
    ///
    /// Degrades per project: a summary, quota or permission list the account may not read is
    /// reported in `hidden` with the role that would show it, and the other projects still load.
    pub async fn harbor_projects(&self, profile: &str) -> Result<Vec<HarborProjectView>, ApiError> {
        let session = self.session(profile).await?;
        let c = session.harbor()?;
        let login = c.check_login().await.map_err(api_error)?;
        let mut out = Vec::new();
        for p in c.projects().await.map_err(api_error)? {
            let mut hidden = Vec::new();
            let summary = match c.project_summary(&p.name).await {
                Ok(s) => Some(s),
                Err(e) if is_denied(&e) => {
                    hidden.push(
                        "summary and quota not visible to this account (needs a role in the project, or a robot with Read project)"
                            .to_string(),
                    );
                    None
                }
                Err(e) => {
                    hidden.push(format!("summary not readable: {}", e.message));
                    None
                }
            };
            let quota = summary.as_ref().and_then(|s| s.quota.clone());
            if summary.is_some() && quota.is_none() {
                hidden.push(
                    "quota not visible to this account (needs a role in the project: limited guest or above, or a robot with Read quota)"
                        .to_string(),
                );
            }
            let rights = if login.user.is_some() { c.rights(p.project_id).await.ok() } else { None };
            if let Some(r) = &rights {
                if !r.list {
                    hidden.push(
                        "repositories not listed for this account (needs guest or above, or a robot with List repository)"
                            .to_string(),
                    );
                }
            }
            let role =
                if login.admin { Some("system administrator".to_string()) } else { p.role_name().map(str::to_string) };
            out.push(HarborProjectView {
                public: p.public(),
                repo_count: summary.as_ref().map(|s| s.repo_count).unwrap_or(0).max(p.repo_count).max(0) as u64,
                quota_used: quota.as_ref().map(|q| q.storage_used().max(0) as u64),
                quota_limit: quota.as_ref().and_then(|q| q.storage_limit()).map(|l| l as u64),
                role,
                rights: rights.map(|r| r.describe()),
                can_delete: rights.map(|r| r.delete),
                hidden,
                name: p.name,
            });
        }
        Ok(out)
    }

    /// Each visible project's tag immutability rules and tag retention policy, as Harbor runs them
    /// (shown beside Berth's own retention dry run). A policy the account may not read is named in
    /// `hidden` with the role that would show it.
    pub async fn harbor_policies(&self, profile: &str) -> Result<Vec<HarborPolicyView>, ApiError> {
        let session = self.session(profile).await?;
        let c = session.harbor()?;
        c.check_login().await.map_err(api_error)?;
        let mut out = Vec::new();
        for p in c.projects().await.map_err(api_error)? {
            let mut hidden = Vec::new();
            let immutable = match c.immutable_rules(&p.name).await {
                Ok(rules) => Some(rules.iter().map(|r| rule_view(r, "immutable".into())).collect()),
                Err(e) if is_denied(&e) => {
                    hidden.push(
                        "tag immutability rules not visible to this account (needs maintainer or project admin)".into(),
                    );
                    None
                }
                Err(e) => {
                    hidden.push(format!("tag immutability rules not readable: {}", e.message));
                    None
                }
            };
            let (mut retention, mut algorithm, mut schedule) = (None, None, None);
            if let Some(id) = p.retention_id() {
                match c.retention_policy(id).await {
                    Ok(policy) => {
                        retention = Some(
                            policy
                                .rules
                                .iter()
                                .flatten()
                                .map(|r| {
                                    let words = retention_words(
                                        r.template.as_deref().unwrap_or(""),
                                        &r.params.clone().unwrap_or_default(),
                                    );
                                    rule_view(r, words)
                                })
                                .collect(),
                        );
                        algorithm = policy.algorithm.clone();
                        schedule = policy
                            .trigger
                            .as_ref()
                            .and_then(|t| t.pointer("/settings/cron"))
                            .and_then(|c| c.as_str())
                            .map(str::to_string);
                    }
                    Err(e) if is_denied(&e) => hidden
                        .push("tag retention policy not visible to this account (needs developer or above)".into()),
                    Err(e) => hidden.push(format!("tag retention policy not readable: {}", e.message)),
                }
            }
            out.push(HarborPolicyView {
                project: p.name,
                immutable,
                retention,
                retention_algorithm: algorithm,
                retention_schedule: schedule,
                hidden,
            });
        }
        Ok(out)
    }

    /// Artifacts of a Harbor repository (`project/repo`) with their tags, untagged ones included.
    pub async fn harbor_artifacts(&self, profile: &str, repository: &str) -> Result<Vec<HarborArtifactView>, ApiError> {
        let session = self.session(profile).await?;
        let arts = session.harbor()?.artifacts_detailed(repository).await.map_err(api_error)?;
        Ok(arts
            .into_iter()
            .map(|a| HarborArtifactView {
                repository: repository.to_string(),
                kind: artifact_kind(&a).to_string(),
                artifact_type: a.artifact_type.clone(),
                tags: a
                    .tags
                    .iter()
                    .flatten()
                    .map(|t| HarborTagView {
                        name: t.name.clone(),
                        immutable: t.immutable,
                        push_time: t.push_time.clone(),
                    })
                    .collect(),
                pull_time: harbor_time(a.pull_time.clone()),
                labels: a
                    .labels
                    .iter()
                    .flatten()
                    .map(|l| HarborLabelView { name: l.name.clone(), color: l.color.clone().filter(|c| !c.is_empty()) })
                    .collect(),
                scan: a.scan().map(|s| {
                    let order = ["Critical", "High", "Medium", "Low", "Unknown", "None"];
                    let counts = s.summary.as_ref().and_then(|v| v.summary.clone()).unwrap_or_default();
                    let mut counts: Vec<(String, i64)> = counts.into_iter().collect();
                    counts.sort_by_key(|(k, _)| order.iter().position(|o| o == k).unwrap_or(order.len()));
                    HarborScanView {
                        status: s.scan_status.clone().unwrap_or_else(|| "unknown".into()),
                        severity: s.severity.clone(),
                        counts,
                        total: s.summary.as_ref().map(|v| v.total).unwrap_or(0),
                        fixable: s.summary.as_ref().map(|v| v.fixable).unwrap_or(0),
                        scanner: s.scanner.as_ref().map(|sc| {
                            [sc.name.as_deref(), sc.version.as_deref()]
                                .into_iter()
                                .flatten()
                                .collect::<Vec<_>>()
                                .join(" ")
                        }),
                        finished: harbor_time(s.end_time.clone()),
                    }
                }),
                accessories: a
                    .accessories
                    .iter()
                    .flatten()
                    .map(|x| HarborAccessoryView {
                        digest: x.digest.clone(),
                        kind: accessory_kind(&x.kind).to_string(),
                        harbor_type: x.kind.clone(),
                        size: x.size.max(0) as u64,
                        created: x.creation_time.clone(),
                    })
                    .collect(),
                platforms: a
                    .references
                    .iter()
                    .flatten()
                    .filter_map(|r| r.platform.as_ref())
                    .map(|p| {
                        let mut s =
                            format!("{}/{}", p.os.as_deref().unwrap_or("?"), p.architecture.as_deref().unwrap_or("?"));
                        if let Some(v) = &p.variant {
                            s.push_str(&format!("/{v}"));
                        }
                        s
                    })
                    .collect(),
                media_type: a.manifest_media_type.clone().unwrap_or_default(),
                size: a.size.max(0) as u64,
                push_time: a.push_time,
                digest: a.digest,
            })
            .collect())
    }

    /// Finds the docker repositories of a Nexus server profile and creates (or updates) one child
    /// profile per repository, named `<profile>-<repository>`, with the same credentials and TLS;
    /// removes the child profiles of repositories Nexus no longer has. An endpoint the user set for
    /// a repository is kept.
    pub async fn nexus_discover(&self, profile: &str) -> Result<NexusDiscoveryView, ApiError> {
        let session = self.session(profile).await?;
        let (c, repository) = session.nexus()?;
        if repository.is_some() {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!("{profile:?} browses one Nexus repository; discovery runs on its server profile"),
                "run it on the Nexus server profile (the one with the server's URL)",
            ));
        }
        c.status().await.map_err(api_error)?;
        let repos = c.docker_repositories().await.map_err(api_error)?;
        let children = self.store().backend_children(session.id()).await?;
        let mut out = Vec::new();
        for r in repos {
            let existing = children.iter().find(|l| l.repository == r.name);
            let endpoint = existing.and_then(|l| l.endpoint_override.clone()).unwrap_or_else(|| r.endpoint.clone());
            let (name, created, child_id) = match existing {
                Some(l) => {
                    let row = self.store().profile(&l.profile).await?;
                    // Read again right before writing: the user may have set an endpoint meanwhile.
                    let user_set = self
                        .store()
                        .backend_link(l.profile_id)
                        .await?
                        .is_some_and(|now| now.endpoint_override.is_some());
                    if !user_set
                        && berth_registry::parse_registry_url(&endpoint).map(|u| u.to_string()).ok().as_deref()
                            != Some(row.url.as_str())
                    {
                        let changes = Changes { url: Some(endpoint.clone()), ..Changes::default() };
                        profiles::update(self, &l.profile, changes).await?;
                    }
                    (l.profile.clone(), false, l.profile_id)
                }
                None => {
                    let name = format!("{profile}-{}", r.name);
                    let view: ProfileView = profiles::duplicate(self, profile, &name).await?;
                    let changes = Changes { url: Some(endpoint.clone()), ..Changes::default() };
                    if let Err(e) = profiles::update(self, &view.name, changes).await {
                        let _ = profiles::delete(self, &view.name).await;
                        return Err(e);
                    }
                    let id = self.store().profile(&name).await?.id;
                    (name, true, id)
                }
            };
            let info = berth_store::LinkInfo {
                repository: &r.name,
                repository_kind: &r.kind,
                write_policy: r.write_policy.as_deref(),
            };
            self.store().set_backend_link(child_id, session.id(), &info).await?;
            let docker = r.docker.clone().unwrap_or_default();
            out.push(NexusRepositoryView {
                read_only: berth_backend::nexus_read_only(&r.name, &r.kind, r.write_policy.as_deref()).map(|(w, _)| w),
                http_port: docker.http_port,
                https_port: docker.https_port,
                path_enabled: docker.path_enabled.unwrap_or(false),
                settings_visible: r.docker.is_some(),
                name: r.name,
                kind: r.kind,
                endpoint,
                discovered_endpoint: r.endpoint,
                routing: r.routing,
                blob_store: r.blob_store,
                write_policy: r.write_policy,
                cleanup_policies: r.cleanup_policies,
                members: r.members,
                profile: name,
                created,
            });
        }
        let mut removed = Vec::new();
        for l in children.iter().filter(|l| !out.iter().any(|r| r.name == l.repository)) {
            profiles::delete(self, &l.profile).await?;
            removed.push(l.profile.clone());
        }
        Ok(NexusDiscoveryView { server: profile.to_string(), repositories: out, removed })
    }

    /// One page of components of a Nexus repository profile (`token`: the previous page's).
    pub async fn nexus_components(&self, profile: &str, token: Option<&str>) -> Result<NexusComponentPage, ApiError> {
        let session = self.session(profile).await?;
        let (c, repository) = session.nexus()?;
        let Some(repository) = repository else {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!("{profile:?} is a Nexus server profile: components live in its repositories"),
                "open one of the repositories beneath it",
            ));
        };
        let page = c.components_page(repository, token).await.map_err(api_error)?;
        Ok(NexusComponentPage {
            repository: repository.to_string(),
            continuation_token: page.continuation_token,
            items: page
                .items
                .into_iter()
                .map(|comp| NexusComponentView {
                    digest: comp.manifest_digest(),
                    assets: comp
                        .assets
                        .iter()
                        .map(|a| NexusAssetView {
                            path: a.path.clone(),
                            content_type: a.content_type.clone(),
                            size: a.file_size,
                            last_modified: a.last_modified.clone(),
                            blob_store: a.blob_store_name.clone(),
                        })
                        .collect(),
                    id: comp.id,
                    image: comp.name,
                    tag: comp.version,
                })
                .collect(),
        })
    }

    /// The Nexus tasks behind GC and cleanup (docker GC, compact, cleanup), with their last run.
    pub async fn nexus_tasks(&self, profile: &str) -> Result<Vec<NexusTaskView>, ApiError> {
        let session = self.session(profile).await?;
        let tasks = session.nexus()?.0.tasks(None).await.map_err(api_error)?;
        Ok(tasks
            .into_iter()
            .filter(|t| matches!(t.kind.as_str(), "repository.docker.gc" | "blobstore.compact" | "repository.cleanup"))
            .map(|t| NexusTaskView {
                id: t.id,
                name: t.name,
                kind: t.kind,
                state: t.current_state,
                last_run: t.last_run,
                last_result: t.last_run_result,
                message: t.message,
            })
            .collect())
    }

    /// The docker cleanup policies of the Nexus server (of a server or repository profile).
    pub async fn nexus_cleanup_policies(&self, profile: &str) -> Result<NexusCleanupView, ApiError> {
        let session = self.session(profile).await?;
        let found = session.nexus()?.0.cleanup_policies().await.map_err(api_error)?;
        Ok(NexusCleanupView {
            available: found.is_some(),
            policies: found
                .unwrap_or_default()
                .into_iter()
                .map(|p| NexusCleanupPolicyView {
                    name: p.name,
                    format: p.format,
                    last_blob_updated_days: p.criteria_last_blob_updated,
                    last_downloaded_days: p.criteria_last_downloaded,
                    asset_regex: p.criteria_asset_regex,
                    notes: p.notes.filter(|n| !n.is_empty()),
                    repositories: p.repositories,
                })
                .collect(),
        })
    }

    /// The child profiles of a Nexus server profile (empty for other profiles).
    pub async fn nexus_children(&self, profile: &str) -> Result<Vec<String>, ApiError> {
        let row = self.store().profile(profile).await?;
        Ok(self.store().backend_children(row.id).await?.into_iter().map(|l| l.profile).collect())
    }

    /// Blob stores of the Nexus server (of a server or child profile), with the space they use.
    pub async fn nexus_blob_stores(&self, profile: &str) -> Result<Vec<BlobStoreView>, ApiError> {
        let session = self.session(profile).await?;
        Ok(session
            .nexus()?
            .0
            .blob_stores()
            .await
            .map_err(api_error)?
            .into_iter()
            .map(|b| BlobStoreView {
                name: b.name,
                kind: b.kind,
                unavailable: b.unavailable,
                blob_count: b.blob_count,
                total_size: b.total_size_in_bytes,
                available_space: b.available_space_in_bytes,
            })
            .collect())
    }
}
