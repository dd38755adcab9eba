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
    /// `robot$<project>+<name>`
    login: String,
    secret: String,
    project: String,
    /// `pull`, `push`, `delete`
    actions: Vec<String>,
}

/// Configures a [`Harbor`].
#[derive(Clone, Debug, Default)]
pub struct HarborBuilder {
    users: Vec<User>,
    projects: Vec<Project>,
    robots: Vec<Robot>,
    time_window: Option<i64>,
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

    /// A project robot account, logging in as `robot$<project>+<name>`, with `actions` among `pull`,
    /// `push`, `delete` on that project only.
    pub fn robot(mut self, project: &str, name: &str, secret: &str, actions: &[&str]) -> Self {
        self.robots.push(Robot {
            login: format!("robot${project}+{name}"),
            secret: secret.into(),
            project: project.into(),
            actions: actions.iter().map(|s| s.to_string()).collect(),
        });
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
                .patch_definition("ExtraAttrs", json!({"type": "object"})),
        );
        let listener = ServerThread::bind();
        let public = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(HState {
            users: self.users,
            projects: Mutex::new(self.projects),
            robots: self.robots,
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
    time_window: i64,
    registry: Arc<Registry>,
    disk: Disk,
    upstream: String,
    public: String,
    http: reqwest::Client,
    ids: Mutex<HashMap<String, i64>>,
    next_id: AtomicI64,
    tokens: Mutex<HashMap<String, Principal>>,
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

    /// `pull`, `push` or `delete` on a project.
    fn can(&self, p: &Project, action: &str) -> bool {
        if self.is_admin() || (action == "pull" && p.public) {
            return true;
        }
        match self {
            Principal::Robot(r) => r.project == p.name && r.actions.iter().any(|a| a == action),
            _ => match (action, self.role(p)) {
                ("pull", Some(_)) => true,
                ("pull", None) => p.public,
                ("push", Some(r)) => r != HarborRole::Guest,
                ("delete", Some(r)) => matches!(r, HarborRole::ProjectAdmin | HarborRole::Maintainer),
                _ => false,
            },
        }
    }
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

/// An artifact as Harbor would list it, built from the registry's storage.
struct Artifact {
    m: StoredManifest,
    tags: Vec<(String, SystemTime)>,
    size: u64,
    /// Referenced by an index in the repository.
    child: bool,
}

impl HState {
    fn id(&self, key: &str) -> i64 {
        let mut ids = self.ids.lock().unwrap();
        *ids.entry(key.to_string()).or_insert_with(|| self.next_id.fetch_add(1, Ordering::SeqCst))
    }

    fn principal(&self, headers: &HeaderMap) -> Principal {
        match basic_auth(headers) {
            BasicAuth::Given(u, p) => self.login(&u, &p).unwrap_or(Principal::Anonymous),
            _ => Principal::Anonymous,
        }
    }

    fn login(&self, user: &str, password: &str) -> Option<Principal> {
        if user.starts_with("robot$") {
            return self.robots.iter().find(|r| r.login == user && r.secret == password).cloned().map(Principal::Robot);
        }
        self.users.iter().find(|u| u.name == user && u.password == password).cloned().map(Principal::User)
    }

    fn project(&self, name_or_id: &str) -> Option<Project> {
        let projects = self.projects.lock().unwrap();
        projects.iter().find(|p| p.name == name_or_id || p.id.to_string() == name_or_id).cloned()
    }

    /// Like Harbor: a repository exists from its first push until it is deleted through the API
    /// (deleting its last artifact leaves it, empty).
    fn repositories_of(&self, project: &str) -> Vec<String> {
        let prefix = format!("{project}/");
        let removed = self.removed.lock().unwrap().clone();
        self.disk
            .repositories()
            .into_iter()
            .filter(|r| r.starts_with(&prefix))
            .filter(|r| !removed.contains(r) || !self.disk.revisions(r).is_empty())
            .collect()
    }

    fn artifacts(&self, repo: &str) -> Vec<Artifact> {
        let manifests = self.disk.manifests(repo);
        let tags = self.disk.tags(repo);
        let children: BTreeSet<String> =
            manifests.iter().filter(|m| m.is_index()).flat_map(|m| m.children().into_iter().map(|c| c.0)).collect();
        let by_digest: HashMap<&str, &StoredManifest> = manifests.iter().map(|m| (m.digest.as_str(), m)).collect();
        let size_of =
            |m: &StoredManifest| -> u64 { m.bytes.len() as u64 + m.blobs().iter().map(|(_, s)| s).sum::<u64>() };
        manifests
            .iter()
            .map(|m| {
                let size = if m.is_index() {
                    m.bytes.len() as u64
                        + m.children()
                            .iter()
                            .filter_map(|c| by_digest.get(c.0.as_str()))
                            .map(|c| size_of(c))
                            .sum::<u64>()
                } else {
                    size_of(m)
                };
                let mut t: Vec<(String, SystemTime)> =
                    tags.iter().filter(|(_, (d, _))| *d == m.digest).map(|(n, (_, at))| (n.clone(), *at)).collect();
                t.sort();
                Artifact { m: m.clone(), tags: t, size, child: children.contains(&m.digest) }
            })
            .collect()
    }

    fn project_usage(&self, project: &str) -> u64 {
        let mut blobs: BTreeMap<String, u64> = BTreeMap::new();
        for repo in self.repositories_of(project) {
            for m in self.disk.manifests(&repo) {
                blobs.insert(m.digest.clone(), m.bytes.len() as u64);
                for (d, s) in m.blobs() {
                    blobs.insert(d, s);
                }
            }
        }
        blobs.values().sum()
    }

    fn project_json(&self, p: &Project, who: &Principal) -> Value {
        let role = who.role(p);
        json!({
            "project_id": p.id,
            "owner_id": 1,
            "name": p.name,
            "creation_time": self.created,
            "update_time": self.created,
            "deleted": false,
            "owner_name": "admin",
            "togglable": true,
            "current_user_role_id": role.map(|r| r as i64).unwrap_or(0),
            "current_user_role_ids": role.map(|r| vec![r as i64]),
            "repo_count": self.repositories_of(&p.name).len(),
            "metadata": {"public": p.public.to_string()},
            "cve_allowlist": {"id": p.id, "project_id": p.id, "items": [], "creation_time": self.created, "update_time": self.created},
        })
    }

    fn repository_json(&self, p: &Project, repo: &str) -> Value {
        let arts = self.artifacts(repo);
        let created = arts.iter().map(|a| a.m.pushed).min().map(emu::rfc3339).unwrap_or_else(|| self.created.clone());
        let updated = arts.iter().map(|a| a.m.pushed).max().map(emu::rfc3339).unwrap_or_else(|| self.created.clone());
        json!({
            "id": self.id(&format!("repo:{repo}")),
            "project_id": p.id,
            "name": repo,
            "description": "",
            "artifact_count": arts.iter().filter(|a| !a.child || !a.tags.is_empty()).count(),
            "pull_count": 0,
            "creation_time": created,
            "update_time": updated,
        })
    }

    fn artifact_json(&self, p: &Project, repo: &str, a: &Artifact, with_tag: bool) -> Value {
        let repo_id = self.id(&format!("repo:{repo}"));
        let art_id = self.id(&format!("art:{repo}@{}", a.m.digest));
        let tags: Vec<Value> = a
            .tags
            .iter()
            .map(|(t, at)| {
                json!({"id": self.id(&format!("tag:{repo}:{t}")), "repository_id": repo_id, "artifact_id": art_id,
                    "name": t, "push_time": emu::rfc3339(*at), "pull_time": ZERO_TIME, "immutable": false})
            })
            .collect();
        let references: Vec<Value> =
            a.m.children()
                .into_iter()
                .map(|(d, os, arch, variant)| {
                    let mut platform = json!({"os": os, "architecture": arch});
                    if let Some(v) = variant {
                        platform["variant"] = json!(v);
                    }
                    json!({"parent_id": art_id, "child_id": self.id(&format!("art:{repo}@{d}")), "child_digest": d,
                    "platform": platform, "urls": null, "annotations": null})
                })
                .collect();
        let config =
            a.m.config_digest().and_then(|d| self.disk.blob(&d)).and_then(|b| serde_json::from_slice::<Value>(&b).ok());
        let mut extra = serde_json::Map::new();
        if let Some(c) = &config {
            for k in ["architecture", "os", "created", "author", "variant"] {
                if let Some(v) = c.get(k) {
                    extra.insert(k.into(), v.clone());
                }
            }
            if let Some(v) = c.get("config") {
                extra.insert("config".into(), v.clone());
            }
        }
        let config_media = a.m.json.pointer("/config/mediaType").and_then(Value::as_str);
        let enc = repo.strip_prefix(&format!("{}/", p.name)).unwrap_or(repo).replace('/', "%252F");
        json!({
            "id": art_id,
            "type": "IMAGE",
            "media_type": config_media.unwrap_or(&a.m.media_type),
            "manifest_media_type": a.m.media_type,
            "artifact_type": config_media.unwrap_or(&a.m.media_type),
            "project_id": p.id,
            "repository_id": repo_id,
            "repository_name": repo,
            "digest": a.m.digest,
            "size": a.size,
            "icon": "",
            "push_time": emu::rfc3339(a.m.pushed),
            "pull_time": ZERO_TIME,
            "extra_attrs": if extra.is_empty() { Value::Null } else { Value::Object(extra) },
            "annotations": a.m.json.get("annotations").cloned(),
            "references": if references.is_empty() { Value::Null } else { Value::Array(references) },
            "tags": if with_tag && !tags.is_empty() { Value::Array(tags) } else { Value::Null },
            "labels": null,
            "accessories": null,
            "addition_links": {"build_history": {"absolute": false,
                "href": format!("/api/v2.0/projects/{}/repositories/{enc}/artifacts/{}/additions/build_history", p.name, a.m.digest)}},
        })
    }
}

fn unauthorized() -> Response {
    error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "unauthorized")
}

fn forbidden() -> Response {
    error(StatusCode::FORBIDDEN, "FORBIDDEN", "forbidden")
}

fn denied(who: &Principal) -> Response {
    if who.authenticated() {
        forbidden()
    } else {
        unauthorized()
    }
}

async fn api(State(st): State<Arc<HState>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let q = query_pairs(req.uri().query());
    let who = st.principal(req.headers());
    // gorilla/csrf as Harbor configures it: only requests carrying the session cookie are checked.
    let has_session = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| c.split(';').any(|kv| kv.trim().starts_with("sid=")));
    let safe = method == Method::GET || method == Method::HEAD;
    if has_session && !safe && !req.headers().contains_key("X-Harbor-CSRF-Token") {
        return error(StatusCode::FORBIDDEN, "FORBIDDEN", "CSRF token invalid");
    }
    let body = axum::body::to_bytes(req.into_body(), 1024 * 1024).await.unwrap_or_default();
    let rel = path.strip_prefix("/api/v2.0/").unwrap_or("");
    let segs: Vec<&str> = rel.split('/').collect();
    let m = method.as_str();
    match (m, segs.as_slice()) {
        ("GET", ["ping"]) => ([(header::CONTENT_TYPE, "text/plain")], "Pong").into_response(),
        ("GET", ["health"]) => ok_json(&json!({"status": "healthy", "components": [
            {"name": "core", "status": "healthy"}, {"name": "registry", "status": "healthy"},
            {"name": "jobservice", "status": "healthy"}, {"name": "database", "status": "healthy"}]})),
        ("GET", ["systeminfo"]) => {
            let mut v = json!({"auth_mode": "db_auth", "primary_auth_mode": false, "self_registration": false,
                "banner_message": "", "oidc_provider_name": ""});
            if who.authenticated() {
                let host = st.public.trim_start_matches("http://").to_string();
                for (k, val) in [
                    ("current_time", json!(emu::now())),
                    ("harbor_version", json!(HARBOR_VERSION)),
                    ("external_url", json!(st.public)),
                    ("registry_url", json!(host)),
                    ("read_only", json!(false)),
                    ("has_ca_root", json!(false)),
                    ("project_creation_restriction", json!("everyone")),
                    ("registry_storage_provider_name", json!("filesystem")),
                    ("notification_enable", json!(true)),
                ] {
                    v[k] = val;
                }
            }
            ok_json(&v)
        }
        ("GET", ["users", "current"]) => match &who {
            Principal::Anonymous => unauthorized(),
            Principal::Robot(r) => error(
                StatusCode::PRECONDITION_FAILED,
                "PRECONDITION",
                &format!("get current user not available for security context: robot ({})", r.login),
            ),
            Principal::User(u) => {
                ok_json(&json!({"user_id": u.id, "username": u.name, "email": format!("{}@example.invalid", u.name),
                "realname": u.name, "comment": "", "sysadmin_flag": u.admin, "admin_role_in_auth": false,
                "creation_time": st.created, "update_time": st.created}))
            }
        },
        ("GET", ["statistics"]) => {
            if !who.authenticated() {
                return unauthorized();
            }
            let projects = st.projects.lock().unwrap().clone();
            let visible: Vec<&Project> = projects.iter().filter(|p| who.can(p, "pull")).collect();
            let count = |public: bool| visible.iter().filter(|p| p.public == public).count();
            let repos = |public: bool| -> usize {
                visible.iter().filter(|p| p.public == public).map(|p| st.repositories_of(&p.name).len()).sum()
            };
            let mut v = json!({"private_project_count": count(false), "private_repo_count": repos(false),
                "public_project_count": count(true), "public_repo_count": repos(true)});
            if who.is_admin() {
                v["total_project_count"] = json!(projects.len());
                v["total_repo_count"] = json!(repos(true) + repos(false));
                v["total_storage_consumption"] = json!(projects.iter().map(|p| st.project_usage(&p.name)).sum::<u64>());
            }
            ok_json(&v)
        }
        ("GET", ["projects"]) => {
            let projects = st.projects.lock().unwrap().clone();
            let name = qget(&q, "name");
            let fuzzy = qget(&q, "q").and_then(|q| q.strip_prefix("name=~")).map(str::to_string);
            let public = qget(&q, "public").map(|v| v == "true");
            let items = projects
                .iter()
                .filter(|p| who.can(p, "pull"))
                .filter(|p| name.is_none_or(|n| p.name == n))
                .filter(|p| fuzzy.as_deref().is_none_or(|f| p.name.contains(f)))
                .filter(|p| public.is_none_or(|b| p.public == b))
                .map(|p| st.project_json(p, &who))
                .collect();
            paginate(items, &path, &q)
        }
        ("GET", ["quotas"]) => {
            if !who.authenticated() {
                return unauthorized();
            }
            let projects = st.projects.lock().unwrap().clone();
            let id = qget(&q, "reference_id");
            let items = projects
                .iter()
                .filter(|p| who.can(p, "pull") && id.is_none_or(|i| i == p.id.to_string()))
                .map(|p| {
                    json!({"id": p.id, "ref": {"id": p.id, "name": p.name, "owner_name": "admin"},
                    "hard": {"storage": p.quota}, "used": {"storage": st.project_usage(&p.name)},
                    "creation_time": st.created, "update_time": st.created})
                })
                .collect();
            paginate(items, &path, &q)
        }
        (_, ["projects", p, rest @ ..]) => project_api(&st, m, &path, &q, &who, p, rest).await,
        (_, ["system", "gc", rest @ ..]) => gc_api(&st, m, &q, &path, &who, rest, &body).await,
        _ => error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("no route for {m} {path}")),
    }
}

