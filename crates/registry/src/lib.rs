//! The registry protocol: one client per registry endpoint, speaking the Docker Registry HTTP API v2 /
//! OCI distribution API. Every failure is an [`Error`] that carries a diagnosis a user can act on.

mod client;
mod error;
pub mod link;

pub use client::{
    parse_registry_url, Credentials, Ping, RegistryClient, TlsOptions, CATALOG_PAGE_MAX,
};
pub use error::{Error, ErrorKind};
