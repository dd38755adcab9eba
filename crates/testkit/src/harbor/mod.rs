//! A Harbor v2.x emulator in front of a real registry.
//!
//! `/api/v2.0` follows `specs/harbor-swagger-v2.15.2.yaml` (every JSON answer is validated against it;
//! the handle panics at drop with any violation), `/service/token` issues tokens for `/v2`, and `/v2`
//! is proxied to the real `docker-registry` after Harbor's permission checks. Nothing about content
//! is kept here: repositories, artifacts and tags are read from the registry's own storage on every
//! request, and deletes go to the registry, so the emulator cannot disagree with the registry.
//!
//! Reproduced behaviour (see `shared/reference/harbor-nexus-api.md`):
//! * Basic auth for users and `robot$<project>+<name>` robots; wrong credentials make the request
//!   anonymous (public projects only), and `GET /users/current` answers 401 for them (412 for robots);
//! * `/v2/_catalog` for system admins only; `/v2` DELETE by tag → 400 UNSUPPORTED;
//! * paging with `X-Total-Count` and `Link` (`" , "` separated, relative), `page_size` ≤ 100 (else 422);
//! * repository names double-encoded in paths (single-encoded → 404, as Go's router splits them);
//! * DELETE artifact → 412 while an index references it; DELETE tag removes only the tag;
//! * GC: Manual schedule → 201 + Location, history with `job_parameters` as a JSON string, text log,
//!   `time_window` (default 2 h: recent blobs are kept, so GC frees nothing in a fresh test unless
//!   the window is set to 0 with [`HarborBuilder::gc_time_window_hours`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use serde_json::{json, Value};

use crate::emu::{self, basic_auth, BasicAuth, Disk, ServerThread, StoredManifest};
use crate::{Registry, Seeder, SpecValidator};

mod api;
mod gc;
mod policy;
mod v2;
mod views;

use api::*;
use gc::*;
use v2::*;
use views::*;

pub const HARBOR_VERSION: &str = "v2.15.2-emulator";
const SERVICE: &str = "harbor-registry";
const ZERO_TIME: &str = "0001-01-01T00:00:00.000Z";

/// Project roles (Harbor's role IDs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HarborRole {
    ProjectAdmin = 1,
    Developer = 2,
    Guest = 3,
    Maintainer = 4,
    /// Pulls and sees artifacts, but no members, labels or robots (Harbor 2.1+).
    LimitedGuest = 5,
}

#[derive(Clone, Debug)]
struct User {
    name: String,
    password: String,
    admin: bool,
    id: i64,
}

#[derive(Clone, Debug)]
struct Project {
    id: i64,
    name: String,
    public: bool,
    quota: i64,
    members: Vec<(String, HarborRole)>,
}

#[derive(Clone, Debug)]
struct Robot {
    /// `robot$<project>+<name>` (project robot) or `robot$<name>` (system robot)
    login: String,
    secret: String,
    /// (project name or `*`, permissions: `pull`, `push`, `delete` or `resource:action`)
    access: Vec<(String, Vec<String>)>,
}

/// A tag immutability rule (`immutabletagrules`): doublestar patterns on the project-relative
/// repository name and on the tag.
#[derive(Clone, Debug)]
struct ImmutableRule {
    id: i64,
    project: String,
    repositories: String,
    tags: String,
}

/// A project's tag retention policy (`retentions/{id}`): one rule.
#[derive(Clone, Debug)]
struct Retention {
    id: i64,
    project: String,
    template: String,
    params: Value,
    tags: String,
    repositories: String,
}

/// A scan result Harbor would show for an artifact (severity counts by `Critical`, `High`, …).
#[derive(Clone, Debug)]
struct Scan {
    digest: String,
    counts: Vec<(String, i64)>,
    fixable: i64,
}

/// Configures a [`Harbor`].
#[derive(Clone, Debug, Default)]
pub struct HarborBuilder {
    users: Vec<User>,
    projects: Vec<Project>,
    robots: Vec<Robot>,
    time_window: Option<i64>,
    oidc: bool,
    immutable: Vec<ImmutableRule>,
    retention: Vec<Retention>,
    labels: Vec<(String, String, String)>,
    scans: Vec<Scan>,
    old: bool,
}

impl HarborBuilder {
    /// A system administrator.
    pub fn admin(mut self, name: &str, password: &str) -> Self {
        let id = self.users.len() as i64 + 1;
        self.users.push(User { name: name.into(), password: password.into(), admin: true, id });
        self
    }

    /// A plain user (see [`HarborBuilder::member`]).
    pub fn user(mut self, name: &str, password: &str) -> Self {
        let id = self.users.len() as i64 + 1;
        self.users.push(User { name: name.into(), password: password.into(), admin: false, id });
        self
    }

