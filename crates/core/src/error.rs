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
    pub registry: Option<String>,
    pub message: String,
    pub hint: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>, hint: impl Into<String>) -> Self {
        ApiError { code, registry: None, message: message.into(), hint: hint.into() }
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
        ApiError { code, registry, message: e.message, hint: e.hint }
    }
}

impl From<berth_store::StoreError> for ApiError {
    fn from(e: berth_store::StoreError) -> Self {
        use berth_store::StoreError as S;
        match &e {
            S::ProfileNotFound(name) => ApiError::new(
                ErrorCode::NotFound,
                e.to_string(),
                format!("list profiles with `berth profile list`, or add one: berth profile add {name} --url https://registry.example.com"),
            ),
            S::ProfileExists(_) => ApiError::new(ErrorCode::AlreadyExists, e.to_string(), "choose another name"),
            S::Open { .. } | S::Migrate { .. } => ApiError::new(
                ErrorCode::Storage,
                e.to_string(),
                "check that the data directory is writable (BERTH_DATA_DIR or --data-dir chooses another)",
            ),
            S::Db(_) => ApiError::new(ErrorCode::Storage, e.to_string(), "the local cache may be damaged; it can be deleted and re-synced"),
        }
    }
}