async fn project_api(
    st: &Arc<HState>,
    m: &str,
    path: &str,
    q: &[(String, String)],
    who: &Principal,
    project: &str,
    rest: &[&str],
) -> Response {
    let Some(pname) = path_param(project) else { return error(StatusCode::NOT_FOUND, "NOT_FOUND", "not found") };
    let Some(p) = st.project(&pname) else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("project {pname} not found"));
    };
    if !who.can(&p, "pull") {
        return denied(who);
    }
    let repo_of = |raw: &str| path_param(raw).map(|r| format!("{}/{r}", p.name));
    match (m, rest) {
        ("GET", []) => ok_json(&st.project_json(&p, who)),
        ("GET", ["summary"]) => {
            let members = p.members.iter().filter(|(_, r)| *r == HarborRole::ProjectAdmin).count();
            let count = |role: HarborRole| p.members.iter().filter(|(_, r)| *r == role).count();
            ok_json(&json!({
                "repo_count": st.repositories_of(&p.name).len(),
                "project_admin_count": members,
                "maintainer_count": count(HarborRole::Maintainer),
                "developer_count": count(HarborRole::Developer),
                "guest_count": count(HarborRole::Guest),
                "limited_guest_count": 0,
                "quota": {"hard": {"storage": p.quota}, "used": {"storage": st.project_usage(&p.name)}},
            }))
        }
        ("GET", ["repositories"]) => {
            let fuzzy = qget(q, "q").and_then(|q| q.strip_prefix("name=~")).map(str::to_string);
            let items = st
                .repositories_of(&p.name)
                .iter()
                .filter(|r| fuzzy.as_deref().is_none_or(|f| r.contains(f)))
                .map(|r| st.repository_json(&p, r))
                .collect();
            paginate(items, path, q)
        }
        (_, ["repositories", r, rest @ ..]) => {
            let Some(repo) = repo_of(r) else { return error(StatusCode::NOT_FOUND, "NOT_FOUND", "not found") };
            if !st.repositories_of(&p.name).contains(&repo) {
                return error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("repository {repo} not found"));
            }
            artifact_api(st, m, path, q, who, &p, &repo, rest).await
        }
        _ => error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("no route for {m} {path}")),
    }
}