    /// A project; its repositories are those of the registry under `<name>/`.
    pub fn project(mut self, name: &str, public: bool) -> Self {
        let id = self.projects.len() as i64 + 1;
        self.projects.push(Project { id, name: name.into(), public, quota: -1, members: Vec::new() });
        self
    }

    /// The storage quota of a project in bytes (default -1, unlimited).
    pub fn quota(mut self, project: &str, bytes: i64) -> Self {
        self.projects.iter_mut().find(|p| p.name == project).expect("quota: no such project").quota = bytes;
        self
    }

    pub fn member(mut self, project: &str, user: &str, role: HarborRole) -> Self {
        let p = self.projects.iter_mut().find(|p| p.name == project).expect("member: no such project");
        p.members.push((user.into(), role));
        self
    }

    /// A project robot account, logging in as `robot$<project>+<name>`, with `actions` on that
    /// project only: `pull`, `push`, `delete` (what they grant in `policy.rs`) or any
    /// `resource:action` of Harbor's RBAC (`project:read`, `repository:list`, `quota:read`, …).
    pub fn robot(mut self, project: &str, name: &str, secret: &str, actions: &[&str]) -> Self {
        self.robots.push(Robot {
            login: format!("robot${project}+{name}"),
            secret: secret.into(),
            access: vec![(project.into(), actions.iter().map(|s| s.to_string()).collect())],
        });
        self
    }

    /// A system robot account, logging in as `robot$<name>`, with permissions per project (`*`: all).
    pub fn system_robot(mut self, name: &str, secret: &str, access: &[(&str, &[&str])]) -> Self {
        self.robots.push(Robot {
            login: format!("robot${name}"),
            secret: secret.into(),
            access: access.iter().map(|(p, a)| (p.to_string(), a.iter().map(|s| s.to_string()).collect())).collect(),
        });
        self
    }

    /// OIDC authentication (`auth_mode: oidc_auth`): users log in to the API and `/v2` with their CLI
    /// secret; add them with [`HarborBuilder::oidc_user`].
    pub fn oidc(mut self) -> Self {
        self.oidc = true;
        self
    }

    /// A user from the OIDC provider, whose CLI secret is its password for Harbor's API and `/v2`.
    pub fn oidc_user(self, name: &str, cli_secret: &str) -> Self {
        self.oidc().user(name, cli_secret)
    }

    /// A tag immutability rule: tags matching `tags` in repositories matching `repositories`
    /// (doublestar patterns, project-relative: `**`, `app`, `{a,b}`, `release-*`) cannot be deleted.
    pub fn immutable(mut self, project: &str, repositories: &str, tags: &str) -> Self {
        let id = self.immutable.len() as i64 + 1;
        self.immutable.push(ImmutableRule {
            id,
            project: project.into(),
            repositories: repositories.into(),
            tags: tags.into(),
        });
        self
    }

    /// The project's tag retention policy with one rule: `template` (`latestPushedK`,
    /// `nDaysSinceLastPush`, `always`, …) with its parameter, over tags and repositories matching.
    pub fn retention(mut self, project: &str, template: &str, param: i64, repositories: &str, tags: &str) -> Self {
        let id = self.retention.len() as i64 + 1;
        let params = if template == "always" { json!({}) } else { json!({ template: param }) };
        self.retention.push(Retention {
            id,
            project: project.into(),
            template: template.into(),
            params,
            tags: tags.into(),
            repositories: repositories.into(),
        });
        self
    }

    /// A label on the artifact `digest` (shown with `with_label=true`).
    pub fn label(mut self, digest: &str, name: &str, color: &str) -> Self {
        self.labels.push((digest.into(), name.into(), color.into()));
        self
    }

    /// A finished vulnerability scan of the artifact `digest` (Trivy), with severity counts
    /// (`[("Critical", 1), ("High", 3)]`) and how many have a fix.
    pub fn scan(mut self, digest: &str, counts: &[(&str, i64)], fixable: i64) -> Self {
        self.scans.push(Scan {
            digest: digest.into(),
            counts: counts.iter().map(|(s, n)| (s.to_string(), *n)).collect(),
            fixable,
        });
        self
    }

    /// Answers like Harbor 2.2–2.4: artifacts without `artifact_type` and `accessories`.
    pub fn old_version(mut self) -> Self {
        self.old = true;
        self
    }

    /// GC's `time_window` in hours (Harbor's default is 2: blobs deleted less than that ago stay).
    pub fn gc_time_window_hours(mut self, hours: i64) -> Self {
        self.time_window = Some(hours);
        self
    }

