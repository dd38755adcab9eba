//! Nexus 3: a docker repository answers `/v2` on its connector; a tag is a component, removed through
//! the components API (a `/v2` manifest delete leaves the tag on Nexus 3.89+) after checking that its
//! manifest asset is still the digest the plan saw. GC is the "Docker - Delete unused manifests and
//! images" task, then "Admin - Compact blob store", with the blob stores' size before and after.

use std::time::Duration;

use berth_nexus::{NexusClient, TASK_COMPACT, TASK_DOCKER_GC};
use berth_registry::{Digest, Error, ErrorKind, RegistryClient};
use tokio_util::sync::CancellationToken;

use crate::{tag_digest, Backend, BoxFuture, Capabilities, GcFailed, GcOutput, GcRequest, LogFn, TagRemoval};

const TASK_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// A profile browsing one docker repository of a Nexus server (through its connector).
pub struct Nexus {
    client: RegistryClient,
    api: NexusClient,
    repository: String,
}

/// A Nexus server profile: it discovers the docker repositories, each browsed by a child profile.
pub struct NexusServer {
    client: RegistryClient,
    api: NexusClient,
}

const NEXUS: Capabilities = Capabilities {
    label: "Nexus",
    browse: true,
    untag_without_siblings: true,
    gc_dry_run: false,
    gc_commands: false,
    gc_server_job: true,
    gc_time_window: false,
    gc_lists_blobs: false,
    projects: false,
    tag_immutability: false,
    discovers_repositories: false,
    blob_stores: true,
};

impl Nexus {
    pub fn new(client: RegistryClient, api: NexusClient, repository: impl Into<String>) -> Self {
        Nexus { client, api, repository: repository.into() }
    }

    pub const CAPABILITIES: Capabilities = NEXUS;

    /// The Nexus repository this profile browses.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    pub fn api(&self) -> &NexusClient {
        &self.api
    }
}

impl NexusServer {
    pub fn new(client: RegistryClient, api: NexusClient) -> Self {
        NexusServer { client, api }
    }

    pub const CAPABILITIES: Capabilities = Capabilities { browse: false, discovers_repositories: true, ..NEXUS };

    pub fn api(&self) -> &NexusClient {
        &self.api
    }
}

/// The digest of a docker component's manifest asset (`v2/<image>/manifests/<tag>`).
fn manifest_digest(c: &berth_nexus::Component) -> Option<String> {
    c.assets.iter().filter(|a| a.path.contains("/manifests/")).find_map(|a| a.digest())
}

fn server_profile_error() -> Error {
    Error::new(
        ErrorKind::InvalidUrl,
        "this is a Nexus server profile: tags live in the profiles of its repositories",
        "use the profile of the repository (sync the server profile to discover them)",
    )
}

async fn nexus_gc(api: &NexusClient, log: &LogFn<'_>, cancel: &CancellationToken) -> Result<GcOutput, GcFailed> {
    let size = |stores: Vec<berth_nexus::BlobStore>| stores.iter().map(|b| b.total_size_in_bytes).sum::<u64>();
    let before = size(api.blob_stores().await?);
    log(&format!("blob stores: {before} bytes before"));
    let mut text = format!("blob stores before: {before} bytes\n");
    for kind in [TASK_DOCKER_GC, TASK_COMPACT] {
        let tasks = api.tasks(Some(kind)).await.map_err(|e| GcFailed { error: e, log: text.clone() })?;
        if tasks.is_empty() {
            return Err(GcFailed {
                error: Error::new(
                    ErrorKind::NotFound,
                    format!("Nexus has no {kind} task"),
                    "create it in Nexus (Administration → System → Tasks: \"Docker - Delete unused manifests and images\" and \"Admin - Compact blob store\")",
                ),
                log: text,
            });
        }
        for t in tasks {
            if cancel.is_cancelled() {
                return Err(GcFailed {
                    error: Error::new(ErrorKind::Cancelled, "GC cancelled", "tasks already run have finished"),
                    log: text,
                });
            }
            log(&format!("running task {} ({})", t.name, t.id));
            api.run_task(&t.id).await.map_err(|e| GcFailed { error: e, log: text.clone() })?;
            let done =
                api.wait_task(&t.id, TASK_TIMEOUT).await.map_err(|e| GcFailed { error: e, log: text.clone() })?;
            let line = format!("task {}: {}", t.name, done.last_run_result.as_deref().unwrap_or("?"));
            log(&line);
            text.push_str(&line);
            text.push('\n');
            if done.last_run_result.as_deref() != Some("OK") {
                return Err(GcFailed {
                    error: Error::new(ErrorKind::Server, line, "see the task's log in Nexus"),
                    log: text,
                });
            }
        }
    }
    let after = size(api.blob_stores().await.map_err(|e| GcFailed { error: e, log: text.clone() })?);
    let line = format!("blob stores after: {after} bytes");
    log(&line);
    text.push_str(&line);
    Ok(GcOutput {
        log: text,
        freed_bytes: Some(before.saturating_sub(after)),
        blobs_freed: Some(0),
        notes: vec![
            "Nexus reports blob store sizes, not blob lists: freed bytes are the size before minus after".into()
        ],
        ..GcOutput::default()
    })
}

