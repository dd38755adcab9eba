//! Blobs streamed from one registry to another (copy, promote): read with a GET, written with a
//! monolithic PUT whose body is that GET's stream (or PATCH chunks when the target refuses large
//! bodies), the digest checked on the fly. Memory stays bounded: nothing is buffered beyond one
//! network chunk (one upload chunk in chunked mode); nothing touches the disk.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use sha2::Digest as _;

use crate::auth::Scope;
use crate::client::{RegistryClient, Request};
use crate::content::validate_repo;
use crate::digest::Digest;
use crate::error::{Error, ErrorKind};

/// The longest a single blob transfer may last (the idle timeout still ends a stalled one).
pub const BLOB_TRANSFER_TIMEOUT: Duration = Duration::from_secs(6 * 3600);

/// The upload chunk when a target refuses one large body (413): OCI's suggested minimum is 5 MiB
/// (`OCI-Chunk-Min-Length` raises it); memory per transfer is one chunk.
pub const DEFAULT_UPLOAD_CHUNK: usize = 8 * 1024 * 1024;

/// How the target takes a blob's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadMode {
    /// One PUT with the whole body (streamed) and its Content-Length.
    Monolithic,
    /// PATCH chunks of this many bytes, then a PUT with the digest.
    Chunked(usize),
}

/// Counts the bytes one transfer attempt passes on, into a copy's running total. An abandoned attempt
/// takes its bytes back from the total and counts nothing more (the HTTP stack may still poll the
/// body of a request whose answer already came back, like a proxy's 413).
#[derive(Clone)]
pub struct SendMeter {
    total: Arc<AtomicU64>,
    attempt: Arc<std::sync::Mutex<(bool, u64)>>,
}

impl SendMeter {
    pub fn new(total: Arc<AtomicU64>) -> SendMeter {
        SendMeter { total, attempt: Arc::new(std::sync::Mutex::new((false, 0))) }
    }

    /// `false` once abandoned: the stream stops.
    fn add(&self, n: u64) -> bool {
        let mut a = crate::client::lock(&self.attempt);
        if a.0 {
            return false;
        }
        a.1 = a.1.saturating_add(n);
        self.total.fetch_add(n, Ordering::Relaxed);
        true
    }

    /// This attempt failed: its bytes no longer count as sent.
    pub fn abandon(&self) {
        let mut a = crate::client::lock(&self.attempt);
        if !a.0 {
            a.0 = true;
            self.total.fetch_sub(a.1, Ordering::Relaxed);
            a.1 = 0;
        }
    }
}

/// A blob being read from a registry.
pub struct BlobReader {
    pub size: u64,
    url: url::Url,
    resp: reqwest::Response,
}

enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    fn for_digest(d: &Digest) -> Hasher {
        if d.algorithm() == "sha512" {
            Hasher::Sha512(sha2::Sha512::new())
        } else {
            Hasher::Sha256(sha2::Sha256::new())
        }
    }
    fn update(&mut self, b: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(b),
            Hasher::Sha512(h) => h.update(b),
        }
    }
    fn hex(self) -> String {
        match self {
            Hasher::Sha256(h) => hex::encode(h.finalize()),
            Hasher::Sha512(h) => hex::encode(h.finalize()),
        }
    }
}

/// The bytes of a source blob, hashed and counted as they pass; the last item is an error when the
/// bytes do not match the digest or the size, so the upload they feed is aborted, never completed.
struct Verified {
    resp: reqwest::Response,
    url: url::Url,
    digest: Digest,
    size: u64,
    seen: u64,
    hasher: Option<Hasher>,
    sent: SendMeter,
}

impl Verified {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, Error> {
        match self.resp.chunk().await {
            Ok(Some(c)) => {
                self.seen = self.seen.saturating_add(c.len() as u64);
                if self.seen > self.size {
                    return Err(self.mismatch(&format!("more than the {} bytes its descriptor says", self.size)));
                }
                if let Some(h) = &mut self.hasher {
                    h.update(&c);
                }
                if !self.sent.add(c.len() as u64) {
                    return Err(Error::new(ErrorKind::Cancelled, format!("{}: transfer abandoned", self.url), ""));
                }
                Ok(Some(c))
            }
            Ok(None) => {
                if self.seen != self.size {
                    return Err(self.mismatch(&format!("{} bytes, not the {} its descriptor says", self.seen, self.size)));
                }
                if let Some(h) = self.hasher.take() {
                    let hex = h.hex();
                    if hex != self.digest.hex() {
                        let got = format!("{}:{hex}", self.digest.algorithm());
                        return Err(self.mismatch(&format!("its bytes are {got}")));
                    }
                }
                Ok(None)
            }
            Err(e) if e.is_timeout() => Err(Error::timeout(&self.url, false, None)),
            Err(e) => Err(Error::new(
                ErrorKind::ConnectionLost,
                format!("{}: the connection broke while the blob was read: {e}", self.url),
                "check the network and the source registry's health, then run the copy again (finished blobs are not sent again)",
            )),
        }
    }

