//! View types crossing the IPC boundary. `cargo test` exports them to `ui/src/bindings/` (ts-rs).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RepositoryView {
    pub name: String,
    /// Tag count, once synced.
    #[ts(type = "number | null")]
    pub tags: Option<u64>,
    /// Bytes, each blob counted once within the repository, once synced.
    #[ts(type = "number | null")]
    pub size: Option<u64>,
}
