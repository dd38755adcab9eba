//! Real servers for Berth's tests. Nothing here is a mock:
//!
//! * [`Registry`]: the Debian `docker-registry` (distribution 2.8.2) with its own config, storage and
//!   certificates in a temporary directory; anonymous, htpasswd (bcrypt, plus a deliberately broken
//!   MD5 entry), or token auth through a [`TokenIssuer`]; plain HTTP, CA-signed TLS, a self-signed
//!   `openssl req -x509`-style certificate, or mutual TLS; read-only mode; garbage collection.
//! * [`TokenIssuer`]: an in-process implementation of the distribution token spec (ES256 JWTs with
//!   an `x5c` header, verified by the real registry).
//! * [`Nginx`]: nginx in front of a registry following the distribution nginx recipe.
//! * [`Seeder`]: fast seeding through the registry API (monolithic uploads, cross-repository mounts).
//! * [`write_oci_layout`] + [`skopeo_copy`]: OCI layouts on disk pushed with the real skopeo.
//! * [`TestCa`] for certificates.
//! * [`Harbor`] and [`Nexus`]: emulators of their REST APIs in front of real registries (Harbor's
//!   `/v2` proxied after its permission checks, with `/service/token`; one registry per Nexus docker
//!   repository on its own connector port). Their content is read from the registries' storage and
//!   deletes go to the registries, so they always agree. Every JSON answer is validated against the
//!   vendor's spec file (`specs/`, [`SpecValidator`]); an emulator panics at drop on any violation.
//!
//! Process hygiene: every spawned server is killed and reaped on drop (also on panic), and gets
//! `PR_SET_PDEATHSIG(SIGKILL)` from a long-lived spawner thread so that nothing outlives the test
//! process. Every server has its own [`tempfile::TempDir`].

mod certs;
mod control;
mod emu;
mod fault;
mod harbor;
mod image;
mod layout;
mod mutate;
mod nexus;
mod nginx;
mod proc;
mod registry;
mod reset;
mod seed;
mod slow;
mod spec;
mod token;

pub use certs::TestCa;
pub use control::RegistryControl;
pub use fault::{Fault, FaultServer, Seen};
pub use harbor::{Harbor, HarborBuilder, HarborRole, HARBOR_VERSION};
pub use image::{layer_of, ArtifactSpec, ImageSpec, Pushed};
pub use layout::{skopeo_copy, skopeo_pull, write_oci_layout, LayoutEntry, SkopeoOpts};
pub use mutate::mutations;
pub use nexus::{Nexus, NexusBuilder, NEXUS_SERVER};
pub use nginx::{Nginx, NginxOptions};
pub use registry::{GcRun, Registry, RegistryBuilder, TlsMode};
pub use reset::{ResetAt, ResetProxy};
pub use seed::{seed_repo_name, seed_tag_name, SeedSummary, Seeder};
pub use slow::SlowProxy;
pub use spec::{spec_dir, validate_responses, Spec, SpecValidator};
pub use token::{TokenIssuer, TokenIssuerOptions, TokenUser};

/// A free TCP port on 127.0.0.1: bind port 0, read the port, close the socket.
///
/// There is an unavoidable race between closing and the server binding it; the servers retry
/// startup on a port clash.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// Media types used by the kit.
pub mod media_types {
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    pub const COSIGN_SIMPLESIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
    /// Every manifest type, for `Accept` headers.
    pub const ALL_MANIFESTS: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";
}

/// `sha256:<hex>` of some bytes.
pub fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}
