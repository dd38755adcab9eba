//! Deleting: by digest, the tag-delete API, untag-only (regclient's dummy-manifest method), and the
//! capability probe that tells, without side effects, whether deletes can work at all.

use reqwest::{Method, StatusCode};

use crate::auth::Scope;
use crate::client::{read_limited, RegistryClient, Request, ERROR_BODY_LIMIT};
use crate::content::Reference;
use crate::digest::Digest;
use crate::error::{parse_error_body, Error, ErrorKind};
use crate::manifest::media;

/// Whether this registry lets this account delete in a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteCapability {
    Enabled,
    /// `storage.delete.enabled` is off (405 UNSUPPORTED).
    Disabled,
    /// Read-only maintenance mode (405 text/plain, Allow: GET, HEAD).
    ReadOnly,
    /// The account may not delete (401 insufficient_scope / 403).
    NoPermission,
}

impl DeleteCapability {
    pub fn explain(self) -> &'static str {
        match self {
            DeleteCapability::Enabled => "deletes are enabled and allowed for this account",
            DeleteCapability::Disabled => {
                "deletes are disabled on this registry: set `storage.delete.enabled: true` in its config.yml (or REGISTRY_STORAGE_DELETE_ENABLED=true) and restart it"
            }
            DeleteCapability::ReadOnly => {
                "the registry is in read-only mode (maintenance or garbage collection): wait, or turn off `storage.maintenance.readonly`"
            }
            DeleteCapability::NoPermission => "this account may not delete: ask the registry's administrator for delete rights",
        }
    }
}

/// How an untag was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UntagMethod {
    /// The registry's tag-delete API (distribution 3.x, OCI).
    TagDeleteApi,
    /// A unique dummy manifest pushed under the tag, then deleted by digest (registry 2.x).
    DummyManifest,
}

const ZERO_DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

