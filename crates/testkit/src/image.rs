//! Deterministic synthetic images: tar.gz layers, configs, manifests and indexes.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use serde_json::{json, Value};

use crate::media_types as mt;
use crate::sha256_digest;

/// What to build. `layers` are the stored blob bytes (gzip-compressed tars from the constructors;
/// anything else is stored as-is, with the diff ID equal to the blob digest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSpec {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    pub layers: Vec<Vec<u8>>,
    pub labels: BTreeMap<String, String>,
    /// RFC 3339 creation time written into the config.
    pub created: String,
    /// Docker schema2 media types instead of OCI (for pushes; layouts are always OCI).
    pub docker: bool,
    /// Write a `history` entry per layer into the config.
    pub history: bool,
}

impl ImageSpec {
    /// No platform, no layers: for manifests that are not images (signatures, artifacts).
    pub(crate) fn empty() -> ImageSpec {
        ImageSpec {
            os: String::new(),
            architecture: String::new(),
            variant: None,
            layers: Vec::new(),
            labels: BTreeMap::new(),
            created: String::new(),
            docker: false,
            history: false,
        }
    }

    /// linux/amd64, one small layer, a label; same seed → same digests.
    pub fn small(seed: &str) -> ImageSpec {
        let mut labels = BTreeMap::new();
        labels.insert("org.berth.test.seed".to_string(), seed.to_string());
        ImageSpec {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
            layers: vec![layer_tar_gz(&format!("berth/{}.txt", sanitize(seed)), &pseudo_content(seed, 200))],
            labels,
            created: "2024-01-02T03:04:05Z".into(),
            docker: false,
            history: true,
        }
    }

    /// An image for one platform with two layers: a base layer that depends only on `seed` (shared by
    /// all platforms of the same seed) and a layer specific to the platform.
    pub fn platform(os: &str, arch: &str, variant: Option<&str>, seed: &str) -> ImageSpec {
        let plat = match variant {
            Some(v) => format!("{os}/{arch}/{v}"),
            None => format!("{os}/{arch}"),
        };
        let mut labels = BTreeMap::new();
        labels.insert("org.berth.test.seed".to_string(), seed.to_string());
        labels.insert("org.berth.test.platform".to_string(), plat.clone());
        ImageSpec {
            os: os.into(),
            architecture: arch.into(),
            variant: variant.map(str::to_string),
            layers: vec![
                base_layer(seed),
                layer_tar_gz(
                    &format!("berth/{}.bin", sanitize(&plat)),
                    &pseudo_content(&format!("{seed}|{plat}"), 300),
                ),
            ],
            labels,
            created: "2024-01-02T03:04:05Z".into(),
            docker: false,
            history: true,
        }
    }
}

/// A base layer that depends only on `seed`.
pub(crate) fn base_layer(seed: &str) -> Vec<u8> {
    layer_tar_gz(&format!("base/{}.txt", sanitize(seed)), &pseudo_content(&format!("base|{seed}"), 512))
}

/// A gzipped tar layer of about `len` bytes of content that depends only on `seed` (same seed, same
/// digest: layers shared between images).
pub fn layer_of(seed: &str, len: usize) -> Vec<u8> {
    layer_tar_gz(&format!("berth/{}.bin", sanitize(seed)), &pseudo_content(seed, len))
}

fn sanitize(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect()
}

/// Deterministic bytes from a seed (sha256 chain, hex text so it compresses a little).
pub(crate) fn pseudo_content(seed: &str, len: usize) -> Vec<u8> {
    use sha2::Digest;
    let mut out = format!("seed: {seed}\n").into_bytes();
    let mut state = sha2::Sha256::digest(seed.as_bytes()).to_vec();
    while out.len() < len {
        out.extend_from_slice(hex::encode(&state).as_bytes());
        out.push(b'\n');
        state = sha2::Sha256::digest(&state).to_vec();
    }
    out.truncate(len.max(1));
    out
}

