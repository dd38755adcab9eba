//! A Sonatype Nexus Repository 3 emulator: the REST API under `/service/rest` (validated against
//! `specs/nexus-openapi-3.94.yaml`; the handle panics at drop with any violation) and one real
//! registry per docker hosted repository, served on its own connector port (`docker.httpPort`) and
//! at `/repository/<name>/` on the main port.
//!
//! Components (image:tag), assets, tasks and blob store sizes are read from the registries' own
//! storage on every request. Reproduced behaviour (`shared/reference/harbor-nexus-api.md` §2):
//! * Basic auth; a missing or wrong password → 401 `BASIC realm="Sonatype Nexus Repository Manager"`;
//! * `status` and `status/writable` need no auth and answer 503 when switched off; a read-only
//!   (frozen) Nexus also answers 503 to deletes;
//! * component pages with a `continuationToken` (page size 10 like up to 3.74, or 100), emitted
//!   whenever a full page came back (so a last empty page is possible), `null` at the end;
//! * component IDs are base64url (no padding) of `<repository>:<internal id>`; a malformed ID → 422;
//! * `DELETE /v1/components/{id}` removes the tag only (the manifest becomes unused); the task
//!   `repository.docker.gc` deletes unused manifests through the registry, and `blobstore.compact`
//!   runs the registry's garbage collection: `totalSizeInBytes` falls only then;
//! * tasks run with 204 (404 unknown, 405 disabled), WAITING → RUNNING → WAITING with
//!   `lastRunResult` OK.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use base64::Engine;
use serde_json::{json, Value};

use crate::emu::{self, basic_auth, BasicAuth, Disk, ServerThread};
use crate::{Registry, Seeder, SpecValidator};

const REALM: &str = "BASIC realm=\"Sonatype Nexus Repository Manager\"";
pub const NEXUS_SERVER: &str = "Nexus/3.94.0-12 (COMMUNITY)";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[derive(Clone, Debug)]
struct RepoSpec {
    name: String,
    connector: bool,
    blob_store: String,
}

/// Configures a [`Nexus`].
#[derive(Clone, Debug)]
pub struct NexusBuilder {
    users: Vec<(String, String)>,
    repos: Vec<RepoSpec>,
    page_size: usize,
    delete_keeps_tags: bool,
}

impl Default for NexusBuilder {
    fn default() -> Self {
        NexusBuilder { users: Vec::new(), repos: Vec::new(), page_size: 10, delete_keeps_tags: false }
    }
}

impl NexusBuilder {
    /// A user with every privilege.
    pub fn user(mut self, name: &str, password: &str) -> Self {
        self.users.push((name.into(), password.into()));
        self
    }

    /// A docker hosted repository backed by its own registry; `connector`: served on its own port
    /// too (`docker.httpPort`), else only at `/repository/<name>/`.
    pub fn docker_hosted(mut self, name: &str, connector: bool) -> Self {
        self.repos.push(RepoSpec { name: name.into(), connector, blob_store: "default".into() });
        self
    }

    /// Put the last added repository in another blob store.
    pub fn blob_store(mut self, store: &str) -> Self {
        self.repos.last_mut().expect("blob_store: add a repository first").blob_store = store.into();
        self
    }

