//! Profiles: create, edit, duplicate, delete, export and import (without secrets); trust on first
//! use; and what a profile connects with (credentials from the OS keyring, TLS from the profile's
//! files). Split along its seams:
//!
//! * [`views`]: the views and requests front ends see (exported to TypeScript);
//! * [`draft`]: a profile being built from a request, validated field by field;
//! * [`ops`]: create, edit, duplicate, delete, export, import;
//! * [`trust`]: the server's chain and trust on first use;
//! * [`connection`]: the row, credentials and TLS an operation connects with.
//!
//! Secrets (password or token, client-key passphrase) go to the OS keyring only. SQLite records
//! whether one is set; views say `has_password`; export files never hold them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_registry::{Credentials, RegistryClient, TlsOptions};
use berth_secrets::{Secret, SecretError, SecretKind, SecretStore};
use berth_store::{AuthMode, CaRecord, GcSettings, NewProfile, ProfileKind, ProfileRow, ProfileSettings};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::certs::{self, CertificateDetail, ParsedCert};
use crate::{validate_profile_name, ApiError, Berth, ErrorCode};

mod connection;
mod draft;
mod ops;
mod trust;
mod views;

pub(crate) use connection::*;
pub(crate) use draft::*;
pub(crate) use ops::*;
pub use ops::{
    parse_profile_export, read_profile_export, write_profile_export, ImportReport, ImportTrust, ProfileRemovalView,
};
pub use trust::trust_choice;
pub(crate) use trust::*;
pub use views::*;

// ---------------------------------------------------------------------------------------------
// Errors and keyring plumbing

impl From<SecretError> for ApiError {
    fn from(e: SecretError) -> Self {
        ApiError::new(ErrorCode::Keyring, e.to_string(), e.hint())
    }
}

fn invalid(message: impl Into<String>, hint: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidInput, message, hint)
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Internal, e.to_string(), "")
}

/// Runs a (blocking, D-Bus) keyring operation off the async threads.
pub(crate) async fn keyring<T: Send + 'static>(
    store: &Arc<dyn SecretStore>,
    f: impl FnOnce(&dyn SecretStore) -> Result<T, SecretError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(&*store)).await.map_err(internal)?.map_err(ApiError::from)
}

#[derive(Debug, Clone, Default)]
pub(crate) enum SecretChange {
    #[default]
    Keep,
    Set(Secret),
    Delete,
}

impl SecretChange {
    fn from_parts(set: Option<Secret>, delete: bool) -> Result<SecretChange, ApiError> {
        match (set, delete) {
            (Some(s), _) if s.is_empty() => Err(invalid("the password is empty", "give a non-empty password")),
            (Some(_), true) => Err(invalid("both a new password and no password", "give one or the other")),
            (Some(s), false) => Ok(SecretChange::Set(s)),
            (None, true) => Ok(SecretChange::Delete),
            (None, false) => Ok(SecretChange::Keep),
        }
    }
}

/// Applies secret changes for `profile`; the self-check runs first whenever a secret is written,
/// so that no one is told a password was saved into a store that forgets it.
async fn apply_secrets(
    store: &Arc<dyn SecretStore>,
    profile: &str,
    password: &SecretChange,
    passphrase: &SecretChange,
) -> Result<(), ApiError> {
    let writes = matches!(password, SecretChange::Set(_)) || matches!(passphrase, SecretChange::Set(_));
    if matches!(password, SecretChange::Keep) && matches!(passphrase, SecretChange::Keep) {
        return Ok(());
    }
    let (profile, password, passphrase) = (profile.to_string(), password.clone(), passphrase.clone());
    keyring(store, move |s| {
        if writes {
            s.self_check()?;
        }
        for (kind, change) in [(SecretKind::Password, &password), (SecretKind::KeyPassphrase, &passphrase)] {
            match change {
                SecretChange::Keep => {}
                SecretChange::Set(v) => s.set(&profile, kind, v)?,
                SecretChange::Delete => {
                    s.delete(&profile, kind)?;
                }
            }
        }
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_normalize() {
        let hex = "AB".repeat(32);
        let colons = hex.as_bytes().chunks(2).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(":");
        assert_eq!(normalize_fingerprint(&colons).unwrap(), "ab".repeat(32));
        assert_eq!(normalize_fingerprint(&format!("sha256:{hex}")).unwrap(), "ab".repeat(32));
        assert!(normalize_fingerprint("abcd").is_err());
        assert!(normalize_fingerprint(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn request_debug_never_shows_secrets() {
        let req = AddProfileRequest {
            name: "a".into(),
            url: "https://r".into(),
            password: Some(Secret::new("hunter2-secret")),
            key_passphrase: Some(Secret::new("phrase-secret")),
            ..AddProfileRequest::default()
        };
        let dbg = format!("{req:?}");
        assert!(!dbg.contains("hunter2-secret") && !dbg.contains("phrase-secret"), "{dbg}");
        // Requests come in from the window as JSON; the password field is a plain string there.
        let parsed: AddProfileRequest =
            serde_json::from_str(r#"{"name":"a","url":"https://r","password":"pw"}"#).unwrap();
        assert_eq!(parsed.password.unwrap().expose(), "pw");
        let minimal: AddProfileRequest = serde_json::from_str(r#"{"name":"a","url":"https://r"}"#).unwrap();
        assert_eq!(minimal.kind, None);
    }
}
