//! A client for the Sonatype Nexus Repository 3 REST API (`/service/rest`), for what a docker
//! registry manager needs beyond `/v2`:
//!
//! * docker repositories and the address of their registry endpoint (connector port
//!   `docker.httpPort`/`httpsPort`, else `/repository/<name>/` on the main port);
//! * components (image:tag) and assets, paged with `continuationToken`;
//! * deletes through the components API (a `/v2` manifest delete leaves the tag behind on 3.89+);
//! * `status` and `status/writable` (503 = down or read-only);
//! * tasks (`repository.docker.gc`, `blobstore.compact`): list, run, poll, stop; blob store sizes.
//!
//! Errors are [`berth_registry::Error`]s with a message and a hint.

// Server data never panics this crate: no unwrap, expect or unchecked indexing outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

use std::time::Duration;

use berth_registry::{Credentials, Error, ErrorKind, TlsOptions};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

/// A client for one Nexus instance. Cheap to clone.
#[derive(Clone)]
pub struct NexusClient {
    root: Url,
    http: reqwest::Client,
    creds: Credentials,
}

impl std::fmt::Debug for NexusClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NexusClient").field("root", &self.root.as_str()).field("creds", &self.creds).finish()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RepositoryXo {
    pub name: String,
    pub format: String,
    /// `hosted`, `proxy` or `group`.
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
    pub size: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DockerAttributes {
    pub v1_enabled: bool,
    pub force_basic_auth: bool,
    pub http_port: Option<u16>,
    pub https_port: Option<u16>,
    pub subdomain: Option<String>,
    pub path_enabled: Option<bool>,
}

/// A docker repository and where its registry API answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DockerRepository {
    pub name: String,
    /// `hosted`, `proxy` or `group`.
    pub kind: String,
    /// The repository's URL (`…/repository/<name>`).
    pub url: String,
    /// `None`: the account may not read the repository's settings (it needs
    /// `nx-repository-admin-docker-<name>-read`), or the server is too old to show them (before ~3.30).
    pub docker: Option<DockerAttributes>,
    pub blob_store: Option<String>,
    /// Hosted: `ALLOW` (redeploy), `ALLOW_ONCE` (no redeploy), `DENY` (read-only).
    pub write_policy: Option<String>,
    /// Names of the cleanup policies attached to it.
    pub cleanup_policies: Vec<String>,
    /// Group: its members.
    pub members: Vec<String>,
    /// The registry root to use for `/v2`: the connector port when there is one, else the path route.
    pub endpoint: String,
    /// How `endpoint` was chosen: `connector` (its own port), `subdomain` or `path` (`/repository/<name>/`).
    pub routing: String,
}

/// A cleanup policy (`/internal/cleanup-policies`, recent versions only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CleanupPolicy {
    pub name: String,
    pub format: String,
    pub notes: Option<String>,
    /// Component age: days since the last blob update.
    pub criteria_last_blob_updated: Option<i64>,
    /// Days since the last download.
    pub criteria_last_downloaded: Option<i64>,
    pub criteria_asset_regex: Option<String>,
    pub retain: Option<i64>,
    pub in_use_count: Option<i64>,
    pub repositories: Vec<String>,
}

/// One page of components and the token of the next (`None`: the last page).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ComponentPage {
    pub items: Vec<Component>,
    pub continuation_token: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Asset {
    pub id: String,
    pub path: String,
    pub download_url: String,
    pub repository: String,
    pub content_type: Option<String>,
    pub file_size: Option<u64>,
    pub checksum: std::collections::BTreeMap<String, Value>,
    pub last_modified: Option<String>,
    pub blob_store_name: Option<String>,
}

impl Asset {
    /// `sha256:<hex>` of the asset (for a manifest asset: the manifest digest).
    pub fn digest(&self) -> Option<String> {
        self.checksum.get("sha256").and_then(Value::as_str).map(|h| format!("sha256:{h}"))
    }
}

/// For docker: `name` is the image, `version` the tag.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Component {
    pub id: String,
    pub repository: String,
    pub format: String,
    pub name: String,
    pub version: String,
    pub assets: Vec<Asset>,
}

