//! One error type for everything the protocol layer can hit. Every error carries a `message` (what
//! happened, with the URL) and a `hint` (what to do about it), so front ends can show both.

use std::fmt;

/// What went wrong, in terms a front end can switch on (e.g. offer "Import CA…" for `TlsUnknownCa`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    InvalidUrl,
    Dns,
    ConnectionRefused,
    /// The connection broke mid-request (the registry stopped, crashed or a proxy cut it).
    ConnectionLost,
    Timeout,
    Connect,
    /// https:// URL, but the server answered in plain HTTP.
    TlsServerSpeaksHttp,
    /// http:// URL, but the port expects TLS.
    HttpToTlsPort,
    TlsUnknownCa,
    TlsCaUsedAsLeaf,
    TlsHostnameMismatch,
    TlsExpired,
    Tls,
    Unauthorized,
    PermissionDenied,
    NotFound,
    DeleteDisabled,
    ReadOnly,
    TooManyRequests,
    ProxyLengthRequired,
    ProxyBodyTooLarge,
    NotARegistry,
    BodyTooLarge,
    /// A paginated listing could not be read to its end (a malformed `Link`, a loop, a page that
    /// repeats, too many pages): what was read is not the whole list and must not be used as such.
    IncompleteListing,
    /// The registry sends us to a token service on another host the profile does not trust: no
    /// password goes there until the user trusts it (the connection test names it).
    UntrustedTokenService,
    Protocol,
    Server,
    /// The user cancelled the work (a job, a command it ran).
    Cancelled,
    /// The server refused because a rule holds (Harbor's 412: an index references the artifact, a tag
    /// immutability rule protects the tag).
    PreconditionFailed,
}