    /// Component/asset page size: 10 (up to 3.74) or 100 (3.75 on).
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = n;
        self
    }

    /// Nexus 3.89+: a `/v2` manifest DELETE (202) leaves the tags that pointed at it behind
    /// (sonatype/nexus-public#925); up to ~3.81 the tags went with it (the default here).
    pub fn docker_delete_keeps_tags(mut self, on: bool) -> Self {
        self.delete_keeps_tags = on;
        self
    }

    pub async fn start(self) -> Nexus {
        let validator = Arc::new(
            SpecValidator::from_file("nexus-openapi-3.94.yaml")
                // 3.94's spec documents no success body for these two; they answer with these schemas.
                .with_override("GET", "/v1/components", "PageComponentXO")
                .with_override("GET", "/v1/components/{id}", "ComponentXO")
                .with_override("GET", "/v1/assets", "PageAssetXO")
                .with_override("GET", "/v1/tasks/{id}", "TaskXO"),
        );
        let main_listener = ServerThread::bind();
        let base = format!("http://{}", main_listener.local_addr().expect("addr"));
        let mut repos = Vec::new();
        let mut connectors = Vec::new();
        let http = emu::http_client();
        let users = Arc::new(self.users);
        for spec in &self.repos {
            let registry = Arc::new(Registry::builder().blob_descriptor_cache(false).start().await);
            let mut port = None;
            if spec.connector {
                let l = ServerThread::bind();
                let public = format!("http://{}", l.local_addr().expect("addr"));
                port = Some(l.local_addr().expect("addr").port());
                let cs = Arc::new(ConnectorState {
                    disk: Disk::new(registry.storage_dir()),
                    keeps_tags: self.delete_keeps_tags,
                    upstream: registry.url(),
                    public,
                    users: users.clone(),
                    http: http.clone(),
                });
                let app = Router::new()
                    .route("/v2", any(connector))
                    .route("/v2/", any(connector))
                    .route("/v2/{*rest}", any(connector))
                    .with_state(cs);
                connectors.push(ServerThread::start("berth-nexus-connector", l, app));
            }
            repos.push(Repo {
                name: spec.name.clone(),
                blob_store: spec.blob_store.clone(),
                disk: Disk::new(registry.storage_dir()),
                registry,
                http_port: port,
            });
        }
        let mut stores: Vec<String> = repos.iter().map(|r| r.blob_store.clone()).collect();
        stores.sort();
        stores.dedup();
        let mut tasks = vec![Task::new(
            "repository.docker.gc",
            "Docker - Delete unused manifests and images",
            json!({"repositoryName": "*", "deployOffset": "0"}),
        )];
        for s in &stores {
            tasks.push(Task::new(
                "blobstore.compact",
                &format!("Admin - Compact blob store {s}"),
                json!({"blobstoreName": s}),
            ));
        }
        let state = Arc::new(NState {
            base: base.clone(),
            users,
            repos,
            page_size: self.page_size,
            available: AtomicBool::new(true),
            writable: AtomicBool::new(true),
            tasks: Mutex::new(tasks),
            http,
        });
        let api = Router::new()
            .route("/service/rest/{*rest}", any(rest_api))
            .layer(axum::middleware::from_fn_with_state(validator.clone(), crate::validate_responses));
        let app = Router::new()
            .merge(api)
            .route("/repository/{repo}/{*rest}", any(path_route))
            .layer(axum::middleware::map_response(|mut r: Response| async move {
                r.headers_mut().insert(header::SERVER, HeaderValue::from_static(NEXUS_SERVER));
                r
            }))
            .with_state(state.clone());
        let server = ServerThread::start("berth-nexus-emulator", main_listener, app);
        Nexus { _server: server, _connectors: connectors, state, validator, url: base }
    }
}

/// A running Nexus emulator. Panics at drop if any response broke the spec.
pub struct Nexus {
    _server: ServerThread,
    _connectors: Vec<ServerThread>,
    state: Arc<NState>,
    validator: Arc<SpecValidator>,
    url: String,
}

impl Nexus {
    pub fn builder() -> NexusBuilder {
        NexusBuilder::default()
    }

    /// `http://127.0.0.1:PORT` (the REST API is under `/service/rest`).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    fn repo(&self, name: &str) -> &Repo {
        self.state.repos.iter().find(|r| r.name == name).unwrap_or_else(|| panic!("no repository {name}"))
    }

    /// The real registry behind a docker repository.
    pub fn registry(&self, repo: &str) -> &Registry {
        &self.repo(repo).registry
    }

    /// `http://127.0.0.1:<httpPort>` of a repository with a connector.
    pub fn connector_url(&self, repo: &str) -> Option<String> {
        self.repo(repo).http_port.map(|p| format!("http://127.0.0.1:{p}"))
    }

    /// An anonymous seeder straight to the registry behind `repo`.
    pub fn seeder(&self, repo: &str) -> Seeder {
        Seeder::new(&self.repo(repo).registry.url())
    }

    /// `GET /v1/status` answers 503 while false.
    pub fn set_available(&self, on: bool) {
        self.state.available.store(on, Ordering::SeqCst);
    }

    /// `GET /v1/status/writable` (and deletes) answer 503 while false (a frozen / read-only node).
    pub fn set_writable(&self, on: bool) {
        self.state.writable.store(on, Ordering::SeqCst);
    }

    pub fn validator(&self) -> &SpecValidator {
        &self.validator
    }

    /// tag → digest in `image` of `repo`, as the registry has them now.
    pub fn registry_tags(&self, repo: &str, image: &str) -> BTreeMap<String, String> {
        self.repo(repo).disk.tags(image).into_iter().map(|(t, (d, _))| (t, d)).collect()
    }

    /// Manifests linked in `image` of `repo`.
    pub fn registry_manifests(&self, repo: &str, image: &str) -> Vec<String> {
        self.repo(repo).disk.revisions(image)
    }
}

