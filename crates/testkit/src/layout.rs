//! OCI image layouts on disk, pushed with the real skopeo.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::json;

use crate::image::{build_image, build_index, ImageSpec};
use crate::media_types as mt;

/// One `index.json` entry of a layout.
#[derive(Clone, Debug)]
pub enum LayoutEntry {
    /// A single image manifest (always OCI media types in a layout).
    Image(ImageSpec),
    /// An OCI index over these platform images.
    Index(Vec<ImageSpec>),
}

fn write_blob(dir: &Path, digest: &str, bytes: &[u8]) {
    let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
    let path = dir.join("blobs/sha256").join(hex);
    if !path.exists() {
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
}

/// Write an OCI image layout: `oci-layout`, `blobs/sha256/*`, and `index.json` whose entries carry
/// `org.opencontainers.image.ref.name` = the given reference (use it as `oci:DIR:REF`).
/// Layout manifests always use OCI media types (`spec.docker` is ignored; use
/// [`SkopeoOpts::docker_format`] to convert on copy).
pub fn write_oci_layout(dir: &Path, refs: &[(&str, LayoutEntry)]) {
    std::fs::create_dir_all(dir.join("blobs/sha256")).expect("layout dirs");
    std::fs::write(dir.join("oci-layout"), serde_json::to_vec(&json!({"imageLayoutVersion": "1.0.0"})).expect("json"))
        .expect("write oci-layout");
    let mut manifests = Vec::new();
    for (reference, entry) in refs {
        let (digest, size, media_type) = match entry {
            LayoutEntry::Image(spec) => {
                let img = build_image(spec, true);
                for (d, b) in &img.blobs {
                    write_blob(dir, d, b);
                }
                write_blob(dir, &img.digest, &img.manifest);
                (img.digest.clone(), img.manifest.len(), img.media_type)
            }
            LayoutEntry::Index(specs) => {
                let children: Vec<_> = specs.iter().map(|s| build_image(s, true)).collect();
                for c in &children {
                    for (d, b) in &c.blobs {
                        write_blob(dir, d, b);
                    }
                    write_blob(dir, &c.digest, &c.manifest);
                }
                let (bytes, media_type) = build_index(&children);
                let digest = crate::sha256_digest(&bytes);
                write_blob(dir, &digest, &bytes);
                (digest, bytes.len(), media_type)
            }
        };
        manifests.push(json!({
            "mediaType": media_type,
            "digest": digest,
            "size": size,
            "annotations": {"org.opencontainers.image.ref.name": reference},
        }));
    }
    let index = json!({"schemaVersion": 2, "mediaType": mt::OCI_INDEX, "manifests": manifests});
    std::fs::write(dir.join("index.json"), serde_json::to_vec_pretty(&index).expect("json")).expect("write index.json");
}

/// Options of [`skopeo_copy`].
#[derive(Clone, Debug, Default)]
pub struct SkopeoOpts {
    /// `--all`: copy an index with every child (else only the host platform).
    pub all: bool,
    /// `--format v2s2`: convert to Docker schema2 / manifest list.
    pub docker_format: bool,
    /// `--format v2s1`: convert to a signed Docker schema1 manifest (skopeo signs it with a key of its
    /// own; the registry must have `compatibility.schema1.enabled`).
    pub schema1: bool,
    /// `--dest-creds user:password`.
    pub creds: Option<(String, String)>,
    /// Trust this CA via `--dest-cert-dir` (written as `ca.crt`); when `None`,
    /// `--dest-tls-verify=false` (which also lets skopeo fall back to plain HTTP).
    pub ca_pem: Option<String>,
}

/// `skopeo --insecure-policy copy … oci:DIR:REF docker://DEST`; `dest` like
/// `127.0.0.1:5000/test/img:multi`. Returns skopeo's output; check `status` yourself.
pub fn skopeo_copy(layout_dir: &Path, reference: &str, dest: &str, opts: &SkopeoOpts) -> Output {
    let cert_dir = tempfile::Builder::new().prefix("berth-skopeo-certs-").tempdir().expect("cert dir");
    let mut cmd = Command::new("skopeo");
    cmd.arg("--insecure-policy").arg("copy");
    if opts.all {
        cmd.arg("--all");
    }
    if opts.docker_format {
        cmd.args(["--format", "v2s2"]);
    }
    if opts.schema1 {
        cmd.args(["--format", "v2s1"]);
    }
    match &opts.ca_pem {
        Some(ca) => {
            std::fs::write(cert_dir.path().join("ca.crt"), ca).expect("write ca.crt");
            cmd.arg("--dest-cert-dir").arg(cert_dir.path());
        }
        None => {
            cmd.arg("--dest-tls-verify=false");
        }
    }
    if let Some((u, p)) = &opts.creds {
        cmd.arg("--dest-creds").arg(format!("{u}:{p}"));
    }
    cmd.arg(format!("oci:{}:{reference}", layout_dir.display())).arg(format!("docker://{dest}"));
    // Keep skopeo away from the user's auth files.
    cmd.env("REGISTRY_AUTH_FILE", cert_dir.path().join("auth.json"));
    cmd.output().expect("run skopeo")
}

/// Pulls `docker://SRC` (`host:port/repo:tag` or `…@sha256:…`) with skopeo into a temporary directory,
/// every blob verified (`--all`: every platform of an index), TLS verification off. Returns the manifest
/// bytes the registry serves for it (`skopeo inspect --raw`), or skopeo's error output.
pub fn skopeo_pull(src: &str, all: bool) -> Result<Vec<u8>, String> {
    let dir = tempfile::Builder::new().prefix("berth-skopeo-pull-").tempdir().expect("pull dir");
    let mut cmd = Command::new("skopeo");
    cmd.args(["--insecure-policy", "copy", "--src-tls-verify=false"]);
    if all {
        cmd.arg("--all");
    }
    cmd.arg(format!("docker://{src}")).arg(format!("dir:{}", dir.path().display()));
    let out = cmd.output().expect("run skopeo copy");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{src}"))
        .output()
        .expect("run skopeo inspect");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(out.stdout)
}
