//! Referrers (signatures, SBOMs, attestations): the OCI 1.1 referrers API, with the `sha256-<hex>` tag
//! schema as the fallback for registries without it (distribution 2.8 and 3.x answer 404), and cosign's
//! `sha256-<hex>.sig|.att|.sbom` tags.

use reqwest::header::ACCEPT;
use reqwest::{Method, StatusCode};

use crate::auth::Scope;
use crate::client::{read_limited, RegistryClient, Request};
use crate::content::Reference;
use crate::digest::Digest;
use crate::error::{Error, ErrorKind};
use crate::manifest::{media, Descriptor, IndexManifest, Manifest, MANIFEST_LIMIT};

/// Where a referrer was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferrerSource {
    /// The registry's referrers API.
    Api,
    /// The OCI fallback tag `sha256-<hex>` (an index of referrers).
    FallbackTag,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrers {
    pub source: ReferrerSource,
    pub descriptors: Vec<Descriptor>,
}

/// Cosign-style tags that belong to `subject`: `sha256-<hex>.sig`, `.att`, `.sbom` (and any other suffix).
pub fn cosign_tags<'a>(tags: &'a [String], subject: &Digest) -> Vec<&'a str> {
    let prefix = format!("{}.", subject.referrers_tag());
    tags.iter().filter(|t| t.starts_with(&prefix)).map(String::as_str).collect()
}

impl RegistryClient {
    /// The referrers of `subject` in `repo`.
    pub async fn referrers(&self, repo: &str, subject: &Digest) -> Result<Referrers, Error> {
        crate::content::validate_repo(repo)?;
        let mut url = self.url(&format!("v2/{repo}/referrers/{subject}"));
        let mut descriptors = Vec::new();
        let mut pages = 0;
        loop {
            let resp = self
                .execute(
                    Request::new(Method::GET, url.clone())
                        .header(ACCEPT, media::OCI_INDEX)
                        .scope(Scope::repository(repo, &["pull"])),
                )
                .await?;
            let status = resp.status();
            if pages == 0
                && matches!(status, StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED | StatusCode::BAD_REQUEST)
            {
                // No referrers API (a registry that has it never answers 404): the tag schema.
                return self.referrers_by_tag(repo, subject).await;
            }
            if !status.is_success() {
                return Err(self.fail(&url, resp).await);
            }
            let link = crate::catalog::next_link_header(resp.headers());
            let body = read_limited(resp, MANIFEST_LIMIT).await.map_err(|e| e.at(&url))?;
            let index: IndexManifest = serde_json::from_slice(&body).map_err(|e| {
                Error::new(ErrorKind::Protocol, format!("{url}: the referrers answer is not an index: {e}"), "")
            })?;
            descriptors.extend(index.manifests);
            pages += 1;
            let Some(link) = link else { break };
            let next = url.join(&link).map_err(|_| crate::catalog::incomplete(&url, &format!("bad Link {link:?}")))?;
            // Credentials go only to the profile's origin: a next page elsewhere is not followed.
            if next.origin() != url.origin() {
                return Err(crate::catalog::incomplete(
                    &url,
                    &format!("the next page is on another server ({})", next.origin().ascii_serialization()),
                ));
            }
            if next == url || pages >= 100 {
                return Err(crate::catalog::incomplete(
                    &url,
                    "the referrers pagination loops or has more than 100 pages",
                ));
            }
            url = next;
        }
        Ok(Referrers { source: ReferrerSource::Api, descriptors })
    }

    async fn referrers_by_tag(&self, repo: &str, subject: &Digest) -> Result<Referrers, Error> {
        let tag = Reference::Tag(subject.referrers_tag());
        let descriptors = match self.get_manifest(repo, &tag).await? {
            Some(m) => match m.manifest {
                Manifest::Index(i) => i.manifests,
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        Ok(Referrers { source: ReferrerSource::FallbackTag, descriptors })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosign_tag_matching() {
        let d = Digest::sha256(b"x");
        let tags = vec![
            format!("{}.sig", d.referrers_tag()),
            format!("{}.att", d.referrers_tag()),
            d.referrers_tag(),
            "latest".to_string(),
            format!("{}.sig", Digest::sha256(b"y").referrers_tag()),
        ];
        assert_eq!(cosign_tags(&tags, &d), vec![tags[0].as_str(), tags[1].as_str()]);
    }
}
