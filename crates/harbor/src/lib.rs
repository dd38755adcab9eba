//! A client for Harbor's REST API (`/api/v2.0`): what a registry manager needs beyond `/v2`.
//!
//! * Projects and repositories come from the API, because `/v2/_catalog` is for system admins only
//!   (robots and ordinary users get 401 there).
//! * Repository names in paths are project-relative and encoded twice (`a/b` → `a%252Fb`).
//! * Deletes go through the API: a tag only ([`HarborClient::delete_tag`]), or an artifact with all
//!   its tags ([`HarborClient::delete_artifact`], refused with 412 while an index references it).
//! * Lists are paged (`page`, `page_size` ≤ 100) and followed through `Link: <…>; rel="next"`.
//! * No cookie store: Harbor's CSRF check only applies to requests that carry its session cookie.
//!
//! Errors are [`berth_registry::Error`]s with a message and a hint, like every Berth backend.

// Server data never panics this crate: no unwrap, expect or unchecked indexing outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

use std::time::Duration;

use berth_registry::{Credentials, Error, ErrorKind, TlsOptions};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

mod types;

pub use types::*;

/// Harbor's `page_size` maximum.
pub const MAX_PAGE_SIZE: u32 = 100;

/// The largest answer Berth reads from Harbor's API (a page of 100 artifacts with their tags,
/// accessories and scan overviews is well below).
pub const PAGE_LIMIT: usize = 8 * 1024 * 1024;

/// The largest GC log Berth reads.
pub const LOG_LIMIT: usize = 16 * 1024 * 1024;

fn parse_json<T: DeserializeOwned>(bytes: &[u8], url: &Url, what: &str) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|e| {
        Error::new(
            ErrorKind::Protocol,
            format!("{what}: unexpected JSON from {url}: {e}"),
            "check that the profile's URL is Harbor's address",
        )
    })
}

/// A client for one Harbor instance. Cheap to clone.
#[derive(Clone)]
pub struct HarborClient {
    root: Url,
    api: Url,
    http: reqwest::Client,
    creds: Credentials,
    page_size: u32,
}

impl std::fmt::Debug for HarborClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HarborClient").field("root", &self.root.as_str()).field("creds", &self.creds).finish()
    }
}

/// Splits `project/repo/path` into the project and the repository path segment Harbor expects:
/// project-relative and percent-encoded twice (`/` → `%252F`).
pub fn repository_path(full: &str) -> Result<(String, String), Error> {
    let (project, rest) = full.split_once('/').filter(|(p, r)| !p.is_empty() && !r.is_empty()).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidUrl,
            format!("{full:?} is not a Harbor repository name"),
            "Harbor repositories are named <project>/<repository>, e.g. library/nginx",
        )
    })?;
    Ok((encode(project), encode(&encode(rest))))
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The `rel="next"` URL of a `Link` header (Harbor joins entries with `" , "`).
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find(|part| part.contains("rel=\"next\"")).and_then(|part| {
        let (_, after) = part.split_once('<')?;
        let (target, _) = after.split_once('>')?;
        Some(target.to_string())
    })
}

impl HarborClient {
    /// `url`: Harbor's address (`https://harbor.example.com`), with or without `/api/v2.0`.
    pub fn new(url: &str, creds: Credentials, tls: &TlsOptions) -> Result<Self, Error> {
        let trimmed = url.trim().trim_end_matches('/').trim_end_matches("/api/v2.0");
        let root = berth_registry::parse_registry_url(trimmed)?;
        let api = root.join("api/v2.0/").map_err(|e| {
            Error::new(
                ErrorKind::InvalidUrl,
                format!("{root}: {e}"),
                "give Harbor's address, like https://harbor.example.com",
            )
        })?;
        let http = berth_registry::build_http(tls)?;
        Ok(HarborClient { root, api, http, creds, page_size: MAX_PAGE_SIZE })
    }

    /// Items per page for list calls (1–100; default 100).
    pub fn with_page_size(mut self, n: u32) -> Self {
        self.page_size = n.clamp(1, MAX_PAGE_SIZE);
        self
    }

    pub fn base_url(&self) -> &Url {
        &self.root
    }