    fn mismatch(&self, what: &str) -> Error {
        Error::new(
            ErrorKind::Protocol,
            format!("{}: the source sent a blob that is not {}: {what}", self.url, self.digest),
            "the source registry's storage may be damaged; nothing was stored on the target for this blob",
        )
    }
}

impl RegistryClient {
    /// Opens a blob for reading: a GET whose body is read by [`RegistryClient::push_blob`].
    pub async fn open_blob(&self, repo: &str, digest: &Digest) -> Result<BlobReader, Error> {
        validate_repo(repo)?;
        let url = self.url(&format!("v2/{repo}/blobs/{digest}"));
        let resp = self
            .execute(
                Request::new(Method::GET, url.clone())
                    .timeout(BLOB_TRANSFER_TIMEOUT)
                    .scope(Scope::repository(repo, &["pull"])),
            )
            .await?;
        if !resp.status().is_success() {
            return Err(self.fail(&url, resp).await);
        }
        let size = resp.content_length().unwrap_or(0);
        Ok(BlobReader { size, url, resp })
    }

    /// Writes a blob read from another registry into `repo`, streaming (the source's bytes go out as
    /// they arrive) and verifying them against `digest` and `size` on the way; `sent` counts the bytes
    /// passed on (abandon it when the attempt fails). Not retried inside: a failed transfer is started
    /// over by the caller (a new GET, a new meter).
    pub async fn push_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        reader: BlobReader,
        mode: UploadMode,
        sent: SendMeter,
    ) -> Result<(), Error> {
        validate_repo(repo)?;
        let source = Verified {
            resp: reader.resp,
            url: reader.url,
            digest: digest.clone(),
            size,
            seen: 0,
            hasher: Some(Hasher::for_digest(digest)),
            sent,
        };
        let start = self.repo_url(repo, "blobs/uploads/")?;
        let resp = self.execute(empty_push(Method::POST, start.clone(), repo)).await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(self.fail(&start, resp).await);
        }
        let location = self.upload_location(&start, &resp)?;
        let min_chunk = resp
            .headers()
            .get("oci-chunk-min-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        match mode {
            UploadMode::Monolithic => self.put_streamed(repo, location, digest, size, source).await,
            UploadMode::Chunked(n) => {
                let chunk = n.max(min_chunk.unwrap_or(0)).max(1);
                self.put_chunked(repo, location, digest, source, chunk).await
            }
        }
    }

    async fn put_streamed(
        &self,
        repo: &str,
        mut location: url::Url,
        digest: &Digest,
        size: u64,
        source: Verified,
    ) -> Result<(), Error> {
        location.query_pairs_mut().append_pair("digest", digest.as_str());
        let stream = verified_stream(source);
        let resp = self
            .execute(
                Request::new(Method::PUT, location.clone())
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .header(CONTENT_LENGTH, &size.to_string())
                    .stream(reqwest::Body::wrap_stream(stream))
                    .timeout(BLOB_TRANSFER_TIMEOUT)
                    .scope(Scope::repository(repo, &["pull", "push"])),
            )
            .await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) => {
                self.cancel_upload(repo, &location).await;
                return Err(e);
            }
        };
        if resp.status() != StatusCode::CREATED {
            let e = self.fail(&location, resp).await;
            self.cancel_upload(repo, &location).await;
            return Err(e);
        }
        Ok(())
    }

    async fn put_chunked(
        &self,
        repo: &str,
        mut location: url::Url,
        digest: &Digest,
        mut source: Verified,
        chunk: usize,
    ) -> Result<(), Error> {
        let mut offset: u64 = 0;
        let mut buf: Vec<u8> = Vec::with_capacity(chunk.min(64 * 1024 * 1024));
        loop {
            let next = match source.next_chunk().await {
                Ok(n) => n,
                Err(e) => {
                    self.cancel_upload(repo, &location).await;
                    return Err(e);
                }
            };
            let done = next.is_none();
            if let Some(b) = next {
                buf.extend_from_slice(&b);
            }
            while buf.len() >= chunk || (done && !buf.is_empty()) {
                let take = buf.len().min(chunk);
                let part: Vec<u8> = buf.drain(..take).collect();
                let end = offset + part.len() as u64 - 1;
                let resp = self
                    .execute(
                        Request::new(Method::PATCH, location.clone())
                            .header(CONTENT_TYPE, "application/octet-stream")
                            .header(CONTENT_RANGE, &format!("{offset}-{end}"))
                            .header(CONTENT_LENGTH, &part.len().to_string())
                            .body(part)
                            .timeout(BLOB_TRANSFER_TIMEOUT)
                            .scope(Scope::repository(repo, &["pull", "push"])),
                    )
                    .await?;
                if resp.status() != StatusCode::ACCEPTED {
                    let e = self.fail(&location, resp).await;
                    self.cancel_upload(repo, &location).await;
                    return Err(e);
                }
                location = self.upload_location(&location, &resp)?;
                offset = end + 1;
            }
            if done {
                break;
            }
        }
        location.query_pairs_mut().append_pair("digest", digest.as_str());
        let resp = self.execute(empty_push(Method::PUT, location.clone(), repo)).await?;
        if resp.status() != StatusCode::CREATED {
            let e = self.fail(&location, resp).await;
            self.cancel_upload(repo, &location).await;
            return Err(e);
        }
        Ok(())
    }

    /// Cancels an upload session so no partial upload is left behind (best effort).
    async fn cancel_upload(&self, repo: &str, location: &url::Url) {
        let mut u = location.clone();
        let keep: Vec<(String, String)> =
            u.query_pairs().filter(|(k, _)| k != "digest").map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        u.query_pairs_mut().clear().extend_pairs(keep);
        let _ = self.execute(Request::new(Method::DELETE, u).scope(Scope::repository(repo, &["pull", "push"]))).await;
    }
}

