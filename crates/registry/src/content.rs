//! Tags, manifests and blobs: reading them right (full Accept list, digests verified against the bytes)
//! and writing them (manifest PUT for retag, blob upload, cross-repository mount).

use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, IF_NONE_MATCH, LOCATION};
use reqwest::{Method, StatusCode};
use url::Url;

use crate::auth::Scope;
use crate::client::{read_limited, RegistryClient, Request};
use crate::config::ImageConfig;
use crate::digest::Digest;
use crate::error::{Error, ErrorKind};
use crate::manifest::{media, Manifest, MANIFEST_LIMIT};

/// Largest blob we read into memory (image configs, referrer payloads).
pub const SMALL_BLOB_LIMIT: usize = 16 * 1024 * 1024;
const TAGS_PAGE: usize = 1000;

/// A manifest reference: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Tag(String),
    Digest(Digest),
}

impl Reference {
    pub fn parse(s: &str) -> Option<Reference> {
        if s.contains(':') {
            Digest::parse(s).map(Reference::Digest)
        } else if valid_tag(s) {
            Some(Reference::Tag(s.to_string()))
        } else {
            None
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Reference::Tag(t) => t,
            Reference::Digest(d) => d.as_str(),
        }
    }
}

/// `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`, the distribution tag grammar.
pub fn valid_tag(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && b.first().is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// What HEAD says about a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestHead {
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
}

/// What a conditional HEAD ([`RegistryClient::check_manifest`]) learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestCheck {
    /// The reference still points at the cached digest (`304 Not Modified`).
    Unchanged,
    /// The registry answered in full: the digest may or may not have changed.
    Head(ManifestHead),
}

/// What a manifest PUT stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredManifest {
    pub digest: Digest,
    /// The registry answered `OCI-Subject`: it indexes referrers itself.
    pub subject_processed: bool,
}

/// A manifest as fetched: its exact bytes, their verified digest, and the parsed form.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    pub digest: Digest,
    pub media_type: String,
    pub bytes: bytes::Bytes,
    pub manifest: Manifest,
    /// Whether the digest was checked against the bytes (schema1: against its canonical payload); a
    /// manifest that fails the check is an error, so this is true for every manifest returned.
    pub digest_verified: bool,
}

impl RegistryClient {
    pub(crate) fn repo_url(&self, repo: &str, rest: &str) -> Result<Url, Error> {
        validate_repo(repo)?;
        Ok(self.url(&format!("v2/{repo}/{rest}")))
    }

    /// Every tag of `repo`, de-duplicated and sorted. `"tags": null` (an emptied repository) is no tags.
    pub async fn tags(&self, repo: &str) -> Result<Vec<String>, Error> {
        let endpoint = self.repo_url(repo, "tags/list")?;
        let mut all: Vec<String> = Vec::new();
        self.walk_name_pages(&endpoint, TAGS_PAGE, Scope::repository(repo, &["pull"]), "tags", |page| {
            all.extend_from_slice(page)
        })
        .await?;
        all.sort();
        all.dedup();
        Ok(all)
    }

    fn manifest_request(&self, method: Method, repo: &str, reference: &Reference) -> Result<Request, Error> {
        let url = self.repo_url(repo, &format!("manifests/{}", reference.as_str()))?;
        Ok(Request::new(method, url).header(ACCEPT, media::ACCEPT).scope(Scope::repository(repo, &["pull"])))
    }

    /// HEAD a manifest with the full Accept list. `None` when it does not exist.
    pub async fn head_manifest(&self, repo: &str, reference: &Reference) -> Result<Option<ManifestHead>, Error> {
        Ok(self.head(repo, reference, None).await?.and_then(|c| match c {
            ManifestCheck::Head(h) => Some(h),
            ManifestCheck::Unchanged => None, // only answered to a conditional HEAD
        }))
    }

