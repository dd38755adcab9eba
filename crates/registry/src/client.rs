//! The client for one registry endpoint: transport, authentication and retries in one request loop.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use url::Url;

use crate::auth::{normalize_scopes, parse_challenges, Scope, TokenCache, TokenResponse};
use crate::error::{Error, ErrorKind};
pub use crate::tls::TlsOptions;

/// JSON pages (catalog, tags, token answers) are bounded: 1000 names of at most 255 bytes, with room to spare.
pub(crate) const JSON_PAGE_LIMIT: usize = 2 * 1024 * 1024;
/// Error bodies are only read for diagnosis.
pub(crate) const ERROR_BODY_LIMIT: usize = 16 * 1024;
/// Retries of an idempotent request (GET, HEAD) on 5xx, 429 and connection resets, and of any
/// request the server refused with 429 or 503 (it did nothing): backoff with jitter, Retry-After
/// honoured up to `MAX_RETRY_AFTER` seconds.
const MAX_RETRIES: u32 = 3;
const MAX_RETRY_AFTER: u64 = 30;

/// When the request that produced a response started (for naming the timeout that fires while its
/// body is read).
#[derive(Clone, Copy)]
struct Started(std::time::Instant);

/// The wait before retry `n` (0-based): 250 ms, 500 ms, 1 s…, ±25% jitter so that clients that
/// failed together do not retry together.
fn backoff(n: u32) -> Duration {
    let base = 250u64 << n.min(6);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    let jitter = nanos % (base / 2 + 1);
    Duration::from_millis(base - base / 4 + jitter)
}

/// Whether an answer is retried, and after how long.
enum Retry {
    No,
    After(Duration),
    /// The server asks for a longer wait than Berth waits (seconds).
    TooLong(u64),
}

/// The one retry rule: 429 (and 503 when `retry_unavailable`) for any request, 500/502/504 and 503
/// for GET and HEAD, at most `MAX_RETRIES` times, waiting Retry-After or the backoff.
fn retry_decision(
    status: StatusCode,
    headers: &HeaderMap,
    idempotent: bool,
    retry_unavailable: bool,
    retries: u32,
) -> Retry {
    let unavailable = status == StatusCode::SERVICE_UNAVAILABLE && retry_unavailable;
    let refused = status == StatusCode::TOO_MANY_REQUESTS || unavailable;
    let server_error = matches!(status.as_u16(), 500 | 502 | 504);
    if !(refused || (idempotent && server_error)) || retries >= MAX_RETRIES {
        return Retry::No;
    }
    match retry_after(headers) {
        Some(s) if s > MAX_RETRY_AFTER => Retry::TooLong(s),
        Some(s) => Retry::After(Duration::from_secs(s)),
        None => Retry::After(backoff(retries)),
    }
}

/// `Retry-After`: delta seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<u64> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(s) = v.parse::<u64>() {
        return Some(s);
    }
    let when = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()?;
    let now = time::OffsetDateTime::now_utc();
    Some((when - now).whole_seconds().max(0) as u64)
}

#[derive(Clone, Default)]
pub enum Credentials {
    #[default]
    Anonymous,
    Basic {
        username: String,
        password: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Anonymous => write!(f, "Anonymous"),
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
        }
    }
}

/// What `GET /v2/` told us.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Ping {
    pub url: String,
    pub status: u16,
    /// `Docker-Distribution-Api-Version`, a hint only (proxies may drop it).
    pub api_version: Option<String>,
    /// The authentication scheme the server challenged with, if any (`basic`, `bearer`).
    pub auth_scheme: Option<String>,
}

/// The token service a registry's Bearer challenge names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenService {
    pub realm: Url,
    /// `scheme://host[:port]`, the form the profile's trust list holds.
    pub origin: String,
    /// On another host than the registry's (the port does not count).
    pub other_host: bool,
    /// The password may go there: the registry's own host, or an origin the user trusts.
    pub trusted: bool,
}

/// `https://auth.example.com:443/x` → `https://auth.example.com` (default ports dropped), for
/// comparing a realm with the origins a profile trusts; `None` for what is not an http(s) URL.
pub fn token_service_origin(input: &str) -> Option<String> {
    let u = Url::parse(input.trim()).ok()?;
    (matches!(u.scheme(), "http" | "https") && u.host_str().is_some()).then(|| u.origin().ascii_serialization())
}