#[allow(clippy::too_many_arguments)]
async fn artifact_api(
    st: &Arc<HState>,
    m: &str,
    path: &str,
    q: &[(String, String)],
    who: &Principal,
    p: &Project,
    repo: &str,
    rest: &[&str],
) -> Response {
    let with_tag = qget(q, "with_tag") != Some("false");
    let arts = st.artifacts(repo);
    let find = |reference: &str| -> Option<&Artifact> {
        let reference = percent_decode(reference);
        if reference.starts_with("sha256:") {
            arts.iter().find(|a| a.m.digest == reference)
        } else {
            arts.iter().find(|a| a.tags.iter().any(|(t, _)| *t == reference))
        }
    };
    match (m, rest) {
        ("GET", []) => ok_json(&st.repository_json(p, repo)),
        ("DELETE", []) => {
            if !who.can(p, "delete") {
                return denied(who);
            }
            for a in &arts {
                emu::registry_delete_manifest(&st.http, &st.upstream, repo, &a.m.digest).await;
            }
            st.removed.lock().unwrap().insert(repo.to_string());
            ok_empty()
        }
        ("GET", ["artifacts"]) => {
            let filter = qget(q, "q").unwrap_or("");
            let items = arts
                .iter()
                .filter(|a| !a.child || !a.tags.is_empty())
                .filter(|a| match filter {
                    "tags=*" => !a.tags.is_empty(),
                    "tags=nil" => a.tags.is_empty(),
                    f => match f.strip_prefix("tags=~") {
                        Some(s) => a.tags.iter().any(|(t, _)| t.contains(s)),
                        None => match f.strip_prefix("tags=") {
                            Some(s) => a.tags.iter().any(|(t, _)| t == s),
                            None => true,
                        },
                    },
                })
                .map(|a| st.artifact_json(p, repo, a, with_tag))
                .collect();
            paginate(items, path, q)
        }
        ("GET", ["artifacts", reference]) => match find(reference) {
            Some(a) => ok_json(&st.artifact_json(p, repo, a, with_tag)),
            None => error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("artifact {repo}:{reference} not found")),
        },
        ("DELETE", ["artifacts", reference]) => {
            let Some(a) = find(reference) else {
                return error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("artifact {repo}:{reference} not found"));
            };
            if !who.can(p, "delete") {
                return denied(who);
            }
            if a.child {
                return error(
                    StatusCode::PRECONDITION_FAILED,
                    "VIOLATE_FOREIGN_KEY_CONSTRAINT",
                    "the deleting artifact is referenced by others",
                );
            }
            emu::registry_delete_manifest(&st.http, &st.upstream, repo, &a.m.digest).await;
            // The index's children go with it, unless another index or a tag still holds them.
            let remaining: BTreeSet<String> = arts
                .iter()
                .filter(|o| o.m.digest != a.m.digest && o.m.is_index())
                .flat_map(|o| o.m.children().into_iter().map(|c| c.0))
                .collect();
            for (child, ..) in a.m.children() {
                let tagged = arts.iter().any(|o| o.m.digest == child && !o.tags.is_empty());
                if !remaining.contains(&child) && !tagged {
                    emu::registry_delete_manifest(&st.http, &st.upstream, repo, &child).await;
                }
            }
            ok_empty()
        }
        ("GET", ["artifacts", reference, "tags"]) => match find(reference) {
            Some(a) => {
                let v = st.artifact_json(p, repo, a, true);
                let tags = v["tags"].as_array().cloned().unwrap_or_default();
                paginate(tags, path, q)
            }
            None => error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("artifact {repo}:{reference} not found")),
        },
        ("DELETE", ["artifacts", reference, "tags", tag]) => {
            let Some(a) = find(reference) else {
                return error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("artifact {repo}:{reference} not found"));
            };
            if !who.can(p, "delete") {
                return denied(who);
            }
            let tag = percent_decode(tag);
            if !a.tags.iter().any(|(t, _)| *t == tag) {
                return error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("tag {tag} not found on {}", a.m.digest));
            }
            st.disk.remove_tag(repo, &tag);
            ok_empty()
        }
        _ => error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("no route for {m} {path}")),
    }
}