/// A body-less upload request (open a session, finish a chunked one) with the push scope.
fn empty_push(method: Method, url: url::Url, repo: &str) -> Request {
    Request::new(method, url)
        .header(CONTENT_LENGTH, "0")
        .body(Vec::new())
        .scope(Scope::repository(repo, &["pull", "push"]))
}

/// The verified source as a `Stream` for `reqwest::Body::wrap_stream`.
fn verified_stream(
    source: Verified,
) -> impl futures::Stream<Item = Result<Bytes, Box<dyn std::error::Error + Send + Sync>>> + Send + 'static {
    futures::stream::unfold(Some(source), |state| async move {
        let mut s = state?;
        match s.next_chunk().await {
            Ok(Some(b)) => Some((Ok(b), Some(s))),
            Ok(None) => None,
            Err(e) => Some((Err(Box::new(e) as Box<dyn std::error::Error + Send + Sync>), None)),
        }
    })
}

impl RegistryClient {
    /// Whether this account may push to `repo` now, without storing anything: an upload session is
    /// opened and cancelled at once. `None`, or why not and what to do.
    pub async fn probe_push(&self, repo: &str) -> Result<Option<(&'static str, &'static str)>, Error> {
        let start = self.repo_url(repo, "blobs/uploads/")?;
        let resp = self.execute(empty_push(Method::POST, start.clone(), repo)).await;
        let resp = match resp {
            Err(e) if matches!(e.kind, ErrorKind::PermissionDenied | ErrorKind::Unauthorized) => {
                return Ok(Some((
                    "this account may not push here",
                    "ask the registry's administrator for push rights, or choose another target",
                )))
            }
            other => other?,
        };
        match resp.status() {
            StatusCode::ACCEPTED => {
                if let Ok(session) = self.upload_location(&start, &resp) {
                    self.cancel_upload(repo, &session).await;
                }
                Ok(None)
            }
            StatusCode::METHOD_NOT_ALLOWED | StatusCode::SERVICE_UNAVAILABLE => Ok(Some((
                "the registry is read-only",
                "wait for its maintenance or garbage collection to end, or turn off `storage.maintenance.readonly`",
            ))),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Ok(Some((
                "this account may not push here",
                "ask the registry's administrator for push rights, or choose another target",
            ))),
            _ => Err(self.fail(&start, resp).await),
        }
    }
}
