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

/// A Harbor project with its quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct HarborProjectView {
    pub name: String,
    pub public: bool,
    #[ts(type = "number")]
    pub repo_count: u64,
    /// Bytes counted against the project's quota.
    #[ts(type = "number")]
    pub quota_used: u64,
    /// `null`: unlimited.
    #[ts(type = "number | null")]
    pub quota_limit: Option<u64>,
}

/// A Harbor artifact: one manifest (image or multi-platform index) with its tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct HarborArtifactView {
    pub repository: String,
    pub digest: String,
    pub media_type: String,
    #[ts(type = "number")]
    pub size: u64,
    pub tags: Vec<String>,
    pub push_time: Option<String>,
    /// `os/arch[/variant]` of an index's platforms.
    pub platforms: Vec<String>,
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
    pub async fn harbor_projects(&self, profile: &str) -> Result<Vec<HarborProjectView>, ApiError> {
        let session = self.session(profile).await?;
        let c = session.harbor()?;
        c.check_login().await.map_err(api_error)?;
        let mut out = Vec::new();
        for p in c.projects().await.map_err(api_error)? {
            let summary = c.project_summary(&p.name).await.map_err(api_error)?;
            let quota = summary.quota.unwrap_or_default();
            out.push(HarborProjectView {
                public: p.public(),
                repo_count: summary.repo_count.max(p.repo_count).max(0) as u64,
                quota_used: quota.storage_used().max(0) as u64,
                quota_limit: quota.storage_limit().map(|l| l as u64),
                name: p.name,
            });
        }
        Ok(out)
    }

    /// Artifacts of a Harbor repository (`project/repo`) with their tags, untagged ones included.
    pub async fn harbor_artifacts(&self, profile: &str, repository: &str) -> Result<Vec<HarborArtifactView>, ApiError> {
        let session = self.session(profile).await?;
        let arts = session.harbor()?.artifacts(repository, None).await.map_err(api_error)?;
        Ok(arts
            .into_iter()
            .map(|a| HarborArtifactView {
                repository: repository.to_string(),
                tags: a.tag_names(),
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
