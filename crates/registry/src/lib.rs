//! The registry protocol: one client per registry endpoint, speaking the Docker Registry HTTP API v2 /
//! OCI distribution API. Every failure is an [`Error`] that carries a diagnosis a user can act on.

pub mod auth;
mod catalog;
mod client;
pub mod config;
pub mod digest;
mod error;
pub mod link;
pub mod manifest;
mod tls;

pub use catalog::CATALOG_PAGE_MAX;
pub use client::{parse_registry_url, Credentials, Ping, RegistryClient, TlsOptions};
pub use digest::Digest;
pub use error::{Error, ErrorKind};
pub use manifest::{media, Descriptor, Manifest, Platform};
pub use tls::parse_pem_certs;