/// A poisoned lock (a panic while holding it) still holds valid data here: plain values replaced
/// whole, never left half-written.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A client for one registry endpoint (base URL + credentials + TLS settings). Cheap to clone; clones
/// share connections and tokens.
#[derive(Clone)]
pub struct RegistryClient {
    base: Url,
    http: reqwest::Client,
    creds: Arc<Credentials>,
    auth: Arc<AuthState>,
    /// Origins of token services on another host the user trusts with the password.
    trusted_token_services: Arc<Vec<String>>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient").field("base", &self.base.as_str()).field("creds", &self.creds).finish()
    }
}

/// What the server told us about its auth, and the tokens we hold.
#[derive(Debug, Default)]
struct AuthState {
    /// (realm, service) of the server's Bearer challenge, once seen.
    bearer: Mutex<Option<(Url, String)>>,
    /// The scheme of the first challenge seen on a ping (`basic`, `bearer`).
    challenged: Mutex<Option<String>>,
    tokens: TokenCache,
    token_requests: AtomicUsize,
    /// Every HTTP request sent (retries and token requests included).
    requests: AtomicUsize,
}

/// One request as the API layer describes it: the auth scopes it needs are part of it.
pub(crate) struct Request {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Option<bytes::Bytes>,
    /// A body sent once (a blob streamed from another registry): such a request is never repeated
    /// (no retry, no second try after a token refresh); the caller starts over.
    pub stream: Option<reqwest::Body>,
    /// Overrides the client's total timeout (a blob transfer lasts as long as its bytes take; the
    /// idle timeout still applies).
    pub timeout: Option<Duration>,
    pub scopes: Vec<Scope>,
}

impl Request {
    pub fn new(method: Method, url: Url) -> Request {
        Request { method, url, headers: HeaderMap::new(), body: None, stream: None, timeout: None, scopes: Vec::new() }
    }
    pub fn headers(mut self, h: HeaderMap) -> Request {
        self.headers.extend(h);
        self
    }
    pub fn header(mut self, name: HeaderName, value: &str) -> Request {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(name, v);
        }
        self
    }
    pub fn body(mut self, body: impl Into<bytes::Bytes>) -> Request {
        self.body = Some(body.into());
        self
    }
    pub fn stream(mut self, body: reqwest::Body) -> Request {
        self.stream = Some(body);
        self
    }
    pub fn timeout(mut self, t: Duration) -> Request {
        self.timeout = Some(t);
        self
    }
    pub fn scope(mut self, s: Scope) -> Request {
        self.scopes.push(s);
        self
    }
}

pub fn parse_registry_url(input: &str) -> Result<Url, Error> {
    let s = input.trim();
    let bad = |why: &str| {
        Error::new(
            ErrorKind::InvalidUrl,
            format!("invalid registry URL {s:?}: {why}"),
            "write it as https://registry.example.com or http://host:5000 (plain HTTP only for insecure registries)",
        )
    };
    if !(s.starts_with("http://") || s.starts_with("https://")) {
        return Err(bad("it must start with https:// or http://"));
    }
    let mut url = Url::parse(s).map_err(|e| bad(&e.to_string()))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not carry a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("credentials do not belong in the URL; give them to the profile"));
    }
    // A trailing /v2 or /v2/ is a common paste: the base is the part before it.
    let mut path = url.path().trim_end_matches('/').to_string();
    if path.ends_with("/v2") {
        path.truncate(path.len() - 3);
    }
    url.set_path(&format!("{path}/"));
    Ok(url)
}

impl RegistryClient {
    pub fn new(url: &str, creds: Credentials, tls: &TlsOptions) -> Result<Self, Error> {
        let base = parse_registry_url(url)?;
        let http = crate::tls::build_http(tls)?;
        let trusted = tls.trusted_token_services.iter().filter_map(|o| token_service_origin(o)).collect();
        Ok(RegistryClient {
            base,
            http,
            creds: Arc::new(creds),
            auth: Arc::default(),
            trusted_token_services: Arc::new(trusted),
        })
    }

