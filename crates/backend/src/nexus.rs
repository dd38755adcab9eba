//! Nexus 3: a docker repository answers `/v2` on its connector; a tag is a component, removed through
//! the components API (a `/v2` manifest delete leaves the tag on Nexus 3.89+) after checking that its
//! manifest asset is still the digest the plan saw. GC is the "Docker - Delete unused manifests and
//! images" task, then "Admin - Compact blob store", with the blob stores' size before and after.

use std::time::Duration;

use std::collections::{BTreeMap, HashMap};

use berth_nexus::{DockerRepository, NexusClient, TASK_COMPACT, TASK_DOCKER_GC};
use berth_registry::{Credentials, DeleteCapability, Digest, Error, ErrorKind, RegistryClient, TlsOptions};
use tokio_util::sync::CancellationToken;

use crate::{
    tag_digest, Backend, BoxFuture, Capabilities, Check, CheckFix, GcFailed, GcOutput, GcRequest, LogFn, TagRemoval,
};

const TASK_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// A profile browsing one docker repository of a Nexus server (through its connector).
pub struct Nexus {
    client: RegistryClient,
    api: NexusClient,
    repository: String,
    /// `hosted`, `proxy` or `group`.
    kind: String,
    write_policy: Option<String>,
}

/// A Nexus server profile: it discovers the docker repositories, each browsed by a child profile.
pub struct NexusServer {
    client: RegistryClient,
    api: NexusClient,
    creds: Credentials,
    tls: TlsOptions,
    /// Endpoints the user set per repository (they win over the discovered connector URL).
    endpoints: BTreeMap<String, String>,
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
    gc_parameters: false,
    gc_server_history: false,
    artifacts: false,
    server_retention: false,
};

impl Nexus {
    pub fn new(client: RegistryClient, api: NexusClient, repository: impl Into<String>) -> Self {
        Nexus { client, api, repository: repository.into(), kind: "hosted".into(), write_policy: None }
    }

    /// What discovery found: the repository's type (`hosted`, `proxy`, `group`) and deployment policy.
    pub fn with_kind(mut self, kind: &str, write_policy: Option<&str>) -> Self {
        self.kind = kind.to_string();
        self.write_policy = write_policy.map(str::to_string);
        self
    }

