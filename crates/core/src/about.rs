//! What the About dialog and `berth about` show: versions and where Berth keeps its files.

use std::path::Path;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Berth's version (the workspace version in Cargo.toml, shared by the app and the CLI).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Versions only the front end knows (the window's Tauri and WebKitGTK; none for the CLI).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShellVersions {
    pub tauri: Option<String>,
    pub webview: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AboutView {
    pub name: String,
    pub version: String,
    /// The Tauri runtime, in the window.
    pub tauri_version: Option<String>,
    /// The system WebKitGTK, in the window, when it can be asked.
    pub webview_version: Option<String>,
    /// Profiles' certificate files and the SQLite cache.
    pub data_dir: String,
    pub database_file: String,
    /// Daily-rotated logs, one file per front end.
    pub log_dir: String,
    /// The Secret Service (keyring) service name the passwords are stored under.
    pub keyring_service: String,
}

impl AboutView {
    pub fn new(data_dir: &Path, log_dir: &Path, shell: ShellVersions) -> AboutView {
        let keyring_service = std::env::var(berth_secrets::SERVICE_ENV)
            .ok()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| berth_secrets::APP_ID.to_string());
        AboutView {
            name: "Berth".into(),
            version: VERSION.into(),
            tauri_version: shell.tauri,
            webview_version: shell.webview,
            data_dir: data_dir.display().to_string(),
            database_file: data_dir.join(berth_store::DB_FILE).display().to_string(),
            log_dir: log_dir.display().to_string(),
            keyring_service,
        }
    }
}