fn gc_json(r: &GcRecord) -> Value {
    json!({
        "id": r.id,
        "job_name": "GARBAGE_COLLECTION",
        "job_kind": r.kind,
        "job_parameters": r.params.to_string(),
        "schedule": {"type": if r.kind == "MANUAL" { "Manual" } else { "Schedule" }, "cron": "", "next_scheduled_time": ZERO_TIME},
        "job_status": r.status,
        "deleted": false,
        "creation_time": r.created,
        "update_time": r.updated,
    })
}

async fn gc_api(
    st: &Arc<HState>,
    m: &str,
    q: &[(String, String)],
    path: &str,
    who: &Principal,
    rest: &[&str],
    body: &[u8],
) -> Response {
    if !who.authenticated() {
        return unauthorized();
    }
    if !who.is_admin() {
        return forbidden();
    }
    match (m, rest) {
        ("GET", []) => {
            let runs = st.gc.lock().unwrap().runs.clone();
            paginate(runs.iter().rev().map(gc_json).collect(), path, q)
        }
        ("GET", ["schedule"]) => match st.gc.lock().unwrap().schedule.clone() {
            None => StatusCode::OK.into_response(),
            Some((kind, cron, params)) => ok_json(&json!({
                "id": 1, "job_name": "", "job_kind": kind, "job_parameters": params.to_string(),
                "schedule": {"type": kind, "cron": cron, "next_scheduled_time": ZERO_TIME},
                "job_status": "", "deleted": false, "creation_time": st.created, "update_time": st.created})),
        },
        ("POST" | "PUT", ["schedule"]) => {
            let Ok(v) = serde_json::from_slice::<Value>(body) else {
                return error(StatusCode::BAD_REQUEST, "BAD_REQUEST", "invalid JSON body");
            };
            let kind = v.pointer("/schedule/type").and_then(Value::as_str).unwrap_or("").to_string();
            let params = v.get("parameters").cloned().unwrap_or_else(|| json!({}));
            if let Some(w) = params.get("workers") {
                if !w.as_i64().is_some_and(|w| (1..=10).contains(&w)) {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "BAD_REQUEST",
                        &format!("Error: Invalid number of workers:{w}. Workers must be greater than 0 and less than or equal to 10."),
                    );
                }
            }
            match kind.as_str() {
                "Manual" => {
                    let id = start_gc(st, &params);
                    if m == "POST" {
                        let mut r = StatusCode::CREATED.into_response();
                        r.headers_mut().insert(
                            header::LOCATION,
                            HeaderValue::from_str(&format!("/api/v2.0/system/gc/{id}")).expect("location"),
                        );
                        r
                    } else {
                        ok_empty()
                    }
                }
                "None" => {
                    st.gc.lock().unwrap().schedule = None;
                    ok_empty()
                }
                "Hourly" | "Daily" | "Weekly" | "Custom" => {
                    let cron = v.pointer("/schedule/cron").and_then(Value::as_str).unwrap_or("").to_string();
                    if cron.split_whitespace().count() != 6 {
                        return error(StatusCode::BAD_REQUEST, "BAD_REQUEST", &format!("invalid cron: {cron:?}"));
                    }
                    st.gc.lock().unwrap().schedule = Some((kind, cron, params));
                    if m == "POST" {
                        StatusCode::CREATED.into_response()
                    } else {
                        ok_empty()
                    }
                }
                other => error(StatusCode::BAD_REQUEST, "BAD_REQUEST", &format!("unsupported schedule type {other:?}")),
            }
        }
        ("GET", [id]) => match st.gc.lock().unwrap().runs.iter().find(|r| r.id.to_string() == *id) {
            Some(r) => ok_json(&gc_json(r)),
            None => error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("garbage collection {id} not found")),
        },
        ("PUT", [id]) => {
            let mut gc = st.gc.lock().unwrap();
            match gc.runs.iter_mut().find(|r| r.id.to_string() == *id) {
                Some(r) => {
                    if r.status == "Running" || r.status == "Pending" {
                        r.status = "Stopped".into();
                        r.updated = emu::now();
                        r.log.push_str("the GC job was stopped\n");
                    }
                    ok_empty()
                }
                None => error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("garbage collection {id} not found")),
            }
        }
        ("GET", [id, "log"]) => match st.gc.lock().unwrap().runs.iter().find(|r| r.id.to_string() == *id) {
            Some(r) => ([(header::CONTENT_TYPE, "text/plain")], r.log.clone()).into_response(),
            None => error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("garbage collection {id} log is not found")),
        },
        _ => error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("no route for {m} {path}")),
    }
}