/// A gzip-compressed ustar archive holding one regular file (mtime 0, root-owned, mode 0644).
pub(crate) fn layer_tar_gz(path: &str, content: &[u8]) -> Vec<u8> {
    let tar = tar_one_file(path, content);
    let mut enc =
        flate2::GzBuilder::new().mtime(0).operating_system(255).write(Vec::new(), flate2::Compression::fast());
    enc.write_all(&tar).expect("gzip");
    enc.finish().expect("gzip")
}

fn tar_one_file(path: &str, content: &[u8]) -> Vec<u8> {
    assert!(path.len() < 100, "tar path too long");
    let mut h = [0u8; 512];
    h[..path.len()].copy_from_slice(path.as_bytes());
    let put = |h: &mut [u8; 512], off: usize, s: &str| h[off..off + s.len()].copy_from_slice(s.as_bytes());
    put(&mut h, 100, "0000644\0");
    put(&mut h, 108, "0000000\0");
    put(&mut h, 116, "0000000\0");
    put(&mut h, 124, &format!("{:011o}\0", content.len()));
    put(&mut h, 136, "00000000000\0");
    put(&mut h, 148, "        ");
    h[156] = b'0';
    put(&mut h, 257, "ustar\0");
    put(&mut h, 263, "00");
    put(&mut h, 265, "root");
    put(&mut h, 297, "root");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    put(&mut h, 148, &format!("{sum:06o}\0 "));
    let mut out = h.to_vec();
    out.extend_from_slice(content);
    let pad = (512 - content.len() % 512) % 512;
    out.extend(std::iter::repeat_n(0u8, pad + 1024));
    out
}

/// The uncompressed digest of a layer blob (gunzip if it is gzip).
fn diff_id(blob: &[u8]) -> String {
    if blob.starts_with(&[0x1f, 0x8b]) {
        let mut raw = Vec::new();
        if flate2::read::GzDecoder::new(blob).read_to_end(&mut raw).is_ok() {
            return sha256_digest(&raw);
        }
    }
    sha256_digest(blob)
}

/// A built image manifest with its blobs.
#[derive(Clone, Debug)]
pub(crate) struct BuiltImage {
    pub manifest: Vec<u8>,
    pub media_type: &'static str,
    pub digest: String,
    /// Config first, then layers: (digest, bytes).
    pub blobs: Vec<(String, Vec<u8>)>,
    pub spec: ImageSpec,
}

impl BuiltImage {
    pub(crate) fn pushed(&self) -> Pushed {
        Pushed {
            digest: self.digest.clone(),
            media_type: self.media_type.to_string(),
            size: self.manifest.len() as u64,
            bytes: self.manifest.clone(),
            children: Vec::new(),
            blobs: self.blobs.iter().map(|(d, b)| (d.clone(), b.len() as u64)).collect(),
        }
    }

    pub(crate) fn platform_json(&self) -> Value {
        let mut p = json!({"architecture": self.spec.architecture, "os": self.spec.os});
        if let Some(v) = &self.spec.variant {
            p["variant"] = json!(v);
        }
        p
    }
}

pub(crate) fn config_json(spec: &ImageSpec) -> Vec<u8> {
    let diff_ids: Vec<String> = spec.layers.iter().map(|l| diff_id(l)).collect();
    let mut cfg = json!({
        "architecture": spec.architecture,
        "os": spec.os,
        "created": spec.created,
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/bin/sh"],
            "Labels": spec.labels,
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    if let Some(v) = &spec.variant {
        cfg["variant"] = json!(v);
    }
    if spec.history {
        let history: Vec<Value> = (0..spec.layers.len())
            .map(|i| {
                json!({
                    "created": spec.created,
                    "created_by": format!("/bin/sh -c #(nop) ADD file:layer{i} in / "),
                })
            })
            .collect();
        cfg["history"] = json!(history);
    }
    serde_json::to_vec(&cfg).expect("config json")
}

/// Build an image manifest. `force_oci` ignores `spec.docker`.
pub(crate) fn build_image(spec: &ImageSpec, force_oci: bool) -> BuiltImage {
    let docker = spec.docker && !force_oci;
    let (manifest_type, config_type, layer_type) = if docker {
        (mt::DOCKER_MANIFEST, mt::DOCKER_CONFIG, mt::DOCKER_LAYER_GZIP)
    } else {
        (mt::OCI_MANIFEST, mt::OCI_CONFIG, mt::OCI_LAYER_GZIP)
    };
    let config = config_json(spec);
    let config_digest = sha256_digest(&config);
    let mut blobs = vec![(config_digest.clone(), config.clone())];
    let mut layers = Vec::new();
    for l in &spec.layers {
        let d = sha256_digest(l);
        layers.push(json!({"mediaType": layer_type, "digest": d, "size": l.len()}));
        blobs.push((d, l.clone()));
    }
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {"mediaType": config_type, "digest": config_digest, "size": config.len()},
        "layers": layers,
    });
    let manifest = serde_json::to_vec_pretty(&manifest).expect("manifest json");
    BuiltImage { digest: sha256_digest(&manifest), manifest, media_type: manifest_type, blobs, spec: spec.clone() }
}

