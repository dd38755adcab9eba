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

use std::future::Future;
use std::pin::Pin;

use berth_harbor::HarborClient;
use berth_nexus::NexusClient;
use berth_store::{ProfileKind, RepositorySource};
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

fn wrong_kind(profile: &str, kind: &str, want: &str) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidInput,
        format!("profile {profile:?} is a {kind} profile, not {want}"),
        format!("use a {want} profile, or set its kind: berth profile edit {profile} --kind {want}"),
    )
}

/// A backend error as an [`ApiError`]; Harbor's 412 gets its own `registry` kind.
pub(crate) fn api_error(e: berth_registry::Error) -> ApiError {
    let precondition = e.status == Some(412);
    let mut a: ApiError = e.into();
    if precondition {
        a.registry = Some("precondition_failed".into());
    }
    a
}

pub(crate) async fn harbor_client(berth: &Berth, profile: &str) -> Result<HarborClient, ApiError> {
    let c = profiles::connection(berth, profile).await?;
    if c.row.kind != ProfileKind::Harbor {
        return Err(wrong_kind(profile, c.row.kind.as_str(), "harbor"));
    }
    HarborClient::new(&c.row.url, c.creds, &c.tls).map_err(api_error)
}

/// The Nexus API client of a server profile, or of the server a child profile belongs to.
pub(crate) async fn nexus_client(berth: &Berth, profile: &str) -> Result<(NexusClient, Option<String>), ApiError> {
    let row = berth.store().profile(profile).await?;
    if row.kind != ProfileKind::Nexus {
        return Err(wrong_kind(profile, row.kind.as_str(), "nexus"));
    }
    let link = berth.store().backend_link(row.id).await?;
    let (server, repository) = match &link {
        Some(l) => match &l.parent {
            Some(p) => (p.clone(), Some(l.repository.clone())),
            None => {
                return Err(ApiError::new(
                    ErrorCode::NotFound,
                    format!("the Nexus server profile of {profile:?} was deleted"),
                    "add the Nexus server as a profile again and run `berth nexus discover` on it",
                ))
            }
        },
        None => (profile.to_string(), None),
    };
    let c = profiles::connection(berth, &server).await?;
    Ok((NexusClient::new(&c.row.url, c.creds, &c.tls).map_err(api_error)?, repository))
}

/// Harbor's repositories through its projects API.
pub(crate) struct HarborSource(pub HarborClient);

impl RepositorySource for HarborSource {
    fn repositories(&self) -> Pin<Box<dyn Future<Output = Result<Vec<String>, berth_registry::Error>> + Send + '_>> {
        Box::pin(self.0.all_repositories())
    }
}

impl Berth {
    /// Harbor projects visible to the profile's account, with their quotas. Checks the login first:
    /// Harbor answers a wrong password on public endpoints as if it were anonymous.
    pub async fn harbor_projects(&self, profile: &str) -> Result<Vec<HarborProjectView>, ApiError> {
        let c = harbor_client(self, profile).await?;
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
        let c = harbor_client(self, profile).await?;
        let arts = c.artifacts(repository, None).await.map_err(api_error)?;
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

    /// Removes one tag through Harbor's API; the artifact and its other tags stay.
    pub async fn harbor_delete_tag(&self, profile: &str, repository: &str, tag: &str) -> Result<(), ApiError> {
        let c = harbor_client(self, profile).await?;
        c.delete_tag(repository, tag).await.map_err(api_error)
    }

    /// Deletes an artifact (by tag or digest) with all its tags through Harbor's API. Refused (412,
    /// `registry == "precondition_failed"`) while a multi-platform index references it.
    pub async fn harbor_delete_artifact(
        &self,
        profile: &str,
        repository: &str,
        reference: &str,
    ) -> Result<(), ApiError> {
        let c = harbor_client(self, profile).await?;
        c.delete_artifact(repository, reference).await.map_err(api_error)
    }

    /// Finds the docker repositories of a Nexus server profile and creates (or updates) one child
    /// profile per repository, named `<profile>-<repository>`, with the same credentials and TLS.
    pub async fn nexus_discover(&self, profile: &str) -> Result<Vec<NexusRepositoryView>, ApiError> {
        let (c, repository) = nexus_client(self, profile).await?;
        if repository.is_some() {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!("{profile:?} browses one Nexus repository; discovery runs on its server profile"),
                "run it on the Nexus server profile (the one with the server's URL)",
            ));
        }
        c.status().await.map_err(api_error)?;
        let repos = c.docker_repositories().await.map_err(api_error)?;
        let server = self.store().profile(profile).await?;
        let children = self.store().backend_children(server.id).await?;
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
                    self.store().set_backend_link(child.id, server.id, &r.name).await?;
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
        let (c, _) = nexus_client(self, profile).await?;
        Ok(c.blob_stores()
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

    /// Deletes `image:tag` of a Nexus repository profile through the components API (a `/v2`
    /// manifest delete would leave the tag on Nexus 3.89+). Checks that Nexus is writable first.
    pub async fn nexus_delete_tag(&self, profile: &str, image: &str, tag: &str) -> Result<(), ApiError> {
        let (c, repository) = nexus_client(self, profile).await?;
        let Some(repository) = repository else {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!("{profile:?} is a Nexus server profile; tags live in its repository profiles"),
                format!("use one of: {}", self.nexus_children(profile).await?.join(", ")),
            ));
        };
        c.status_writable().await.map_err(api_error)?;
        let Some(comp) = c.find_component(&repository, image, tag).await.map_err(api_error)? else {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("{image}:{tag} is not in Nexus repository {repository}"),
                "sync the profile: someone may have deleted it already",
            ));
        };
        c.delete_component(&comp.id).await.map_err(api_error)
    }
}
