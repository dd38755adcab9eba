//! Seeding a registry through its HTTP API: monolithic blob uploads (POST, then PUT `?digest=`
//! with Content-Length), cross-repository mounts, manifest PUTs. Anonymous, Basic, or Bearer tokens
//! fetched on a 401 challenge (with the Basic credentials, if any).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::{Method, StatusCode};

use crate::image::{
    base_layer, build_cosign_signature, build_image, build_index, layer_tar_gz, pseudo_content, BuiltImage, ImageSpec,
    Pushed,
};
use crate::media_types as mt;

/// Counts of a [`Seeder::seed_many`] run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeedSummary {
    pub repositories: usize,
    pub tags: usize,
    /// HTTP requests sent (token requests included).
    pub requests: usize,
}

#[derive(Default)]
struct SeedState {
    /// Bearer token per repository ("" for registry-level scopes).
    tokens: Mutex<HashMap<String, String>>,
    /// digest → repositories this seeder put it in.
    known: Mutex<HashMap<String, BTreeSet<String>>>,
    requests: AtomicUsize,
}

/// Pushes synthetic content into a registry. Cheap to clone (shares its state).
#[derive(Clone)]
pub struct Seeder {
    base: String,
    basic: Option<(String, String)>,
    ca_pem: Option<String>,
    identity: Option<(String, String)>,
    client: reqwest::Client,
    state: Arc<SeedState>,
}

/// Repository name used by [`Seeder::seed_many`]: `{prefix}{i:05}`.
pub fn seed_repo_name(prefix: &str, i: usize) -> String {
    format!("{prefix}{i:05}")
}

/// Tag name used by [`Seeder::seed_many`]: `v{j:04}` (`v0000`, `v0001`, …).
pub fn seed_tag_name(j: usize) -> String {
    format!("v{j:04}")
}

impl Seeder {
    /// An anonymous seeder for `base_url` (`http(s)://host:port`).
    pub fn new(base_url: &str) -> Seeder {
        let mut s = Seeder {
            base: base_url.trim_end_matches('/').to_string(),
            basic: None,
            ca_pem: None,
            identity: None,
            client: reqwest::Client::new(),
            state: Arc::new(SeedState::default()),
        };
        s.rebuild();
        s
    }

    /// Send these Basic credentials (and use them at a token realm).
    pub fn with_basic(mut self, user: &str, password: &str) -> Seeder {
        self.basic = Some((user.to_string(), password.to_string()));
        self
    }

    /// Trust this CA (PEM).
    pub fn with_ca(mut self, ca_pem: &str) -> Seeder {
        self.ca_pem = Some(ca_pem.to_string());
        self.rebuild();
        self
    }

    /// Present this client certificate (mTLS).
    pub fn with_identity(mut self, cert_pem: &str, key_pem: &str) -> Seeder {
        self.identity = Some((cert_pem.to_string(), key_pem.to_string()));
        self.rebuild();
        self
    }

