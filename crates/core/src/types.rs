//! View types crossing the IPC boundary. `cargo test` exports them to `ui/src/bindings/` (ts-rs).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ProfileView {
    pub name: String,
    pub url: String,
    /// `registry`, `nexus` or `harbor`.
    pub kind: String,
    pub username: Option<String>,
    pub created_at: String,
}

impl From<berth_store::ProfileRow> for ProfileView {
    fn from(r: berth_store::ProfileRow) -> Self {
        ProfileView {
            name: r.name,
            url: r.url,
            kind: r.kind.as_str().to_string(),
            username: r.username,
            created_at: r.created_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AddProfileRequest {
    pub name: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RepositoryView {
    pub name: String,
}
