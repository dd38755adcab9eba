//! Berth's core operations, shared by the `berth` CLI and the desktop window: nothing here knows
//! about Tauri or a terminal. Each operation returns view types (exported to TypeScript with ts-rs)
//! or an [`ApiError`] with a message and a hint.

mod error;
mod inspect;
mod types;

use std::path::{Path, PathBuf};

use berth_registry::{Credentials, RegistryClient, TlsOptions};
use berth_store::{NewProfile, ProfileKind, Store};

pub use error::{ApiError, ErrorCode};
pub use inspect::{
    CertificateView, ConfigView, ConnectionReport, HistoryView, ImageDetail, LayerView, PlatformView, ReferrerView,
};
pub use types::{AddProfileRequest, ProfileView, RepositoryView};

/// The environment variable that overrides the data directory (SQLite file, CA files).
pub const DATA_DIR_ENV: &str = "BERTH_DATA_DIR";

/// The data directory: `$BERTH_DATA_DIR`, else the XDG data dir (`~/.local/share/berth`).
pub fn default_data_dir() -> Result<PathBuf, ApiError> {
    if let Some(d) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    dirs::data_dir().map(|d| d.join("berth")).ok_or_else(|| {
        ApiError::new(ErrorCode::Internal, "cannot find a data directory", format!("set {DATA_DIR_ENV} or HOME"))
    })
}

/// An open Berth data directory.
#[derive(Clone, Debug)]
pub struct Berth {
    store: Store,
    data_dir: PathBuf,
}

impl Berth {
    pub async fn open(data_dir: &Path) -> Result<Self, ApiError> {
        let store = Store::open(data_dir).await?;
        Ok(Berth { store, data_dir: data_dir.to_path_buf() })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub async fn add_profile(&self, req: AddProfileRequest) -> Result<ProfileView, ApiError> {
        let name = req.name.trim().to_string();
        validate_profile_name(&name)?;
        let url = berth_registry::parse_registry_url(&req.url)?;
        let row = self
            .store
            .add_profile(&NewProfile { name, url: url.to_string(), kind: ProfileKind::Registry, username: None })
            .await?;
        Ok(ProfileView::from(row))
    }

    pub async fn profiles(&self) -> Result<Vec<ProfileView>, ApiError> {
        Ok(self.store.profiles().await?.into_iter().map(ProfileView::from).collect())
    }

    pub async fn profile(&self, name: &str) -> Result<ProfileView, ApiError> {
        Ok(self.store.profile(name).await?.into())
    }

    async fn client(&self, profile: &str) -> Result<RegistryClient, ApiError> {
        let row = self.store.profile(profile).await?;
        Ok(RegistryClient::new(&row.url, Credentials::Anonymous, &TlsOptions::default())?)
    }

    /// Pings the profile's registry and reports auth, TLS (the chain the server presents), catalog
    /// access and delete capability, with a diagnosis when something fails. Never fails itself for a
    /// registry problem: that is what the report is for.
    pub async fn test_profile(&self, profile: &str) -> Result<ConnectionReport, ApiError> {
        let client = self.client(profile).await?;
        Ok(inspect::test_connection(profile, &client).await)
    }

    /// One image by tag or digest: platforms, layers, config, referrers, sibling tags, raw manifest.
    pub async fn inspect(&self, profile: &str, repo: &str, reference: &str) -> Result<ImageDetail, ApiError> {
        let client = self.client(profile).await?;
        inspect::inspect(&client, repo, reference).await
    }

    /// Lists every repository of the profile's registry, live from the server.
    pub async fn repositories(&self, profile: &str) -> Result<Vec<RepositoryView>, ApiError> {
        let client = self.client(profile).await?;
        let names = client.catalog().await?;
        Ok(names.into_iter().map(|name| RepositoryView { name }).collect())
    }
}

fn validate_profile_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::InvalidInput,
            format!("invalid profile name {name:?}"),
            "use 1 to 64 letters, digits, '-', '_' or '.' (for example: lab-registry)",
        ))
    }
}
