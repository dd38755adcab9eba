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
    /// Where its registry API answers (connector port or `/repository/<name>/`).
    pub endpoint: String,
    pub http_port: Option<u16>,
    pub blob_store: Option<String>,
    /// The child profile browsing it.
    pub profile: String,
    /// Whether this discovery created the child profile.
    pub created: bool,
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
    /// profile per repository, named `<profile>-<repository>`, with the same credentials and TLS.
    pub async fn nexus_discover(&self, profile: &str) -> Result<Vec<NexusRepositoryView>, ApiError> {
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
            let (name, created) = match existing {
                Some(l) => {
                    let row = self.store().profile(&l.profile).await?;
                    if berth_registry::parse_registry_url(&r.endpoint).map(|u| u.to_string()).ok().as_deref()
                        != Some(row.url.as_str())
                    {
                        let changes = Changes { url: Some(r.endpoint.clone()), ..Changes::default() };
                        profiles::update(self, &l.profile, changes).await?;
                    }
                    (l.profile.clone(), false)
                }
                None => {
                    let name = format!("{profile}-{}", r.name);
                    let view: ProfileView = profiles::duplicate(self, profile, &name).await?;
                    let changes = Changes { url: Some(r.endpoint.clone()), ..Changes::default() };
                    if let Err(e) = profiles::update(self, &view.name, changes).await {
                        let _ = profiles::delete(self, &view.name).await;
                        return Err(e);
                    }
                    let child = self.store().profile(&name).await?;
                    self.store().set_backend_link(child.id, session.id(), &r.name).await?;
                    (name, true)
                }
            };
            out.push(NexusRepositoryView {
                http_port: r.docker.as_ref().and_then(|d| d.http_port),
                name: r.name,
                kind: r.kind,
                endpoint: r.endpoint,
                blob_store: r.blob_store,
                profile: name,
                created,
            });
        }
        Ok(out)
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
