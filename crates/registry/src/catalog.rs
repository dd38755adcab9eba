//! `/v2/_catalog` with every pagination behaviour registries show.

use reqwest::{Method, StatusCode};
use url::Url;

use crate::auth::Scope;
use crate::client::{json_accept, read_limited, RegistryClient, Request, ERROR_BODY_LIMIT, JSON_PAGE_LIMIT};
use crate::error::{parse_error_body, Error, ErrorKind};
use crate::link::next_link;

/// Distribution's default `catalog.maxentries`: the largest page a client may ask for.
pub const CATALOG_PAGE_MAX: usize = 1000;

/// More pages than this is a broken server (100 million names at the smallest page size).
pub const MAX_PAGES: usize = 1_000_000;

/// More items than this in one listing (repositories, tags, Harbor artifacts, Nexus components) is a
/// broken or hostile server: the listing stops with an incomplete-listing error instead of holding
/// ever more names in memory.
pub const MAX_LISTED_ITEMS: usize = 5_000_000;

/// The cap in force: [`MAX_LISTED_ITEMS`], or `BERTH_MAX_LISTED_ITEMS` (for tests and giant registries).
pub fn max_listed_items() -> usize {
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *N.get_or_init(|| {
        std::env::var("BERTH_MAX_LISTED_ITEMS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(MAX_LISTED_ITEMS)
    })
}

/// Fails once a listing holds more than [`max_listed_items`].
pub fn check_listed(url: &Url, count: usize) -> Result<(), Error> {
    let max = max_listed_items();
    if count > max {
        return Err(incomplete(url, &format!("more than {max} items (BERTH_MAX_LISTED_ITEMS raises the cap)")));
    }
    Ok(())
}

/// The error for a listing that cannot be read to its end.
pub fn incomplete(url: &Url, why: &str) -> Error {
    Error::new(
        ErrorKind::IncompleteListing,
        format!("{url}: incomplete listing: {why}"),
        "the registry or a proxy in front of it breaks pagination; nothing was concluded from the partial list \
         (report it to the registry's administrator)",
    )
}

impl RegistryClient {
    /// Lists every repository of `/v2/_catalog`, following `Link` pagination with pages of at most
    /// [`CATALOG_PAGE_MAX`]. Returns the names de-duplicated and sorted.
    pub async fn catalog(&self) -> Result<Vec<String>, Error> {
        let mut all = Vec::new();
        self.catalog_pages(CATALOG_PAGE_MAX, |page| all.extend_from_slice(page)).await?;
        all.sort();
        all.dedup();
        Ok(all)
    }

    /// Walks the catalog page by page, calling `on_page` with each page's names.
    pub async fn catalog_pages(&self, page_size: usize, on_page: impl FnMut(&[String])) -> Result<(), Error> {
        let endpoint = self.url("v2/_catalog");
        self.walk_name_pages(&endpoint, page_size, Scope::catalog(), "repositories", on_page).await
    }

    /// Walks a paginated list of names (`{"<field>": [...] | null}`), the way every registry in the
    /// field paginates: `n` at most 1000 and `PAGINATION_NUMBER_INVALID` → retry with 100; `Link`
    /// resolved against the request URL (rebuilt from `last` when a proxy broke it); no Link, an empty
    /// page or a page larger than `n` (2.8 ignores `n` for tags) ends it; a repeating page is an error.
    pub(crate) async fn walk_name_pages(
        &self,
        endpoint: &Url,
        page_size: usize,
        scope: Scope,
        field: &str,
        mut on_page: impl FnMut(&[String]),
    ) -> Result<(), Error> {
        let mut n = page_size.clamp(1, CATALOG_PAGE_MAX);
        let mut url = with_page(endpoint, n, None);
        let mut last_seen: Option<String> = None;
        // Every `last` seen: a cycle of any length (A → B → A) repeats one of them.
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut listed = 0usize;
        for _ in 0..MAX_PAGES {
            let resp = self
                .execute(Request::new(Method::GET, url.clone()).headers(json_accept()).scope(scope.clone()))
                .await?;
            let status = resp.status();
            if status == StatusCode::BAD_REQUEST && n > 100 {
                let headers = resp.headers().clone();
                let body = read_limited(resp, ERROR_BODY_LIMIT).await.unwrap_or_default();
                if parse_error_body(&body).is_some_and(|(c, _)| c == "PAGINATION_NUMBER_INVALID") {
                    n = 100;
                    url = with_page(endpoint, n, last_seen.as_deref());
                    continue;
                }
                return Err(Error::from_status(&url, 400, &headers, &body, self.has_credentials()));
            }
            if !status.is_success() {
                return Err(self.fail(&url, resp).await);
            }
            let link = next_link_header(resp.headers());
            if link.is_none() && has_unparsed_next(resp.headers()) {
                return Err(incomplete(&url, "the Link header names a next page Berth cannot read"));
            }
            let body = read_limited(resp, JSON_PAGE_LIMIT).await.map_err(|e| e.at(&url))?;
            let names = parse_names(&body, field).map_err(|e| {
                Error::new(
                    ErrorKind::Protocol,
                    format!("{url}: the answer is not the expected JSON list: {e}"),
                    "check that the URL points at a registry (a web UI or proxy error page answers here instead)",
                )
            })?;
            listed = listed.saturating_add(names.len());
            check_listed(endpoint, listed)?;
            on_page(&names);
            let Some(link) = link else { return Ok(()) };
            if names.is_empty() || names.len() > n {
                return Ok(());
            }
            let last = names.iter().max().cloned();
            if let Some(l) = &last {
                if !seen.insert(l.clone()) {
                    return Err(incomplete(&url, &format!("the pagination loops (a page ending at {l:?} came back)")));
                }
            }
            last_seen = last;
            url = match url.join(&link) {
                // Behind a path-prefixing proxy the link loses the prefix: rebuild it ourselves.
                // Only on the registry's own origin (scheme, host and port): credentials go nowhere else.
                Ok(next) if next.path() == endpoint.path() && next.origin() == endpoint.origin() => next,
                _ => with_page(endpoint, n, last_seen.as_deref()),
            };
        }
        Err(incomplete(endpoint, &format!("more than {MAX_PAGES} pages")))
    }
}

/// A `Link` header that mentions a next page but does not parse (`rel=next` with no `<…>`, a
/// truncated value): the listing would otherwise end there silently.
fn has_unparsed_next(headers: &reqwest::header::HeaderMap) -> bool {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .any(|v| v.to_str().map(|s| s.to_ascii_lowercase().contains("next")).unwrap_or(true))
}

/// The `rel="next"` target of a response's `Link` headers.
pub(crate) fn next_link_header(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| next_link(v).map(str::to_string))
}