    /// Starts the real registry behind, then the emulator.
    pub async fn start(self) -> Harbor {
        // Harbor's GC deletes blobs through the registry, which drops them from its descriptor cache:
        // no stale in-memory cache answering HEADs for deleted blobs.
        let registry = Registry::builder().blob_descriptor_cache(false).start().await;
        let validator = Arc::new(
            SpecValidator::from_file("harbor-swagger-v2.15.2.yaml")
                // Harbor's ExtraAttrs is `map[string]interface{}` (architecture, os, created are strings),
                // the spec says every value is an object.
                .patch_definition("ExtraAttrs", json!({"type": "object"}))
                // Rule parameters are `map[string]interface{}` too (`{"latestPushedK": 5}`).
                .patch_definition("RetentionRule", retention_rule_schema()),
        );
        let listener = ServerThread::bind();
        let public = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(HState {
            users: self.users,
            projects: Mutex::new(self.projects),
            robots: self.robots,
            oidc: self.oidc,
            immutable: self.immutable,
            retention: Mutex::new(self.retention),
            labels: self.labels,
            scans: self.scans,
            old: self.old,
            pulls: Mutex::new(HashMap::new()),
            time_window: self.time_window.unwrap_or(2),
            upstream: registry.url(),
            disk: Disk::new(registry.storage_dir()),
            registry: Arc::new(registry),
            public: public.clone(),
            http: emu::http_client(),
            ids: Mutex::new(HashMap::new()),
            next_id: AtomicI64::new(100),
            tokens: Mutex::new(HashMap::new()),
            gc: Mutex::new(GcState::default()),
            created: emu::now(),
            removed: Mutex::new(BTreeSet::new()),
        });
        let api = Router::new()
            .route("/api/v2.0/{*rest}", any(api))
            .layer(axum::middleware::from_fn_with_state(validator.clone(), crate::validate_responses))
            .layer(axum::middleware::map_response(|mut r: Response| async move {
                let h = r.headers_mut();
                h.insert(header::SET_COOKIE, HeaderValue::from_static("sid=emulator-session; Path=/; HttpOnly"));
                h.insert("X-Harbor-CSRF-Token", HeaderValue::from_static("emulator-csrf-token"));
                h.insert("X-Request-Id", HeaderValue::from_static("emulator"));
                r
            }));
        let app = Router::new()
            .merge(api)
            .route("/api/version", get(|| async { axum::Json(json!({"version": "v2.0"})) }))
            .route("/service/token", get(token))
            .route("/v2", any(v2))
            .route("/v2/", any(v2))
            .route("/v2/{*rest}", any(v2))
            .with_state(state.clone());
        let server = ServerThread::start("berth-harbor-emulator", listener, app);
        Harbor { _server: server, state, validator, url: public }
    }
}

/// A running Harbor emulator. Panics at drop if any response broke the spec.
pub struct Harbor {
    _server: ServerThread,
    state: Arc<HState>,
    validator: Arc<SpecValidator>,
    url: String,
}

impl Harbor {
    pub fn builder() -> HarborBuilder {
        HarborBuilder::default()
    }

    /// `http://127.0.0.1:PORT` (API under `/api/v2.0`, registry under `/v2`).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The real registry behind the emulator.
    pub fn registry(&self) -> &Registry {
        &self.state.registry
    }

    /// An anonymous seeder straight to the registry behind (pushes appear in Harbor at once).
    pub fn seeder(&self) -> Seeder {
        Seeder::new(&self.state.registry.url())
    }

    pub fn validator(&self) -> &SpecValidator {
        &self.validator
    }

    /// Tags of a repository as the registry has them now.
    pub fn registry_tags(&self, repo: &str) -> BTreeMap<String, String> {
        self.state.disk.tags(repo).into_iter().map(|(t, (d, _))| (t, d)).collect()
    }

    /// Manifests linked in a repository as the registry has them now.
    pub fn registry_manifests(&self, repo: &str) -> Vec<String> {
        self.state.disk.revisions(repo)
    }

    /// Number of GC runs started.
    /// The emulator's access log: every request it answered (`METHOD /path`, the API and `/v2`).
    pub fn requests(&self) -> Vec<String> {
        self._server.requests()
    }

    pub fn gc_runs(&self) -> usize {
        self.state.gc.lock().unwrap().runs.len()
    }
}

impl Drop for Harbor {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.validator.assert_clean();
        }
    }
}

#[derive(Default)]
struct GcState {
    schedule: Option<(String, String, Value)>,
    runs: Vec<GcRecord>,
}

#[derive(Clone)]
struct GcRecord {
    id: i64,
    kind: String,
    params: Value,
    status: String,
    created: String,
    updated: String,
    log: String,
}

