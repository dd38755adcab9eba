//! `/v2/_catalog` with every pagination behaviour registries show.

use reqwest::{Method, StatusCode};
use url::Url;

use crate::auth::Scope;
use crate::client::{json_accept, read_limited, RegistryClient, Request, ERROR_BODY_LIMIT, JSON_PAGE_LIMIT};
use crate::error::{parse_error_body, Error, ErrorKind};
use crate::link::next_link;

/// Distribution's default `catalog.maxentries`: the largest page a client may ask for.
pub const CATALOG_PAGE_MAX: usize = 1000;

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
    pub async fn catalog_pages(&self, page_size: usize, mut on_page: impl FnMut(&[String])) -> Result<(), Error> {
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
            let resp = self
                .execute(Request::new(Method::GET, url.clone()).headers(json_accept()).scope(Scope::catalog()))
                .await?;
            let status = resp.status();
            if status == StatusCode::BAD_REQUEST && n > 100 {
                // distribution 3.x (and some proxies) refuse an `n` above their maximum: retry smaller.
                let headers = resp.headers().clone();
                let body = read_limited(resp, ERROR_BODY_LIMIT).await.unwrap_or_default();
                if parse_error_body(&body).is_some_and(|(c, _)| c == "PAGINATION_NUMBER_INVALID") {
                    n = 100;
                    url = with_page(&catalog_path, n, last_seen.as_deref());
                    continue;
                }
                return Err(Error::from_status(&url, 400, &headers, &body, self.has_credentials()));
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
            let body = read_limited(resp, JSON_PAGE_LIMIT).await.map_err(|e| e.at(&url))?;
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
                Ok(next) if next.path() == catalog_path.path() && next.host() == catalog_path.host() => next,
                _ => with_page(&catalog_path, n, last_seen.as_deref()),
            };
        }
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
    fn page_urls() {
        let c = Url::parse("http://r/v2/_catalog").unwrap();
        assert_eq!(with_page(&c, 1000, None).as_str(), "http://r/v2/_catalog?n=1000");
        assert_eq!(with_page(&c, 100, Some("a/b")).as_str(), "http://r/v2/_catalog?n=100&last=a%2Fb");
    }
}
