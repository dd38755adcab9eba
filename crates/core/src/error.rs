use serde::Serialize;
use ts_rs::TS;

/// What kind of failure, for front ends to switch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ErrorCode {
    InvalidInput,
    NotFound,
    AlreadyExists,
    /// The registry could not be reached or refused us; `registry` names the precise kind.
    Registry,
    Storage,
    /// The OS keyring (Secret Service) is missing, locked or lost a secret; the hint says what to do.
    Keyring,
    Cancelled,
    /// Another run (sync, delete, GC) of the same profile holds its lock; the message says which.
    Busy,
    Internal,
}

/// The error every core operation returns: what happened, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, thiserror::Error)]
#[error("{message}")]
#[ts(export)]
pub struct ApiError {
    pub code: ErrorCode,
    /// For `code == "registry"`: the protocol layer's precise kind (`connection_refused`, `tls_unknown_ca`…).
    #[ts(as = "Option<berth_registry::ErrorKind>")]
    pub registry: Option<String>,
    pub message: String,
    /// What to do about it, in words any front end can show (no command line, no button name).
    pub hint: String,
    /// The fix as an action: the window offers it (open the field, sync, test again), the CLI prints
    /// its command.
    pub fix: Option<Fix>,
    /// The server could not be reached at all: what is cached still answers (the offline banner).
    pub unreachable: bool,
}

/// An error's fix, for any front end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Fix {
    pub action: FixAction,
    /// The same in the CLI, e.g. `berth profile edit lab --password-stdin`.
    pub command: Option<String>,
}

/// What a fix does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum FixAction {
    /// Open the profile's settings at this field.
    EditProfile { profile: String, field: ProfileField },
    /// Sync the profile.
    Sync { profile: String },
    /// Test the profile's connection again.
    TestConnection { profile: String },
    /// Trust the server's certificate chain (import its CA, or pin the certificate).
    TrustServer { profile: String },
    /// Trust the token service on another host the registry sends the password to.
    TrustTokenService { profile: String, origin: String },
    /// Add a profile.
    AddProfile,
    /// Nothing the window can do for the user: the command (and the hint) say it.
    Command,
}

/// A field of the profile dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ProfileField {
    Kind,
    Url,
    Username,
    Password,
    CaFile,
    ClientCertificate,
    KeyPassphrase,
    GcCommand,
    GcStorageRoot,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>, hint: impl Into<String>) -> Self {
        ApiError { code, registry: None, message: message.into(), hint: hint.into(), fix: None, unreachable: false }
    }

    /// With a fix: `action` for the window, `command` for the CLI.
    pub fn with_fix(mut self, action: FixAction, command: impl Into<String>) -> Self {
        self.fix = Some(Fix { action, command: Some(command.into()) });
        self
    }

    /// "Open this profile field", with the CLI command that does it.
    pub fn edit(self, profile: &str, field: ProfileField, command: impl Into<String>) -> Self {
        self.with_fix(FixAction::EditProfile { profile: profile.to_string(), field }, command)
    }
}

impl From<berth_registry::Error> for ApiError {
    fn from(e: berth_registry::Error) -> Self {
        let code = match e.kind {
            berth_registry::ErrorKind::InvalidUrl => ErrorCode::InvalidInput,
            berth_registry::ErrorKind::Cancelled => ErrorCode::Cancelled,
            _ => ErrorCode::Registry,
        };
        let registry = serde_json::to_value(e.kind).ok().and_then(|v| v.as_str().map(str::to_string));
        let unreachable = e.is_unreachable();
        ApiError { code, registry, message: e.message, hint: e.hint, fix: None, unreachable }
    }
}

impl From<berth_store::StoreError> for ApiError {
    fn from(e: berth_store::StoreError) -> Self {
        use berth_store::StoreError as S;
        match &e {
            S::ProfileNotFound(name) => {
                ApiError::new(ErrorCode::NotFound, e.to_string(), "pick one of the profiles, or add this one").with_fix(
                    FixAction::AddProfile,
                    format!("berth profile add {name} --url https://registry.example.com"),
                )
            }
            S::ProfileExists(_) => ApiError::new(ErrorCode::AlreadyExists, e.to_string(), "choose another name"),
            S::Open { .. } | S::Migrate { .. } => ApiError::new(
                ErrorCode::Storage,
                e.to_string(),
                "check that the data directory is writable (BERTH_DATA_DIR or --data-dir chooses another)",
            ),
            S::Db(_) => ApiError::new(
                ErrorCode::Storage,
                e.to_string(),
                "the local cache may be damaged; it can be deleted and re-synced",
            ),
        }
    }
}
