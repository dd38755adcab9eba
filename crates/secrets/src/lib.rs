//! Berth's secrets — registry passwords and tokens, client-key passphrases — live only in the OS
//! keyring (the freedesktop Secret Service on Linux: GNOME Keyring, KeePassXC, KWallet). Never in
//! SQLite, files, logs or views.
//!
//! * [`KeyringStore`] builds every entry on [`keyring::secret_service::SsCredential`] explicitly, so a
//!   build without the Secret Service feature does not compile (keyring 3 would otherwise fall back to
//!   its in-memory mock store in silence), and [`SecretStore::self_check`] proves at run time that a
//!   *new* entry reads back what was written.
//! * [`MemoryStore`] is for unit tests of code that only needs some store.
//! * [`Secret`] wraps a secret string: its `Debug` prints `***` and its memory is zeroed on drop.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use zeroize::Zeroizing;

/// The application identifier; the default keyring service name.
pub const APP_ID: &str = "dev.berth.desktop";

/// The environment variable that overrides the keyring service name (tests, side-by-side installs).
pub const SERVICE_ENV: &str = "BERTH_KEYRING_SERVICE";

/// What to install or start when no Secret Service answers.
pub const UNAVAILABLE_HINT: &str =
    "install gnome-keyring (or KeePassXC/KWallet with Secret Service) and make sure a D-Bus session is running";

/// What to do when the keyring is there but locked.
pub const LOCKED_HINT: &str =
    "unlock the keyring (log in to the desktop session, or run `gnome-keyring-daemon --unlock`) and try again";

/// A secret string. `Debug` never shows it; the memory is zeroed when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(Zeroizing::new(s.into()))
    }

    /// The secret itself, for the one place that must send it (HTTP auth, key decryption).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Secrets arrive from front ends (the add-profile form) but never leave: no `Serialize`.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret::new(s)
    }
}

/// Which secret of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKind {
    /// The registry password or token (the token flow uses it as Basic credentials).
    Password,
    /// The passphrase of an encrypted client private key.
    KeyPassphrase,
}

impl SecretKind {
    /// The keyring account ("user") for `profile`: `lab` for its password,
    /// `lab/client-key-passphrase` for the key passphrase. Profile names never contain `/`.
    pub fn account(self, profile: &str) -> String {
        match self {
            SecretKind::Password => profile.to_string(),
            SecretKind::KeyPassphrase => format!("{profile}/client-key-passphrase"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// No Secret Service answered (no D-Bus session, no keyring daemon).
    #[error("cannot reach the OS keyring (Secret Service): {detail}")]
    Unavailable { detail: String },
    /// The keyring answered but refused access (locked, no default collection, prompt needed).
    #[error("the OS keyring is locked or refused access: {detail}")]
    Locked { detail: String },
    /// The keyring accepted a secret but a fresh lookup did not return it.
    #[error("the OS keyring does not keep secrets: {detail}")]
    NotPersistent { detail: String },
    #[error("keyring error: {detail}")]
    Other { detail: String },
}

impl SecretError {
    /// What the user can do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            SecretError::Unavailable { .. } | SecretError::NotPersistent { .. } => UNAVAILABLE_HINT,
            SecretError::Locked { .. } => LOCKED_HINT,
            SecretError::Other { .. } => {
                "check the keyring (e.g. with seahorse or `secret-tool search service dev.berth.desktop`)"
            }
        }
    }
}

fn one_line(s: impl fmt::Display) -> String {
    s.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
}

impl From<keyring::Error> for SecretError {
    fn from(e: keyring::Error) -> Self {
        match e {
            keyring::Error::PlatformFailure(d) => SecretError::Unavailable { detail: one_line(d) },
            keyring::Error::NoStorageAccess(d) => SecretError::Locked { detail: one_line(d) },
            keyring::Error::BadEncoding(_) => SecretError::Other { detail: "a stored secret is not UTF-8".into() },
            // Never print the value of an ambiguous match: only how many there are.
            keyring::Error::Ambiguous(v) => {
                SecretError::Other { detail: format!("{} keyring items match one entry", v.len()) }
            }
            other => SecretError::Other { detail: one_line(other) },
        }
    }
}

/// Where secrets go. Implementations must be safe to call from any thread.
pub trait SecretStore: Send + Sync + fmt::Debug {
    /// Where the secrets are, for messages ("Secret Service, service dev.berth.desktop").
    fn describe(&self) -> String;
    fn set(&self, profile: &str, kind: SecretKind, secret: &Secret) -> Result<(), SecretError>;
    fn get(&self, profile: &str, kind: SecretKind) -> Result<Option<Secret>, SecretError>;
    /// Removes the secret; `Ok(false)` when there was none.
    fn delete(&self, profile: &str, kind: SecretKind) -> Result<bool, SecretError>;
    /// Writes, reads back through a fresh handle and deletes a probe entry: proves that secrets
    /// really persist before anyone is told that a password was saved.
    fn self_check(&self) -> Result<(), SecretError>;
}

/// The OS keyring through the Secret Service D-Bus API.
#[derive(Debug, Clone)]
pub struct KeyringStore {
    service: String,
}

/// Serialises this process's Secret Service calls: the keyring crate warns that concurrent D-Bus
/// access can fail.
static KEYRING_LOCK: Mutex<()> = Mutex::new(());

impl KeyringStore {
    pub fn new(service: impl Into<String>) -> KeyringStore {
        KeyringStore { service: service.into() }
    }