    /// HEAD a manifest, asking the registry to answer `304 Not Modified` when it still is `cached`
    /// (`If-None-Match`). Registry 2.x then answers right after resolving the tag, without
    /// reading the manifest: about a fifth less of the registry's CPU per tag in a resync. A server that
    /// ignores the header answers as for [`head_manifest`](Self::head_manifest). `None` when it does not
    /// exist.
    pub async fn check_manifest(
        &self,
        repo: &str,
        reference: &Reference,
        cached: &Digest,
    ) -> Result<Option<ManifestCheck>, Error> {
        self.head(repo, reference, Some(cached)).await
    }

    /// HEAD, conditional when `cached` is given. Falls back to a verified GET when the answer lacks the
    /// digest or a manifest media type (some registries and proxies omit them on HEAD).
    async fn head(
        &self,
        repo: &str,
        reference: &Reference,
        cached: Option<&Digest>,
    ) -> Result<Option<ManifestCheck>, Error> {
        let mut req = self.manifest_request(Method::HEAD, repo, reference)?;
        if let Some(d) = cached {
            req = req.header(IF_NONE_MATCH, &format!("\"{}\"", d.as_str()));
        }
        let url = req.url.clone();
        let resp = self.execute(req).await?;
        match resp.status() {
            StatusCode::NOT_MODIFIED if cached.is_some() => return Ok(Some(ManifestCheck::Unchanged)),
            StatusCode::NOT_FOUND => return Ok(None),
            s if !s.is_success() => return Err(self.fail(&url, resp).await),
            _ => {}
        }
        let h = resp.headers();
        let media_type = header_str(h, CONTENT_TYPE).map(|c| c.split(';').next().unwrap_or("").trim().to_string());
        let size = header_str(h, CONTENT_LENGTH).and_then(|v| v.parse().ok()).unwrap_or(0);
        let digest = header_str(h, "docker-content-digest").and_then(|d| Digest::parse(&d));
        let head = match (digest, media_type) {
            (Some(digest), Some(media_type)) if media::is_manifest(&media_type) => {
                Some(ManifestHead { digest, media_type, size })
            }
            _ => self.get_manifest(repo, reference).await?.map(|m| ManifestHead {
                size: m.bytes.len() as u64,
                digest: m.digest,
                media_type: m.media_type,
            }),
        };
        Ok(head.map(ManifestCheck::Head))
    }

