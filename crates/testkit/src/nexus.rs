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
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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

#[derive(Clone, Debug, PartialEq, Eq)]
enum ConnectorMode {
    /// Only `/repository/<name>/` on the main port (`httpPort: null`).
    None,
    /// Its own port, listening.
    Port,
    /// `httpPort` set in the configuration, but nothing answers there (the port was never published).
    Unpublished,
}

#[derive(Clone, Debug)]
struct RepoSpec {
    name: String,
    /// `hosted` or `proxy`.
    kind: &'static str,
    connector: ConnectorMode,
    blob_store: String,
    /// `ALLOW` (redeploy), `ALLOW_ONCE` (no redeploy) or `DENY` (read-only).
    write_policy: String,
    force_basic_auth: bool,
    cleanup: Vec<String>,
    /// Group: its member repositories (added before it); it reads through the first.
    members: Vec<String>,
}

/// A local user and the privileges its roles give (`nx-all` for an administrator).
#[derive(Clone, Debug)]
pub(crate) struct User {
    name: String,
    password: String,
    privileges: Vec<String>,
}

/// A cleanup policy: name and "component age" (days since the last blob update).
#[derive(Clone, Debug)]
struct CleanupPolicy {
    name: String,
    last_blob_updated_days: i64,
}

/// Configures a [`Nexus`].
#[derive(Clone, Debug)]
pub struct NexusBuilder {
    users: Vec<User>,
    repos: Vec<RepoSpec>,
    policies: Vec<CleanupPolicy>,
    page_size: usize,
    delete_keeps_tags: bool,
    anonymous: bool,
    docker_token_realm: bool,
    old_api: bool,
    duplicate_keys: bool,
}

impl Default for NexusBuilder {
    fn default() -> Self {
        NexusBuilder {
            users: Vec::new(),
            repos: Vec::new(),
            policies: Vec::new(),
            page_size: 10,
            delete_keeps_tags: false,
            anonymous: false,
            docker_token_realm: true,
            old_api: false,
            duplicate_keys: false,
        }
    }
}

impl NexusBuilder {
    /// A user with every privilege (`nx-all`).
    pub fn user(self, name: &str, password: &str) -> Self {
        self.user_with(name, password, &["nx-all"])
    }

    /// A user whose roles give exactly these privileges, e.g. `nx-repository-view-docker-*-browse`,
    /// `nx-repository-view-docker-docker-a-delete`, `nx-tasks-read`, `nx-tasks-run`,
    /// `nx-blobstores-read`, `nx-settings-read`, `nx-repository-admin-docker-*-read` (`*` matches any
    /// format, repository or action; `nx-all` everything).
    pub fn user_with(mut self, name: &str, password: &str, privileges: &[&str]) -> Self {
        let privileges = privileges.iter().map(|p| p.to_string()).collect();
        self.users.push(User { name: name.into(), password: password.into(), privileges });
        self
    }

    /// Anonymous access (Security → Anonymous Access): unauthenticated requests act as `anonymous`
    /// with the `nx-anonymous` role (browse and read every repository). Off by default.
    pub fn anonymous(mut self, on: bool) -> Self {
        self.anonymous = on;
        self
    }

    /// Whether the "Docker Bearer Token Realm" is active (Security → Realms). On by default; when off,
    /// the connectors' token endpoint refuses every request, so Bearer logins and anonymous pulls fail.
    pub fn docker_token_realm(mut self, on: bool) -> Self {
        self.docker_token_realm = on;
        self
    }

    fn repo_spec(name: &str, kind: &'static str, connector: bool) -> RepoSpec {
        RepoSpec {
            name: name.into(),
            kind,
            connector: if connector { ConnectorMode::Port } else { ConnectorMode::None },
            blob_store: "default".into(),
            write_policy: if kind == "hosted" { "ALLOW".into() } else { "DENY".into() },
            force_basic_auth: true,
            cleanup: Vec::new(),
            members: Vec::new(),
        }
    }