impl Component {
    /// The digest of a docker component's manifest asset (`v2/<image>/manifests/<tag>`).
    pub fn manifest_digest(&self) -> Option<String> {
        self.assets.iter().filter(|a| a.path.contains("/manifests/")).find_map(Asset::digest)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page<T> {
    #[serde(default = "Vec::new")]
    items: Vec<T>,
    #[serde(default)]
    continuation_token: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Task {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub message: Option<String>,
    /// `WAITING`, `RUNNING…`, …
    pub current_state: String,
    /// `OK`, `FAILED`, `CANCELED`, `INTERRUPTED`.
    pub last_run_result: Option<String>,
    pub last_run: Option<String>,
    pub enabled: Option<bool>,
    pub properties: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BlobStore {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub unavailable: bool,
    pub blob_count: u64,
    /// Falls only after a compaction.
    pub total_size_in_bytes: u64,
    pub available_space_in_bytes: u64,
}

/// Parses `data` as every Nexus answer Berth reads (components and assets pages, tasks, blob
/// stores, repositories): for the fuzz target and the mutation test; must never panic.
pub fn fuzz_parse(data: &[u8]) {
    let via_value = |d: &[u8]| serde_json::from_slice::<Value>(d).ok();
    if let Some(v) = via_value(data) {
        if let Ok(p) = serde_json::from_value::<Page<Component>>(v.clone()) {
            for c in &p.items {
                let _ = c.manifest_digest();
            }
        }
        let _ = serde_json::from_value::<Page<Asset>>(v.clone());
        let _ = serde_json::from_value::<Page<Task>>(v.clone());
        let _ = serde_json::from_value::<Vec<Task>>(v.clone());
        let _ = serde_json::from_value::<Vec<BlobStore>>(v.clone());
        let _ = serde_json::from_value::<Vec<RepositoryXo>>(v);
    }
}

/// The largest answer Berth reads from Nexus's REST API.
pub const PAGE_LIMIT: usize = 8 * 1024 * 1024;

pub const TASK_DOCKER_GC: &str = "repository.docker.gc";
pub const TASK_COMPACT: &str = "blobstore.compact";

impl NexusClient {
    /// `url`: the Nexus address (`https://nexus.example.com`), with or without `/service/rest`.
    pub fn new(url: &str, creds: Credentials, tls: &TlsOptions) -> Result<Self, Error> {
        let trimmed = url.trim().trim_end_matches('/').trim_end_matches("/service/rest");
        let root = berth_registry::parse_registry_url(trimmed)?;
        Ok(NexusClient { root, http: berth_registry::build_http(tls)?, creds })
    }

    pub fn base_url(&self) -> &Url {
        &self.root
    }

    #[allow(
        clippy::expect_used,
        reason = "the server root is a valid URL and `path` is built by this crate, already encoded"
    )]
    fn url(&self, path: &str) -> Url {
        Url::parse(&format!("{}service/rest/{}", self.root, path.trim_start_matches('/'))).expect("API URL")
    }

    async fn send(&self, method: Method, url: &Url) -> Result<reqwest::Response, Error> {
        let build = || {
            let mut rb =
                self.http.request(method.clone(), url.clone()).header(reqwest::header::ACCEPT, "application/json");
            if let Credentials::Basic { username, password } = &self.creds {
                rb = rb.basic_auth(username, Some(password));
            }
            rb
        };
        berth_registry::send_retrying(&method, url, true, build).await
    }

    async fn call(&self, method: Method, url: &Url, what: &str) -> Result<reqwest::Response, Error> {
        let resp = self.send(method.clone(), url).await?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let e = self.fail(url, resp.status(), what);
        if resp.status() == StatusCode::FORBIDDEN {
            return Err(forbidden(&method, url, what));
        }
        Err(e)
    }

    fn fail(&self, url: &Url, status: StatusCode, what: &str) -> Error {
        let has_creds = !matches!(self.creds, Credentials::Anonymous);
        let e = match status.as_u16() {
            401 if has_creds => Error::new(
                ErrorKind::Unauthorized,
                format!("{what}: Nexus at {} rejected the username or password", self.root),
                "check the credentials (a user token's name code and pass code work as username and password)",
            ),
            401 => Error::new(ErrorKind::Unauthorized, format!("{what}: Nexus at {} requires a login", self.root), "add a username and password to the profile"),
            403 => Error::new(
                ErrorKind::PermissionDenied,
                format!("{what}: this Nexus user lacks the privilege"),
                "ask an administrator for the nx-repository-view-docker-<repository>-* privileges (and nx-tasks / nx-blobstores for maintenance)",
            ),
            404 => Error::new(ErrorKind::NotFound, format!("{what}: not found on Nexus ({url})"), "refresh: it may have been removed already"),
            405 => Error::new(ErrorKind::Protocol, format!("{what}: Nexus refused: the task is disabled"), "enable the task in Nexus (System > Tasks) first"),
            409 => Error::new(ErrorKind::Protocol, format!("{what}: Nexus refused: the task is not running or cannot be stopped"), "refresh the task's state"),
            422 => Error::new(ErrorKind::Protocol, format!("{what}: Nexus refused the request as malformed"), "refresh the list and try again"),
            503 => Error::new(
                ErrorKind::ReadOnly,
                format!("{what}: Nexus is unavailable or read-only (503)"),
                "Nexus is starting, or an administrator froze it (read-only mode): try again once `status/writable` answers 200",
            ),
            s if s >= 500 => Error::new(ErrorKind::Server, format!("{what}: Nexus failed with {s}"), "check Nexus' log (nexus.log)"),
            s => Error::new(ErrorKind::Protocol, format!("{what}: unexpected answer {s} from {url}"), "check that the profile's URL is the Nexus address (port 8081 by default)"),
        };
        e.with_status(status.as_u16(), None)
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str, what: &str) -> Result<T, Error> {
        let url = self.url(path);
        let resp = self.call(Method::GET, &url, what).await?;
        let bytes = berth_registry::read_limited(resp, PAGE_LIMIT).await.map_err(|e| e.at(&url))?;
        // Through `Value`: a key given twice (some 3.6x versions repeat `blobCreated`) keeps its last
        // value instead of failing a derived struct.
        serde_json::from_slice::<Value>(&bytes).and_then(serde_json::from_value).map_err(|e| {
            Error::new(
                ErrorKind::Protocol,
                format!("{what}: unexpected JSON from {url}: {e}"),
                "check that the profile's URL is the Nexus address",
            )
        })
    }

    /// `GET /v1/status`: 200 when the node can serve reads.
    pub async fn status(&self) -> Result<(), Error> {
        let url = self.url("v1/status");
        let resp = self.send(Method::GET, &url).await?;
        match resp.status() {
            s if s.is_success() => Ok(()),
            StatusCode::SERVICE_UNAVAILABLE => Err(Error::new(
                ErrorKind::Server,
                format!("Nexus at {} is unavailable (503 from /service/rest/v1/status)", self.root),
                "Nexus is starting or unhealthy: wait a minute, then check its log",
            )
            .with_status(503, None)),
            s => Err(self.fail(&url, s, "checking Nexus' status")),
        }
    }

    /// `GET /v1/status/writable`: 200 when the node accepts writes (deletes, task runs).
    pub async fn status_writable(&self) -> Result<(), Error> {
        let url = self.url("v1/status/writable");
        let resp = self.send(Method::GET, &url).await?;
        match resp.status() {
            s if s.is_success() => Ok(()),
            StatusCode::SERVICE_UNAVAILABLE => Err(Error::new(
                ErrorKind::ReadOnly,
                format!("Nexus at {} is read-only: /service/rest/v1/status/writable answered 503", self.root),
                "an administrator froze Nexus (read-only mode, e.g. for a backup) or it is still starting: deletes and cleanup tasks must wait until it is writable again",
            )
            .with_status(503, None)),
            s => Err(self.fail(&url, s, "checking whether Nexus is writable")),
        }
    }

    /// Checks the credentials against an endpoint that needs them.
    pub async fn check_login(&self) -> Result<(), Error> {
        self.repositories().await.map(|_| ())
    }

    /// Every repository the user may browse (all formats).
    pub async fn repositories(&self) -> Result<Vec<RepositoryXo>, Error> {
        self.get_json("v1/repositories", "listing Nexus repositories").await
    }

    /// Docker repositories (hosted, proxy, group) with their registry endpoints. Reads
    /// `GET /v1/repositories/docker/<type>/<name>` for the connector ports; where the server has no
    /// such call (before ~3.30) or the account may not read the settings, the path route is used.
    pub async fn docker_repositories(&self) -> Result<Vec<DockerRepository>, Error> {
        let mut out = Vec::new();
        for r in self.repositories().await?.into_iter().filter(|r| r.format == "docker") {
            let url = self.url(&format!("v1/repositories/docker/{}/{}", r.kind, enc(&r.name)));
            let resp = self.send(Method::GET, &url).await?;
            let settings: Option<Value> = match resp.status() {
                s if s.is_success() => {
                    let bytes = berth_registry::read_limited(resp, PAGE_LIMIT).await.map_err(|e| e.at(&url))?;
                    serde_json::from_slice(&bytes).ok()
                }
                StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED | StatusCode::FORBIDDEN => None,
                s => return Err(self.fail(&url, s, &format!("reading docker repository {}", r.name))),
            };
            let v = settings.unwrap_or(Value::Null);
            let docker = v.get("docker").cloned().and_then(|d| serde_json::from_value::<DockerAttributes>(d).ok());
            let text = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
            let list = |p: &str| -> Vec<String> {
                v.pointer(p)
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                    .unwrap_or_default()
            };
            let (endpoint, routing) = self.endpoint(&r, docker.as_ref());
            out.push(DockerRepository {
                blob_store: text("/storage/blobStoreName"),
                write_policy: text("/storage/writePolicy").map(|w| w.to_ascii_uppercase()),
                cleanup_policies: list("/cleanup/policyNames"),
                members: list("/group/memberNames"),
                name: r.name,
                kind: r.kind,
                url: r.url,
                docker,
                endpoint,
                routing: routing.into(),
            });
        }
        Ok(out)
    }

    fn endpoint(&self, r: &RepositoryXo, d: Option<&DockerAttributes>) -> (String, &'static str) {
        // `host_str` writes an IPv6 address in its brackets already.
        let host = self.root.host_str().unwrap_or("localhost");
        match d {
            Some(DockerAttributes { https_port: Some(p), .. }) => (format!("https://{host}:{p}"), "connector"),
            Some(DockerAttributes { http_port: Some(p), .. }) => {
                (format!("{}://{host}:{p}", self.root.scheme()), "connector")
            }
            Some(DockerAttributes { subdomain: Some(sub), .. }) if !sub.is_empty() => {
                let port = self.root.port().map(|p| format!(":{p}")).unwrap_or_default();
                (format!("{}://{sub}.{host}{port}", self.root.scheme()), "subdomain")
            }
            _ => (format!("{}repository/{}", self.root, r.name), "path"),
        }
    }

    /// Whether anonymous access is on (`None`: the account may not read the setting).
    pub async fn anonymous_enabled(&self) -> Result<Option<bool>, Error> {
        let v: Option<Value> = self.get_optional("v1/security/anonymous", "reading anonymous access").await?;
        Ok(v.and_then(|v| v.get("enabled").and_then(Value::as_bool)))
    }

    /// The active security realms in order (`None`: the account may not read them).
    pub async fn active_realms(&self) -> Result<Option<Vec<String>>, Error> {
        self.get_optional("v1/security/realms/active", "reading the active realms").await
    }

    /// Cleanup policies (`None`: the server has no such API, or the account may not read it).
    pub async fn cleanup_policies(&self) -> Result<Option<Vec<CleanupPolicy>>, Error> {
        self.get_optional("internal/cleanup-policies?format=docker", "listing cleanup policies").await
    }

    /// A GET whose 403/404/405 means "not available to this account or server": `None`.
    async fn get_optional<T: DeserializeOwned>(&self, path: &str, what: &str) -> Result<Option<T>, Error> {
        match self.get_json(path, what).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if matches!(e.status, Some(403..=405)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One page of a repository's components (`token`: from the previous page).
    pub async fn components_page(&self, repository: &str, token: Option<&str>) -> Result<ComponentPage, Error> {
        let mut p = format!("v1/components?repository={}", enc(repository));
        if let Some(t) = token {
            p.push_str(&format!("&continuationToken={}", enc(t)));
        }
        let page: Page<Component> = self.get_json(&p, &format!("listing components of {repository}")).await?;
        Ok(ComponentPage { items: page.items, continuation_token: page.continuation_token })
    }

    async fn all_pages<T: DeserializeOwned>(&self, path: &str, repository: &str, what: &str) -> Result<Vec<T>, Error> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..berth_registry::MAX_PAGES {
            let mut p = format!("{path}?repository={}", enc(repository));
            if let Some(t) = &token {
                p.push_str(&format!("&continuationToken={}", enc(t)));
            }
            let page: Page<T> = self.get_json(&p, what).await?;
            let empty = page.items.is_empty();
            out.extend(page.items);
            berth_registry::check_listed(&self.url(path), out.len())?;
            // A full last page still carries a token; the next (empty) page ends it.
            match page.continuation_token {
                Some(t) if !empty => {
                    if !seen.insert(t.clone()) {
                        let url = self.url(path);
                        return Err(berth_registry::incomplete(
                            &url,
                            "Nexus sent a continuationToken it had sent before",
                        ));
                    }
                    token = Some(t)
                }
                _ => return Ok(out),
            }
        }
        Err(berth_registry::incomplete(&self.url(path), &format!("more than {} pages", berth_registry::MAX_PAGES)))
    }

    /// Every component (image:tag) of a repository.
    pub async fn components(&self, repository: &str) -> Result<Vec<Component>, Error> {
        self.all_pages("v1/components", repository, &format!("listing components of {repository}")).await
    }

    pub async fn assets(&self, repository: &str) -> Result<Vec<Asset>, Error> {
        self.all_pages("v1/assets", repository, &format!("listing assets of {repository}")).await
    }

    /// The component for `image:tag`, if any.
    pub async fn find_component(&self, repository: &str, image: &str, tag: &str) -> Result<Option<Component>, Error> {
        Ok(self.components(repository).await?.into_iter().find(|c| c.name == image && c.version == tag))
    }

    /// Deletes a component (docker: one image:tag). The manifest's content stays in the blob store
    /// until the `repository.docker.gc` task and a compaction have run.
    pub async fn delete_component(&self, id: &str) -> Result<(), Error> {
        let url = self.url(&format!("v1/components/{}", enc(id)));
        self.call(Method::DELETE, &url, "deleting a component").await.map(|_| ())
    }

    pub async fn tasks(&self, kind: Option<&str>) -> Result<Vec<Task>, Error> {
        let path = match kind {
            Some(k) => format!("v1/tasks?type={}", enc(k)),
            None => "v1/tasks".into(),
        };
        let page: Page<Task> = self.get_json(&path, "listing Nexus tasks").await?;
        Ok(page.items)
    }

    pub async fn task(&self, id: &str) -> Result<Task, Error> {
        self.get_json(&format!("v1/tasks/{}", enc(id)), &format!("reading task {id}")).await
    }

    /// Starts a task now (204; 404 unknown; 405 disabled).
    pub async fn run_task(&self, id: &str) -> Result<(), Error> {
        self.call(Method::POST, &self.url(&format!("v1/tasks/{}/run", enc(id))), &format!("running task {id}"))
            .await
            .map(|_| ())
    }

    pub async fn stop_task(&self, id: &str) -> Result<(), Error> {
        self.call(Method::POST, &self.url(&format!("v1/tasks/{}/stop", enc(id))), &format!("stopping task {id}"))
            .await
            .map(|_| ())
    }

    /// Polls until the task has run (not RUNNING and a `lastRunResult`), or `timeout`.
    pub async fn wait_task(&self, id: &str, timeout: Duration) -> Result<Task, Error> {
        let start = std::time::Instant::now();
        loop {
            let t = self.task(id).await?;
            let done = !t.current_state.starts_with("RUNNING") && t.last_run_result.is_some();
            if done || start.elapsed() > timeout {
                return Ok(t);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn blob_stores(&self) -> Result<Vec<BlobStore>, Error> {
        self.get_json("v1/blobstores", "listing blob stores").await
    }
}

/// The privilege a REST call needs, as Nexus names it (Security → Privileges).
pub fn needed_privilege(method: &Method, url: &Url) -> Option<String> {
    let path = url.path();
    let rel = path.split("/service/rest/").nth(1)?;
    let query = |k: &str| url.query_pairs().find(|(a, _)| a == k).map(|(_, v)| v.into_owned());
    let segs: Vec<&str> = rel.split('/').collect();
    let p = match (method.as_str(), segs.as_slice()) {
        (_, ["v1", "tasks", ..]) if method == Method::GET => "nx-tasks-read".to_string(),
        (_, ["v1", "tasks", ..]) => "nx-tasks-run".to_string(),
        (_, ["v1", "blobstores", ..]) => "nx-blobstores-read".to_string(),
        (_, ["v1", "security", ..]) => "nx-settings-read".to_string(),
        (_, ["internal", "cleanup-policies", ..]) => "nx-cleanup-policies-read".to_string(),
        ("GET", ["v1", "components" | "assets"]) => {
            format!("nx-repository-view-docker-{}-browse", query("repository")?)
        }
        ("DELETE", ["v1", "components", id]) => {
            use base64::Engine;
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id.trim_end_matches('=')).ok()?;
            let decoded = String::from_utf8(raw).ok()?;
            format!("nx-repository-view-docker-{}-delete", decoded.split_once(':')?.0)
        }
        ("GET", ["v1", "repositories", "docker", _, name]) => format!("nx-repository-admin-docker-{name}-read"),
        _ => return None,
    };
    Some(p)
}

fn forbidden(method: &Method, url: &Url, what: &str) -> Error {
    let e = match needed_privilege(method, url) {
        Some(p) => Error::new(
            ErrorKind::PermissionDenied,
            format!("{what}: this Nexus user lacks the privilege {p}"),
            format!("ask a Nexus administrator to add {p} to one of the user's roles (Security → Roles)"),
        ),
        None => Error::new(
            ErrorKind::PermissionDenied,
            format!("{what}: this Nexus user lacks the privilege"),
            "ask a Nexus administrator for the nx-repository-view-docker-<repository>-* privileges (and nx-tasks / nx-blobstores for maintenance)",
        ),
    };
    e.with_status(403, None)
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint_of(server: &str, docker: serde_json::Value) -> (String, &'static str) {
        let c = NexusClient::new(server, Credentials::Anonymous, &TlsOptions::default()).unwrap();
        let r: RepositoryXo = serde_json::from_value(serde_json::json!({
            "name": "docker-a", "format": "docker", "type": "hosted", "url": format!("{server}/repository/docker-a"), "size": null
        }))
        .unwrap();
        let d: DockerAttributes = serde_json::from_value(docker).unwrap();
        let (url, routing) = c.endpoint(&r, Some(&d));
        (url, routing)
    }

    #[test]
    fn connector_urls_are_built_on_the_servers_host() {
        let s = "http://nexus.lan:8081";
        // Nexus 3 answers these shapes (3.94 with every key, null where unset).
        assert_eq!(
            endpoint_of(s, serde_json::json!({"httpPort": 8082, "httpsPort": null, "subdomain": null})),
            ("http://nexus.lan:8082".into(), "connector")
        );
        assert_eq!(
            endpoint_of(s, serde_json::json!({"httpPort": null, "httpsPort": 8443})),
            ("https://nexus.lan:8443".into(), "connector")
        );
        assert_eq!(
            endpoint_of(s, serde_json::json!({"httpPort": 8082, "httpsPort": 8443})),
            ("https://nexus.lan:8443".into(), "connector"),
            "https is preferred when both connectors are on"
        );
        assert_eq!(
            endpoint_of(s, serde_json::json!({"httpPort": null, "httpsPort": null, "subdomain": "docker-a"})),
            ("http://docker-a.nexus.lan:8081".into(), "subdomain")
        );
        assert_eq!(
            endpoint_of(
                s,
                serde_json::json!({"httpPort": null, "httpsPort": null, "subdomain": "", "pathEnabled": true})
            ),
            ("http://nexus.lan:8081/repository/docker-a".into(), "path")
        );
        assert_eq!(endpoint_of(s, serde_json::json!({})), ("http://nexus.lan:8081/repository/docker-a".into(), "path"));
        assert_eq!(
            endpoint_of("https://[::1]:8443", serde_json::json!({"httpPort": 8082})),
            ("https://[::1]:8082".into(), "connector")
        );
    }
}