fn start_gc(st: &Arc<HState>, params: &Value) -> i64 {
    let delete_untagged = params.get("delete_untagged").and_then(Value::as_bool).unwrap_or(false);
    let dry_run = params.get("dry_run").and_then(Value::as_bool).unwrap_or(false);
    let workers = params.get("workers").and_then(Value::as_i64).unwrap_or(1);
    let id = {
        let mut gc = st.gc.lock().unwrap();
        let id = gc.runs.len() as i64 + 1;
        let now = emu::now();
        let p = json!({"delete_untagged": delete_untagged, "delete_tag": false, "dry_run": dry_run,
            "time_window": st.time_window, "workers": workers});
        gc.runs.push(GcRecord {
            id,
            kind: "MANUAL".into(),
            params: p,
            status: "Running".into(),
            created: now.clone(),
            updated: now,
            log: format!(
                "Garbage Collection parameters: [delete_untagged: {delete_untagged}, delete_tag: false, dry_run: {dry_run}, time_window: {}, workers: {workers}]\nstart to run gc in job.\n",
                st.time_window
            ),
        });
        id
    };
    let st = st.clone();
    tokio::spawn(async move {
        let mut purged_manifests = 0u64;
        if delete_untagged && !dry_run {
            // Harbor deletes untagged artifacts (not index children) through its own delete.
            let projects = st.projects.lock().unwrap().clone();
            for p in projects {
                for repo in st.repositories_of(&p.name) {
                    for a in st.artifacts(&repo) {
                        if a.tags.is_empty() && !a.child {
                            emu::registry_delete_manifest(&st.http, &st.upstream, &repo, &a.m.digest).await;
                            purged_manifests += 1;
                        }
                    }
                }
            }
        }
        let window = st.time_window;
        let registry = st.registry.clone();
        let disk = st.disk.clone();
        let (log, freed, blobs) = tokio::task::spawn_blocking(move || {
            let (_, before) = disk.bytes_on_disk();
            let probe = registry.garbage_collect(true, false);
            let eligible = probe.blobs_eligible.unwrap_or(0);
            let manifests = probe.manifests_eligible.unwrap_or(0);
            let mut log = format!("{eligible} blobs and {manifests} manifests eligible for deletion\n");
            if window > 0 || dry_run {
                // Every blob of a test is younger than the window: nothing is old enough to go.
                log.push_str("The GC job actual frees up 0 B space.\n");
                return (log, 0, 0);
            }
            let run = registry.garbage_collect(false, false);
            let (_, after) = disk.bytes_on_disk();
            let freed = before.saturating_sub(after);
            if !run.success {
                log.push_str(&format!("garbage-collect failed: {}\n", run.stderr));
            }
            log.push_str(&format!("The GC job actual frees up {freed} B space.\n"));
            (log, freed, eligible)
        })
        .await
        .unwrap_or_else(|e| (format!("gc crashed: {e}\n"), 0, 0));
        let mut gc = st.gc.lock().unwrap();
        if let Some(r) = gc.runs.iter_mut().find(|r| r.id == id) {
            r.log.push_str(&log);
            if r.status == "Running" {
                r.status = "Success".into();
                r.log.push_str("success to run gc in job.\n");
            }
            r.params["freed_space"] = json!(freed);
            r.params["purged_blobs"] = json!(blobs);
            r.params["purged_manifests"] = json!(purged_manifests);
            r.updated = emu::now();
        }
    });
    id
}

