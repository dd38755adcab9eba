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
    pub kind: String,
    /// The repository's URL (`…/repository/<name>`).
    pub url: String,
    pub docker: Option<DockerAttributes>,
    pub blob_store: Option<String>,
    /// The registry root to use for `/v2`: the connector port when there is one, else the path route.
    pub endpoint: String,
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

/// Task types Berth runs.
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

    fn url(&self, path: &str) -> Url {
        Url::parse(&format!("{}service/rest/{}", self.root, path.trim_start_matches('/'))).expect("API URL")
    }

    async fn send(&self, method: Method, url: &Url) -> Result<reqwest::Response, Error> {
        let mut rb = self.http.request(method, url.clone()).header(reqwest::header::ACCEPT, "application/json");
        if let Credentials::Basic { username, password } = &self.creds {
            rb = rb.basic_auth(username, Some(password));
        }
        rb.send().await.map_err(|e| Error::from_transport(url, &e))
    }

    async fn call(&self, method: Method, url: &Url, what: &str) -> Result<reqwest::Response, Error> {
        let resp = self.send(method, url).await?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        Err(self.fail(url, resp.status(), what))
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
        let bytes = resp.bytes().await.map_err(|e| Error::from_transport(&url, &e))?;
        serde_json::from_slice(&bytes).map_err(|e| {
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

    /// Docker repositories with their registry endpoints. Uses `GET /v1/repositories/docker/<type>/<name>`
    /// for the connector ports; on servers without it (before ~3.30) the path route is used.
    pub async fn docker_repositories(&self) -> Result<Vec<DockerRepository>, Error> {
        let mut out = Vec::new();
        for r in self.repositories().await?.into_iter().filter(|r| r.format == "docker") {
            let url = self.url(&format!("v1/repositories/docker/{}/{}", r.kind, r.name));
            let resp = self.send(Method::GET, &url).await?;
            let (docker, blob_store) = match resp.status() {
                s if s.is_success() => {
                    let v: Value = resp.json().await.map_err(|e| Error::from_transport(&url, &e))?;
                    let docker =
                        v.get("docker").cloned().and_then(|d| serde_json::from_value::<DockerAttributes>(d).ok());
                    let store = v.pointer("/storage/blobStoreName").and_then(Value::as_str).map(str::to_string);
                    (docker, store)
                }
                StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => (None, None),
                s => return Err(self.fail(&url, s, &format!("reading docker repository {}", r.name))),
            };
            let endpoint = self.endpoint(&r, docker.as_ref());
            out.push(DockerRepository { name: r.name, kind: r.kind, url: r.url, docker, blob_store, endpoint });
        }
        Ok(out)
    }

    fn endpoint(&self, r: &RepositoryXo, d: Option<&DockerAttributes>) -> String {
        let host = self.root.host_str().unwrap_or("localhost");
        let host = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
        match d {
            Some(DockerAttributes { https_port: Some(p), .. }) => format!("https://{host}:{p}"),
            Some(DockerAttributes { http_port: Some(p), .. }) => format!("{}://{host}:{p}", self.root.scheme()),
            _ => format!("{}repository/{}", self.root, r.name),
        }
    }

    async fn all_pages<T: DeserializeOwned>(&self, path: &str, repository: &str, what: &str) -> Result<Vec<T>, Error> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..1_000_000 {
            let mut p = format!("{path}?repository={}", enc(repository));
            if let Some(t) = &token {
                p.push_str(&format!("&continuationToken={}", enc(t)));
            }
            let page: Page<T> = self.get_json(&p, what).await?;
            let empty = page.items.is_empty();
            out.extend(page.items);
            // A full last page still carries a token; the next (empty) page ends it.
            match page.continuation_token {
                Some(t) if !empty => token = Some(t),
                _ => break,
            }
        }
        Ok(out)
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

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