    /// Why Berth does not delete in this repository, and what to do instead (`None`: it does).
    pub fn read_only(&self) -> Option<(String, String)> {
        read_only(&self.repository, &self.kind, self.write_policy.as_deref())
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
    /// `creds` and `tls` also reach each repository's endpoint (the connection test pings them).
    pub fn new(client: RegistryClient, api: NexusClient, creds: Credentials, tls: TlsOptions) -> Self {
        NexusServer { client, api, creds, tls, endpoints: BTreeMap::new() }
    }

    /// The endpoints the user set for some repositories (repository → URL).
    pub fn with_endpoints(mut self, endpoints: BTreeMap<String, String>) -> Self {
        self.endpoints = endpoints;
        self
    }

    /// The endpoint Berth uses for a discovered repository: the user's, else the discovered one.
    pub fn endpoint_of(&self, r: &DockerRepository) -> String {
        self.endpoints.get(&r.name).cloned().unwrap_or_else(|| r.endpoint.clone())
    }

    pub const CAPABILITIES: Capabilities = Capabilities { browse: false, discovers_repositories: true, ..NEXUS };

    pub fn api(&self) -> &NexusClient {
        &self.api
    }
}

/// Proxy and group repositories, and hosted ones whose deployment policy is read-only.
pub fn read_only(repo: &str, kind: &str, write_policy: Option<&str>) -> Option<(String, String)> {
    match (kind, write_policy) {
        ("proxy", _) => Some((
            format!("{repo} is a Nexus proxy repository: its content is a cache of the remote registry"),
            "delete in the registry it proxies (the cache follows), or let its cleanup policy expire the cache".into(),
        )),
        ("group", _) => Some((
            format!("{repo} is a Nexus group repository: it only reads through its members"),
            "delete in the member hosted repository that holds the image".into(),
        )),
        (_, Some("DENY")) => Some((
            format!("{repo}'s deployment policy is read-only (DENY)"),
            "an administrator can set Deployment policy to “Allow redeploy” (Repository → Repositories)".into(),
        )),
        _ => None,
    }
}

/// "Disable redeploy" (ALLOW_ONCE): what fails, and where an administrator changes it.
fn redeploy_check(repo: &str, write_policy: Option<&str>) -> Option<Check> {
    (write_policy == Some("ALLOW_ONCE")).then(|| {
        Check::fail(
            format!("repository {repo}: redeploy"),
            format!("{repo}'s deployment policy is “Disable redeploy” (ALLOW_ONCE): a push of a tag that exists already fails (the same tag pushed twice, a copy or retag onto an existing tag)"),
            format!("in Nexus, Repository → Repositories → {repo}: set Deployment policy to “Allow redeploy”"),
        )
        .with_fix(CheckFix::ServerSetting { place: format!("Repository → Repositories → {repo} → Deployment policy") })
    })
}

fn repository_label(r: &DockerRepository, endpoint: &str) -> String {
    format!("{} ({}, {endpoint})", r.kind, r.routing)
}

/// The checks of one docker repository: its `/v2/` at the endpoint Berth uses, the account's read
/// and delete rights there, its deployment policy.
async fn check_repository(
    r: &DockerRepository,
    endpoint: &str,
    creds: &Credentials,
    tls: &TlsOptions,
    rest_root: &str,
) -> Vec<Check> {
    let name = format!("repository {}", r.name);
    let label = repository_label(r, endpoint);
    let client = match RegistryClient::new(endpoint, creds.clone(), tls) {
        Ok(c) => c,
        Err(e) => return vec![Check::fail(name, e.message, e.hint)],
    };
    let mut out = Vec::new();
    let refused = |e: &Error| {
        let port = berth_registry::parse_registry_url(endpoint).ok().and_then(|u| u.port_or_known_default());
        let port = port.map(|p| p.to_string()).unwrap_or_else(|| "its connector port".into());
        Check::fail(
            name.clone(),
            format!("{endpoint} does not answer ({}) while the REST API at {rest_root} does: the connector port {port} is not published or not open", e.message),
            format!("publish the port where Nexus runs (docker run -p {port}:{port} …) and open it in the firewall, or set the endpoint Berth uses for {} (a reverse proxy, or {rest_root}repository/{}/)", r.name, r.name),
        )
        .with_fix(CheckFix::Endpoint { repository: r.name.clone() })
    };
    let realm_off = || {
        Check::fail(
            name.clone(),
            format!("{endpoint} asks for a Docker token and its token service refused it: the Docker Bearer Token Realm is not active"),
            "in Nexus, Security → Realms: move “Docker Bearer Token Realm” to Active and save (docker login needs it too)",
        )
        .with_fix(CheckFix::ServerSetting { place: "Security → Realms".into() })
    };
    let images = match client.ping().await {
        Err(e) if e.is_unreachable() && r.routing != "path" => return vec![refused(&e)],
        Err(e) if e.kind == ErrorKind::Unauthorized && client.challenged_scheme().as_deref() == Some("bearer") => {
            return vec![realm_off()]
        }
        Err(e) if e.kind == ErrorKind::Unauthorized => {
            return vec![Check::fail(name, e.message, e.hint).with_fix(CheckFix::Credentials)]
        }
        Err(e) => return vec![Check::fail(name, e.message, e.hint)],
        Ok(_) => match client.catalog().await {
            Ok(images) => images,
            Err(e) if e.kind == ErrorKind::Unauthorized && client.challenged_scheme().as_deref() == Some("bearer") => {
                return vec![realm_off()]
            }
            Err(e) if e.kind == ErrorKind::PermissionDenied => {
                let p = format!("nx-repository-view-docker-{}-read", r.name);
                return vec![Check::fail(
                    name,
                    format!("{label}: this user may not read the repository (403): it lacks {p}"),
                    format!("ask a Nexus administrator to add {p} and nx-repository-view-docker-{}-browse to one of the user's roles (Security → Roles)", r.name),
                )];
            }
            Err(e) => return vec![Check::fail(name, e.message, e.hint)],
        },
    };
    out.push(Check::ok(name.clone(), format!("{label}: /v2/ answers, {} image(s)", images.len())));
    if let Some((why, _)) = read_only(&r.name, &r.kind, r.write_policy.as_deref()) {
        out.push(Check::ok(format!("{name}: deletes"), format!("read-only in Berth: {why}")));
    } else if let Some(first) = images.first() {
        if let Ok(DeleteCapability::NoPermission) = client.probe_delete(first).await {
            let p = format!("nx-repository-view-docker-{}-delete", r.name);
            out.push(Check::fail(
                format!("{name}: deletes"),
                format!("this user may not delete in {}: it lacks {p}", r.name),
                format!("ask a Nexus administrator to add {p} to one of the user's roles (Security → Roles)"),
            ));
        }
    }
    out.extend(redeploy_check(&r.name, r.write_policy.as_deref()));
    out
}

/// A server's checks: its REST API, the login (or anonymous access), writable, the account's
/// maintenance rights, the Docker Bearer Token Realm, then every docker repository.
async fn diagnose_server(s: &NexusServer) -> Vec<Check> {
    let api = &s.api;
    let root = api.base_url().to_string();
    let mut out = Vec::new();
    match api.status().await {
        Ok(()) => out.push(Check::ok("REST API", format!("Nexus answers at {root}service/rest"))),
        Err(e) => {
            out.push(Check::fail("REST API", e.message, e.hint).fatal());
            return out;
        }
    }
    let anonymous = matches!(s.creds, Credentials::Anonymous);
    let repos = match api.docker_repositories().await {
        Ok(r) => {
            out.push(Check::ok("login", if anonymous { "anonymous (anonymous access is on)" } else { "signed in" }));
            r
        }
        Err(e) if e.kind == ErrorKind::Unauthorized && anonymous => {
            out.push(
                Check::fail(
                    "anonymous access",
                    format!("the profile is anonymous, but anonymous access is off on Nexus at {root}: it asks for a login"),
                    "add a Nexus user's name and password to the profile, or have an administrator turn on Security → Anonymous Access",
                )
                .with_fix(CheckFix::Credentials)
                .fatal(),
            );
            return out;
        }
        Err(e) if e.kind == ErrorKind::Unauthorized => {
            out.push(Check::fail("login", e.message, e.hint).with_fix(CheckFix::Credentials).fatal());
            return out;
        }
        Err(e) => {
            out.push(Check::fail("repositories", e.message, e.hint).fatal());
            return out;
        }
    };
    match api.status_writable().await {
        Ok(()) => out.push(Check::ok("writable", "Nexus accepts writes (deletes, tasks)")),
        Err(e) => out.push(Check::fail("writable", e.message, e.hint)),
    }
    let mut rights = Vec::new();
    let mut missing = Vec::new();
    match api.tasks(None).await {
        Ok(_) => rights.push("tasks"),
        Err(e) if e.kind == ErrorKind::PermissionDenied => missing.push("nx-tasks-read and nx-tasks-run (GC)"),
        Err(_) => {}
    }
    match api.blob_stores().await {
        Ok(_) => rights.push("blob stores"),
        Err(e) if e.kind == ErrorKind::PermissionDenied => missing.push("nx-blobstores-read (blob store sizes)"),
        Err(_) => {}
    }
    if missing.is_empty() {
        out.push(Check::ok("privileges", format!("reads {}", rights.join(" and "))));
    } else {
        out.push(Check::fail(
            "privileges",
            format!("this user lacks {}", missing.join(", ")),
            "browsing and deletes work; for GC and the blob store view, ask a Nexus administrator to add these privileges to one of the user's roles (Security → Roles)",
        ));
    }
    match api.active_realms().await {
        Ok(Some(realms)) if !realms.iter().any(|r| r == "DockerToken") => out.push(
            Check::fail(
                "Docker Bearer Token Realm",
                "the Docker Bearer Token Realm is not active: docker login and Docker token requests fail, anonymous pulls too",
                "in Nexus, Security → Realms: move “Docker Bearer Token Realm” to Active and save",
            )
            .with_fix(CheckFix::ServerSetting { place: "Security → Realms".into() }),
        ),
        Ok(Some(_)) => out.push(Check::ok("Docker Bearer Token Realm", "active")),
        _ => {}
    }
    if repos.is_empty() {
        out.push(Check::fail(
            "docker repositories",
            "this account sees no docker repository",
            "create a docker (hosted) repository with an HTTP connector port, or ask for nx-repository-view-docker-*-browse",
        ));
    }
    for r in &repos {
        out.extend(check_repository(r, &s.endpoint_of(r), &s.creds, &s.tls, &root).await);
    }
    out
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
    fn tag_digests<'a>(&'a self, repo: &'a str) -> BoxFuture<'a, Result<Option<crate::TagDigests>, Error>> {
        Box::pin(async move { Ok(self.all_tag_digests().await?.map(|mut all| all.remove(repo).unwrap_or_default())) })
    }

    /// The components API lists the whole docker repository: one listing for every image.
    fn all_tag_digests(&self) -> BoxFuture<'_, Result<Option<HashMap<String, crate::TagDigests>>, Error>> {
        Box::pin(async move {
            let mut by_image: HashMap<String, Vec<(String, String)>> = HashMap::new();
            for c in self.api.components(&self.repository).await? {
                match c.manifest_digest() {
                    Some(d) => by_image.entry(c.name).or_default().push((c.version, d)),
                    None => return Ok(None),
                }
            }
            for tags in by_image.values_mut() {
                tags.sort();
            }
            Ok(Some(by_image))
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
            let manifest = c.manifest_digest();
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
            if let Some(why) = self.read_only() {
                return Ok(Some(why));
            }
            match self.api.status_writable().await {
                Err(e) if e.kind == ErrorKind::ReadOnly => return Ok(Some((e.message, e.hint))),
                Err(e) => return Err(e),
                Ok(()) => {}
            }
            crate::probe_v2(&self.client, repo).await
        })
    }