    /// A docker group repository over members added before it (it reads through the first one);
    /// writes are refused.
    pub fn docker_group(mut self, name: &str, connector: bool, members: &[&str]) -> Self {
        assert!(!members.is_empty(), "a group needs members");
        let mut spec = Self::repo_spec(name, "group", connector);
        spec.members = members.iter().map(|m| m.to_string()).collect();
        self.repos.push(spec);
        self
    }

    /// A docker hosted repository backed by its own registry; `connector`: served on its own port
    /// too (`docker.httpPort`), else only at `/repository/<name>/`.
    pub fn docker_hosted(mut self, name: &str, connector: bool) -> Self {
        self.repos.push(Self::repo_spec(name, "hosted", connector));
        self
    }

    /// A docker proxy repository (of Docker Hub): its cache is a registry of its own (seed it as the
    /// cached content); pushes and `/v2` deletes are refused.
    pub fn docker_proxy(mut self, name: &str, connector: bool) -> Self {
        self.repos.push(Self::repo_spec(name, "proxy", connector));
        self
    }

    fn last(&mut self, what: &str) -> &mut RepoSpec {
        self.repos.last_mut().unwrap_or_else(|| panic!("{what}: add a repository first"))
    }

    /// Put the last added repository in another blob store.
    pub fn blob_store(mut self, store: &str) -> Self {
        self.last("blob_store").blob_store = store.into();
        self
    }

    /// The last repository's deployment policy: `ALLOW` ("Allow redeploy"), `ALLOW_ONCE`
    /// ("Disable redeploy": a push of an existing tag fails) or `DENY` (read-only).
    pub fn write_policy(mut self, policy: &str) -> Self {
        self.last("write_policy").write_policy = policy.into();
        self
    }

    /// The last repository allows anonymous docker pulls (`forceBasicAuth: false`): its connector
    /// challenges with Bearer (`<connector>/v2/token`, the Docker Bearer Token Realm).
    pub fn anonymous_pull(mut self) -> Self {
        self.last("anonymous_pull").force_basic_auth = false;
        self
    }

    /// The last repository's connector port is configured (`httpPort`) but not published: nothing
    /// answers there (the seed's forgotten `-p 8082:8082`).
    pub fn unpublished_connector(mut self) -> Self {
        self.last("unpublished_connector").connector = ConnectorMode::Unpublished;
        self
    }

    /// A docker cleanup policy (component age in days) attached to the last repository.
    pub fn cleanup_policy(mut self, name: &str, last_blob_updated_days: i64) -> Self {
        self.last("cleanup_policy").cleanup.push(name.into());
        if !self.policies.iter().any(|p| p.name == name) {
            self.policies.push(CleanupPolicy { name: name.into(), last_blob_updated_days });
        }
        self
    }

