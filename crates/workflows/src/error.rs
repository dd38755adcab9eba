use berth_store::StoreError;
use berth_sync::SyncError;

#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// The registry failed; its error carries the diagnosis and hint.
    #[error("{}", .0.message)]
    Registry(berth_registry::Error),
    #[error("{0}")]
    Store(#[from] StoreError),
    /// Bad input (a regex, an empty policy…).
    #[error("{message}")]
    Invalid { message: String, hint: String },
    /// A trash entry that cannot be put back.
    #[error("{message}")]
    NotRestorable { message: String, hint: String },
    #[error("cancelled")]
    Cancelled,
}

impl WorkflowError {
    pub fn invalid(message: impl Into<String>, hint: impl Into<String>) -> Self {
        WorkflowError::Invalid { message: message.into(), hint: hint.into() }
    }

    pub fn hint(&self) -> String {
        match self {
            WorkflowError::Registry(e) => e.hint.clone(),
            WorkflowError::Store(_) => "check the disk space and permissions of the data directory".into(),
            WorkflowError::Invalid { hint, .. } | WorkflowError::NotRestorable { hint, .. } => hint.clone(),
            WorkflowError::Cancelled => "nothing after the cancel was changed; the audit log lists what was".into(),
        }
    }
}

impl From<berth_registry::Error> for WorkflowError {
    fn from(e: berth_registry::Error) -> Self {
        WorkflowError::Registry(e)
    }
}

impl From<SyncError> for WorkflowError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Registry(e) => WorkflowError::Registry(e),
            SyncError::Store(e) => WorkflowError::Store(e),
            SyncError::Cancelled(_) => WorkflowError::Cancelled,
        }
    }
}
