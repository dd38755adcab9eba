//! Transport and the first API calls: ping and the paginated catalog.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT};
use reqwest::{Method, StatusCode};
use url::Url;

use crate::error::{parse_error_body, Error, ErrorKind};
use crate::link::next_link;

/// Distribution's default `catalog.maxentries`: the largest page a client may ask for.
pub const CATALOG_PAGE_MAX: usize = 1000;
/// JSON pages (catalog, tags) are bounded: 1000 names of at most 255 bytes, with room to spare.
const JSON_PAGE_LIMIT: usize = 2 * 1024 * 1024;
/// Error bodies are only read for diagnosis.
const ERROR_BODY_LIMIT: usize = 16 * 1024;

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

/// TLS settings of one profile.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// PEM bytes of CA certificates to trust in addition to the system roots.
    pub extra_ca_pem: Vec<Vec<u8>>,
}

/// What `GET /v2/` told us.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Ping {
    pub url: String,
    pub status: u16,
    /// `Docker-Distribution-Api-Version`, a hint only (proxies may drop it).
    pub api_version: Option<String>,
    /// The authentication scheme the server challenged with, if any (`Basic`, `Bearer`).
    pub auth_scheme: Option<String>,
}

/// A client for one registry endpoint (base URL + credentials + TLS settings).
#[derive(Clone)]
pub struct RegistryClient {
    base: Url,
    http: reqwest::Client,
    creds: Arc<Credentials>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("base", &self.base.as_str())
            .field("creds", &self.creds)
            .finish()
    }
}

/// Parses and normalises a registry URL as users type it. Plain `http://` is accepted only when written.
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
        return Err(bad(
            "credentials do not belong in the URL; give them to the profile",
        ));
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
        let http = build_http(tls)?;
        Ok(RegistryClient {
            base,
            http,
            creds: Arc::new(creds),
        })
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    fn url(&self, path: &str) -> Url {
        self.base
            .join(path)
            .expect("relative API path joins onto a valid base")
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        headers: HeaderMap,
    ) -> Result<reqwest::Response, Error> {
        let mut req = self.http.request(method, url.clone()).headers(headers);
        if let Credentials::Basic { username, password } = &*self.creds {
            req = req.basic_auth(username, Some(password));
        }
        req.send()
            .await
            .map_err(|e| Error::from_transport(&url, &e))
    }

    fn has_credentials(&self) -> bool {
        !matches!(*self.creds, Credentials::Anonymous)
    }

    async fn fail(&self, url: &Url, resp: reqwest::Response) -> Error {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = read_limited(resp, ERROR_BODY_LIMIT)
            .await
            .unwrap_or_default();
        Error::from_status(url, status, &headers, &body, self.has_credentials())
    }

    /// `GET /v2/`: checks that a registry answers there and that our credentials are accepted.
    pub async fn ping(&self) -> Result<Ping, Error> {
        let url = self.url("v2/");
        let resp = self
            .send(Method::GET, url.clone(), HeaderMap::new())
            .await?;
        let api_version = resp
            .headers()
            .get("docker-distribution-api-version")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let auth_scheme = resp
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_whitespace().next())
            .map(str::to_string);
        let status = resp.status();
        if status.is_success() {
            return Ok(Ping {
                url: url.to_string(),
                status: status.as_u16(),
                api_version,
                auth_scheme,
            });
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

    /// Lists every repository of `/v2/_catalog`, following `Link` pagination with pages of at most
    /// [`CATALOG_PAGE_MAX`]. Returns the names de-duplicated and sorted.
    pub async fn catalog(&self) -> Result<Vec<String>, Error> {
        let mut all = Vec::new();
        self.catalog_pages(CATALOG_PAGE_MAX, |page| all.extend_from_slice(page))
            .await?;
        all.sort();
        all.dedup();
        Ok(all)
    }

    /// Walks the catalog page by page, calling `on_page` with each page's names.
    pub async fn catalog_pages(
        &self,
        page_size: usize,
        mut on_page: impl FnMut(&[String]),
    ) -> Result<(), Error> {
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default)]
            repositories: Option<Vec<String>>,
        }
        let mut n = page_size.clamp(1, CATALOG_PAGE_MAX);
        let catalog_path = self.url("v2/_catalog");
        let mut url = with_page(&catalog_path, n, None);
        let mut last_seen: Option<String> = None;
        loop {
            let resp = self.send(Method::GET, url.clone(), json_accept()).await?;
            let status = resp.status();
            if status == StatusCode::BAD_REQUEST && n > 100 {
                // distribution 3.x (and some proxies) refuse an `n` above their maximum: retry smaller.
                let headers = resp.headers().clone();
                let body = read_limited(resp, ERROR_BODY_LIMIT)
                    .await
                    .unwrap_or_default();
                if parse_error_body(&body).is_some_and(|(c, _)| c == "PAGINATION_NUMBER_INVALID") {
                    n = 100;
                    url = with_page(&catalog_path, n, last_seen.as_deref());
                    continue;
                }
                return Err(Error::from_status(
                    &url,
                    400,
                    &headers,
                    &body,
                    self.has_credentials(),
                ));
            }
            if !status.is_success() {
                return Err(self.fail(&url, resp).await);
            }
            let link = resp
                .headers()
                .get_all(reqwest::header::LINK)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(|v| next_link(v).map(str::to_string));
            let body = read_limited(resp, JSON_PAGE_LIMIT)
                .await
                .map_err(|e| e.at(&url))?;
            let page: Page = serde_json::from_slice(&body).map_err(|e| {
                Error::new(
                    ErrorKind::Protocol,
                    format!("{url}: the catalog answer is not valid JSON: {e}"),
                    "check that the URL points at a registry (a web UI or proxy error page answers here instead)",
                )
            })?;
            let names = page.repositories.unwrap_or_default();
            on_page(&names);
            let Some(link) = link else { return Ok(()) };
            if names.is_empty() {
                return Ok(()); // an empty page that still links onward would loop
            }
            let last = names.last().cloned();
            if last.is_some() && last == last_seen {
                return Err(Error::new(
                    ErrorKind::Protocol,
                    format!("{url}: the catalog's pagination repeats itself (last={})", last.unwrap_or_default()),
                    "the registry or a proxy in front of it rewrites pagination links; report it to its administrator",
                ));
            }
            last_seen = last;
            url = match url.join(&link) {
                // Behind a path-prefixing proxy the link loses the prefix: rebuild it ourselves.
                Ok(next)
                    if next.path() == catalog_path.path() && next.host() == catalog_path.host() =>
                {
                    next
                }
                _ => with_page(&catalog_path, n, last_seen.as_deref()),
            };
        }
    }
}