/// `{"<field>": ["a", …]}`; a missing field or `null` (an emptied repository on 2.8) is an empty list.
fn parse_names(body: &[u8], field: &str) -> Result<Vec<String>, serde_json::Error> {
    let mut v: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body)?;
    match v.remove(field) {
        None | Some(serde_json::Value::Null) => Ok(Vec::new()),
        Some(list) => serde_json::from_value(list),
    }
}

pub(crate) fn with_page(endpoint: &Url, n: usize, last: Option<&str>) -> Url {
    let mut url = endpoint.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("n", &n.to_string());
        if let Some(last) = last {
            q.append_pair("last", last);
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_null_missing_or_garbage() {
        assert_eq!(parse_names(br#"{"name":"x","tags":null}"#, "tags").unwrap(), Vec::<String>::new());
        assert_eq!(parse_names(br#"{"name":"x"}"#, "tags").unwrap(), Vec::<String>::new());
        assert_eq!(parse_names(br#"{"tags":["b","a"]}"#, "tags").unwrap(), vec!["b", "a"]);
        assert!(parse_names(b"<html>", "tags").is_err());
        assert!(parse_names(br#"{"tags":[1]}"#, "tags").is_err());
    }

    #[test]
    fn page_urls() {
        let c = Url::parse("http://r/v2/_catalog").unwrap();
        assert_eq!(with_page(&c, 1000, None).as_str(), "http://r/v2/_catalog?n=1000");
        assert_eq!(with_page(&c, 100, Some("a/b")).as_str(), "http://r/v2/_catalog?n=100&last=a%2Fb");
    }
}
