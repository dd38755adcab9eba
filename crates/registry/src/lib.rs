//! The registry protocol: one client per registry endpoint, speaking the Docker Registry HTTP API v2 /
//! OCI distribution API. Every failure is an [`Error`] that carries a diagnosis a user can act on.

// Server data never panics this crate: no unwrap, expect or unchecked indexing outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

pub mod auth;
mod catalog;
mod client;
pub mod config;
mod content;
mod delete;
pub mod digest;
mod error;
pub mod link;
pub mod manifest;
mod referrers;
mod tls;
mod transfer;

pub use catalog::{check_listed, incomplete, max_listed_items, CATALOG_PAGE_MAX, MAX_LISTED_ITEMS, MAX_PAGES};
pub use client::{
    parse_registry_url, read_limited, send_retrying, token_service_origin, BodyError, Credentials, Ping,
    RegistryClient, TokenService,
};
pub use content::{
    valid_tag, validate_repo, FetchedManifest, ManifestCheck, ManifestHead, Reference, StoredManifest, SMALL_BLOB_LIMIT,
};
pub use delete::{DeleteCapability, UntagMethod};
pub use digest::Digest;
pub use error::{parse_error_body, Error, ErrorKind};
pub use manifest::{media, saturating_sum, Descriptor, Manifest, Platform, MAX_DESCRIPTOR_SIZE};
pub use referrers::{cosign_tags, ReferrerSource, Referrers};
pub use tls::{
    build_http, fetch_certificate_chain, fingerprint_sha256, parse_pem_certs, timeouts, CertificateInfo, Timeouts,
    TlsOptions,
};
pub use transfer::{BlobReader, SendMeter, UploadMode, BLOB_TRANSFER_TIMEOUT, DEFAULT_UPLOAD_CHUNK};