async fn token(State(st): State<Arc<HState>>, req: Request) -> Response {
    let q = query_pairs(req.uri().query());
    if let Some(s) = qget(&q, "service") {
        if s != SERVICE {
            return error(StatusCode::BAD_REQUEST, "BAD_REQUEST", &format!("Unable to handle service: {s}"));
        }
    }
    let who = match basic_auth(req.headers()) {
        BasicAuth::Given(u, p) => match st.login(&u, &p) {
            Some(w) => w,
            None => return error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "invalid username or password"),
        },
        BasicAuth::Malformed => return unauthorized(),
        BasicAuth::None => Principal::Anonymous,
    };
    let scoped = q.iter().any(|(k, _)| k == "scope");
    if !who.authenticated() && !scoped {
        return unauthorized();
    }
    let token = format!(
        "harbor-emu.{}",
        crate::sha256_digest(
            format!("{:?}{}", SystemTime::now(), st.next_id.fetch_add(1, Ordering::SeqCst)).as_bytes()
        )
        .trim_start_matches("sha256:")
    );
    st.tokens.lock().unwrap().insert(token.clone(), who);
    axum::Json(json!({"token": token, "access_token": token, "expires_in": 1800, "issued_at": emu::now()}))
        .into_response()
}

fn v2_challenge(st: &HState, scope: Option<String>) -> Response {
    let mut c = format!("Bearer realm=\"{}/service/token\",service=\"{SERVICE}\"", st.public);
    if let Some(s) = scope {
        c.push_str(&format!(",scope=\"{s}\""));
    }
    let mut r = error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "unauthorized to access repository");
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_str(&c).expect("challenge"));
    r.headers_mut().insert("Docker-Distribution-Api-Version", HeaderValue::from_static("registry/2.0"));
    r
}