    /// Component/asset page size: 10 (up to 3.74) or 100 (3.75 on).
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = n;
        self
    }

    /// An old Nexus (3.27 shapes): no `GET /v1/repositories/docker/<type>/<name>` (405), no cleanup
    /// policy API, assets with six fields, pages of 10.
    pub fn old_api(mut self) -> Self {
        self.old_api = true;
        self.page_size = 10;
        self
    }

    /// Some 3.6x versions emit `blobCreated` twice in one asset: component pages carry the key twice.
    pub fn duplicate_keys(mut self, on: bool) -> Self {
        self.duplicate_keys = on;
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
                // 3.94's spec documents no success body for these; they answer with these schemas.
                .with_override("GET", "/v1/components", "PageComponentXO")
                .with_override("GET", "/v1/components/{id}", "ComponentXO")
                .with_override("GET", "/v1/assets", "PageAssetXO")
                .with_override("GET", "/v1/tasks/{id}", "TaskXO")
                .with_override("GET", "/v1/security/anonymous", "AnonymousAccessSettingsXO"),
        );
        let main_listener = ServerThread::bind();
        let base = format!("http://{}", main_listener.local_addr().expect("addr"));
        let mut repos = Vec::new();
        let mut connectors = Vec::new();
        // One access log for the REST API and every connector port, in the order they answered.
        let log = emu::RequestLog::default();
        let http = emu::http_client();
        let security = Arc::new(Security {
            users: self.users,
            anonymous: AtomicBool::new(self.anonymous),
            realm: AtomicBool::new(self.docker_token_realm),
            tokens: Mutex::new(BTreeMap::new()),
        });
        for spec in &self.repos {
            let registry = match spec.members.first() {
                Some(m) => repos
                    .iter()
                    .find(|r: &&Repo| r.name == *m)
                    .unwrap_or_else(|| panic!("group {}: add its member {m} first", spec.name))
                    .registry
                    .clone(),
                None => Arc::new(Registry::builder().blob_descriptor_cache(false).start().await),
            };
            let cs = Arc::new(ConnectorState {
                repo: spec.name.clone(),
                kind: spec.kind,
                write_policy: spec.write_policy.clone(),
                force_basic_auth: spec.force_basic_auth,
                disk: Disk::new(registry.storage_dir()),
                keeps_tags: self.delete_keeps_tags,
                upstream: registry.url(),
                security: security.clone(),
                http: http.clone(),
            });
            let port = match spec.connector {
                ConnectorMode::None => None,
                ConnectorMode::Unpublished => {
                    // A port nothing listens on: bound, then closed.
                    let l = ServerThread::bind();
                    Some(l.local_addr().expect("addr").port())
                }
                ConnectorMode::Port => {
                    let l = ServerThread::bind();
                    let port = l.local_addr().expect("addr").port();
                    let app = Router::new()
                        .route("/v2", any(connector))
                        .route("/v2/", any(connector))
                        .route("/v2/{*rest}", any(connector))
                        .with_state((cs.clone(), format!("http://127.0.0.1:{port}")));
                    connectors.push(ServerThread::start_logged("berth-nexus-connector", l, app, log.clone()));
                    Some(port)
                }
            };
            repos.push(Repo {
                members: spec.members.clone(),
                name: spec.name.clone(),
                kind: spec.kind,
                blob_store: spec.blob_store.clone(),
                write_policy: spec.write_policy.clone(),
                force_basic_auth: spec.force_basic_auth,
                cleanup: spec.cleanup.clone(),
                disk: Disk::new(registry.storage_dir()),
                registry,
                http_port: port,
                cs,
                removed: AtomicBool::new(false),
            });
        }
        let mut stores: Vec<String> =
            repos.iter().filter(|r| r.kind != "group").map(|r| r.blob_store.clone()).collect();
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
            security,
            repos,
            policies: self.policies,
            page_size: self.page_size,
            old_api: self.old_api,
            duplicate_keys: self.duplicate_keys,
            available: AtomicBool::new(true),
            writable: AtomicBool::new(true),
            tasks: Mutex::new(tasks),
            task_runs: AtomicUsize::new(0),
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
        let server = ServerThread::start_logged("berth-nexus-emulator", main_listener, app, log);
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

    /// Deletes a repository from Nexus: the REST API no longer lists or serves it.
    pub fn remove_repository(&self, name: &str) {
        self.repo(name).removed.store(true, Ordering::SeqCst);
    }

    /// Security → Anonymous Access.
    pub fn set_anonymous(&self, on: bool) {
        self.state.security.anonymous.store(on, Ordering::SeqCst);
    }

    /// Security → Realms: the Docker Bearer Token Realm active or not.
    pub fn set_docker_token_realm(&self, on: bool) {
        self.state.security.realm.store(on, Ordering::SeqCst);
    }

    /// How many task runs were started (any task).
    pub fn task_runs(&self) -> usize {
        self.state.task_runs.load(Ordering::SeqCst)
    }

    /// `GET /v1/status/writable` (and deletes) answer 503 while false (a frozen / read-only node).
    pub fn set_writable(&self, on: bool) {
        self.state.writable.store(on, Ordering::SeqCst);
    }

    pub fn validator(&self) -> &SpecValidator {
        &self.validator
    }

    /// The emulator's access log: every request the REST API and the connector ports answered
    /// (`METHOD /path`).
    pub fn requests(&self) -> Vec<String> {
        self._server.requests() // the connectors log into the same access log
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
    members: Vec<String>,
    name: String,
    kind: &'static str,
    blob_store: String,
    write_policy: String,
    force_basic_auth: bool,
    cleanup: Vec<String>,
    registry: Arc<Registry>,
    disk: Disk,
    http_port: Option<u16>,
    cs: Arc<ConnectorState>,
    /// Deleted from Nexus (Repository → Repositories → Delete) while the emulator runs.
    removed: AtomicBool,
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

/// Users, anonymous access, the Docker Bearer Token Realm and the tokens it issued.
struct Security {
    users: Vec<User>,
    anonymous: AtomicBool,
    realm: AtomicBool,
    /// token → user name.
    tokens: Mutex<BTreeMap<String, String>>,
}

/// The `nx-anonymous` role.
const ANONYMOUS_PRIVILEGES: &[&str] =
    &["nx-healthcheck-read", "nx-search-read", "nx-repository-view-*-*-browse", "nx-repository-view-*-*-read"];

enum Caller {
    User(User),
    /// No credentials (and anonymous access is off): challenge.
    Nobody,
    /// Wrong credentials.
    Rejected,
}

impl Security {
    fn anonymous_user() -> User {
        User {
            name: "anonymous".into(),
            password: String::new(),
            privileges: ANONYMOUS_PRIVILEGES.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn caller(&self, headers: &axum::http::HeaderMap) -> Caller {
        if let Some(t) = emu::bearer(headers) {
            let name = self.tokens.lock().unwrap().get(&t).cloned();
            return match name.as_deref() {
                Some("anonymous") => Caller::User(Self::anonymous_user()),
                Some(n) => self.users.iter().find(|u| u.name == n).cloned().map_or(Caller::Rejected, Caller::User),
                None => Caller::Rejected,
            };
        }
        match basic_auth(headers) {
            BasicAuth::Given(u, p) => self
                .users
                .iter()
                .find(|x| x.name == u && x.password == p)
                .cloned()
                .map_or(Caller::Rejected, Caller::User),
            BasicAuth::Malformed => Caller::Rejected,
            BasicAuth::None if self.anonymous.load(Ordering::SeqCst) => Caller::User(Self::anonymous_user()),
            BasicAuth::None => Caller::Nobody,
        }
    }
}

/// Whether `held` grants `need`: exact, `nx-all`, `<prefix>-all`, or a repository privilege
/// (`nx-repository-view|admin-<format>-<repository>-<action>`) with `*` wildcards.
fn grants(held: &str, need: &str) -> bool {
    if held == "nx-all" || held == need {
        return true;
    }
    if let Some(prefix) = held.strip_suffix("-all") {
        if need.starts_with(&format!("{prefix}-")) {
            return true;
        }
    }
    for kind in ["nx-repository-view-", "nx-repository-admin-"] {
        let (Some(h), Some(n)) = (held.strip_prefix(kind), need.strip_prefix(kind)) else { continue };
        let split = |s: &str| -> Option<(String, String, String)> {
            let (format, rest) = s.split_once('-')?;
            let (repo, action) = rest.rsplit_once('-')?;
            Some((format.into(), repo.into(), action.into()))
        };
        let (Some((hf, hr, ha)), Some((nf, nr, na))) = (split(h), split(n)) else { return false };
        let m = |h: &str, n: &str| h == "*" || h == n;
        return m(&hf, &nf) && m(&hr, &nr) && m(&ha, &na);
    }
    false
}

impl User {
    fn may(&self, need: &str) -> bool {
        self.privileges.iter().any(|p| grants(p, need))
    }

    fn may_view(&self, repo: &str, action: &str) -> bool {
        self.may(&format!("nx-repository-view-docker-{repo}-{action}"))
    }
}

struct NState {
    base: String,
    security: Arc<Security>,
    repos: Vec<Repo>,
    policies: Vec<CleanupPolicy>,
    page_size: usize,
    old_api: bool,
    duplicate_keys: bool,
    available: AtomicBool,
    writable: AtomicBool,
    tasks: Mutex<Vec<Task>>,
    /// Task runs started (any task).
    task_runs: AtomicUsize,
    http: reqwest::Client,
}

/// One docker repository's registry API (served on its connector and at `/repository/<name>/`).
struct ConnectorState {
    repo: String,
    kind: &'static str,
    write_policy: String,
    force_basic_auth: bool,
    disk: Disk,
    keeps_tags: bool,
    upstream: String,
    security: Arc<Security>,
    http: reqwest::Client,
}

fn challenge() -> Response {
    (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, REALM)]).into_response()
}

fn docker_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"errors": [{"code": code, "message": message, "detail": null}]});
    let mut r = emu::json_response(status, &body);
    r.headers_mut().insert("Docker-Distribution-Api-Version", HeaderValue::from_static("registry/2.0"));
    r
}

