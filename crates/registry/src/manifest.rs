//! Manifest media types and typed manifests: images, indexes (with platforms), artifacts with a
//! `subject` (referrers), and Docker schema1 (read only).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

pub mod media {
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
    pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";

    /// Every manifest type we read, in one Accept header: without the full list, registry 2.8 rewrites
    /// schema2 to schema1 and manifest lists to their amd64 child, with other digests.
    pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
        application/vnd.docker.distribution.manifest.list.v2+json, \
        application/vnd.oci.image.manifest.v1+json, \
        application/vnd.docker.distribution.manifest.v2+json, \
        application/vnd.docker.distribution.manifest.v1+prettyjws, \
        application/vnd.docker.distribution.manifest.v1+json";

    pub fn is_index(mt: &str) -> bool {
        mt == OCI_INDEX || mt == DOCKER_LIST
    }
    pub fn is_image(mt: &str) -> bool {
        mt == OCI_MANIFEST || mt == DOCKER_MANIFEST
    }
    pub fn is_schema1(mt: &str) -> bool {
        mt == DOCKER_SCHEMA1 || mt == DOCKER_SCHEMA1_SIGNED
    }
    pub fn is_manifest(mt: &str) -> bool {
        is_index(mt) || is_image(mt) || is_schema1(mt)
    }
}

/// Largest manifest we read (distribution's own limit is 4 MiB).
pub const MANIFEST_LIMIT: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(rename = "os.version", default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// Adds up sizes without overflowing: a hostile registry can list sizes that add up past 2^64.
pub fn saturating_sum<I: IntoIterator<Item = u64>>(sizes: I) -> u64 {
    sizes.into_iter().fold(0u64, u64::saturating_add)
}

/// The largest descriptor size Berth accepts: 2^53, the largest integer every JSON implementation
/// (and the OCI spec's guidance) represents exactly. Larger sizes are a broken or hostile server.
pub const MAX_DESCRIPTOR_SIZE: u64 = 1 << 53;

fn bounded_size<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = u64::deserialize(d)?;
    if n > MAX_DESCRIPTOR_SIZE {
        return Err(serde::de::Error::custom(format!("descriptor size {n} exceeds 2^53")));
    }
    Ok(n)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: Digest,
    #[serde(default, deserialize_with = "bounded_size")]
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    #[serde(default)]
    pub schema_version: u32,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default)]
    pub subject: Option<Descriptor>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexManifest {
    #[serde(default)]
    pub schema_version: u32,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub artifact_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    #[serde(default)]
    pub subject: Option<Descriptor>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schema1Manifest {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub tag: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub fs_layers: Vec<Schema1Layer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schema1Layer {
    pub blob_sum: Digest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    Image(ImageManifest),
    Index(IndexManifest),
    Schema1(Schema1Manifest),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    UnknownMediaType(String),
    Invalid(String),
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::UnknownMediaType(m) => write!(f, "unknown manifest media type {m:?}"),
            ParseError::Invalid(e) => write!(f, "invalid manifest: {e}"),
        }
    }
}