    /// The token service the registry named in its Bearer challenge, once seen (after a ping), and
    /// whether it is on another host than the registry (so it needs the user's trust for a password).
    pub fn token_service(&self) -> Option<TokenService> {
        let (realm, _) = lock(&self.auth.bearer).clone()?;
        let origin = realm.origin().ascii_serialization();
        Some(TokenService {
            trusted: self.may_send_password_to(&realm),
            other_host: realm.host_str() != self.base.host_str(),
            realm,
            origin,
        })
    }

    /// The registry's own host, or a token service origin the user trusts for this profile.
    fn may_send_password_to(&self, realm: &Url) -> bool {
        realm.host_str() == self.base.host_str()
            || self.trusted_token_services.contains(&realm.origin().ascii_serialization())
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    #[allow(
        clippy::expect_used,
        reason = "every caller passes a relative path starting with `v2/`, which joins onto an http(s) base"
    )]
    pub(crate) fn url(&self, path: &str) -> Url {
        self.base.join(path).expect("relative API path joins onto a valid base")
    }

    pub(crate) fn has_credentials(&self) -> bool {
        !matches!(*self.creds, Credentials::Anonymous)
    }

    /// How many HTTP requests this client (and its clones) sent.
    pub fn requests(&self) -> usize {
        self.auth.requests.load(Ordering::Relaxed)
    }

    /// The auth scheme the server's last challenge asked for (`basic`, `bearer`), if any.
    pub fn challenged_scheme(&self) -> Option<String> {
        lock(&self.auth.challenged).clone()
    }

    /// How many tokens this client fetched from the token service (tests check the cache with it).
    pub fn token_requests(&self) -> usize {
        self.auth.token_requests.load(Ordering::Relaxed)
    }

    /// The error for a non-success answer, with the body read (bounded) for diagnosis.
    pub(crate) async fn fail(&self, url: &Url, resp: reqwest::Response) -> Error {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = read_limited(resp, ERROR_BODY_LIMIT).await.unwrap_or_default();
        Error::from_status(url, status, &headers, &body, self.has_credentials())
    }

    /// Sends a request with the right credentials: a Bearer token for its scopes when the server uses
    /// token auth (fetched at most once more after a 401), Basic credentials otherwise. Retries 429 and
    /// 503 honouring Retry-After. Any other answer is returned as is, for the caller to judge.
    pub(crate) async fn execute(&self, mut req: Request) -> Result<reqwest::Response, Error> {
        let mut scopes = normalize_scopes(req.scopes.iter().cloned());
        let one_shot = req.stream.is_some();
        let mut refetched = false;
        let mut retries = 0;
        loop {
            let mut headers = req.headers.clone();
            if let Some(value) = self.authorization(&req.url, &scopes).await? {
                headers.insert(AUTHORIZATION, value);
            }
            let mut rb = self.http.request(req.method.clone(), req.url.clone()).headers(headers);
            if let Some(body) = &req.body {
                rb = rb.body(body.clone());
            }
            if let Some(stream) = req.stream.take() {
                rb = rb.body(stream);
            }
            if let Some(t) = req.timeout {
                rb = rb.timeout(t);
            }
            self.auth.requests.fetch_add(1, Ordering::Relaxed);
            let idempotent = req.method == Method::GET || req.method == Method::HEAD;
            let started = std::time::Instant::now();
            let mut resp = match rb.send().await {
                Ok(r) => r,
                Err(e) if idempotent && retries < MAX_RETRIES && Error::is_transient_transport(&e) => {
                    tracing::debug!(url = %req.url, "connection reset, retrying: {e}");
                    tokio::time::sleep(backoff(retries)).await;
                    retries += 1;
                    continue;
                }
                Err(e) if e.is_timeout() => {
                    return Err(Error::timeout(&req.url, e.is_connect(), Some(started.elapsed())))
                }
                Err(e) => return Err(Error::from_transport(&req.url, &e)),
            };
            resp.extensions_mut().insert(Started(started));
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED && resp.url().origin() != req.url.origin() {
                // A redirect target asking for a login is not the registry: its challenge is never
                // adopted, so no credential or token request goes there.
                let mut e = Error::new(
                    ErrorKind::Unauthorized,
                    format!(
                        "{}: the registry redirected to {}, which asks for credentials",
                        req.url,
                        resp.url().origin().ascii_serialization()
                    ),
                    "Berth sends the profile's credentials only to the registry's own address; check the registry's storage redirect settings",
                );
                e.status = Some(401);
                return Err(e);
            }
            if status == StatusCode::UNAUTHORIZED {
                let values: Vec<String> = resp
                    .headers()
                    .get_all(WWW_AUTHENTICATE)
                    .iter()
                    .filter_map(|v| v.to_str().ok().map(str::to_string))
                    .collect();
                let challenges = parse_challenges(values.iter().map(String::as_str));
                if let Some(first) = challenges.first() {
                    lock(&self.auth.challenged).get_or_insert_with(|| first.scheme.clone());
                }
                let Some(bearer) = challenges.iter().find(|c| c.scheme == "bearer") else {
                    return Err(self.fail(&req.url, resp).await);
                };
                let Some(realm) = bearer.param("realm").and_then(|r| req.url.join(r).ok()) else {
                    return Err(Error::new(
                        ErrorKind::Protocol,
                        format!("{}: the registry asks for a token but names no valid realm", req.url),
                        "check the registry's auth.token.realm setting",
                    ));
                };
                let service = bearer.param("service").unwrap_or_default().to_string();
                let known = lock(&self.auth.bearer).replace((realm.clone(), service.clone()));
                let wanted: Vec<Scope> = bearer.scopes().iter().filter_map(|s| Scope::parse(s)).collect();
                let held_covers = wanted.iter().all(|w| scopes.iter().any(|h| h.covers(w)));
                if bearer.param("error") == Some("insufficient_scope")
                    && (refetched || (held_covers && known.is_some()))
                {
                    // We hold (or just fetched) a token for exactly what is asked: the account lacks it.
                    if !self.has_credentials() {
                        let mut e = Error::new(
                            ErrorKind::Unauthorized,
                            format!("{}: the registry requires authentication", req.url),
                            "this registry gives anonymous users no access: add a username and password to the profile",
                        );
                        e.status = Some(401);
                        return Err(e);
                    }
                    return Err(permission_denied(&req.url, &wanted));
                }
                if refetched || one_shot {
                    return Err(self.fail(&req.url, resp).await);
                }
                self.auth.tokens.forget(realm.as_str(), &service, &scopes);
                scopes = normalize_scopes(scopes.into_iter().chain(wanted));
                refetched = true;
                continue;
            }
            let decision =
                if one_shot { Retry::No } else { retry_decision(status, resp.headers(), idempotent, true, retries) };
            match decision {
                Retry::After(wait) => {
                    tokio::time::sleep(wait).await;
                    tracing::debug!(url = %req.url, %status, retry = retries + 1, "retrying");
                    retries += 1;
                    continue;
                }
                Retry::TooLong(s) => {
                    let mut e = self.fail(&req.url, resp).await;
                    e.hint = format!("the registry asks to wait {s} s before retrying (Berth waits at most {MAX_RETRY_AFTER} s): try again later");
                    return Err(e);
                }
                Retry::No => {}
            }
            return Ok(resp);
        }
    }

    /// The Authorization header for a request needing `scopes`, fetching a token if the server uses them.
    async fn authorization(&self, url: &Url, scopes: &[Scope]) -> Result<Option<HeaderValue>, Error> {
        let bearer = lock(&self.auth.bearer).clone();
        if let Some((realm, service)) = bearer {
            let token = match self.auth.tokens.get(realm.as_str(), &service, scopes) {
                Some(t) => t,
                None => self.fetch_token(url, &realm, &service, scopes).await?,
            };
            let mut v = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                Error::new(ErrorKind::Protocol, "the token service sent a token that is not a valid header value", "")
            })?;
            v.set_sensitive(true);
            return Ok(Some(v));
        }
        if let Credentials::Basic { username, password } = &*self.creds {
            return Ok(Some(basic_header(username, password)));
        }
        Ok(None)
    }

    async fn fetch_token(&self, url: &Url, realm: &Url, service: &str, scopes: &[Scope]) -> Result<String, Error> {
        let mut token_url = realm.clone();
        {
            let mut q = token_url.query_pairs_mut();
            if !service.is_empty() {
                q.append_pair("service", service);
            }
            for s in scopes {
                q.append_pair("scope", &s.to_string());
            }
        }
        let mut rb = self.http.get(token_url.clone());
        if let Credentials::Basic { username, password } = &*self.creds {
            // Never send a password in clear text to a host other than the registry's own, nor over
            // plain HTTP when the registry itself is reached over https (a downgrade).
            if realm.scheme() != "https" && realm.host_str() != self.base.host_str() {
                return Err(Error::new(
                    ErrorKind::Protocol,
                    format!("{url}: the registry sends us to a plain-HTTP token service on another host ({realm})"),
                    "Berth will not send the password there in clear text: configure the token realm with https://",
                ));
            }
            if realm.scheme() != "https" && self.base.scheme() == "https" {
                return Err(Error::new(
                    ErrorKind::Protocol,
                    format!("{url}: the registry is reached over https but names a plain-HTTP token service ({realm})"),
                    "Berth will not send the password in clear text: configure the token realm with https://",
                ));
            }
            if !self.may_send_password_to(realm) {
                let origin = realm.origin().ascii_serialization();
                return Err(Error::new(
                    ErrorKind::UntrustedTokenService,
                    format!("{url}: the registry sends the password to a token service on another host, {origin}"),
                    format!("if {origin} is this registry's own token service, trust it for this profile; until then Berth sends it no password"),
                ));
            }
            rb = rb.header(AUTHORIZATION, basic_header(username, password));
        }
        self.auth.requests.fetch_add(1, Ordering::Relaxed);
        let resp = rb.send().await.map_err(|e| Error::from_transport(&token_url, &e))?;
        self.auth.token_requests.fetch_add(1, Ordering::Relaxed);
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            let mut e = Error::new(
                ErrorKind::Unauthorized,
                format!("the token service {realm} rejected the username or password"),
                if self.has_credentials() {
                    "check the profile's username and password"
                } else {
                    "this registry needs a login: add a username and password to the profile"
                },
            );
            e.status = Some(status.as_u16());
            return Err(e);
        }
        if !status.is_success() {
            return Err(self.fail(&token_url, resp).await);
        }
        let body = read_limited(resp, JSON_PAGE_LIMIT).await.map_err(|e| e.at(&token_url))?;
        let tr: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
            Error::new(
                ErrorKind::Protocol,
                format!("{realm}: the token answer is not valid JSON: {e}"),
                "check the registry's auth.token.realm",
            )
        })?;
        let token = tr
            .bearer()
            .ok_or_else(|| Error::new(ErrorKind::Protocol, format!("{realm}: the token answer holds no token"), ""))?
            .to_string();
        self.auth.tokens.put(realm.as_str(), service, scopes, token.clone(), tr.lifetime());
        Ok(token)
    }

    /// `GET /v2/`: checks that a registry answers there and that our credentials are accepted (for token
    /// auth, that a token can be had).
    pub async fn ping(&self) -> Result<Ping, Error> {
        let url = self.url("v2/");
        let resp = self.execute(Request::new(Method::GET, url.clone())).await?;
        let api_version =
            resp.headers().get("docker-distribution-api-version").and_then(|v| v.to_str().ok()).map(str::to_string);
        let status = resp.status();
        let auth_scheme = lock(&self.auth.challenged).clone();
        if status.is_success() {
            return Ok(Ping { url: url.to_string(), status: status.as_u16(), api_version, auth_scheme });
        }
        if status == StatusCode::NOT_FOUND && api_version.is_none() {
            return Err(Error::new(
                ErrorKind::NotARegistry,
                format!("{url}: no registry API here (404)"),
                "point the profile at the registry's root URL, the one that serves /v2/; for Nexus use the docker repository's connector port",
            ));
        }
        Err(self.fail(&url, resp).await)
    }
}