/// The docker 401: BASIC when the repository forces basic auth, else Bearer to `<public>/v2/token`.
fn docker_challenge(cs: &ConnectorState, public: &str) -> Response {
    let mut r =
        docker_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "access to the requested resource is not authorized");
    let value = if cs.force_basic_auth {
        REALM.to_string()
    } else {
        format!("Bearer realm=\"{public}/v2/token\",service=\"{public}/v2/token\"")
    };
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_str(&value).expect("challenge"));
    r
}

async fn connector(State((cs, public)): State<(Arc<ConnectorState>, String)>, req: Request) -> Response {
    let pq = req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    docker_api(&cs, &public, &pq, req).await
}

/// `<public>/v2/token`: the Docker Bearer Token Realm. Refused while the realm is inactive.
fn docker_token(cs: &ConnectorState, req: &Request) -> Response {
    if !cs.security.realm.load(Ordering::SeqCst) {
        return challenge();
    }
    let user = match cs.security.caller(req.headers()) {
        Caller::User(u) => u,
        _ => return challenge(),
    };
    let token = format!(
        "DockerToken.{}",
        &crate::sha256_digest(format!("{}{:?}", user.name, std::time::SystemTime::now()).as_bytes())[7..39]
    );
    cs.security.tokens.lock().unwrap().insert(token.clone(), user.name.clone());
    emu::json_response(StatusCode::OK, &json!({"token": token}))
}