#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: String,
    pub status: Option<u16>,
    /// The registry's own error code, when it sent one (`MANIFEST_UNKNOWN`, `UNSUPPORTED`…).
    pub code: Option<String>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error { kind, message: message.into(), hint: hint.into(), status: None, code: None }
    }

    /// The registry cannot be reached at all (network, TLS, auth): going on with other requests is
    /// pointless, and a long job should stop with this error.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::InvalidUrl
                | ErrorKind::Dns
                | ErrorKind::ConnectionRefused
                | ErrorKind::ConnectionLost
                | ErrorKind::Timeout
                | ErrorKind::Connect
                | ErrorKind::TlsServerSpeaksHttp
                | ErrorKind::HttpToTlsPort
                | ErrorKind::TlsUnknownCa
                | ErrorKind::TlsCaUsedAsLeaf
                | ErrorKind::TlsHostnameMismatch
                | ErrorKind::TlsExpired
                | ErrorKind::Tls
                | ErrorKind::Unauthorized
        )
    }

    /// The server could not be reached at all (name, connection, time-out): what is cached still
    /// answers, offline.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Dns
                | ErrorKind::ConnectionRefused
                | ErrorKind::ConnectionLost
                | ErrorKind::Timeout
                | ErrorKind::Connect
        )
    }

    /// Records the HTTP status and the server's error code (for API clients built on this error type).
    pub fn with_status(mut self, status: u16, code: Option<String>) -> Self {
        self.status = Some(status);
        self.code = code;
        self
    }

    /// A timeout, saying which one fired: connecting, the server falling silent, or the whole request
    /// (`elapsed`: how long the request had run, when known).
    pub fn timeout(url: &url::Url, connecting: bool, elapsed: Option<std::time::Duration>) -> Self {
        let t = crate::tls::timeouts();
        let host = url.host_str().unwrap_or("?");
        let (message, hint) = if connecting {
            (
                format!("{url}: connecting took longer than {} s (connect timeout)", t.connect.as_secs()),
                format!("{host} did not accept the connection: check that the registry is up and that no firewall drops the traffic"),
            )
        } else if elapsed.is_some_and(|e| e + std::time::Duration::from_millis(500) >= t.total) {
            (
                format!("{url}: the answer took longer than {} s in all (total timeout)", t.total.as_secs()),
                format!("{host} sends very slowly: check the network, or a proxy in between that throttles"),
            )
        } else {
            (
                format!("{url}: the server sent nothing for {} s (idle timeout)", t.idle.as_secs()),
                format!(
                    "{host} stopped answering mid-way: check that the registry is healthy (its logs) and the network"
                ),
            )
        };
        Error::new(ErrorKind::Timeout, message, hint)
    }

    /// Whether retrying the same idempotent request may succeed: the connection was reset or closed
    /// before a complete answer (not refused, not a DNS, TLS or timeout failure).
    pub fn is_transient_transport(err: &reqwest::Error) -> bool {
        if err.is_timeout() || err.is_connect() {
            return false;
        }
        let chain = error_chain_text(err).to_ascii_lowercase();
        [
            "connection reset",
            "connection closed before message completed",
            "broken pipe",
            "incomplete message",
            "unexpected eof",
        ]
        .iter()
        .any(|s| chain.contains(s))
    }

    /// Classifies a transport-level failure (DNS, TCP, TLS, timeout) for `url`.
    pub fn from_transport(url: &url::Url, err: &reqwest::Error) -> Self {
        let host = url.host_str().unwrap_or("?");
        let hostport = match url.port_or_known_default() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        if let Some(tls) = find_rustls_error(err) {
            return Self::from_rustls(url, &hostport, tls);
        }
        let chain = error_chain_text(err);
        if err.is_timeout() {
            return Self::timeout(url, err.is_connect(), None);
        }
        if chain.contains("dns error") || chain.contains("failed to lookup address") {
            return Error::new(
                ErrorKind::Dns,
                format!("{url}: cannot resolve host {host:?}"),
                "check the host name in the profile's URL, or your DNS / /etc/hosts",
            );
        }
        if chain.contains("Connection refused") || chain.contains("connection refused") {
            return Error::new(
                ErrorKind::ConnectionRefused,
                format!("{url}: connection refused by {hostport}"),
                "nothing listens on that port: is the registry running, and is the port in the URL right?",
            );
        }
        if chain.contains("connection closed before message completed")
            || chain.contains("Connection reset")
            || chain.contains("connection reset")
            || chain.contains("broken pipe")
        {
            return Error::new(
                ErrorKind::ConnectionLost,
                format!("{url}: the connection to {hostport} broke off mid-request"),
                "the registry stopped or crashed (or a proxy cut the connection): check that it is running, then retry",
            );
        }
        Error::new(
            ErrorKind::Connect,
            format!("{url}: cannot connect: {chain}"),
            "check the URL, the network and that the registry is running",
        )
    }

    fn from_rustls(url: &url::Url, hostport: &str, err: &rustls::Error) -> Self {
        use rustls::{CertificateError, Error as E, InvalidMessage};
        let text = err.to_string();
        match err {
            E::InvalidMessage(InvalidMessage::InvalidContentType) => Error::new(
                ErrorKind::TlsServerSpeaksHttp,
                format!("{url}: the server at {hostport} answered in plain HTTP, not TLS"),
                format!("if this registry really serves plain HTTP (insecure-registries), change the profile's URL to http://{hostport}"),
            ),
            E::InvalidCertificate(CertificateError::UnknownIssuer) => Error::new(
                ErrorKind::TlsUnknownCa,
                format!("{url}: the server's certificate is signed by an unknown certificate authority"),
                "import the registry's CA certificate (PEM) into the profile, the one clients put in /etc/docker/certs.d/<host>/ca.crt",
            ),
            E::InvalidCertificate(CertificateError::Expired) | E::InvalidCertificate(CertificateError::ExpiredContext { .. }) => Error::new(
                ErrorKind::TlsExpired,
                format!("{url}: the server's certificate has expired"),
                "renew the registry's certificate (or check this machine's clock)",
            ),
            E::InvalidCertificate(CertificateError::NotValidForName)
            | E::InvalidCertificate(CertificateError::NotValidForNameContext { .. }) => Error::new(
                ErrorKind::TlsHostnameMismatch,
                format!("{url}: the server's certificate does not cover {:?}: {text}", url.host_str().unwrap_or("")),
                "use a host name the certificate lists in its subjectAltName, or re-issue the certificate with this name",
            ),
            _ if text.contains("CaUsedAsEndEntity") => Error::new(
                ErrorKind::TlsCaUsedAsLeaf,
                format!("{url}: the server presents a CA certificate as its own certificate (a self-signed `openssl req -x509` certificate)"),
                "re-issue the server certificate as a leaf signed by a CA (basicConstraints CA:FALSE) and import that CA, or pin this certificate by fingerprint",
            ),
            _ => Error::new(
                ErrorKind::Tls,
                format!("{url}: TLS handshake failed: {text}"),
                "check the server's certificate and the profile's TLS settings",
            ),
        }
    }

    /// Builds the error for a non-success HTTP answer. `body` is at most a few KiB of the response.
    pub(crate) fn from_status(
        url: &url::Url,
        status: u16,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
        had_credentials: bool,
    ) -> Self {
        let body_text = String::from_utf8_lossy(body);
        let api = parse_error_body(body);
        let code = api.as_ref().map(|(c, _)| c.clone());
        let api_msg = api.as_ref().map(|(_, m)| m.as_str()).unwrap_or("");
        let challenge = headers
            .get_all(reqwest::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ");
        let is_nginx =
            headers.get(reqwest::header::SERVER).and_then(|v| v.to_str().ok()).is_some_and(|s| s.starts_with("nginx"));
        let e = match (status, code.as_deref()) {
            (400, _) if body_text.contains("Client sent an HTTP request to an HTTPS server") => Error::new(
                ErrorKind::HttpToTlsPort,
                format!("{url}: this port expects TLS, but the profile's URL says http://"),
                format!("change the profile's URL to https://{}", host_port(url)),
            ),
            (400, None) if body.is_empty() && had_credentials => Error::new(
                ErrorKind::Server,
                format!("{url}: the registry answered 400 with an empty body to an authenticated request"),
                "the registry's htpasswd `path` probably points to a directory (the Debian default /etc/docker/registry): point it at the htpasswd file",
            ),
            (401, _) if challenge.contains("insufficient_scope") => Error::new(
                ErrorKind::PermissionDenied,
                format!("{url}: permission denied"),
                "this account lacks the permission for this action: ask the registry's administrator to grant it",
            ),
            (401, _) if had_credentials => Error::new(
                ErrorKind::Unauthorized,
                format!("{url}: the registry rejected the username or password"),
                "check the credentials; for registry:2 with htpasswd, entries must be bcrypt (`htpasswd -B`), other hashes are refused like a wrong password",
            ),
            (401, _) => Error::new(
                ErrorKind::Unauthorized,
                format!("{url}: the registry requires authentication"),
                "add a username and password to the profile",
            ),
            (403, _) => Error::new(
                ErrorKind::PermissionDenied,
                format!("{url}: access denied{}", suffix(api_msg)),
                "this account lacks the permission: ask the registry's administrator",
            ),
            (404, _) => Error::new(
                ErrorKind::NotFound,
                format!("{url}: not found{}", suffix(api_msg)),
                "check the repository name, tag or digest",
            ),
            (405, Some("UNSUPPORTED")) => Error::new(
                ErrorKind::DeleteDisabled,
                format!("{url}: the registry does not allow this operation (delete is disabled)"),
                "enable deletes on the registry: `storage.delete.enabled: true` in config.yml (or REGISTRY_STORAGE_DELETE_ENABLED=true), then restart it",
            ),
            (405, None) if headers.get(reqwest::header::ALLOW).is_some() => Error::new(
                ErrorKind::ReadOnly,
                format!("{url}: the registry is in read-only mode"),
                "wait until maintenance (garbage collection) is over, or turn off `storage.maintenance.readonly`",
            ),
            (411, _) => Error::new(
                ErrorKind::ProxyLengthRequired,
                format!("{url}: the proxy in front of the registry refused a chunked upload (411 Length Required)"),
                "add `chunked_transfer_encoding on;` to the nginx server block",
            ),
            (413, _) => Error::new(
                ErrorKind::ProxyBodyTooLarge,
                format!("{url}: the proxy in front of the registry refused the upload size (413)"),
                "set `client_max_body_size 0;` in the nginx server block",
            ),
            (429, _) => Error::new(
                ErrorKind::TooManyRequests,
                format!("{url}: the registry is rate limiting (429)"),
                match headers.get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()) {
                    Some(s) => format!("retry after {s} seconds"),
                    None => "retry later, or lower the concurrency".to_string(),
                },
            ),
            (s, _) if s >= 500 => Error::new(
                ErrorKind::Server,
                format!("{url}: server error {s}{}", suffix(api_msg)),
                if is_nginx { "the proxy could not reach the registry behind it, or the registry failed: check both logs" } else { "check the registry's log" },
            ),
            (s, _) => Error::new(
                ErrorKind::Protocol,
                format!("{url}: unexpected answer {s}{}", suffix(if api_msg.is_empty() { body_text.trim() } else { api_msg })),
                "check that the URL points at a registry's root (the one that serves /v2/)",
            ),
        };
        e.with_status(status, code)
    }
}