/// Build an index over built children: a Docker manifest list when every child is Docker, else OCI.
pub(crate) fn build_index(children: &[BuiltImage]) -> (Vec<u8>, &'static str) {
    let all_docker = !children.is_empty() && children.iter().all(|c| c.media_type == mt::DOCKER_MANIFEST);
    let media_type = if all_docker { mt::DOCKER_MANIFEST_LIST } else { mt::OCI_INDEX };
    let manifests: Vec<Value> = children
        .iter()
        .map(|c| {
            json!({
                "mediaType": c.media_type,
                "digest": c.digest,
                "size": c.manifest.len(),
                "platform": c.platform_json(),
            })
        })
        .collect();
    let index = json!({"schemaVersion": 2, "mediaType": media_type, "manifests": manifests});
    (serde_json::to_vec_pretty(&index).expect("index json"), media_type)
}

/// A cosign-style signature manifest for `subject` in `repo` (classic `sha256-<hex>.sig` tag scheme).
pub(crate) fn build_cosign_signature(repo: &str, subject_digest: &str) -> BuiltImage {
    let payload = serde_json::to_vec(&json!({
        "critical": {
            "identity": {"docker-reference": repo},
            "image": {"docker-manifest-digest": subject_digest},
            "type": "cosign container image signature",
        },
        "optional": null,
    }))
    .expect("payload");
    let payload_digest = sha256_digest(&payload);
    let sig = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(pseudo_content(subject_digest, 64))
    };
    let config = serde_json::to_vec(&json!({
        "architecture": "",
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": [payload_digest]},
        "config": {},
    }))
    .expect("config");
    let config_digest = sha256_digest(&config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": mt::OCI_MANIFEST,
        "config": {"mediaType": mt::OCI_CONFIG, "digest": config_digest, "size": config.len()},
        "layers": [{
            "mediaType": mt::COSIGN_SIMPLESIGNING,
            "digest": payload_digest,
            "size": payload.len(),
            "annotations": {"dev.cosignproject.cosign/signature": sig},
        }],
    }))
    .expect("manifest");
    BuiltImage {
        digest: sha256_digest(&manifest),
        manifest,
        media_type: mt::OCI_MANIFEST,
        blobs: vec![(config_digest, config), (payload_digest, payload)],
        spec: ImageSpec::empty(),
    }
}

/// What a push produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pushed {
    /// `sha256:<hex>` of `bytes`.
    pub digest: String,
    pub media_type: String,
    /// Length of `bytes`.
    pub size: u64,
    /// The exact manifest bytes pushed.
    pub bytes: Vec<u8>,
    /// For an index: the child manifests, in index order.
    pub children: Vec<Pushed>,
    /// For an image: config + layers as (digest, size). Empty for an index.
    pub blobs: Vec<(String, u64)>,
}

impl Pushed {
    /// Every distinct blob of this manifest and its children, manifests included, as (digest, size).
    pub fn all_blobs(&self) -> std::collections::BTreeMap<String, u64> {
        let mut out = std::collections::BTreeMap::new();
        out.insert(self.digest.clone(), self.size);
        for (d, s) in &self.blobs {
            out.insert(d.clone(), *s);
        }
        for c in &self.children {
            out.extend(c.all_blobs());
        }
        out
    }
}