async fn v2(State(st): State<Arc<HState>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let pq = req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| path.clone());
    let has_auth = req.headers().contains_key(header::AUTHORIZATION);
    let who = if let Some(t) = emu::bearer(req.headers()) {
        match st.tokens.lock().unwrap().get(&t).cloned() {
            Some(w) => w,
            None => return v2_challenge(&st, None),
        }
    } else {
        match basic_auth(req.headers()) {
            BasicAuth::Given(u, p) => match st.login(&u, &p) {
                Some(w) => w,
                None => {
                    let mut r = unauthorized();
                    r.headers_mut()
                        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"harbor\""));
                    return r;
                }
            },
            BasicAuth::Malformed => return v2_challenge(&st, None),
            BasicAuth::None => Principal::Anonymous,
        }
    };
    let rest = path.trim_start_matches("/v2").trim_start_matches('/');
    if rest.is_empty() {
        if !has_auth {
            return v2_challenge(&st, None);
        }
        return emu::proxy(&st.http, &st.upstream, &st.public, &pq, req).await;
    }
    if rest == "_catalog" {
        if !who.is_admin() {
            let mut r = error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "unauthorized to list catalog");
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"harbor\""));
            return r;
        }
        return emu::proxy(&st.http, &st.upstream, &st.public, &pq, req).await;
    }
    // /v2/<name>/(manifests|blobs|tags|referrers)/...
    let marker = ["/manifests/", "/blobs/", "/tags/", "/referrers/"].iter().filter_map(|m| rest.find(m)).min();
    let Some(cut) = marker else { return error(StatusCode::NOT_FOUND, "NOT_FOUND", "not found") };
    let name = &rest[..cut];
    let project_name = name.split('/').next().unwrap_or("");
    let action = match *req.method() {
        Method::GET | Method::HEAD => "pull",
        Method::DELETE => "delete",
        _ => "push",
    };
    let scope = Some(format!("repository:{name}:{}", if action == "pull" { "pull" } else { "pull,push" }));
    if !has_auth {
        // Harbor challenges every repository request that carries no Authorization header.
        return v2_challenge(&st, scope);
    }
    let Some(project) = st.project(project_name) else {
        if !who.authenticated() {
            return v2_challenge(&st, scope);
        }
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("project {project_name} not found"));
    };
    if !who.can(&project, action) {
        if !has_auth || !who.authenticated() {
            return v2_challenge(&st, scope);
        }
        return error(StatusCode::FORBIDDEN, "DENIED", "requested access to the resource is denied");
    }
    if *req.method() == Method::DELETE && rest[cut..].starts_with("/manifests/") && !rest.contains("/manifests/sha256:")
    {
        return error(StatusCode::BAD_REQUEST, "UNSUPPORTED", "unsupported digest");
    }
    emu::proxy(&st.http, &st.upstream, &st.public, &pq, req).await
}