fn with_page(catalog: &Url, n: usize, last: Option<&str>) -> Url {
    let mut url = catalog.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("n", &n.to_string());
        if let Some(last) = last {
            q.append_pair("last", last);
        }
    }
    url
}

fn json_accept() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(ACCEPT, "application/json".parse().expect("static header"));
    h
}

#[derive(Debug)]
pub(crate) struct BodyError(String);

impl BodyError {
    fn at(self, url: &Url) -> Error {
        Error::new(
            ErrorKind::BodyTooLarge,
            format!("{url}: {}", self.0),
            "the server sent more than a registry would; check the URL",
        )
    }
}

/// Reads at most `limit` bytes of a body; a longer body is an error, never silently truncated.
pub(crate) async fn read_limited(
    mut resp: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    if resp.content_length().is_some_and(|l| l as usize > limit) {
        return Err(BodyError(format!(
            "answer of {} bytes exceeds the limit of {limit}",
            resp.content_length().unwrap_or(0)
        )));
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| BodyError(format!("reading the answer failed: {e}")))?
    {
        if out.len() + chunk.len() > limit {
            return Err(BodyError(format!(
                "answer exceeds the limit of {limit} bytes"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

fn build_http(tls: &TlsOptions) -> Result<reqwest::Client, Error> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    for pem in &tls.extra_ca_pem {
        use rustls_pki_types::pem::PemObject;
        let mut any = false;
        for cert in rustls_pki_types::CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| {
                Error::new(
                    ErrorKind::Tls,
                    format!("an imported CA certificate is not valid PEM: {e}"),
                    "re-import the CA certificate",
                )
            })?;
            roots.add(cert).map_err(|e| {
                Error::new(
                    ErrorKind::Tls,
                    format!("an imported CA certificate was refused: {e}"),
                    "re-import the CA certificate",
                )
            })?;
            any = true;
        }
        if !any {
            return Err(Error::new(
                ErrorKind::Tls,
                "an imported CA file holds no certificate",
                "re-import the CA certificate",
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorKind::Tls, format!("TLS setup failed: {e}"), ""))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .pool_idle_timeout(Duration::from_secs(30))
        .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::new(ErrorKind::Tls, format!("HTTP client setup failed: {e}"), ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rules() {
        assert_eq!(
            parse_registry_url("http://127.0.0.1:5000")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:5000/"
        );
        assert_eq!(
            parse_registry_url(" https://r.example/v2/ ")
                .unwrap()
                .as_str(),
            "https://r.example/"
        );
        assert_eq!(
            parse_registry_url("https://r.example/prefix")
                .unwrap()
                .as_str(),
            "https://r.example/prefix/"
        );
        for bad in [
            "127.0.0.1:5000",
            "ftp://x",
            "https://",
            "https://u:p@r",
            "https://r/?x=1",
            "",
        ] {
            let e = parse_registry_url(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidUrl, "{bad}");
        }
    }

    #[test]
    fn page_urls() {
        let c = Url::parse("http://r/v2/_catalog").unwrap();
        assert_eq!(
            with_page(&c, 1000, None).as_str(),
            "http://r/v2/_catalog?n=1000"
        );
        assert_eq!(
            with_page(&c, 100, Some("a/b")).as_str(),
            "http://r/v2/_catalog?n=100&last=a%2Fb"
        );
    }
}