impl Drop for Nexus {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.validator.assert_clean();
        }
    }
}

struct Repo {
    name: String,
    blob_store: String,
    registry: Arc<Registry>,
    disk: Disk,
    http_port: Option<u16>,
}

#[derive(Clone)]
struct Task {
    id: String,
    typ: String,
    name: String,
    enabled: bool,
    state: String,
    last_result: Option<String>,
    last_run: Option<String>,
    message: Option<String>,
    properties: Value,
}

impl Task {
    fn new(typ: &str, name: &str, properties: Value) -> Task {
        let id = crate::sha256_digest(format!("{typ}/{name}").as_bytes());
        let h = &id["sha256:".len()..];
        Task {
            id: format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]),
            typ: typ.into(),
            name: name.into(),
            enabled: true,
            state: "WAITING".into(),
            last_result: None,
            last_run: None,
            message: None,
            properties,
        }
    }

    fn json(&self) -> Value {
        json!({"id": self.id, "name": self.name, "type": self.typ, "message": self.message,
            "currentState": self.state, "lastRunResult": self.last_result, "nextRun": null, "lastRun": self.last_run,
            "enabled": self.enabled, "schedule": "manual", "properties": self.properties})
    }
}

struct NState {
    base: String,
    users: Arc<Vec<(String, String)>>,
    repos: Vec<Repo>,
    page_size: usize,
    available: AtomicBool,
    writable: AtomicBool,
    tasks: Mutex<Vec<Task>>,
    http: reqwest::Client,
}

struct ConnectorState {
    disk: Disk,
    keeps_tags: bool,
    upstream: String,
    public: String,
    users: Arc<Vec<(String, String)>>,
    http: reqwest::Client,
}

fn authorized(users: &[(String, String)], headers: &axum::http::HeaderMap) -> bool {
    match basic_auth(headers) {
        BasicAuth::Given(u, p) => users.iter().any(|(a, b)| *a == u && *b == p),
        _ => false,
    }
}

fn challenge() -> Response {
    (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, REALM)]).into_response()
}

fn docker_challenge() -> Response {
    let body = json!({"errors": [{"code": "UNAUTHORIZED", "message": "access to the requested resource is not authorized", "detail": null}]});
    let mut r = emu::json_response(StatusCode::UNAUTHORIZED, &body);
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(REALM));
    r.headers_mut().insert("Docker-Distribution-Api-Version", HeaderValue::from_static("registry/2.0"));
    r
}

async fn connector(State(cs): State<Arc<ConnectorState>>, req: Request) -> Response {
    if !authorized(&cs.users, req.headers()) {
        return docker_challenge();
    }
    let pq = req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let path = req.uri().path().to_string();
    let deleting = (req.method() == Method::DELETE)
        .then(|| path.trim_start_matches("/v2/").rsplit_once("/manifests/"))
        .flatten()
        .map(|(image, digest)| (image.to_string(), digest.to_string()));
    let Some((image, digest)) = deleting.filter(|_| cs.keeps_tags) else {
        return emu::proxy(&cs.http, &cs.upstream, &cs.public, &pq, req).await;
    };
    let kept: Vec<String> =
        cs.disk.tags(&image).into_iter().filter(|(_, (d, _))| *d == digest).map(|(t, _)| t).collect();
    let resp = emu::proxy(&cs.http, &cs.upstream, &cs.public, &pq, req).await;
    if resp.status() == StatusCode::ACCEPTED {
        for t in kept {
            cs.disk.write_tag(&image, &t, &digest);
        }
    }
    resp
}

