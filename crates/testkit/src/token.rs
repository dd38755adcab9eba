//! A token server implementing the distribution token spec, for `auth.token` registries.
//!
//! It runs axum on its own thread with its own tokio runtime, so it keeps answering while a test
//! blocks its own thread (for example on a `skopeo` child process).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use serde_json::json;

/// The registry `auth.token.service` and JWT `aud`.
pub const TOKEN_SERVICE: &str = "berth-test-registry";
/// The registry `auth.token.issuer` and JWT `iss`.
pub const TOKEN_ISSUER: &str = "berth-test-issuer";

/// A user of the token server.
#[derive(Clone, Debug)]
pub struct TokenUser {
    pub name: String,
    pub password: String,
    /// Actions granted on every repository, e.g. `["pull","push","delete"]`. Users with `pull` also get
    /// `registry:catalog:*`.
    pub actions: Vec<String>,
}

impl TokenUser {
    pub fn new(name: &str, password: &str, actions: &[&str]) -> TokenUser {
        TokenUser {
            name: name.into(),
            password: password.into(),
            actions: actions.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// Knobs for [`TokenIssuer::start_with`].
#[derive(Clone, Debug)]
pub struct TokenIssuerOptions {
    /// `expires_in` of the response and the JWT lifetime, in seconds. Default 300.
    pub expires_in: u64,
    /// Answer the OAuth2 `POST` form (grant_type=password). Default true; when false, POST gets 405
    /// (like servers that only do GET).
    pub allow_post: bool,
}

impl Default for TokenIssuerOptions {
    fn default() -> Self {
        TokenIssuerOptions { expires_in: 300, allow_post: true }
    }
}

struct Shared {
    users: Vec<TokenUser>,
    opts: TokenIssuerOptions,
    key: jsonwebtoken::EncodingKey,
    x5c: String,
    requests: AtomicUsize,
    jti: AtomicU64,
}

/// The running token server. Stops on drop.
pub struct TokenIssuer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    cert_pem: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TokenIssuer {
    /// Start with default options (300 s tokens, GET and POST).
    pub async fn start(users: Vec<TokenUser>) -> TokenIssuer {
        Self::start_with(users, TokenIssuerOptions::default()).await
    }

    pub async fn start_with(users: Vec<TokenUser>, opts: TokenIssuerOptions) -> TokenIssuer {
        Self::start_blocking(users, opts)
    }

    /// Same as [`TokenIssuer::start_with`], usable outside async code.
    pub fn start_blocking(users: Vec<TokenUser>, opts: TokenIssuerOptions) -> TokenIssuer {
        let (cert_pem, cert_der, key_pem) = crate::certs::token_signer("berth-test-token-signer");
        let key = jsonwebtoken::EncodingKey::from_ec_pem(key_pem.as_bytes()).expect("ES256 key");
        let x5c = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(&cert_der)
        };
        let shared = Arc::new(Shared { users, opts, key, x5c, requests: AtomicUsize::new(0), jti: AtomicU64::new(1) });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind token server");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new().route("/token", get(token_get).post(token_post)).with_state(shared.clone());
        let thread = std::thread::Builder::new()
            .name(format!("berth-token-issuer-{}", addr.port()))
            .spawn(move || {
                let rt =
                    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("token server runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    // Graceful shutdown, but never wait more than 2 s for open connections.
                    let (grace_tx, grace_rx) = tokio::sync::oneshot::channel::<()>();
                    let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                        let _ = rx.await;
                        let _ = grace_tx.send(());
                    });
                    let hard_stop = async move {
                        let _ = grace_rx.await;
                        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                    };
                    tokio::select! {
                        _ = serve => {}
                        _ = hard_stop => {}
                    }
                });
            })
            .expect("spawn token server thread");
        TokenIssuer { addr, shared, cert_pem, shutdown: Some(tx), thread: Some(thread) }
    }

    /// `http://127.0.0.1:PORT/token`.
    pub fn realm(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    /// How many token requests (GET or POST, any outcome) it served.
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// PEM of the self-signed certificate whose key signs the tokens (the registry's rootcertbundle).
    pub fn signing_cert_pem(&self) -> String {
        self.cert_pem.clone()
    }

    /// `berth-test-registry`.
    pub fn service(&self) -> &'static str {
        TOKEN_SERVICE
    }

    /// `berth-test-issuer`.
    pub fn issuer(&self) -> &'static str {
        TOKEN_ISSUER
    }

    /// Sign a token with arbitrary claims (e.g. an expired one, or for another audience).
    pub fn sign_claims(&self, claims: &serde_json::Value) -> String {
        sign(&self.shared, claims)
    }
}

impl Drop for TokenIssuer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[derive(Serialize)]
struct Access {
    #[serde(rename = "type")]
    typ: String,
    name: String,
    actions: Vec<String>,
}

fn sign(shared: &Shared, claims: &serde_json::Value) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.typ = Some("JWT".into());
    header.x5c = Some(vec![shared.x5c.clone()]);
    jsonwebtoken::encode(&header, claims, &shared.key).expect("sign JWT")
}