    /// GET a manifest with the full Accept list, verify its digest against the bytes, and parse it.
    /// `None` when it does not exist.
    pub async fn get_manifest(&self, repo: &str, reference: &Reference) -> Result<Option<FetchedManifest>, Error> {
        let req = self.manifest_request(Method::GET, repo, reference)?;
        let url = req.url.clone();
        let resp = self.execute(req).await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(self.fail(&url, resp).await);
        }
        let content_type = header_str(resp.headers(), CONTENT_TYPE);
        let header_digest = header_str(resp.headers(), "docker-content-digest").and_then(|d| Digest::parse(&d));
        let bytes = bytes::Bytes::from(read_limited(resp, MANIFEST_LIMIT).await.map_err(|e| e.at(&url))?);
        let (media_type, manifest) = Manifest::parse(content_type.as_deref(), &bytes).map_err(|e| {
            Error::new(ErrorKind::Protocol, format!("{url}: {e}"), "the registry sent something that is not a manifest")
        })?;
        let schema1 = media::is_schema1(&media_type);
        // A schema1 manifest's digest covers its canonical payload (the JWS signatures taken out): it is
        // checked like any other, so nothing is cached under a digest its bytes do not have.
        let schema1_digest = schema1.then(|| schema1_payload(&bytes).map(|p| Digest::sha256(&p))).flatten();
        let (digest, digest_verified) = match reference {
            Reference::Digest(want) if schema1 => match &schema1_digest {
                Some(d) if want.algorithm() == "sha256" && d == want => (want.clone(), true),
                _ => {
                    return Err(Error::new(
                        ErrorKind::Protocol,
                        format!("{url}: the schema1 manifest's payload does not match the digest asked for"),
                        "the registry or a proxy altered the manifest; nothing of it is cached",
                    ))
                }
            },
            Reference::Digest(want) if !schema1 => {
                if !want.matches(&bytes) {
                    return Err(Error::new(
                        ErrorKind::Protocol,
                        format!("{url}: the manifest's bytes do not match the digest asked for"),
                        "the registry or a proxy altered the manifest; do not trust this registry's answers",
                    ));
                }
                (want.clone(), true)
            }
            Reference::Digest(want) => (want.clone(), false),
            Reference::Tag(_) if schema1 => {
                match (schema1_digest, header_digest) {
                    (Some(d), Some(h)) if d != h => return Err(Error::new(
                        ErrorKind::Protocol,
                        format!("{url}: the registry says the schema1 manifest is {h} but its payload is {d}"),
                        "a proxy or the registry altered the manifest or its digest header; nothing of it is cached",
                    )),
                    (Some(d), _) => (d, true),
                    (None, _) => return Err(Error::new(
                        ErrorKind::Protocol,
                        format!("{url}: a schema1 manifest whose signed payload cannot be read"),
                        "the manifest is broken; nothing of it is cached (schema1 is deprecated: push the image again)",
                    )),
                }
            }
            Reference::Tag(_) => {
                // The bytes must be what the registry says they are: a disagreeing header means a registry
                // or proxy altered the manifest (or the header), and nothing of it is cached.
                let computed =
                    header_digest.as_ref().map(|h| h.compute_like(&bytes)).unwrap_or_else(|| Digest::sha256(&bytes));
                if let Some(h) = &header_digest {
                    if *h != computed {
                        return Err(Error::new(
                            ErrorKind::Protocol,
                            format!(
                                "{url}: the registry says the manifest is {h} (Docker-Content-Digest) but its bytes are {computed}"
                            ),
                            "a proxy or the registry altered the manifest or its digest header; fix that proxy (Berth caches nothing from this answer)",
                        ));
                    }
                }
                (computed, true)
            }
        };
        Ok(Some(FetchedManifest { digest, media_type, bytes, manifest, digest_verified }))
    }

    /// Size of a blob in `repo`, or `None` if the repository has no such blob.
    pub async fn head_blob(&self, repo: &str, digest: &Digest) -> Result<Option<u64>, Error> {
        let url = self.repo_url(repo, &format!("blobs/{digest}"))?;
        let resp =
            self.execute(Request::new(Method::HEAD, url.clone()).scope(Scope::repository(repo, &["pull"]))).await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(self.fail(&url, resp).await);
        }
        Ok(Some(header_str(resp.headers(), CONTENT_LENGTH).and_then(|v| v.parse().ok()).unwrap_or(0)))
    }

    /// Reads a small blob (at most `limit` bytes) and verifies its digest. Redirects to storage are
    /// followed without our Authorization header crossing to the other host.
    pub async fn get_blob(&self, repo: &str, digest: &Digest, limit: usize) -> Result<Vec<u8>, Error> {
        let url = self.repo_url(repo, &format!("blobs/{digest}"))?;
        let resp =
            self.execute(Request::new(Method::GET, url.clone()).scope(Scope::repository(repo, &["pull"]))).await?;
        if !resp.status().is_success() {
            return Err(self.fail(&url, resp).await);
        }
        let bytes = read_limited(resp, limit).await.map_err(|e| e.at(&url))?;
        if !digest.matches(&bytes) {
            return Err(Error::new(
                ErrorKind::Protocol,
                format!("{url}: the blob's bytes do not match its digest"),
                "the registry's storage may be damaged",
            ));
        }
        Ok(bytes)
    }

    /// The image configuration of an image manifest.
    pub async fn image_config(&self, repo: &str, manifest: &Manifest) -> Result<Option<ImageConfig>, Error> {
        let Manifest::Image(m) = manifest else { return Ok(None) };
        if m.config.media_type != media::OCI_CONFIG && m.config.media_type != media::DOCKER_CONFIG {
            return Ok(None); // an artifact: its config is not an image config
        }
        let bytes = self.get_blob(repo, &m.config.digest, SMALL_BLOB_LIMIT).await?;
        let url = self.repo_url(repo, &format!("blobs/{}", m.config.digest))?;
        ImageConfig::parse(&bytes)
            .map(Some)
            .map_err(|e| Error::new(ErrorKind::Protocol, format!("{url}: invalid image config: {e}"), ""))
    }

    /// PUT a manifest's exact bytes under a tag or digest (retag, copy). Returns the digest the
    /// registry stored it under.
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Digest, Error> {
        Ok(self.put_manifest_stored(repo, reference, media_type, bytes).await?.digest)
    }

    /// [`RegistryClient::put_manifest`], also telling whether the registry processed the manifest's
    /// `subject` (its `OCI-Subject` answer header: it has the referrers API; without it a client keeps
    /// the `sha256-<hex>` fallback index up to date).
    pub async fn put_manifest_stored(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<StoredManifest, Error> {
        let url = self.repo_url(repo, &format!("manifests/{reference}"))?;
        let resp = self
            .execute(
                Request::new(Method::PUT, url.clone())
                    .header(CONTENT_TYPE, media_type)
                    .body(bytes.to_vec())
                    .scope(Scope::repository(repo, &["pull", "push"])),
            )
            .await?;
        if !resp.status().is_success() {
            return Err(self.fail(&url, resp).await);
        }
        let computed = Digest::sha256(bytes);
        let digest =
            header_str(resp.headers(), "docker-content-digest").and_then(|d| Digest::parse(&d)).unwrap_or(computed);
        Ok(StoredManifest { digest, subject_processed: resp.headers().contains_key("oci-subject") })
    }

    /// Monolithic blob upload (POST, then PUT with the digest and a Content-Length: no chunked
    /// encoding, which nginx without `chunked_transfer_encoding on` refuses with 411).
    pub async fn upload_blob(&self, repo: &str, data: &[u8]) -> Result<Digest, Error> {
        let digest = Digest::sha256(data);
        if self.head_blob(repo, &digest).await?.is_some() {
            return Ok(digest);
        }
        let url = self.repo_url(repo, "blobs/uploads/")?;
        let resp = self
            .execute(
                Request::new(Method::POST, url.clone())
                    .header(CONTENT_LENGTH, "0")
                    .body(Vec::new())
                    .scope(Scope::repository(repo, &["pull", "push"])),
            )
            .await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(self.fail(&url, resp).await);
        }
        let mut put_url = self.upload_location(&url, &resp)?;
        put_url.query_pairs_mut().append_pair("digest", digest.as_str());
        let resp = self
            .execute(
                Request::new(Method::PUT, put_url.clone())
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .body(data.to_vec())
                    .scope(Scope::repository(repo, &["pull", "push"])),
            )
            .await?;
        if resp.status() != StatusCode::CREATED {
            return Err(self.fail(&put_url, resp).await);
        }
        Ok(digest)
    }

    /// Mounts a blob from another repository of the same registry. `Ok(true)` when mounted; `Ok(false)`
    /// when the registry could not (then the upload session it opened is cancelled, leaving nothing behind).
    pub async fn mount_blob(&self, repo: &str, digest: &Digest, from: &str) -> Result<bool, Error> {
        validate_repo(from)?;
        let mut url = self.repo_url(repo, "blobs/uploads/")?;
        url.query_pairs_mut().append_pair("mount", digest.as_str()).append_pair("from", from);
        let resp = self
            .execute(
                Request::new(Method::POST, url.clone())
                    .header(CONTENT_LENGTH, "0")
                    .body(Vec::new())
                    .scope(Scope::repository(from, &["pull"]))
                    .scope(Scope::repository(repo, &["pull", "push"])),
            )
            .await?;
        match resp.status() {
            StatusCode::CREATED => Ok(true),
            StatusCode::ACCEPTED => {
                let session = self.upload_location(&url, &resp)?;
                let _ = self
                    .execute(Request::new(Method::DELETE, session).scope(Scope::repository(repo, &["pull", "push"])))
                    .await;
                Ok(false)
            }
            _ => Err(self.fail(&url, resp).await),
        }
    }

    /// The upload session URL from `Location`, rebased onto our configured base when a proxy made it
    /// absolute with another scheme or host (missing X-Forwarded-Proto).
    pub(crate) fn upload_location(&self, request_url: &Url, resp: &reqwest::Response) -> Result<Url, Error> {
        let loc = header_str(resp.headers(), LOCATION).ok_or_else(|| {
            Error::new(ErrorKind::Protocol, format!("{request_url}: upload accepted without a Location"), "")
        })?;
        let mut u = request_url.join(&loc).map_err(|e| {
            Error::new(ErrorKind::Protocol, format!("{request_url}: bad upload Location {loc:?}: {e}"), "")
        })?;
        let base = self.base_url();
        if u.scheme() != base.scheme()
            || u.host_str() != base.host_str()
            || u.port_or_known_default() != base.port_or_known_default()
        {
            let path_and_query = match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_string(),
            };
            u = base.join(&path_and_query).map_err(|e| Error::new(ErrorKind::Protocol, e.to_string(), ""))?;
        }
        Ok(u)
    }
}