pub(crate) fn json_accept() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(ACCEPT, HeaderValue::from_static("application/json"));
    h
}

#[allow(clippy::expect_used, reason = "`Basic ` and base64 are visible ASCII, always a valid header value")]
fn basic_header(user: &str, password: &str) -> HeaderValue {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let mut v = HeaderValue::from_str(&format!("Basic {raw}")).expect("base64 is a valid header value");
    v.set_sensitive(true);
    v
}

fn permission_denied(url: &Url, wanted: &[Scope]) -> Error {
    let what: Vec<String> = wanted
        .iter()
        .map(|s| format!("{} on {}", s.actions.iter().cloned().collect::<Vec<_>>().join("+"), s.name))
        .collect();
    let mut e = Error::new(
        ErrorKind::PermissionDenied,
        format!("{url}: permission denied ({})", if what.is_empty() { "insufficient scope".into() } else { what.join(", ") }),
        "this account lacks that permission: ask the registry's administrator to grant it, or use an account that has it",
    );
    e.status = Some(401);
    e.code = Some("insufficient_scope".into());
    e
}

/// Sends the request `build` makes, retrying like the `/v2` client does: GET and HEAD on 500, 502,
/// 503, 504, 429 and connection resets; any method on 429 and 503 (the server did nothing); backoff
/// with jitter, Retry-After honoured up to 30 s. For the Harbor and Nexus REST clients;
/// `unavailable_is_an_answer`: 503 is returned at once (Nexus's read-only or starting state).
pub async fn send_retrying(
    method: &Method,
    url: &Url,
    unavailable_is_an_answer: bool,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, Error> {
    let idempotent = *method == Method::GET || *method == Method::HEAD;
    let mut retries = 0;
    loop {
        let started = std::time::Instant::now();
        let resp = match build().send().await {
            Ok(r) => r,
            Err(e) if idempotent && retries < MAX_RETRIES && Error::is_transient_transport(&e) => {
                tokio::time::sleep(backoff(retries)).await;
                retries += 1;
                continue;
            }
            Err(e) if e.is_timeout() => return Err(Error::timeout(url, e.is_connect(), Some(started.elapsed()))),
            Err(e) => return Err(Error::from_transport(url, &e)),
        };
        let status = resp.status();
        if let Retry::After(wait) =
            retry_decision(status, resp.headers(), idempotent, !unavailable_is_an_answer, retries)
        {
            tokio::time::sleep(wait).await;
            retries += 1;
            continue;
        }
        let mut resp = resp;
        resp.extensions_mut().insert(Started(started));
        return Ok(resp);
    }
}

/// Why a body could not be read: too large (never truncated), a timeout, or the connection failed.
#[derive(Debug)]
pub enum BodyError {
    TooLarge(String),
    Timeout { elapsed: Option<Duration> },
    Transport(String),
}

impl BodyError {
    pub fn at(self, url: &Url) -> Error {
        match self {
            BodyError::TooLarge(m) => Error::new(
                ErrorKind::BodyTooLarge,
                format!("{url}: {m}"),
                "the server sent more than a registry would; check the URL",
            ),
            BodyError::Timeout { elapsed } => Error::timeout(url, false, elapsed),
            BodyError::Transport(m) => Error::new(
                ErrorKind::ConnectionLost,
                format!("{url}: the connection broke while the answer was read: {m}"),
                "check the network and the registry's health, then try again",
            ),
        }
    }
}

/// Reads at most `limit` bytes of a body; a longer body is an error, never silently truncated. Used
/// for every answer of every server Berth talks to (registry, Harbor, Nexus, token services).
pub async fn read_limited(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    if let Some(len) = resp.content_length().filter(|l| *l as usize > limit) {
        return Err(BodyError::TooLarge(format!("answer of {len} bytes exceeds the limit of {limit}")));
    }
    let started = resp.extensions().get::<Started>().map(|s| s.0);
    let mut out = Vec::new();
    loop {
        let chunk = match resp.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) if e.is_timeout() => return Err(BodyError::Timeout { elapsed: started.map(|s| s.elapsed()) }),
            Err(e) => return Err(BodyError::Transport(e.to_string())),
        };
        if out.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(format!("answer exceeds the limit of {limit} bytes")));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rules() {
        assert_eq!(parse_registry_url("http://127.0.0.1:5000").unwrap().as_str(), "http://127.0.0.1:5000/");
        assert_eq!(parse_registry_url(" https://r.example/v2/ ").unwrap().as_str(), "https://r.example/");
        assert_eq!(parse_registry_url("https://r.example/prefix").unwrap().as_str(), "https://r.example/prefix/");
        for bad in ["127.0.0.1:5000", "ftp://x", "https://", "https://u:p@r", "https://r/?x=1", ""] {
            let e = parse_registry_url(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidUrl, "{bad}");
        }
    }

    #[test]
    fn credentials_debug_is_redacted() {
        let c = Credentials::Basic { username: "u".into(), password: "hunter2".into() };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