    /// Only a hosted repository that takes deployments stores what is pushed; a proxy or group
    /// refuses it, and so does a frozen Nexus.
    fn push_blocked<'a>(&'a self, repo: &'a str) -> BoxFuture<'a, Result<Option<(String, String)>, Error>> {
        Box::pin(async move {
            let name = &self.repository;
            let blocked = match (self.kind.as_str(), self.write_policy.as_deref()) {
                ("proxy", _) => Some((
                    format!("{name} is a Nexus proxy repository: it only caches the registry it proxies"),
                    "copy to a hosted docker repository of this Nexus (a group serves it to clients)".to_string(),
                )),
                ("group", _) => Some((
                    format!("{name} is a Nexus group repository: it only reads through its members"),
                    "copy to the member hosted repository instead".to_string(),
                )),
                (_, Some("DENY")) => Some((
                    format!("{name}'s deployment policy is read-only (DENY)"),
                    "an administrator can set Deployment policy to “Allow redeploy” (Repository → Repositories)"
                        .to_string(),
                )),
                _ => None,
            };
            if blocked.is_some() {
                return Ok(blocked);
            }
            match self.api.status_writable().await {
                Err(e) if e.kind == ErrorKind::ReadOnly => return Ok(Some((e.message, e.hint))),
                Err(e) => return Err(e),
                Ok(()) => {}
            }
            crate::probe_push_v2(&self.client, repo).await
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
                if c.manifest_digest().as_deref() == Some(digest.as_str()) {
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

    /// The repository's type and deployment policy (what `/v2/` cannot say).
    fn diagnose(&self) -> BoxFuture<'_, Vec<Check>> {
        Box::pin(async move {
            let name = format!("repository {}", self.repository);
            let mut out = vec![match self.read_only() {
                Some((why, hint)) => {
                    Check::ok(format!("{name}: deletes"), format!("read-only in Berth: {why} ({hint})"))
                }
                None => Check::ok(
                    format!("{name}: deletes"),
                    format!("{} repository: deletes through the components API", self.kind),
                ),
            }];
            out.extend(redeploy_check(&self.repository, self.write_policy.as_deref()));
            out
        })
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

    fn push_blocked<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<(String, String)>, Error>> {
        Box::pin(async {
            let e = server_profile_error();
            Ok(Some((e.message, e.hint)))
        })
    }

    fn diagnose(&self) -> BoxFuture<'_, Vec<Check>> {
        Box::pin(diagnose_server(self))
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