    fn rebuild(&mut self) {
        let mut b = reqwest::Client::builder()
            .no_proxy()
            .timeout(std::time::Duration::from_secs(60))
            .pool_max_idle_per_host(32);
        if let Some(ca) = &self.ca_pem {
            b = b.add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).expect("CA PEM"));
        }
        if let Some((cert, key)) = &self.identity {
            b = b.identity(reqwest::Identity::from_pem(format!("{cert}\n{key}").as_bytes()).expect("client identity"));
        }
        self.client = b.build().expect("seeder client");
    }

    /// The HTTP requests sent so far by this seeder and its clones.
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Send a request built by `make` with auth; on a Bearer 401 fetch a token for the challenged
    /// scope and retry once.
    async fn send(
        &self,
        token_key: &str,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> reqwest::Response {
        let mut fetched = false;
        loop {
            let mut rb = self.client.request(method.clone(), url);
            for (k, v) in headers {
                rb = rb.header(*k, *v);
            }
            if let Some(b) = body {
                rb = rb.body(b.to_vec());
            }
            let token = self.state.tokens.lock().unwrap().get(token_key).cloned();
            if let Some(t) = token {
                rb = rb.bearer_auth(t);
            } else if let Some((u, p)) = &self.basic {
                rb = rb.basic_auth(u, Some(p));
            }
            self.state.requests.fetch_add(1, Ordering::SeqCst);
            let resp = rb.send().await.unwrap_or_else(|e| panic!("{method} {url}: {e:?}"));
            if resp.status() == StatusCode::UNAUTHORIZED && !fetched {
                if let Some(ch) = bearer_challenge(&resp) {
                    let token = self.fetch_token(&ch).await;
                    self.state.tokens.lock().unwrap().insert(token_key.to_string(), token);
                    fetched = true;
                    continue;
                }
            }
            return resp;
        }
    }

    async fn fetch_token(&self, ch: &BTreeMap<String, String>) -> String {
        let realm = ch.get("realm").expect("Bearer challenge without realm");
        let mut url = url::Url::parse(realm).expect("realm URL");
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = ch.get("service") {
                q.append_pair("service", s);
            }
            if let Some(scope) = ch.get("scope") {
                for s in scope.split_whitespace() {
                    q.append_pair("scope", s);
                }
            }
        }
        let mut rb = self.client.get(url.clone());
        if let Some((u, p)) = &self.basic {
            rb = rb.basic_auth(u, Some(p));
        }
        self.state.requests.fetch_add(1, Ordering::SeqCst);
        let resp = rb.send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert!(status.is_success(), "token request {url} → {status}: {text}");
        let v: serde_json::Value = serde_json::from_str(&text).expect("token JSON");
        v.get("token")
            .or_else(|| v.get("access_token"))
            .and_then(|t| t.as_str())
            .expect("token in response")
            .to_string()
    }

    fn known_in(&self, repo: &str, digest: &str) -> bool {
        self.state.known.lock().unwrap().get(digest).is_some_and(|r| r.contains(repo))
    }

    fn known_elsewhere(&self, repo: &str, digest: &str) -> Option<String> {
        self.state.known.lock().unwrap().get(digest).and_then(|r| r.iter().find(|x| *x != repo).cloned())
    }

    fn mark_known(&self, repo: &str, digest: &str) {
        self.state.known.lock().unwrap().entry(digest.to_string()).or_default().insert(repo.to_string());
    }

    /// Make sure `digest` is linked in `repo`: HEAD (unless `fast`), mount from another repository
    /// this seeder used, or a monolithic upload.
    async fn ensure_blob(&self, repo: &str, digest: &str, bytes: &[u8], fast: bool) {
        if fast {
            if self.known_in(repo, digest) {
                return;
            }
        } else {
            let url = self.url(&format!("/v2/{repo}/blobs/{digest}"));
            let resp = self.send(repo, Method::HEAD, &url, &[], None).await;
            if resp.status() == StatusCode::OK {
                self.mark_known(repo, digest);
                return;
            }
        }
        let mut session = None;
        if let Some(from) = self.known_elsewhere(repo, digest) {
            let url = self.url(&format!("/v2/{repo}/blobs/uploads/?mount={digest}&from={from}"));
            let resp = self.send(repo, Method::POST, &url, &[], Some(&[])).await;
            match resp.status() {
                StatusCode::CREATED => {
                    self.mark_known(repo, digest);
                    return;
                }
                StatusCode::ACCEPTED => session = Some(self.location(&resp)),
                s => panic!("mount {digest} from {from} into {repo}: {s}: {}", resp.text().await.unwrap_or_default()),
            }
        }
        let session = match session {
            Some(s) => s,
            None => {
                let url = self.url(&format!("/v2/{repo}/blobs/uploads/"));
                let resp = self.send(repo, Method::POST, &url, &[], Some(&[])).await;
                if resp.status() != StatusCode::ACCEPTED {
                    let s = resp.status();
                    panic!("start upload in {repo}: {s}: {}", resp.text().await.unwrap_or_default());
                }
                self.location(&resp)
            }
        };
        let mut put = session;
        put.query_pairs_mut().append_pair("digest", digest);
        let resp = self
            .send(repo, Method::PUT, put.as_str(), &[("Content-Type", "application/octet-stream")], Some(bytes))
            .await;
        if resp.status() != StatusCode::CREATED {
            let s = resp.status();
            panic!("upload {digest} to {repo}: {s}: {}", resp.text().await.unwrap_or_default());
        }
        self.mark_known(repo, digest);
    }

    fn location(&self, resp: &reqwest::Response) -> url::Url {
        let loc = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no Location on {} {}", resp.status(), resp.url()));
        let base = url::Url::parse(&format!("{}/", self.base)).expect("base URL");
        base.join(loc).expect("Location URL")
    }

    /// PUT manifest bytes under `reference`; checks 201 and Docker-Content-Digest.
    pub async fn put_manifest(&self, repo: &str, reference: &str, media_type: &str, bytes: &[u8]) {
        if let Err((status, body)) = self.try_put_manifest(repo, reference, media_type, bytes).await {
            panic!("PUT /v2/{repo}/manifests/{reference} ({media_type}): {status}: {body}");
        }
    }

    async fn try_put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<(), (StatusCode, String)> {
        let url = self.url(&format!("/v2/{repo}/manifests/{reference}"));
        let resp = self.send(repo, Method::PUT, &url, &[("Content-Type", media_type)], Some(bytes)).await;
        let status = resp.status();
        let header_digest =
            resp.headers().get("Docker-Content-Digest").and_then(|v| v.to_str().ok()).map(str::to_string);
        if status != StatusCode::CREATED {
            return Err((status, resp.text().await.unwrap_or_default()));
        }
        let expected = crate::sha256_digest(bytes);
        if let Some(d) = header_digest {
            assert_eq!(d, expected, "registry digest differs for {repo}:{reference}");
        }
        Ok(())
    }

    async fn push_built(&self, repo: &str, reference: &str, img: &BuiltImage, fast: bool) {
        for (d, b) in &img.blobs {
            self.ensure_blob(repo, d, b, fast).await;
        }
        // registry 2.8 can lose a race between concurrent uploads of one blob (a shared base layer) and
        // then refuses the manifest with MANIFEST_BLOB_UNKNOWN: check every blob for real and retry once.
        if let Err((status, body)) = self.try_put_manifest(repo, reference, img.media_type, &img.manifest).await {
            assert!(
                status == StatusCode::BAD_REQUEST && body.contains("MANIFEST_BLOB_UNKNOWN"),
                "PUT {repo}:{reference}: {status}: {body}"
            );
            for (d, b) in &img.blobs {
                self.ensure_blob(repo, d, b, false).await;
            }
            self.put_manifest(repo, reference, img.media_type, &img.manifest).await;
        }
    }

    /// Push an image (OCI, or Docker schema2 if `spec.docker`) and tag it.
    pub async fn push_image(&self, repo: &str, tag: &str, spec: &ImageSpec) -> Pushed {
        let img = build_image(spec, false);
        self.push_built(repo, tag, &img, false).await;
        img.pushed()
    }

    /// Push each platform image by digest, then the index (a Docker manifest list when every
    /// child is Docker, else an OCI index) by tag.
    pub async fn push_index(&self, repo: &str, tag: &str, platforms: &[ImageSpec]) -> Pushed {
        let children: Vec<BuiltImage> = platforms.iter().map(|s| build_image(s, false)).collect();
        for c in &children {
            self.push_built(repo, &c.digest.clone(), c, false).await;
        }
        let (bytes, media_type) = build_index(&children);
        self.put_manifest(repo, tag, media_type, &bytes).await;
        Pushed {
            digest: crate::sha256_digest(&bytes),
            media_type: media_type.to_string(),
            size: bytes.len() as u64,
            bytes,
            children: children.iter().map(BuiltImage::pushed).collect(),
            blobs: Vec::new(),
        }
    }

    /// GET the manifest `digest` and PUT the same bytes under `tag`.
    pub async fn tag(&self, repo: &str, digest: &str, tag: &str) {
        let (bytes, media_type) = self.get_manifest(repo, digest).await;
        let got = crate::sha256_digest(&bytes);
        assert_eq!(got, digest, "GET {repo}@{digest} returned other bytes");
        self.put_manifest(repo, tag, &media_type, &bytes).await;
    }

    /// GET a manifest: (bytes, Content-Type).
    pub async fn get_manifest(&self, repo: &str, reference: &str) -> (Vec<u8>, String) {
        let url = self.url(&format!("/v2/{repo}/manifests/{reference}"));
        let resp = self.send(repo, Method::GET, &url, &[("Accept", mt::ALL_MANIFESTS)], None).await;
        let status = resp.status();
        let media_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = resp.bytes().await.expect("manifest body").to_vec();
        assert!(status == StatusCode::OK, "GET {url}: {status}: {}", String::from_utf8_lossy(&bytes));
        (bytes, media_type)
    }

    /// An OCI artifact (chart, WASM, SBOM, signature) under `tag`, or by digest only when `None`.
    pub async fn push_artifact(&self, repo: &str, tag: Option<&str>, spec: &crate::ArtifactSpec) -> Pushed {
        let img = crate::image::build_artifact(spec);
        let reference = tag.map(str::to_string).unwrap_or_else(|| img.digest.clone());
        self.push_built(repo, &reference, &img, false).await;
        img.pushed()
    }

    /// A cosign-style signature (OCI manifest, simplesigning layer) tagged `sha256-<hex>.sig`.
    pub async fn push_referrer_tag(&self, repo: &str, subject: &Pushed) -> Pushed {
        let img = build_cosign_signature(repo, &subject.digest);
        let tag = format!("{}.sig", subject.digest.replacen(':', "-", 1));
        self.push_built(repo, &tag, &img, false).await;
        img.pushed()
    }

    /// `repos` repositories named `{prefix}{i:05}` with `tags_per_repo` tags `v{j:04}` each. Every
    /// image has a shared base layer (from `prefix`) and a small unique layer; at most
    /// `concurrency` images are in flight.
    pub async fn seed_many(&self, repos: usize, tags_per_repo: usize, prefix: &str, concurrency: usize) -> SeedSummary {
        let before = self.requests();
        if repos == 0 || tags_per_repo == 0 {
            return SeedSummary { repositories: 0, tags: 0, requests: 0 };
        }
        let base = base_layer(prefix);
        let base_digest = crate::sha256_digest(&base);
        // The base layer goes in once; everything else mounts it.
        self.ensure_blob(&seed_repo_name(prefix, 0), &base_digest, &base, true).await;
        let base = Arc::new(base);
        let sem = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
        let mut set = tokio::task::JoinSet::new();
        for i in 0..repos {
            for j in 0..tags_per_repo {
                let permit = sem.clone().acquire_owned().await.expect("semaphore");
                let seeder = self.clone();
                let base = base.clone();
                let prefix = prefix.to_string();
                set.spawn(async move {
                    let repo = seed_repo_name(&prefix, i);
                    let tag = seed_tag_name(j);
                    let seed = format!("{repo}:{tag}");
                    let mut labels = BTreeMap::new();
                    labels.insert("org.berth.test.seed".to_string(), seed.clone());
                    let spec = ImageSpec {
                        os: "linux".into(),
                        architecture: "amd64".into(),
                        variant: None,
                        layers: vec![(*base).clone(), layer_tar_gz("app/unique.txt", &pseudo_content(&seed, 64))],
                        labels,
                        created: "2024-01-02T03:04:05Z".into(),
                        docker: false,
                        history: true,
                    };
                    let img = build_image(&spec, true);
                    seeder.push_built(&repo, &tag, &img, true).await;
                    drop(permit);
                });
                // Surface failures early.
                while let Some(r) = set.try_join_next() {
                    if let Err(e) = r {
                        std::panic::resume_unwind(e.into_panic());
                    }
                }
            }
        }
        while let Some(r) = set.join_next().await {
            if let Err(e) = r {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        SeedSummary { repositories: repos, tags: repos * tags_per_repo, requests: self.requests() - before }
    }
}

/// Parse `WWW-Authenticate: Bearer k="v",…` into a map (None if not a Bearer challenge).
fn bearer_challenge(resp: &reqwest::Response) -> Option<BTreeMap<String, String>> {
    for v in resp.headers().get_all(reqwest::header::WWW_AUTHENTICATE) {
        let Ok(v) = v.to_str() else { continue };
        let v = v.trim();
        if v.len() < 7 || !v[..7].eq_ignore_ascii_case("bearer ") {
            continue;
        }
        let mut out = BTreeMap::new();
        let s = &v[7..];
        let mut chars = s.chars().peekable();
        loop {
            while matches!(chars.peek(), Some(c) if *c == ',' || c.is_whitespace()) {
                chars.next();
            }
            let mut key = String::new();
            while let Some(&c) = chars.peek() {
                if c == '=' {
                    break;
                }
                key.push(c);
                chars.next();
            }
            if chars.next().is_none() {
                break;
            }
            let mut val = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                val.push(n);
                            }
                        }
                        '"' => break,
                        c => val.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    val.push(c);
                    chars.next();
                }
            }
            out.insert(key.trim().to_ascii_lowercase(), val);
        }
        return Some(out);
    }
    None
}