fn no_dry_run() -> Error {
    Error::new(
        ErrorKind::InvalidUrl,
        "Nexus has no GC dry run",
        "what GC would free is Berth's prediction; a real run starts the Nexus tasks",
    )
}

async fn gc_check(api: &NexusClient, req: &GcRequest) -> Result<(), Error> {
    if req.dry_run {
        return Err(no_dry_run());
    }
    api.status_writable().await
}

impl Backend for Nexus {
    fn label(&self) -> &'static str {
        NEXUS.label
    }

    fn capabilities(&self) -> Capabilities {
        Self::CAPABILITIES
    }

    fn client(&self) -> &RegistryClient {
        &self.client
    }

    fn repositories(&self) -> BoxFuture<'_, Result<Vec<String>, Error>> {
        Box::pin(self.client.catalog())
    }

    /// From the components API (paged by `continuationToken`): a docker component is one tag, its
    /// manifest asset carries the digest. `None` when an asset does not say (then `/v2` decides).
    fn tag_digests<'a>(&'a self, repo: &'a str) -> BoxFuture<'a, Result<Option<Vec<(String, String)>>, Error>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for c in self.api.components(&self.repository).await?.into_iter().filter(|c| c.name == repo) {
                match manifest_digest(&c) {
                    Some(d) => out.push((c.version, d)),
                    None => return Ok(None),
                }
            }
            out.sort();
            Ok(Some(out))
        })
    }

    fn remove_tag<'a>(
        &'a self,
        repo: &'a str,
        tag: &'a str,
        digest: &'a str,
    ) -> BoxFuture<'a, Result<TagRemoval, Error>> {
        Box::pin(async move {
            self.api.status_writable().await?;
            let Some(c) = self.api.find_component(&self.repository, repo, tag).await? else {
                return Ok(TagRemoval::Gone);
            };
            // The component's manifest asset carries the manifest's sha256: it must be the planned digest.
            let manifest = manifest_digest(&c);
            let now = match manifest {
                Some(d) => Some(d),
                None => tag_digest(&self.client, repo, tag).await?,
            };
            match now {
                None => return Ok(TagRemoval::Gone),
                Some(now) if now != digest => return Ok(TagRemoval::Moved(now)),
                Some(_) => {}
            }
            self.api.delete_component(&c.id).await?;
            Ok(TagRemoval::Removed("nexus components API".into()))
        })
    }

    /// Read-only Nexus (frozen for a backup, still starting) first, then the connector's `/v2` probe.
    fn delete_blocked<'a>(&'a self, repo: &'a str) -> BoxFuture<'a, Result<Option<(String, String)>, Error>> {
        Box::pin(async move {
            match self.api.status_writable().await {
                Err(e) if e.kind == ErrorKind::ReadOnly => return Ok(Some((e.message, e.hint))),
                Err(e) => return Err(e),
                Ok(()) => {}
            }
            crate::probe_v2(&self.client, repo).await
        })
    }

    /// Every component (tag) of `repo` whose manifest is `digest`, through the components API (a
    /// `/v2` manifest delete leaves the tags on Nexus 3.89+); `/v2` when no component has it.
    fn delete_manifest<'a>(&'a self, repo: &'a str, digest: &'a Digest) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            self.api.status_writable().await?;
            let components = self.api.components(&self.repository).await?;
            let mut found = false;
            for c in components.iter().filter(|c| c.name == repo) {
                if manifest_digest(c).as_deref() == Some(digest.as_str()) {
                    self.api.delete_component(&c.id).await?;
                    found = true;
                }
            }
            if found {
                return Ok(true);
            }
            self.client.delete_manifest(repo, digest).await
        })
    }

    fn gc_check<'a>(&'a self, req: &'a GcRequest) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(gc_check(&self.api, req))
    }

    fn gc<'a>(
        &'a self,
        _req: &'a GcRequest,
        log: &'a LogFn<'a>,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<GcOutput, GcFailed>> {
        Box::pin(nexus_gc(&self.api, log, cancel))
    }
}

impl Backend for NexusServer {
    fn label(&self) -> &'static str {
        NEXUS.label
    }

    fn capabilities(&self) -> Capabilities {
        Self::CAPABILITIES
    }

    fn client(&self) -> &RegistryClient {
        &self.client
    }

    /// A server profile has no repositories of its own: they are browsed through its child profiles.
    fn repositories(&self) -> BoxFuture<'_, Result<Vec<String>, Error>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn remove_tag<'a>(&'a self, _: &'a str, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<TagRemoval, Error>> {
        Box::pin(async { Err(server_profile_error()) })
    }

    fn gc_check<'a>(&'a self, req: &'a GcRequest) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(gc_check(&self.api, req))
    }

    fn gc<'a>(
        &'a self,
        _req: &'a GcRequest,
        log: &'a LogFn<'a>,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<GcOutput, GcFailed>> {
        Box::pin(nexus_gc(&self.api, log, cancel))
    }
}