fn header_str(h: &reqwest::header::HeaderMap, name: impl reqwest::header::AsHeaderName) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// Repository names: lower-case path components separated by `/` (distribution's grammar, loosely).
pub fn validate_repo(repo: &str) -> Result<(), Error> {
    let ok = !repo.is_empty()
        && repo.len() <= 255
        && repo.split('/').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'))
                && c.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        });
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::InvalidUrl,
            format!("invalid repository name {repo:?}"),
            "repository names are lower-case path components like team/app",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert_eq!(Reference::parse("v1.2-rc_3"), Some(Reference::Tag("v1.2-rc_3".into())));
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(Reference::parse(&d), Some(Reference::Digest(Digest::parse(&d).unwrap())));
        for bad in ["", "-x", ".x", "a/b", "sha256:zz", &"x".repeat(129)] {
            assert_eq!(Reference::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn repo_names() {
        for ok in ["a", "team/app", "a.b/c_d-e/f9"] {
            assert!(validate_repo(ok).is_ok(), "{ok}");
        }
        for bad in ["", "A", "a//b", "/a", "a/", "../x", "a/-b", "a b"] {
            assert!(validate_repo(bad).is_err(), "{bad}");
        }
    }
}

/// The canonical payload of a schema1 manifest, whose sha256 is its digest: for a signed one
/// (`signatures` present) the bytes up to `formatLength` followed by the base64url-decoded
/// `formatTail` of the first signature's protected header, as distribution's libtrust computes it;
/// for an unsigned one, the bytes themselves. `None` when the signature header cannot be read.
pub(crate) fn schema1_payload(bytes: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let Some(sigs) = v.get("signatures").and_then(|s| s.as_array()) else {
        return Some(bytes.to_vec());
    };
    let protected = sigs.first()?.get("protected")?.as_str()?;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header: serde_json::Value = serde_json::from_slice(&b64.decode(protected.trim_end_matches('=')).ok()?).ok()?;
    let len = usize::try_from(header.get("formatLength")?.as_u64()?).ok()?;
    let tail = b64.decode(header.get("formatTail")?.as_str()?.trim_end_matches('=')).ok()?;
    let mut payload = bytes.get(..len)?.to_vec();
    payload.extend_from_slice(&tail);
    Some(payload)
}

#[cfg(test)]
mod schema1_tests {
    use super::*;

    #[test]
    fn the_signed_payload_is_what_the_digest_covers() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let body = "{\n   \"schemaVersion\": 1,\n   \"name\": \"app\",\n   \"tag\": \"v1\"";
        let tail = "\n}";
        let protected =
            b64.encode(format!("{{\"formatLength\":{},\"formatTail\":\"{}\"}}", body.len(), b64.encode(tail)));
        let signed =
            format!("{body},\n   \"signatures\": [{{\"protected\": \"{protected}\", \"signature\": \"x\"}}]{tail}");
        let payload = schema1_payload(signed.as_bytes()).unwrap();
        assert_eq!(payload, format!("{body}{tail}").into_bytes());
        assert_eq!(schema1_payload(b"{\"schemaVersion\":1}").unwrap(), b"{\"schemaVersion\":1}");
        assert!(schema1_payload(br#"{"signatures":[{"protected":"!!"}]}"#).is_none());
    }
}