/// The registry API of one repository: auth (Basic or the realm's tokens), privileges per action,
/// the deployment policy, then the real registry behind it.
async fn docker_api(cs: &ConnectorState, public: &str, pq: &str, req: Request) -> Response {
    let path = pq.split('?').next().unwrap_or("").to_string();
    if path == "/v2/token" {
        return docker_token(cs, &req);
    }
    // A docker client always authenticates: Basic, or a token from the realm (anonymous pulls too).
    if !req.headers().contains_key(header::AUTHORIZATION) {
        return docker_challenge(cs, public);
    }
    let user = match cs.security.caller(req.headers()) {
        Caller::User(u) => u,
        Caller::Nobody | Caller::Rejected => return docker_challenge(cs, public),
    };
    let method = req.method().clone();
    let is_manifest_put = method == Method::PUT && path.contains("/manifests/");
    let action = match method {
        Method::GET | Method::HEAD => {
            if path == "/v2/" || path == "/v2" {
                None
            } else {
                Some("read")
            }
        }
        Method::DELETE => Some("delete"),
        _ => Some("add"),
    };
    if let Some(action) = action {
        if !user.may_view(&cs.repo, action) {
            return docker_error(StatusCode::FORBIDDEN, "DENIED", "Access denied to the requested resource");
        }
    }
    if method != Method::GET && method != Method::HEAD {
        if cs.kind != "hosted" {
            return docker_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "UNSUPPORTED",
                "Proxy and group repositories are read-only",
            );
        }
        if cs.write_policy == "DENY" {
            return docker_error(StatusCode::BAD_REQUEST, "DENIED", &format!("Repository is read only: {}", cs.repo));
        }
    }
    if is_manifest_put && cs.write_policy == "ALLOW_ONCE" {
        let rest = path.trim_start_matches("/v2/");
        if let Some((image, tag)) = rest.rsplit_once("/manifests/") {
            if !tag.starts_with("sha256:") && cs.disk.tags(image).contains_key(tag) {
                return docker_error(
                    StatusCode::BAD_REQUEST,
                    "DENIED",
                    &format!("Repository does not allow updating assets: {}", cs.repo),
                );
            }
        }
    }
    let deleting = (method == Method::DELETE)
        .then(|| path.trim_start_matches("/v2/").rsplit_once("/manifests/"))
        .flatten()
        .map(|(image, digest)| (image.to_string(), digest.to_string()));
    let Some((image, digest)) = deleting.filter(|_| cs.keeps_tags) else {
        return emu::proxy(&cs.http, &cs.upstream, public, pq, req).await;
    };
    let kept: Vec<String> =
        cs.disk.tags(&image).into_iter().filter(|(_, (d, _))| *d == digest).map(|(t, _)| t).collect();
    let resp = emu::proxy(&cs.http, &cs.upstream, public, pq, req).await;
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
    let Some(repo) = st.repo(name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !tail.starts_with("v2") {
        return StatusCode::NOT_FOUND.into_response();
    }
    let query = req.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
    let public = format!("{}/repository/{name}", st.base);
    docker_api(&repo.cs, &public, &format!("/{tail}{query}"), req).await
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
        self.repos.iter().find(|r| r.name == name && !r.removed.load(Ordering::SeqCst))
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
        let mut asset = json!({
            "downloadUrl": format!("{}/{path}", self.repo_url(r)),
            "path": path,
            "id": B64.encode(format!("{}:{}", c.repo, &hex[..32])),
            "repository": c.repo,
            "format": "docker",
            "checksum": {"sha256": hex, "sha1": &hex[..40]},
        });
        if !self.old_api {
            let more = json!({
                "contentType": c.media_type,
                "lastModified": t,
                "lastDownloaded": null,
                "uploader": "admin",
                "uploaderIp": "127.0.0.1",
                "fileSize": c.size,
                "blobCreated": t,
                "blobStoreName": r.blob_store,
            });
            asset.as_object_mut().expect("asset").extend(more.as_object().expect("more").clone());
        }
        json!({"id": Self::component_id(c), "repository": c.repo, "format": "docker", "group": null,
            "name": c.image, "version": c.tag, "assets": [asset], "tags": []})
    }

    fn store_usage(&self, store: &str) -> (u64, u64) {
        self.repos
            .iter()
            .filter(|r| r.blob_store == store && r.kind != "group")
            .map(|r| r.disk.bytes_on_disk())
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    }

    /// `GET /v1/repositories/docker/<type>/<name>`.
    fn repository_json(&self, r: &Repo) -> Value {
        let docker = json!({"v1Enabled": false, "forceBasicAuth": r.force_basic_auth, "httpPort": r.http_port,
            "httpsPort": null, "subdomain": null, "pathEnabled": false});
        let cleanup = json!({"policyNames": r.cleanup});
        if r.kind == "group" {
            return json!({"name": r.name, "format": "docker", "type": "group", "url": self.repo_url(r), "online": true,
                "storage": {"blobStoreName": r.blob_store, "strictContentTypeValidation": true},
                "group": {"memberNames": r.members},
                "docker": docker});
        }
        if r.kind == "proxy" {
            return json!({"name": r.name, "format": "docker", "type": "proxy", "url": self.repo_url(r), "online": true,
                "storage": {"blobStoreName": r.blob_store, "strictContentTypeValidation": true},
                "cleanup": cleanup,
                "proxy": {"remoteUrl": "https://registry-1.docker.io", "contentMaxAge": 1440, "metadataMaxAge": 1440},
                "negativeCache": {"enabled": true, "timeToLive": 1440},
                "httpClient": {"blocked": false, "autoBlock": true},
                "dockerProxy": {"indexType": "HUB", "cacheForeignLayers": false},
                "docker": docker});
        }
        json!({"name": r.name, "format": "docker", "type": "hosted", "url": self.repo_url(r), "online": true,
            "storage": {"blobStoreName": r.blob_store, "strictContentTypeValidation": true, "writePolicy": r.write_policy, "latestPolicy": false},
            "cleanup": cleanup, "component": {"proprietaryComponents": false},
            "docker": docker})
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

/// A page as text, `blobCreated` written twice in every asset (some 3.6x versions do).
fn with_duplicate_keys(v: &Value) -> Response {
    let text = serde_json::to_string_pretty(v).expect("json");
    let doubled = text
        .replace("\"blobCreated\" :", "\"blobCreated\" : null,\n      \"blobCreated\" :")
        .replace("\"blobCreated\": ", "\"blobCreated\": null, \"blobCreated\": ");
    let mut r = Response::new(axum::body::Body::from(doubled));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn forbidden() -> Response {
    StatusCode::FORBIDDEN.into_response()
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
    let user = match st.security.caller(req.headers()) {
        Caller::User(u) => u,
        Caller::Nobody | Caller::Rejected => return challenge(),
    };
    let sized = |v: Value| {
        if st.duplicate_keys {
            with_duplicate_keys(&v)
        } else {
            emu::json_response(StatusCode::OK, &v)
        }
    };
    match (method.as_str(), segs.as_slice()) {
        ("GET", ["v1", "repositories"]) => {
            let items: Vec<Value> = st
                .repos
                .iter()
                .filter(|r| !r.removed.load(Ordering::SeqCst) && user.may_view(&r.name, "browse"))
                .map(|r| {
                    let mut v = json!({"name": r.name, "format": "docker", "type": r.kind, "url": st.repo_url(r),
                        "online": true, "attributes": {}});
                    if r.kind == "proxy" {
                        v["attributes"] = json!({"proxy": {"remoteUrl": "https://registry-1.docker.io"}});
                    }
                    if !st.old_api {
                        v["size"] = json!(r.disk.bytes_on_disk().1);
                    }
                    v
                })
                .collect();
            emu::json_response(StatusCode::OK, &Value::Array(items))
        }
        ("GET", ["v1", "repositories", "docker", kind, name]) => {
            if st.old_api {
                return StatusCode::METHOD_NOT_ALLOWED.into_response();
            }
            match st.repo(name).filter(|r| r.kind == *kind) {
                Some(r) if user.may(&format!("nx-repository-admin-docker-{}-read", r.name)) => {
                    emu::json_response(StatusCode::OK, &st.repository_json(r))
                }
                Some(_) => forbidden(),
                None => StatusCode::NOT_FOUND.into_response(),
            }
        }
        ("GET", ["internal", "cleanup-policies"]) => {
            if st.old_api {
                return StatusCode::NOT_FOUND.into_response();
            }
            if !user.may("nx-cleanup-policies-read") {
                return forbidden();
            }
            let items: Vec<Value> = st
                .policies
                .iter()
                .map(|p| {
                    let used: Vec<&String> =
                        st.repos.iter().filter(|r| r.cleanup.contains(&p.name)).map(|r| &r.name).collect();
                    json!({"name": p.name, "format": "docker", "notes": "", "criteriaLastBlobUpdated": p.last_blob_updated_days,
                        "inUseCount": used.len(), "repositories": used})
                })
                .collect();
            emu::json_response(StatusCode::OK, &Value::Array(items))
        }
        ("GET", ["v1", "security", "anonymous"]) => {
            if !user.may("nx-settings-read") {
                return forbidden();
            }
            emu::json_response(
                StatusCode::OK,
                &json!({"enabled": st.security.anonymous.load(Ordering::SeqCst), "userId": "anonymous", "realmName": "NexusAuthorizingRealm"}),
            )
        }
        ("GET", ["v1", "security", "realms", "active"]) => {
            if !user.may("nx-settings-read") {
                return forbidden();
            }
            let mut active = vec!["NexusAuthenticatingRealm"];
            if st.security.realm.load(Ordering::SeqCst) {
                active.push("DockerToken");
            }
            emu::json_response(StatusCode::OK, &json!(active))
        }
        ("GET", ["v1", "components"]) | ("GET", ["v1", "assets"]) => {
            let Some(name) = qget("repository") else {
                return (StatusCode::UNPROCESSABLE_ENTITY, "Parameter 'repository' is required").into_response();
            };
            let Some(r) = st.repo(&name) else { return StatusCode::NOT_FOUND.into_response() };
            if !user.may_view(&r.name, "browse") {
                return forbidden();
            }
            let components = st.components(r);
            let items = if segs[1] == "components" {
                components.iter().map(|c| st.component_json(r, c)).collect()
            } else {
                components.iter().map(|c| st.component_json(r, c)["assets"][0].clone()).collect()
            };
            match page(items, qget("continuationToken").as_deref(), st.page_size) {
                Ok(v) => sized(v),
                Err(e) => e.into_response(),
            }
        }
        (m @ ("GET" | "DELETE"), ["v1", "components", id]) => {
            let decoded = B64.decode(id).ok().and_then(|b| String::from_utf8(b).ok());
            let Some((repo_name, _)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
                return (StatusCode::UNPROCESSABLE_ENTITY, "Malformed ID").into_response();
            };
            let Some(r) = st.repo(repo_name) else { return StatusCode::NOT_FOUND.into_response() };
            if !user.may_view(&r.name, "browse") {
                return forbidden();
            }
            let comps = st.components(r);
            let Some(c) = comps.iter().find(|c| NState::component_id(c) == *id) else {
                return StatusCode::NOT_FOUND.into_response();
            };
            if m == "GET" {
                return emu::json_response(StatusCode::OK, &st.component_json(r, c));
            }
            if !user.may_view(&r.name, "delete") {
                return forbidden();
            }
            if !st.writable.load(Ordering::SeqCst) {
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
            r.disk.remove_tag(&c.image, &c.tag);
            StatusCode::NO_CONTENT.into_response()
        }
        ("GET", ["v1", "tasks", ..]) if !user.may("nx-tasks-read") => forbidden(),
        ("POST", ["v1", "tasks", ..]) if !user.may("nx-tasks-run") => forbidden(),
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
            if !user.may("nx-blobstores-read") {
                return forbidden();
            }
            let mut stores: Vec<String> =
                st.repos.iter().filter(|r| r.kind != "group").map(|r| r.blob_store.clone()).collect();
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
        st.task_runs.fetch_add(1, Ordering::SeqCst);
        t.clone()
    };
    let st = st.clone();
    tokio::spawn(async move {
        let message = match task.typ.as_str() {
            "repository.docker.gc" => {
                let only = task.properties.get("repositoryName").and_then(Value::as_str).unwrap_or("*").to_string();
                let mut deleted = 0;
                for r in st.repos.iter().filter(|r| r.kind != "group" && (only == "*" || r.name == only)) {
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
                let regs: Vec<Arc<Registry>> = st
                    .repos
                    .iter()
                    .filter(|r| r.blob_store == store && r.kind != "group")
                    .map(|r| r.registry.clone())
                    .collect();
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