fn unauthorized(msg: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Basic realm=\"berth-test-token\"")],
        axum::Json(json!({"errors": [{"code": "UNAUTHORIZED", "message": msg}]})),
    )
        .into_response()
}

fn parse_basic(headers: &HeaderMap) -> Option<Result<(String, String), ()>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let value = match value.to_str() {
        Ok(v) => v,
        Err(_) => return Some(Err(())),
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Some(Err(()));
    }
    use base64::Engine;
    let decoded = match base64::engine::general_purpose::STANDARD.decode(rest.trim()) {
        Ok(d) => d,
        Err(_) => return Some(Err(())),
    };
    let decoded = String::from_utf8_lossy(&decoded).into_owned();
    match decoded.split_once(':') {
        Some((u, p)) => Some(Ok((u.to_string(), p.to_string()))),
        None => Some(Err(())),
    }
}

/// Grant: the intersection of the requested and the allowed actions (silently a subset).
fn grant(user: Option<&TokenUser>, scopes: &[String]) -> Vec<Access> {
    let mut out = Vec::new();
    for scope_param in scopes {
        for scope in scope_param.split_whitespace() {
            let mut parts = scope.splitn(3, ':');
            let (Some(typ), Some(name), Some(actions)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            // `repository(plugin):name:…` → the type without its class.
            let typ = typ.split('(').next().unwrap_or(typ).to_string();
            let requested: Vec<&str> = actions.split(',').filter(|a| !a.is_empty()).collect();
            let allowed: Vec<String> = match (user, typ.as_str()) {
                (None, _) => Vec::new(),
                (Some(u), "repository") => {
                    requested.iter().filter(|a| u.actions.iter().any(|x| x == *a)).map(|a| a.to_string()).collect()
                }
                (Some(u), "registry") if name == "catalog" => {
                    if u.actions.iter().any(|x| x == "pull") {
                        requested.iter().map(|a| a.to_string()).collect()
                    } else {
                        Vec::new()
                    }
                }
                _ => Vec::new(),
            };
            out.push(Access { typ, name: name.to_string(), actions: allowed });
        }
    }
    out
}

fn issue(
    shared: &Shared,
    credentials: Option<(String, String)>,
    service: Option<String>,
    scopes: Vec<String>,
) -> Response {
    let user = match credentials {
        None => None,
        Some((name, password)) => match shared.users.iter().find(|u| u.name == name && u.password == password) {
            Some(u) => Some(u),
            None => return unauthorized("invalid username or password"),
        },
    };
    let access = grant(user, &scopes);
    let now = time::OffsetDateTime::now_utc();
    let now_s = now.unix_timestamp();
    let jti = shared.jti.fetch_add(1, Ordering::SeqCst);
    let claims = json!({
        "iss": TOKEN_ISSUER,
        "sub": user.map(|u| u.name.clone()).unwrap_or_default(),
        "aud": service.unwrap_or_else(|| TOKEN_SERVICE.to_string()),
        "exp": now_s + shared.opts.expires_in as i64,
        "nbf": now_s - 5,
        "iat": now_s,
        "jti": format!("berth-{now_s}-{jti}"),
        "access": access,
    });
    let token = sign(shared, &claims);
    let issued_at = now
        .replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .expect("rfc3339");
    axum::Json(json!({
        "token": token,
        "access_token": token,
        "expires_in": shared.opts.expires_in,
        "issued_at": issued_at,
    }))
    .into_response()
}

async fn token_get(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let credentials = match parse_basic(&headers) {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(())) => return unauthorized("malformed Authorization header"),
    };
    let mut service = None;
    let mut scopes = Vec::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match &*k {
            "service" => service = Some(v.into_owned()),
            "scope" => scopes.push(v.into_owned()),
            _ => {}
        }
    }
    issue(&shared, credentials, service, scopes)
}

async fn token_post(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    if !shared.opts.allow_post {
        return (StatusCode::METHOD_NOT_ALLOWED, "method not allowed").into_response();
    }
    let mut service = None;
    let mut scopes = Vec::new();
    let mut grant_type = String::new();
    let mut username = None;
    let mut password = None;
    for (k, v) in url::form_urlencoded::parse(&body) {
        match &*k {
            "service" => service = Some(v.into_owned()),
            "scope" => scopes.extend(v.split_whitespace().map(str::to_string)),
            "grant_type" => grant_type = v.into_owned(),
            "username" => username = Some(v.into_owned()),
            "password" => password = Some(v.into_owned()),
            _ => {}
        }
    }
    if grant_type != "password" {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "unsupported_grant_type"}))).into_response();
    }
    let credentials = match (username, password) {
        (Some(u), Some(p)) => Some((u, p)),
        _ => match parse_basic(&headers) {
            Some(Ok(c)) => Some(c),
            _ => return unauthorized("missing credentials"),
        },
    };
    issue(&shared, credentials, service, scopes)
}