/// `/repository/<name>/v2/...` on the main port.
async fn path_route(State(st): State<Arc<NState>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let rest = path.trim_start_matches("/repository/");
    let (name, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let Some(repo) = st.repos.iter().find(|r| r.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !tail.starts_with("v2") {
        return StatusCode::NOT_FOUND.into_response();
    }
    if !authorized(&st.users, req.headers()) {
        return docker_challenge();
    }
    let query = req.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
    let public = format!("{}/repository/{name}", st.base);
    emu::proxy(&st.http, &repo.registry.url(), &public, &format!("/{tail}{query}"), req).await
}

/// One component: (image, tag, digest, pushed).
struct Component {
    repo: String,
    image: String,
    tag: String,
    digest: String,
    media_type: String,
    size: u64,
    pushed: std::time::SystemTime,
}

impl NState {
    fn repo(&self, name: &str) -> Option<&Repo> {
        self.repos.iter().find(|r| r.name == name)
    }

    fn repo_url(&self, r: &Repo) -> String {
        format!("{}/repository/{}", self.base, r.name)
    }

    fn components(&self, r: &Repo) -> Vec<Component> {
        let mut out = Vec::new();
        for image in r.disk.repositories() {
            for (tag, (digest, pushed)) in r.disk.tags(&image) {
                let m = r.disk.manifest(&image, &digest);
                out.push(Component {
                    repo: r.name.clone(),
                    image: image.clone(),
                    tag,
                    digest,
                    media_type: m.as_ref().map(|m| m.media_type.clone()).unwrap_or_default(),
                    size: m.as_ref().map(|m| m.bytes.len() as u64).unwrap_or(0),
                    pushed,
                });
            }
        }
        out.sort_by(|a, b| (&a.image, &a.tag).cmp(&(&b.image, &b.tag)));
        out
    }

    fn component_id(c: &Component) -> String {
        let internal = crate::sha256_digest(format!("{}:{}", c.image, c.tag).as_bytes());
        B64.encode(format!("{}:{}", c.repo, &internal["sha256:".len()..][..32]))
    }

    fn component_json(&self, r: &Repo, c: &Component) -> Value {
        let path = format!("v2/{}/manifests/{}", c.image, c.tag);
        let hex = c.digest.trim_start_matches("sha256:");
        let t = emu::rfc3339(c.pushed);
        let asset = json!({
            "downloadUrl": format!("{}/{path}", self.repo_url(r)),
            "path": path,
            "id": B64.encode(format!("{}:{}", c.repo, &hex[..32])),
            "repository": c.repo,
            "format": "docker",
            "checksum": {"sha256": hex},
            "contentType": c.media_type,
            "lastModified": t,
            "lastDownloaded": null,
            "uploader": "admin",
            "uploaderIp": "127.0.0.1",
            "fileSize": c.size,
            "blobCreated": t,
            "blobStoreName": r.blob_store,
        });
        json!({"id": Self::component_id(c), "repository": c.repo, "format": "docker", "group": null,
            "name": c.image, "version": c.tag, "assets": [asset], "tags": []})
    }

    fn store_usage(&self, store: &str) -> (u64, u64) {
        self.repos
            .iter()
            .filter(|r| r.blob_store == store)
            .map(|r| r.disk.bytes_on_disk())
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    }
}

fn page(items: Vec<Value>, token: Option<&str>, size: usize) -> Result<Value, StatusCode> {
    let start = match token {
        None => 0,
        Some(t) => match usize::from_str_radix(t.trim_start_matches("c0ffee"), 16) {
            Ok(n) if t.starts_with("c0ffee") => n,
            _ => return Err(StatusCode::BAD_REQUEST),
        },
    };
    let slice: Vec<Value> = items.into_iter().skip(start).take(size).collect();
    // Like Nexus: a full page always carries a token, even when nothing follows.
    let next = (slice.len() == size).then(|| format!("c0ffee{:x}", start + size));
    Ok(json!({"items": slice, "continuationToken": next}))
}

async fn rest_api(State(st): State<Arc<NState>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let q: Vec<(String, String)> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()).into_owned().collect();
    let qget = |k: &str| q.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
    let rel = path.trim_start_matches("/service/rest/");
    let segs: Vec<&str> = rel.split('/').collect();
    match (method.as_str(), segs.as_slice()) {
        ("GET", ["v1", "status"]) => {
            return if st.available.load(Ordering::SeqCst) { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }
                .into_response();
        }
        ("GET", ["v1", "status", "writable"]) => {
            let ok = st.available.load(Ordering::SeqCst) && st.writable.load(Ordering::SeqCst);
            return if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }.into_response();
        }
        _ => {}
    }
    if !st.available.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    if !authorized(&st.users, req.headers()) {
        return challenge();
    }
    match (method.as_str(), segs.as_slice()) {
        ("GET", ["v1", "repositories"]) => {
            let items: Vec<Value> = st
                .repos
                .iter()
                .map(|r| {
                    json!({"name": r.name, "format": "docker", "type": "hosted", "url": st.repo_url(r),
                    "online": true, "attributes": {}, "size": r.disk.bytes_on_disk().1})
                })
                .collect();
            emu::json_response(StatusCode::OK, &Value::Array(items))
        }
        ("GET", ["v1", "repositories", "docker", "hosted", name]) => match st.repo(name) {
            Some(r) => emu::json_response(
                StatusCode::OK,
                &json!({"name": r.name, "format": "docker", "type": "hosted", "url": st.repo_url(r), "online": true,
                    "storage": {"blobStoreName": r.blob_store, "strictContentTypeValidation": true, "writePolicy": "ALLOW", "latestPolicy": false},
                    "cleanup": {"policyNames": []}, "component": {"proprietaryComponents": false},
                    "docker": {"v1Enabled": false, "forceBasicAuth": true, "httpPort": r.http_port, "httpsPort": null,
                        "subdomain": null, "pathEnabled": false}}),
            ),
            None => StatusCode::NOT_FOUND.into_response(),
        },
        ("GET", ["v1", "components"]) => {
            let Some(name) = qget("repository") else {
                return (StatusCode::UNPROCESSABLE_ENTITY, "Parameter 'repository' is required").into_response();
            };
            let Some(r) = st.repo(&name) else { return StatusCode::NOT_FOUND.into_response() };
            let items = st.components(r).iter().map(|c| st.component_json(r, c)).collect();
            match page(items, qget("continuationToken").as_deref(), st.page_size) {
                Ok(v) => emu::json_response(StatusCode::OK, &v),
                Err(e) => e.into_response(),
            }
        }
        ("GET", ["v1", "assets"]) => {
            let Some(name) = qget("repository") else {
                return (StatusCode::UNPROCESSABLE_ENTITY, "Parameter 'repository' is required").into_response();
            };
            let Some(r) = st.repo(&name) else { return StatusCode::NOT_FOUND.into_response() };
            let items = st.components(r).iter().map(|c| st.component_json(r, c)["assets"][0].clone()).collect();
            match page(items, qget("continuationToken").as_deref(), st.page_size) {
                Ok(v) => emu::json_response(StatusCode::OK, &v),
                Err(e) => e.into_response(),
            }
        }
        (m @ ("GET" | "DELETE"), ["v1", "components", id]) => {
            let decoded = B64.decode(id).ok().and_then(|b| String::from_utf8(b).ok());
            let Some((repo_name, _)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
                return (StatusCode::UNPROCESSABLE_ENTITY, "Malformed ID").into_response();
            };
            let Some(r) = st.repo(repo_name) else { return StatusCode::NOT_FOUND.into_response() };
            let comps = st.components(r);
            let Some(c) = comps.iter().find(|c| NState::component_id(c) == *id) else {
                return StatusCode::NOT_FOUND.into_response();
            };
            if m == "GET" {
                return emu::json_response(StatusCode::OK, &st.component_json(r, c));
            }
            if !st.writable.load(Ordering::SeqCst) {
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
            r.disk.remove_tag(&c.image, &c.tag);
            StatusCode::NO_CONTENT.into_response()
        }
        ("GET", ["v1", "tasks"]) => {
            let typ = qget("type");
            let items: Vec<Value> = st
                .tasks
                .lock()
                .unwrap()
                .iter()
                .filter(|t| typ.as_deref().is_none_or(|x| x == t.typ))
                .map(Task::json)
                .collect();
            emu::json_response(StatusCode::OK, &json!({"items": items, "continuationToken": null}))
        }
        ("GET", ["v1", "tasks", id]) => match st.tasks.lock().unwrap().iter().find(|t| t.id == *id) {
            Some(t) => emu::json_response(StatusCode::OK, &t.json()),
            None => StatusCode::NOT_FOUND.into_response(),
        },
        ("POST", ["v1", "tasks", id, "run"]) => run_task(&st, id),
        ("POST", ["v1", "tasks", id, "stop"]) => match st.tasks.lock().unwrap().iter_mut().find(|t| t.id == *id) {
            Some(t) if t.state.starts_with("RUNNING") => {
                t.state = "WAITING".into();
                t.last_result = Some("CANCELED".into());
                StatusCode::NO_CONTENT.into_response()
            }
            Some(_) => StatusCode::CONFLICT.into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        },
        ("GET", ["v1", "blobstores"]) => {
            let mut stores: Vec<String> = st.repos.iter().map(|r| r.blob_store.clone()).collect();
            stores.sort();
            stores.dedup();
            let items: Vec<Value> = stores
                .iter()
                .map(|s| {
                    let (count, bytes) = st.store_usage(s);
                    json!({"name": s, "type": "File", "unavailable": false, "blobCount": count,
                        "totalSizeInBytes": bytes, "availableSpaceInBytes": 107_374_182_400u64, "softQuota": null})
                })
                .collect();
            emu::json_response(StatusCode::OK, &Value::Array(items))
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn run_task(st: &Arc<NState>, id: &str) -> Response {
    let task = {
        let mut tasks = st.tasks.lock().unwrap();
        let Some(t) = tasks.iter_mut().find(|t| t.id == id) else { return StatusCode::NOT_FOUND.into_response() };
        if !t.enabled {
            return StatusCode::METHOD_NOT_ALLOWED.into_response();
        }
        if t.state.starts_with("RUNNING") {
            return StatusCode::NO_CONTENT.into_response();
        }
        t.state = "RUNNING".into();
        t.last_run = Some(emu::now());
        t.clone()
    };
    let st = st.clone();
    tokio::spawn(async move {
        let message = match task.typ.as_str() {
            "repository.docker.gc" => {
                let only = task.properties.get("repositoryName").and_then(Value::as_str).unwrap_or("*").to_string();
                let mut deleted = 0;
                for r in st.repos.iter().filter(|r| only == "*" || r.name == only) {
                    for image in r.disk.repositories() {
                        let manifests = r.disk.manifests(&image);
                        let tagged: Vec<String> = r.disk.tags(&image).into_values().map(|(d, _)| d).collect();
                        let held: Vec<String> = manifests
                            .iter()
                            .filter(|m| tagged.contains(&m.digest))
                            .flat_map(|m| m.children().into_iter().map(|c| c.0))
                            .collect();
                        for m in &manifests {
                            if !tagged.contains(&m.digest) && !held.contains(&m.digest) {
                                let upstream = r.registry.url();
                                if emu::registry_delete_manifest(&st.http, &upstream, &image, &m.digest).await {
                                    deleted += 1;
                                }
                            }
                        }
                    }
                }
                format!("deleted {deleted} unused manifest(s)")
            }
            "blobstore.compact" => {
                let store =
                    task.properties.get("blobstoreName").and_then(Value::as_str).unwrap_or("default").to_string();
                let regs: Vec<Arc<Registry>> =
                    st.repos.iter().filter(|r| r.blob_store == store).map(|r| r.registry.clone()).collect();
                tokio::task::spawn_blocking(move || {
                    let mut blobs = 0;
                    for r in regs {
                        let run = r.garbage_collect(false, false);
                        blobs += run.blobs_eligible.unwrap_or(0);
                    }
                    format!("compacted blob store {store}: {blobs} blob(s) removed")
                })
                .await
                .unwrap_or_else(|e| format!("crashed: {e}"))
            }
            other => format!("{other}: nothing to do"),
        };
        let mut tasks = st.tasks.lock().unwrap();
        if let Some(t) = tasks.iter_mut().find(|t| t.id == task.id) {
            if t.state == "RUNNING" {
                t.state = "WAITING".into();
                t.last_result = Some("OK".into());
            }
            t.message = Some(message);
        }
    });
    StatusCode::NO_CONTENT.into_response()
}