impl Manifest {
    /// Parses a manifest. `content_type` (from the response) wins; without one, the body's own
    /// `mediaType` decides, and a body with neither is recognised by shape (`manifests` vs `config`).
    pub fn parse(content_type: Option<&str>, bytes: &[u8]) -> Result<(String, Manifest), ParseError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Probe {
            #[serde(default)]
            media_type: Option<String>,
            #[serde(default)]
            schema_version: Option<u32>,
            #[serde(default)]
            manifests: Option<serde_json::Value>,
            #[serde(default)]
            config: Option<serde_json::Value>,
        }
        let probe: Probe = serde_json::from_slice(bytes).map_err(|e| ParseError::Invalid(e.to_string()))?;
        let ct = content_type
            .map(|c| c.split(';').next().unwrap_or("").trim().to_string())
            .filter(|c| media::is_manifest(c));
        let mt = match (ct, probe.media_type.clone()) {
            (Some(c), _) => c,
            (None, Some(m)) => m,
            (None, None) if probe.schema_version == Some(1) => media::DOCKER_SCHEMA1_SIGNED.to_string(),
            (None, None) if probe.manifests.is_some() => media::OCI_INDEX.to_string(),
            (None, None) if probe.config.is_some() => media::OCI_MANIFEST.to_string(),
            (None, None) => return Err(ParseError::UnknownMediaType(content_type.unwrap_or("").to_string())),
        };
        let invalid = |e: serde_json::Error| ParseError::Invalid(e.to_string());
        let m = if media::is_index(&mt) {
            Manifest::Index(serde_json::from_slice(bytes).map_err(invalid)?)
        } else if media::is_image(&mt) || mt == "application/vnd.oci.artifact.manifest.v1+json" {
            Manifest::Image(serde_json::from_slice(bytes).map_err(invalid)?)
        } else if media::is_schema1(&mt) {
            Manifest::Schema1(serde_json::from_slice(bytes).map_err(invalid)?)
        } else {
            return Err(ParseError::UnknownMediaType(mt));
        };
        Ok((mt, m))
    }

    /// The digests this manifest points at: config + layers, or child manifests.
    pub fn references(&self) -> Vec<&Descriptor> {
        match self {
            Manifest::Image(m) => std::iter::once(&m.config).chain(m.layers.iter()).collect(),
            Manifest::Index(m) => m.manifests.iter().collect(),
            Manifest::Schema1(_) => Vec::new(),
        }
    }

    pub fn subject(&self) -> Option<&Descriptor> {
        match self {
            Manifest::Image(m) => m.subject.as_ref(),
            Manifest::Index(m) => m.subject.as_ref(),
            Manifest::Schema1(_) => None,
        }
    }

    /// The artifact type of an artifact manifest (explicit, or the config media type when it is not an
    /// image config); `None` for container images.
    pub fn artifact_type(&self) -> Option<String> {
        match self {
            Manifest::Image(m) => m.artifact_type.clone().or_else(|| {
                let c = m.config.media_type.as_str();
                (c != media::OCI_CONFIG && c != media::DOCKER_CONFIG && !c.is_empty()).then(|| c.to_string())
            }),
            Manifest::Index(m) => m.artifact_type.clone(),
            Manifest::Schema1(_) => None,
        }
    }

    /// Sum of config and layer sizes of an image manifest (what a pull of this platform transfers).
    pub fn image_size(&self) -> Option<u64> {
        match self {
            // Saturating: sizes are bounded (2^53 each), but a hostile manifest can list many layers.
            Manifest::Image(m) => Some(m.layers.iter().fold(m.config.size, |n, l| n.saturating_add(l.size))),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    #[test]
    fn image_and_size() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","digest":"{D1}","size":10}},"layers":[{{"mediaType":"x","digest":"{D2}","size":32}}]}}"#,
            media::DOCKER_MANIFEST,
            media::DOCKER_CONFIG
        );
        let (mt, m) = Manifest::parse(Some(media::DOCKER_MANIFEST), body.as_bytes()).unwrap();
        assert_eq!(mt, media::DOCKER_MANIFEST);
        assert_eq!(m.image_size(), Some(42));
        assert_eq!(m.references().len(), 2);
        assert_eq!(m.artifact_type(), None);
    }

    #[test]
    fn index_with_platforms_by_shape() {
        let body = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{}","digest":"{D1}","size":5,"platform":{{"os":"linux","architecture":"arm","variant":"v7"}}}}]}}"#,
            media::OCI_MANIFEST
        );
        let (mt, m) = Manifest::parse(None, body.as_bytes()).unwrap();
        assert_eq!(mt, media::OCI_INDEX);
        let Manifest::Index(i) = m else { panic!() };
        assert_eq!(i.manifests[0].platform.as_ref().unwrap().to_string(), "linux/arm/v7");
    }

    #[test]
    fn artifact_with_subject() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","artifactType":"application/vnd.dev.cosign.artifact.sig.v1+json","config":{{"mediaType":"{}","digest":"{D1}","size":2}},"layers":[],"subject":{{"mediaType":"{}","digest":"{D2}","size":7}}}}"#,
            media::OCI_MANIFEST,
            media::OCI_EMPTY,
            media::OCI_MANIFEST
        );
        let (_, m) =
            Manifest::parse(Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"), body.as_bytes())
                .unwrap();
        assert_eq!(m.subject().unwrap().digest.as_str(), D2);
        assert_eq!(m.artifact_type().as_deref(), Some("application/vnd.dev.cosign.artifact.sig.v1+json"));
    }

    #[test]
    fn rejects_garbage() {
        assert!(Manifest::parse(None, b"not json").is_err());
        assert!(Manifest::parse(Some("text/html"), b"{}").is_err());
        assert!(Manifest::parse(Some(media::OCI_MANIFEST), b"{\"config\":{\"digest\":\"nope\"}}").is_err());
    }
}