    /// Service `$BERTH_KEYRING_SERVICE`, else `dev.berth.desktop`.
    pub fn from_env() -> KeyringStore {
        let service = std::env::var(SERVICE_ENV).ok().filter(|s| !s.trim().is_empty());
        KeyringStore::new(service.unwrap_or_else(|| APP_ID.to_string()))
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    /// A new entry on the Secret Service backend (never the mock store).
    fn entry(&self, account: &str) -> Result<keyring::Entry, SecretError> {
        let cred = keyring::secret_service::SsCredential::new_with_target(None, &self.service, account)?;
        Ok(keyring::Entry::new_with_credential(Box::new(cred)))
    }

    fn locked<T>(f: impl FnOnce() -> Result<T, SecretError>) -> Result<T, SecretError> {
        let _guard = KEYRING_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        f()
    }
}

impl SecretStore for KeyringStore {
    fn describe(&self) -> String {
        format!("Secret Service, service {}", self.service)
    }

    fn set(&self, profile: &str, kind: SecretKind, secret: &Secret) -> Result<(), SecretError> {
        Self::locked(|| {
            self.entry(&kind.account(profile))?.set_password(secret.expose())?;
            tracing::debug!(profile, ?kind, service = %self.service, "secret stored in the keyring");
            Ok(())
        })
    }

    fn get(&self, profile: &str, kind: SecretKind) -> Result<Option<Secret>, SecretError> {
        Self::locked(|| match self.entry(&kind.account(profile))?.get_password() {
            Ok(p) => Ok(Some(Secret::new(p))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.into()),
        })
    }

    fn delete(&self, profile: &str, kind: SecretKind) -> Result<bool, SecretError> {
        Self::locked(|| match self.entry(&kind.account(profile))?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(e.into()),
        })
    }

    fn self_check(&self) -> Result<(), SecretError> {
        Self::locked(|| {
            let nanos =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
            let account = format!("berth-self-check/{}-{nanos}", std::process::id());
            let probe = format!("probe-{nanos:x}");
            self.entry(&account)?.set_password(&probe)?;
            // A *new* entry must see the value: the mock store would fail here.
            let back = match self.entry(&account)?.get_password() {
                Ok(v) => v,
                Err(keyring::Error::NoEntry) => {
                    return Err(SecretError::NotPersistent {
                        detail: "a probe entry vanished right after it was written".into(),
                    })
                }
                Err(e) => return Err(e.into()),
            };
            let deleted = self.entry(&account)?.delete_credential();
            if back != probe {
                return Err(SecretError::NotPersistent { detail: "a probe entry read back a different value".into() });
            }
            deleted?;
            match self.entry(&account)?.get_password() {
                Err(keyring::Error::NoEntry) => Ok(()),
                Ok(_) => Err(SecretError::Other { detail: "a deleted probe entry is still there".into() }),
                Err(e) => Err(e.into()),
            }
        })
    }
}

/// Secrets in memory, for unit tests.
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: Mutex<HashMap<String, Secret>>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// How many secrets it holds.
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl SecretStore for MemoryStore {
    fn describe(&self) -> String {
        "in-memory store (tests)".into()
    }

    fn set(&self, profile: &str, kind: SecretKind, secret: &Secret) -> Result<(), SecretError> {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).insert(kind.account(profile), secret.clone());
        Ok(())
    }

    fn get(&self, profile: &str, kind: SecretKind) -> Result<Option<Secret>, SecretError> {
        Ok(self.map.lock().unwrap_or_else(|p| p.into_inner()).get(&kind.account(profile)).cloned())
    }

    fn delete(&self, profile: &str, kind: SecretKind) -> Result<bool, SecretError> {
        Ok(self.map.lock().unwrap_or_else(|p| p.into_inner()).remove(&kind.account(profile)).is_some())
    }

    fn self_check(&self) -> Result<(), SecretError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert!(!format!("{:?}", Some(&s)).contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn accounts() {
        assert_eq!(SecretKind::Password.account("lab"), "lab");
        assert_eq!(SecretKind::KeyPassphrase.account("lab"), "lab/client-key-passphrase");
    }

    #[test]
    fn memory_store_round_trip() {
        let m = MemoryStore::new();
        m.set("a", SecretKind::Password, &Secret::new("x")).unwrap();
        assert_eq!(m.get("a", SecretKind::Password).unwrap().unwrap().expose(), "x");
        assert!(m.get("a", SecretKind::KeyPassphrase).unwrap().is_none());
        assert!(m.delete("a", SecretKind::Password).unwrap());
        assert!(!m.delete("a", SecretKind::Password).unwrap());
        assert!(m.is_empty());
    }

    #[test]
    fn errors_name_what_to_install() {
        let e = SecretError::Unavailable { detail: "no bus".into() };
        assert!(e.hint().contains("gnome-keyring"));
        assert!(e.hint().contains("D-Bus session"));
    }
}