impl RegistryClient {
    /// DELETE a manifest by digest: the registry also drops every tag of this repository that points at
    /// it. `Ok(false)` when it was already gone.
    pub async fn delete_manifest(&self, repo: &str, digest: &Digest) -> Result<bool, Error> {
        let url = self.url(&format!("v2/{repo}/manifests/{digest}"));
        crate::content::validate_repo(repo)?;
        let resp = self
            .execute(Request::new(Method::DELETE, url.clone()).scope(Scope::repository(repo, &["pull", "delete"])))
            .await?;
        match resp.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.fail(&url, resp).await),
        }
    }

    /// The tag-delete API: `DELETE /v2/<repo>/manifests/<tag>`. `Ok(true)` only on 202 (what a registry
    /// answers when it really removed just the tag); `Ok(false)` when the registry does not support it
    /// (2.x answers 400 DIGEST_INVALID, Harbor 400 UNSUPPORTED, others 404/405).
    pub async fn delete_tag_api(&self, repo: &str, tag: &str) -> Result<bool, Error> {
        crate::content::validate_repo(repo)?;
        let url = self.url(&format!("v2/{repo}/manifests/{tag}"));
        let resp = self
            .execute(Request::new(Method::DELETE, url.clone()).scope(Scope::repository(repo, &["pull", "delete"])))
            .await?;
        match resp.status() {
            StatusCode::ACCEPTED => Ok(true),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(self.fail(&url, resp).await),
            _ => Ok(false),
        }
    }

    /// Probes delete support without deleting anything: DELETE of the all-zero digest, which no
    /// manifest has. 2.8 and 3.x check `delete.enabled` before looking the digest up.
    pub async fn probe_delete(&self, repo: &str) -> Result<DeleteCapability, Error> {
        crate::content::validate_repo(repo)?;
        let url = self.url(&format!("v2/{repo}/manifests/{ZERO_DIGEST}"));
        let resp = self
            .execute(Request::new(Method::DELETE, url.clone()).scope(Scope::repository(repo, &["pull", "delete"])))
            .await;
        let resp = match resp {
            Err(e) if e.kind == ErrorKind::PermissionDenied => return Ok(DeleteCapability::NoPermission),
            other => other?,
        };
        let status = resp.status();
        let allow = resp.headers().contains_key(reqwest::header::ALLOW);
        let body = read_limited(resp, ERROR_BODY_LIMIT).await.unwrap_or_default();
        let code = parse_error_body(&body).map(|(c, _)| c);
        Ok(match (status, code.as_deref()) {
            (StatusCode::NOT_FOUND, _) | (StatusCode::ACCEPTED, _) => DeleteCapability::Enabled,
            (StatusCode::METHOD_NOT_ALLOWED, Some("UNSUPPORTED")) => DeleteCapability::Disabled,
            (StatusCode::METHOD_NOT_ALLOWED, None) if allow => DeleteCapability::ReadOnly,
            (StatusCode::METHOD_NOT_ALLOWED, _) => DeleteCapability::Disabled,
            (StatusCode::UNAUTHORIZED, _) | (StatusCode::FORBIDDEN, _) => DeleteCapability::NoPermission,
            (StatusCode::BAD_REQUEST, Some("UNSUPPORTED")) => DeleteCapability::Disabled,
            _ => {
                let headers = reqwest::header::HeaderMap::new();
                return Err(Error::from_status(&url, status.as_u16(), &headers, &body, self.has_credentials()));
            }
        })
    }

    /// Removes one tag and nothing else: the manifest and its other tags stay. Uses the tag-delete API
    /// where the registry has it; else pushes a unique dummy manifest under the tag and deletes that by
    /// digest (regclient's method). Refused, with the reason, where it could leave debris: deletes
    /// disabled, read-only, or no permission (the dummy would stay under the user's tag).
    pub async fn untag(&self, repo: &str, tag: &str) -> Result<UntagMethod, Error> {
        let reference = Reference::parse(tag).filter(|r| matches!(r, Reference::Tag(_))).ok_or_else(|| {
            Error::new(ErrorKind::InvalidUrl, format!("invalid tag {tag:?}"), "tags are up to 128 of A-Z a-z 0-9 _ . -")
        })?;
        let Some(head) = self.head_manifest(repo, &reference).await? else {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("{repo}:{tag} does not exist"),
                "refresh the tag list: someone may have removed it already",
            ));
        };
        match self.probe_delete(repo).await? {
            DeleteCapability::Enabled => {}
            other => {
                return Err(Error::new(
                    match other {
                        DeleteCapability::ReadOnly => ErrorKind::ReadOnly,
                        DeleteCapability::NoPermission => ErrorKind::PermissionDenied,
                        _ => ErrorKind::DeleteDisabled,
                    },
                    format!("cannot untag {repo}:{tag}: nothing was changed"),
                    other.explain(),
                ))
            }
        }
        if self.delete_tag_api(repo, tag).await? {
            return Ok(UntagMethod::TagDeleteApi);
        }
        // The dummy: same family as the current manifest, unique by its creation time and labels.
        let oci = head.media_type == media::OCI_MANIFEST || head.media_type == media::OCI_INDEX;
        let (manifest_type, config_type, layer_type) = if oci {
            (media::OCI_MANIFEST, media::OCI_CONFIG, media::OCI_LAYER_GZIP)
        } else {
            (media::DOCKER_MANIFEST, media::DOCKER_CONFIG, media::DOCKER_LAYER_GZIP)
        };
        let now = time::OffsetDateTime::now_utc();
        let created = now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let empty = b"{}".to_vec();
        let empty_digest = Digest::sha256(&empty);
        let config = serde_json::json!({
            "created": created,
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {"delete-tag": tag, "delete-date": format!("{created} {}", now.unix_timestamp_nanos())}},
            "history": [{"created": created, "created_by": "# berth untag", "comment": "empty JSON blob", "empty_layer": false}],
            "rootfs": {"type": "layers", "diff_ids": [empty_digest.as_str()]},
        });
        let config_bytes = serde_json::to_vec(&config).unwrap_or_default();
        self.upload_blob(repo, &empty).await?;
        let config_digest = self.upload_blob(repo, &config_bytes).await?;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": {"mediaType": config_type, "digest": config_digest.as_str(), "size": config_bytes.len()},
            "layers": [{"mediaType": layer_type, "digest": empty_digest.as_str(), "size": empty.len()}],
        });
        let manifest_bytes = serde_json::to_vec(&manifest).unwrap_or_default();
        // Re-check just before moving the tag: a push since the HEAD above would be overwritten.
        match self.head_manifest(repo, &reference).await? {
            Some(now) if now.digest == head.digest => {}
            _ => {
                return Err(Error::new(
                    ErrorKind::Protocol,
                    format!("{repo}:{tag} changed while untagging; nothing was changed"),
                    "someone pushed to this tag: refresh and decide again",
                ))
            }
        }
        let dummy = self.put_manifest(repo, tag, manifest_type, &manifest_bytes).await?;
        if !self.delete_manifest(repo, &dummy).await? {
            return Err(Error::new(
                ErrorKind::Protocol,
                format!("{repo}:{tag} now points at a placeholder manifest {dummy} that could not be deleted"),
                "delete that digest by hand; the original image and its other tags are intact",
            ));
        }
        Ok(UntagMethod::DummyManifest)
    }
}