struct HState {
    users: Vec<User>,
    projects: Mutex<Vec<Project>>,
    robots: Vec<Robot>,
    oidc: bool,
    immutable: Vec<ImmutableRule>,
    retention: Mutex<Vec<Retention>>,
    labels: Vec<(String, String, String)>,
    scans: Vec<Scan>,
    old: bool,
    /// (repository, digest) → last pull through `/v2`.
    pulls: Mutex<HashMap<(String, String), SystemTime>>,
    time_window: i64,
    registry: Arc<Registry>,
    disk: Disk,
    upstream: String,
    public: String,
    http: reqwest::Client,
    ids: Mutex<HashMap<String, i64>>,
    next_id: AtomicI64,
    /// Issued tokens: who asked, and what the token grants (repository → actions), as the JWT's
    /// `access` claim would.
    tokens: Mutex<HashMap<String, (Principal, Vec<(String, Vec<String>)>)>>,
    gc: Mutex<GcState>,
    created: String,
    /// Repositories deleted through the API (the registry keeps their directories).
    removed: Mutex<BTreeSet<String>>,
}

#[derive(Clone, Debug)]
enum Principal {
    Anonymous,
    User(User),
    Robot(Robot),
}

impl Principal {
    fn is_admin(&self) -> bool {
        matches!(self, Principal::User(u) if u.admin)
    }

    fn authenticated(&self) -> bool {
        !matches!(self, Principal::Anonymous)
    }

    fn role(&self, p: &Project) -> Option<HarborRole> {
        match self {
            Principal::User(u) => p.members.iter().find(|(n, _)| *n == u.name).map(|(_, r)| *r),
            _ => None,
        }
    }
}

/// `RetentionRule` with free-form `params` (the spec says every value is an object).
fn retention_rule_schema() -> Value {
    json!({"type": "object", "properties": {
        "id": {"type": "integer"}, "priority": {"type": "integer"}, "disabled": {"type": "boolean"},
        "action": {"type": "string"}, "template": {"type": "string"}, "params": {"type": "object"},
        "tag_selectors": {"type": "array", "items": {"$ref": "#/definitions/RetentionSelector"}},
        "scope_selectors": {"type": "object"}}})
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut r = emu::json_response(status, &json!({"errors": [{"code": code, "message": message}]}));
    r.headers_mut().insert("X-Request-Id", HeaderValue::from_static("emulator"));
    r
}

fn ok_json(v: &Value) -> Response {
    emu::json_response(StatusCode::OK, v)
}

fn ok_empty() -> Response {
    StatusCode::OK.into_response()
}

fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(q.unwrap_or("").as_bytes()).into_owned().collect()
}

fn qget<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

/// One page of `items` with `X-Total-Count` and `Link`, or a 422 for a bad page size.
fn paginate(items: Vec<Value>, path: &str, q: &[(String, String)]) -> Response {
    let page: i64 = qget(q, "page").and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
    let size: i64 = qget(q, "page_size").and_then(|v| v.parse().ok()).unwrap_or(10);
    if size > 100 {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UNPROCESSABLE_ENTITY",
            "page_size in query should be less than or equal to 100",
        );
    }
    let total = items.len() as i64;
    let slice: Vec<Value> = if size <= 0 {
        items
    } else {
        items.into_iter().skip(((page - 1) * size) as usize).take(size as usize).collect()
    };
    let mut r = ok_json(&Value::Array(slice));
    r.headers_mut().insert("X-Total-Count", HeaderValue::from(total));
    if size > 0 {
        let link = |p: i64| {
            let mut pairs: Vec<(String, String)> =
                q.iter().filter(|(k, _)| k != "page" && k != "page_size").cloned().collect();
            pairs.push(("page".into(), p.to_string()));
            pairs.push(("page_size".into(), size.to_string()));
            let qs: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("<{path}?{}>", qs.join("&"))
        };
        let mut links = Vec::new();
        if page > 1 && (page - 1) * size < total {
            links.push(format!("{}; rel=\"prev\"", link(page - 1)));
        }
        if page * size < total {
            links.push(format!("{}; rel=\"next\"", link(page + 1)));
        }
        if !links.is_empty() {
            r.headers_mut().insert(header::LINK, HeaderValue::from_str(&links.join(" , ")).expect("link"));
        }
    }
    r
}

/// A path parameter as Harbor's router sees it: decoded once by the router, once more by
/// `unescapePathParams`. A single-encoded `/` is a path separator to Go: `None` (404).
fn path_param(raw: &str) -> Option<String> {
    let once = percent_decode(raw);
    if once.contains('/') {
        return None;
    }
    Some(percent_decode(&once))
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