fn suffix(s: &str) -> String {
    let s: String = s.chars().take(200).collect();
    if s.is_empty() {
        String::new()
    } else {
        format!(": {s}")
    }
}

fn host_port(url: &url::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => String::new(),
    }
}

/// The first error of a registry error body: `{"errors":[{"code":…,"message":…,"detail":…}]}`.
pub fn parse_error_body(body: &[u8]) -> Option<(String, String)> {
    #[derive(serde::Deserialize)]
    struct Body {
        errors: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        code: String,
        #[serde(default)]
        message: Option<String>,
    }
    let b: Body = serde_json::from_slice(body).ok()?;
    let first = b.errors.into_iter().next()?;
    Some((first.code, first.message.unwrap_or_default()))
}

fn find_rustls_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        // io::Error hides its payload from source(): look inside it.
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(r) = inner.downcast_ref::<rustls::Error>() {
                    return Some(r);
                }
                if let Some(r) = find_rustls_error(inner) {
                    return Some(r);
                }
            }
        }
        cur = e.source();
    }
    None
}

fn error_chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = e.source();
    }
    parts.join(": ")
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.hint.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{} ({})", self.message, self.hint)
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_registry_error_bodies() {
        let b = br#"{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}"#;
        assert_eq!(parse_error_body(b), Some(("UNSUPPORTED".into(), "The operation is unsupported.".into())));
        let b = br#"{"errors":[{"code":"NAME_UNKNOWN","detail":{"name":"nope"}}]}"#;
        assert_eq!(parse_error_body(b), Some(("NAME_UNKNOWN".into(), String::new())));
        assert_eq!(parse_error_body(b"<html>nginx</html>"), None);
        assert_eq!(parse_error_body(b""), None);
    }

    #[test]
    fn read_only_and_delete_disabled_are_told_apart() {
        let url = url::Url::parse("http://r:5000/v2/a/manifests/sha256:00").unwrap();
        let mut h = reqwest::header::HeaderMap::new();
        let e = Error::from_status(&url, 405, &h, br#"{"errors":[{"code":"UNSUPPORTED"}]}"#, false);
        assert_eq!(e.kind, ErrorKind::DeleteDisabled);
        assert!(e.hint.contains("storage.delete.enabled"));
        h.insert(reqwest::header::ALLOW, "GET, HEAD".parse().unwrap());
        let e = Error::from_status(&url, 405, &h, b"Method not allowed", false);
        assert_eq!(e.kind, ErrorKind::ReadOnly);
    }

    #[test]
    fn basic_401_hints_bcrypt() {
        let url = url::Url::parse("https://r/v2/").unwrap();
        let h = reqwest::header::HeaderMap::new();
        let e = Error::from_status(&url, 401, &h, b"", true);
        assert_eq!(e.kind, ErrorKind::Unauthorized);
        assert!(e.hint.contains("bcrypt"));
    }
}