    fn has_credentials(&self) -> bool {
        !matches!(self.creds, Credentials::Anonymous)
    }

    #[allow(
        clippy::expect_used,
        reason = "the API root is a valid URL and `path` is built by this crate, already encoded"
    )]
    fn url(&self, path: &str) -> Url {
        // `path` is already encoded; Url::join would keep %25 sequences as they are.
        Url::parse(&format!("{}{}", self.api, path.trim_start_matches('/'))).expect("API URL")
    }

    async fn send(&self, method: Method, url: Url, body: Option<&Value>) -> Result<reqwest::Response, Error> {
        let build = || {
            // Project references are names: a project named `2024` is not the project with ID 2024.
            let mut rb = self
                .http
                .request(method.clone(), url.clone())
                .header(reqwest::header::ACCEPT, "application/json")
                .header("X-Is-Resource-Name", "true");
            if let Credentials::Basic { username, password } = &self.creds {
                rb = rb.basic_auth(username, Some(password));
            }
            if let Some(b) = body {
                rb = rb.json(b);
            }
            rb
        };
        berth_registry::send_retrying(&method, &url, false, build).await
    }

    /// Sends and turns any non-success answer into an explained error. `what` names the operation.
    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        what: &str,
    ) -> Result<reqwest::Response, Error> {
        let resp = self.send(method, url.clone(), body).await?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(self.fail(&url, resp, what).await)
        }
    }

    async fn fail(&self, url: &Url, resp: reqwest::Response, what: &str) -> Error {
        let status = resp.status().as_u16();
        let body = berth_registry::read_limited(resp, 64 * 1024).await.unwrap_or_default();
        let (code, msg) =
            berth_registry::parse_error_body(&body).map(|(c, m)| (Some(c), m)).unwrap_or((None, String::new()));
        let detail = if msg.is_empty() { String::new() } else { format!(" ({msg})") };
        let e = match (status, code.as_deref()) {
            (401, _) if self.has_credentials() => Error::new(
                ErrorKind::Unauthorized,
                format!("{what}: Harbor at {} rejected the username or password{detail}", self.root),
                "check the credentials; a robot account logs in as robot$<project>+<name> (the full name Harbor shows) with the secret given at its creation",
            ),
            (401, _) => Error::new(
                ErrorKind::Unauthorized,
                format!("{what}: Harbor at {} requires a login{detail}", self.root),
                "add a username and password (or a robot account) to the profile",
            ),
            (403, _) if msg.contains("CSRF") => Error::new(
                ErrorKind::Protocol,
                format!("{what}: Harbor refused the request: {msg}"),
                "a cookie session was sent with the request; Berth's client sends none, so check a proxy in between",
            ),
            (403, _) => Error::new(
                ErrorKind::PermissionDenied,
                format!("{what}: this account is not allowed to do that on Harbor{detail}"),
                "ask a project admin for the maintainer role, or use a robot account with this permission",
            ),
            (404, _) => Error::new(ErrorKind::NotFound, format!("{what}: not found on Harbor{detail}"), "check the project, repository, tag or digest; refresh the list"),
            (412, _) if msg.contains("immutable") => Error::new(
                ErrorKind::Protocol,
                format!("{what}: Harbor refused: the tag is immutable{detail}"),
                "a tag immutability rule of the project protects it; a project admin or maintainer can change the rules (Policy → Tag Immutability)",
            ),
            (412, Some("VIOLATE_FOREIGN_KEY_CONSTRAINT")) => Error::new(
                ErrorKind::Protocol,
                format!("{what}: Harbor refused: the artifact is part of a multi-platform index that still references it{detail}"),
                "delete the index that contains it (its platforms go with it), or delete only the tag",
            ),
            (412, _) => Error::new(
                ErrorKind::Protocol,
                format!("{what}: Harbor refused: a project policy protects it{detail}"),
                "check the project's immutable-tag rules and policies",
            ),
            (422, _) | (400, _) => Error::new(ErrorKind::Protocol, format!("{what}: Harbor refused the request{detail}"), "this is a bug in Berth or an unsupported Harbor version: please report it"),
            (s, _) if s >= 500 => Error::new(ErrorKind::Server, format!("{what}: Harbor failed with {s}{detail}"), "check Harbor's core and registry logs"),
            (s, _) => Error::new(ErrorKind::Protocol, format!("{what}: unexpected answer {s} from {url}{detail}"), "check that the profile's URL is Harbor's address"),
        };
        e.with_status(status, code)
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str, what: &str) -> Result<T, Error> {
        let url = self.url(path);
        let resp = self.call(Method::GET, url.clone(), None, what).await?;
        let bytes = berth_registry::read_limited(resp, PAGE_LIMIT).await.map_err(|e| e.at(&url))?;
        parse_json(&bytes, &url, what)
    }

    /// Every item of a paged list, following `Link: rel="next"`.
    async fn get_all<T: DeserializeOwned>(&self, path: &str, query: &str, what: &str) -> Result<Vec<T>, Error> {
        let sep = if query.is_empty() { "" } else { "&" };
        let mut url = self.url(&format!("{path}?page=1&page_size={}{sep}{query}", self.page_size));
        let mut out = Vec::new();
        let mut previous: Option<Vec<u8>> = None;
        let mut seen_urls = std::collections::HashSet::new();
        for _ in 0..berth_registry::MAX_PAGES {
            let resp = self.call(Method::GET, url.clone(), None, what).await?;
            let link = resp.headers().get(reqwest::header::LINK).map(|v| v.to_str().map(str::to_string));
            let next = match &link {
                Some(Ok(h)) => match next_link(h) {
                    Some(n) => Some(n),
                    None if h.to_ascii_lowercase().contains("next") => {
                        return Err(berth_registry::incomplete(
                            &url,
                            "the Link header names a next page Berth cannot read",
                        ))
                    }
                    None => None,
                },
                Some(Err(_)) => return Err(berth_registry::incomplete(&url, "the Link header is not text")),
                None => None,
            };
            let bytes = berth_registry::read_limited(resp, PAGE_LIMIT).await.map_err(|e| e.at(&url))?;
            let page: Vec<T> = parse_json(&bytes, &url, what)?;
            let empty = page.is_empty();
            if !empty && previous.as_deref() == Some(&*bytes) {
                return Err(berth_registry::incomplete(&url, "Harbor sent the same page twice"));
            }
            out.extend(page);
            berth_registry::check_listed(&url, out.len())?;
            previous = Some(bytes);
            match next {
                Some(n) if !empty => {
                    let next =
                        self.root.join(&n).map_err(|_| berth_registry::incomplete(&url, &format!("bad Link {n:?}")))?;
                    if next.origin() != self.root.origin() {
                        return Err(berth_registry::incomplete(
                            &url,
                            &format!("the next page is on another server ({}); Berth sends the profile's credentials only to its own address", next.origin().ascii_serialization()),
                        ));
                    }
                    if !seen_urls.insert(next.to_string()) {
                        return Err(berth_registry::incomplete(&url, "the pagination loops"));
                    }
                    url = next;
                }
                _ => return Ok(out),
            }
        }
        Err(berth_registry::incomplete(&url, &format!("more than {} pages", berth_registry::MAX_PAGES)))
    }

    /// `GET /systeminfo` (anonymous allowed; version and URLs only for a logged-in caller).
    pub async fn system_info(&self) -> Result<SystemInfo, Error> {
        self.get_json("systeminfo", "reading Harbor's system info").await
    }

    /// Checks the credentials: a wrong password does not fail on Harbor's public endpoints (the call
    /// is treated as anonymous), so this asks `/users/current`, which robots answer with 412.
    pub async fn check_login(&self) -> Result<Login, Error> {
        let info = self.system_info().await?;
        let mode = info.auth_mode.clone();
        if !self.has_credentials() {
            return Ok(Login {
                user: None,
                admin: false,
                robot: false,
                version: info.harbor_version,
                auth_mode: mode,
                oidc: false,
            });
        }
        let url = self.url("users/current");
        let resp = self.send(Method::GET, url.clone(), None).await?;
        match resp.status() {
            s if s.is_success() => {
                let bytes = berth_registry::read_limited(resp, PAGE_LIMIT).await.map_err(|e| e.at(&url))?;
                let u: Value = parse_json(&bytes, &url, "logging in")?;
                Ok(Login {
                    user: u.get("username").and_then(Value::as_str).map(str::to_string),
                    admin: u.get("sysadmin_flag").and_then(Value::as_bool).unwrap_or(false),
                    robot: false,
                    version: info.harbor_version,
                    oidc: mode.as_deref() == Some("oidc_auth") && u.get("oidc_user_meta").is_some_and(|m| !m.is_null()),
                    auth_mode: mode,
                })
            }
            StatusCode::PRECONDITION_FAILED => {
                let name = match &self.creds {
                    Credentials::Basic { username, .. } => Some(username.clone()),
                    Credentials::Anonymous => None,
                };
                Ok(Login {
                    user: name,
                    admin: false,
                    robot: true,
                    version: info.harbor_version,
                    auth_mode: mode,
                    oidc: false,
                })
            }
            _ => Err(self.fail(&url, resp, "logging in").await),
        }
    }

    pub async fn statistics(&self) -> Result<Statistics, Error> {
        self.get_json("statistics", "reading Harbor's statistics").await
    }

    /// Projects this account can see (public ones and those it is a member of).
    pub async fn projects(&self) -> Result<Vec<Project>, Error> {
        self.get_all("projects", "with_detail=true", "listing Harbor projects").await
    }

    pub async fn project_summary(&self, project: &str) -> Result<ProjectSummary, Error> {
        self.get_json(&format!("projects/{}/summary", encode(project)), &format!("reading project {project}")).await
    }

    /// Repositories of a project (names are full: `project/repo`).
    pub async fn repositories(&self, project: &str) -> Result<Vec<Repository>, Error> {
        self.get_all(
            &format!("projects/{}/repositories", encode(project)),
            "",
            &format!("listing repositories of {project}"),
        )
        .await
    }

    /// The project's tag immutability rules (maintainers and project admins may read them).
    pub async fn immutable_rules(&self, project: &str) -> Result<Vec<Rule>, Error> {
        self.get_all(
            &format!("projects/{}/immutabletagrules", encode(project)),
            "",
            &format!("reading the tag immutability rules of {project}"),
        )
        .await
    }

    /// A tag retention policy (its ID is in the project's `retention_id` metadata).
    pub async fn retention_policy(&self, id: i64) -> Result<RetentionPolicy, Error> {
        self.get_json(&format!("retentions/{id}"), &format!("reading tag retention policy {id}")).await
    }

    /// What the caller may do in a project (`resource`, `action` pairs, project-relative).
    pub async fn permissions(&self, project_id: i64) -> Result<Vec<Permission>, Error> {
        self.get_json(
            &format!("users/current/permissions?scope=%2Fproject%2F{project_id}&relative=true"),
            "reading this account's permissions",
        )
        .await
    }

    /// One project by name.
    pub async fn project(&self, project: &str) -> Result<Project, Error> {
        self.get_json(&format!("projects/{}", encode(project)), &format!("reading project {project}")).await
    }

    /// What this account may do in a project, from Harbor's own permission list.
    pub async fn rights(&self, project_id: i64) -> Result<Rights, Error> {
        Ok(Rights::from_permissions(&self.permissions(project_id).await?))
    }

    /// Every repository this account can see, through projects (not `/v2/_catalog`). A project whose
    /// repository list the account may not read is left out (it can neither pull nor delete there
    /// through a listing); the caller learns which from [`HarborClient::projects`] and the rights.
    pub async fn all_repositories(&self) -> Result<Vec<String>, Error> {
        let mut out = Vec::new();
        for p in self.projects().await? {
            match self.repositories(&p.name).await {
                Ok(r) => out.extend(r.into_iter().map(|r| r.name)),
                Err(e) if e.kind == ErrorKind::PermissionDenied => {
                    tracing::warn!("Harbor project {}: repositories not visible to this account: {e}", p.name)
                }
                Err(e) => return Err(e),
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Artifacts of a repository (`project/repo`), with their tags; `query` is Harbor's `q`
    /// (e.g. `tags=nil` for untagged ones).
    pub async fn artifacts(&self, repository: &str, query: Option<&str>) -> Result<Vec<Artifact>, Error> {
        self.artifacts_with(repository, query, "with_tag=true").await
    }

    /// Artifacts with everything the artifacts view shows: tags with their immutable status,
    /// labels, the scan overview and accessories (signatures, SBOMs) under their subject.
    pub async fn artifacts_detailed(&self, repository: &str) -> Result<Vec<Artifact>, Error> {
        self.artifacts_with(
            repository,
            None,
            "with_tag=true&with_label=true&with_scan_overview=true&with_accessory=true&with_immutable_status=true",
        )
        .await
    }

    /// Artifacts with their tags (and immutable status) and accessories: what a sync and a plan need.
    pub async fn artifacts_with_accessories(&self, repository: &str) -> Result<Vec<Artifact>, Error> {
        self.artifacts_with(repository, None, "with_tag=true&with_accessory=true&with_immutable_status=true").await
    }

    async fn artifacts_with(&self, repository: &str, query: Option<&str>, flags: &str) -> Result<Vec<Artifact>, Error> {
        let (p, r) = repository_path(repository)?;
        let mut q = flags.to_string();
        if let Some(f) = query {
            q.push_str(&format!("&q={}", encode(f)));
        }
        self.get_all(
            &format!("projects/{p}/repositories/{r}/artifacts"),
            &q,
            &format!("listing artifacts of {repository}"),
        )
        .await
    }

    /// One artifact by tag or digest, with its tags and accessories.
    pub async fn artifact(&self, repository: &str, reference: &str) -> Result<Artifact, Error> {
        let (p, r) = repository_path(repository)?;
        self.get_json(
            &format!(
                "projects/{p}/repositories/{r}/artifacts/{}?with_tag=true&with_accessory=true&with_immutable_status=true",
                encode(reference)
            ),
            &format!("reading {repository}:{reference}"),
        )
        .await
    }

    /// Deletes an artifact (by tag or digest) with all its tags; 412 while an index references it.
    pub async fn delete_artifact(&self, repository: &str, reference: &str) -> Result<(), Error> {
        let (p, r) = repository_path(repository)?;
        let url = self.url(&format!("projects/{p}/repositories/{r}/artifacts/{}", encode(reference)));
        self.call(Method::DELETE, url, None, &format!("deleting artifact {repository}@{reference}")).await.map(|_| ())
    }

    /// Removes one tag; the artifact stays (untagged if it was its last tag).
    pub async fn delete_tag(&self, repository: &str, tag: &str) -> Result<(), Error> {
        let (p, r) = repository_path(repository)?;
        let url = self.url(&format!("projects/{p}/repositories/{r}/artifacts/{}/tags/{}", encode(tag), encode(tag)));
        self.call(Method::DELETE, url, None, &format!("deleting tag {repository}:{tag}")).await.map(|_| ())
    }

    /// Removes `tag` from the artifact `digest` only (`artifacts/{digest}/tags/{tag}`): when the tag
    /// has moved to another artifact since, Harbor answers 404 and nothing changes.
    pub async fn delete_tag_of(&self, repository: &str, digest: &str, tag: &str) -> Result<(), Error> {
        let (p, r) = repository_path(repository)?;
        let url = self.url(&format!("projects/{p}/repositories/{r}/artifacts/{}/tags/{}", encode(digest), encode(tag)));
        self.call(Method::DELETE, url, None, &format!("deleting tag {repository}:{tag} of {digest}")).await.map(|_| ())
    }

    /// Deletes a repository with every artifact in it.
    pub async fn delete_repository(&self, repository: &str) -> Result<(), Error> {
        let (p, r) = repository_path(repository)?;
        self.call(
            Method::DELETE,
            self.url(&format!("projects/{p}/repositories/{r}")),
            None,
            &format!("deleting {repository}"),
        )
        .await
        .map(|_| ())
    }

    // -- Garbage collection (system admins) -------------------------------------------------------

    /// Starts a GC run now; returns its ID (from `Location`).
    pub async fn run_gc(&self, params: &GcParameters) -> Result<i64, Error> {
        let body = serde_json::json!({"schedule": {"type": "Manual"}, "parameters": params});
        let url = self.url("system/gc/schedule");
        let resp = self.call(Method::POST, url.clone(), Some(&body), "starting garbage collection").await?;
        let loc = resp.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        loc.rsplit('/').next().and_then(|id| id.parse().ok()).ok_or_else(|| {
            Error::new(
                ErrorKind::Protocol,
                format!("Harbor started GC but gave no run ID (Location {loc:?})"),
                "look it up in Harbor's GC history",
            )
        })
    }

    /// GC runs, newest first.
    pub async fn gc_history(&self) -> Result<Vec<GcRun>, Error> {
        self.get_all("system/gc", "", "reading the GC history").await
    }

    pub async fn gc_run(&self, id: i64) -> Result<GcRun, Error> {
        self.get_json(&format!("system/gc/{id}"), &format!("reading GC run {id}")).await
    }

    pub async fn gc_log(&self, id: i64) -> Result<String, Error> {
        let url = self.url(&format!("system/gc/{id}/log"));
        let resp = self.call(Method::GET, url.clone(), None, &format!("reading the log of GC run {id}")).await?;
        let bytes = berth_registry::read_limited(resp, LOG_LIMIT).await.map_err(|e| e.at(&url))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    pub async fn stop_gc(&self, id: i64) -> Result<(), Error> {
        self.call(Method::PUT, self.url(&format!("system/gc/{id}")), None, &format!("stopping GC run {id}"))
            .await
            .map(|_| ())
    }

    /// The GC schedule; `None` when there is none (Harbor answers 200 with an empty body).
    pub async fn gc_schedule(&self) -> Result<Option<GcRun>, Error> {
        let url = self.url("system/gc/schedule");
        let resp = self.call(Method::GET, url.clone(), None, "reading the GC schedule").await?;
        let bytes = berth_registry::read_limited(resp, PAGE_LIMIT).await.map_err(|e| e.at(&url))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::new(ErrorKind::Protocol, format!("unexpected GC schedule JSON: {e}"), ""))
    }

    /// Polls a GC run until it is no longer Pending/Running (or `timeout`).
    pub async fn wait_gc(&self, id: i64, timeout: Duration) -> Result<GcRun, Error> {
        let start = std::time::Instant::now();
        loop {
            let run = self.gc_run(id).await?;
            if !matches!(run.job_status.as_str(), "Pending" | "Running" | "Scheduled") || start.elapsed() > timeout {
                return Ok(run);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// What an account may do in one project.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rights {
    /// `repository:pull`
    pub pull: bool,
    /// `repository:push`
    pub push: bool,
    /// `artifact:delete`: delete images (with every tag).
    pub delete: bool,
    /// `tag:delete`: remove one tag.
    pub untag: bool,
    /// `quota:read`
    pub quota: bool,
    /// `repository:list`
    pub list: bool,
}

impl Rights {
    pub fn from_permissions(perms: &[Permission]) -> Rights {
        let has = |r: &str, a: &str| perms.iter().any(|p| p.resource == r && (p.action == a || p.action == "*"));
        Rights {
            pull: has("repository", "pull"),
            push: has("repository", "push"),
            delete: has("artifact", "delete"),
            untag: has("tag", "delete"),
            quota: has("quota", "read"),
            list: has("repository", "list"),
        }
    }

    /// `pull, push, delete`, or `nothing`.
    pub fn describe(&self) -> String {
        let v: Vec<&str> = [(self.pull, "pull"), (self.push, "push"), (self.delete, "delete")]
            .iter()
            .filter(|(b, _)| *b)
            .map(|(_, n)| *n)
            .collect();
        if v.is_empty() {
            "nothing".into()
        } else {
            v.join(", ")
        }
    }
}

/// Who the credentials are, as Harbor sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    pub user: Option<String>,
    pub admin: bool,
    pub robot: bool,
    pub version: Option<String>,
    /// Harbor's `auth_mode`: `db_auth`, `ldap_auth`, `oidc_auth`, `http_auth`, `uaa_auth`.
    pub auth_mode: Option<String>,
    /// An OIDC user logging in with its CLI secret.
    pub oidc: bool,
}

impl Login {
    /// What kind of account this is, for the connection test.
    pub fn kind(&self) -> String {
        let name = self.user.as_deref().unwrap_or("");
        match () {
            _ if self.user.is_none() => "anonymous (public projects only)".into(),
            _ if self.robot => match name.strip_prefix("robot$").and_then(|n| n.split_once('+')) {
                Some((project, _)) => format!("project robot account of {project}"),
                None => "system robot account".into(),
            },
            _ if self.admin => "system administrator".into(),
            _ if self.oidc => "OIDC user (logging in with its CLI secret)".into(),
            _ if self.auth_mode.as_deref() == Some("ldap_auth") => "LDAP user".into(),
            _ => "local user".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_encoded_twice() {
        assert_eq!(repository_path("library/nginx").unwrap(), ("library".into(), "nginx".into()));
        assert_eq!(repository_path("team/a/b").unwrap(), ("team".into(), "a%252Fb".into()));
        assert!(repository_path("nginx").is_err());
    }

    #[test]
    fn real_answers_with_nulls_unknown_fields_and_old_shapes_parse() {
        // Harbor 2.2 (no artifact_type, no accessories), null lists, a field Berth does not know.
        let a: Artifact = serde_json::from_str(
            r#"{"id":7,"type":"IMAGE","digest":"sha256:ab","size":12,"tags":null,"labels":null,
                "references":null,"extra_attrs":{"os":"linux","created":"2024-01-01T00:00:00Z"},
                "push_time":"2024-01-01T00:00:00.000Z","pull_time":"0001-01-01T00:00:00.000Z",
                "addition_links":{"build_history":{"absolute":false,"href":"/x"}},"new_field_in_2_99":[1,2]}"#,
        )
        .unwrap();
        assert!(a.tag_names().is_empty() && a.accessories.is_none() && a.artifact_type.is_none());
        let q: ProjectSummary =
            serde_json::from_str(r#"{"repo_count":3,"quota":{"hard":{"storage":-1},"used":{"storage":2048}}}"#)
                .unwrap();
        let quota = q.quota.unwrap();
        assert_eq!((quota.storage_limit(), quota.storage_used()), (None, 2048), "-1 is unlimited");
        assert!(q.project_admin_count.is_none(), "member counts absent without the permission");
        // Metadata values are strings, but a proxy may turn them into booleans.
        let p: Project =
            serde_json::from_str(r#"{"project_id":2,"name":"x","metadata":{"public":true,"retention_id":"9"}}"#)
                .unwrap();
        assert!(p.public());
        assert_eq!(p.retention_id(), Some(9));
        let p: Project = serde_json::from_str(r#"{"project_id":2,"name":"x","metadata":{"public":"false"}}"#).unwrap();
        assert!(!p.public() && p.retention_id().is_none());
    }

    #[test]
    fn immutability_rules_match_like_harbors_doublestar_selectors() {
        let rule: Rule = serde_json::from_str(
            r#"{"id":1,"disabled":false,"action":"immutable","tag_selectors":[{"kind":"doublestar","decoration":"matches","pattern":"{1.*,stable}"}],
                "scope_selectors":{"repository":[{"kind":"doublestar","decoration":"repoMatches","pattern":"**"}]}}"#,
        )
        .unwrap();
        assert!(rule.matches("app", "1.0") && rule.matches("a/b", "stable"));
        assert!(!rule.matches("app", "2.0"));
        let excludes: Rule = serde_json::from_str(
            r#"{"id":2,"tag_selectors":[{"decoration":"excludes","pattern":"dev-*"}],
                "scope_selectors":{"repository":[{"decoration":"repoMatches","pattern":"app"}]}}"#,
        )
        .unwrap();
        assert!(
            excludes.matches("app", "1.0") && !excludes.matches("app", "dev-3") && !excludes.matches("other", "1.0")
        );
        assert!(excludes.describe().contains("excludes \"dev-*\""), "{}", excludes.describe());
    }

    #[test]
    fn link_next() {
        let h = "</api/v2.0/projects?page=1&page_size=10>; rel=\"prev\" , </api/v2.0/projects?page=3&page_size=10>; rel=\"next\"";
        assert_eq!(next_link(h).as_deref(), Some("/api/v2.0/projects?page=3&page_size=10"));
        assert_eq!(next_link("</x?page=1>; rel=\"prev\""), None);
    }
}