/// A non-image OCI artifact: a Helm chart, a WASM module, an SBOM or a signature (the last two
/// usually with a `subject`, which makes them referrers and, on Harbor, accessories).
#[derive(Clone, Debug)]
pub struct ArtifactSpec {
    pub config_media_type: String,
    /// The config blob (`{}` for the empty descriptor).
    pub config: Vec<u8>,
    pub artifact_type: Option<String>,
    pub layer_media_type: String,
    pub content: Vec<u8>,
    /// (digest, media type, size) of the manifest this artifact refers to.
    pub subject: Option<(String, String, u64)>,
}

impl ArtifactSpec {
    /// A Helm chart as `helm push` stores it.
    pub fn helm_chart(name: &str, version: &str) -> ArtifactSpec {
        ArtifactSpec {
            config_media_type: "application/vnd.cncf.helm.config.v1+json".into(),
            config: serde_json::to_vec(&json!({"name": name, "version": version, "apiVersion": "v2"})).expect("json"),
            artifact_type: None,
            layer_media_type: "application/vnd.cncf.helm.chart.content.v1.tar+gzip".into(),
            content: layer_tar_gz(
                &format!("{name}/Chart.yaml"),
                format!("name: {name}\nversion: {version}\n").as_bytes(),
            ),
            subject: None,
        }
    }

    /// A WASM module (`application/vnd.wasm.config.v1+json`).
    pub fn wasm(seed: &str) -> ArtifactSpec {
        ArtifactSpec {
            config_media_type: "application/vnd.wasm.config.v1+json".into(),
            config: serde_json::to_vec(&json!({"architecture": "wasm", "os": "wasip1"})).expect("json"),
            artifact_type: None,
            layer_media_type: "application/wasm".into(),
            content: pseudo_content(seed, 300),
            subject: None,
        }
    }

    fn referrer(artifact_type: &str, layer_media_type: &str, subject: &Pushed, content: Vec<u8>) -> ArtifactSpec {
        ArtifactSpec {
            config_media_type: "application/vnd.oci.empty.v1+json".into(),
            config: b"{}".to_vec(),
            artifact_type: Some(artifact_type.into()),
            layer_media_type: layer_media_type.into(),
            content,
            subject: Some((subject.digest.clone(), subject.media_type.clone(), subject.size)),
        }
    }

    /// An SPDX SBOM referring to `subject` (Harbor shows it as an `sbom.harbor`-like accessory).
    pub fn sbom_for(subject: &Pushed) -> ArtifactSpec {
        let doc = json!({"spdxVersion": "SPDX-2.3", "name": subject.digest, "packages": []});
        Self::referrer(
            "application/vnd.goharbor.harbor.sbom.v1",
            "application/spdx+json",
            subject,
            serde_json::to_vec(&doc).expect("json"),
        )
    }

    /// A Notation signature referring to `subject`.
    pub fn notation_signature_for(subject: &Pushed) -> ArtifactSpec {
        Self::referrer(
            "application/vnd.cncf.notary.signature",
            "application/jose+json",
            subject,
            pseudo_content(&subject.digest, 120),
        )
    }
}

pub(crate) fn build_artifact(spec: &ArtifactSpec) -> BuiltImage {
    let config_digest = sha256_digest(&spec.config);
    let layer_digest = sha256_digest(&spec.content);
    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": mt::OCI_MANIFEST,
        "config": {"mediaType": spec.config_media_type, "digest": config_digest, "size": spec.config.len()},
        "layers": [{"mediaType": spec.layer_media_type, "digest": layer_digest, "size": spec.content.len()}],
    });
    if let Some(t) = &spec.artifact_type {
        manifest["artifactType"] = json!(t);
    }
    if let Some((d, media_type, size)) = &spec.subject {
        manifest["subject"] = json!({"mediaType": media_type, "digest": d, "size": size});
    }
    let manifest = serde_json::to_vec(&manifest).expect("manifest json");
    BuiltImage {
        digest: sha256_digest(&manifest),
        manifest,
        media_type: mt::OCI_MANIFEST,
        blobs: vec![(config_digest, spec.config.clone()), (layer_digest, spec.content.clone())],
        spec: ImageSpec::empty(),
    }
}
