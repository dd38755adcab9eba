//! Berth's core operations, shared by the `berth` CLI and the desktop window: nothing here knows
//! about Tauri or a terminal. Each operation returns view types (exported to TypeScript with ts-rs)
//! or an [`ApiError`] with a message and a hint.

mod about;
mod backends;
mod certs;
mod copies;
pub mod defaults;
mod deletes;
mod docker_config;
mod error;
mod inspect;
mod instance;
mod jobs;
mod locale;
pub mod logging;
mod overview;
mod profiles;
mod session;
mod snippets;
mod sync;
mod tree;
mod types;
mod untagged;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_secrets::{KeyringStore, SecretStore};
use berth_store::Store;

pub use about::{AboutView, ShellVersions, VERSION};
pub use backends::{
    BlobStoreView, HarborAccessoryView, HarborArtifactView, HarborLabelView, HarborPolicyView, HarborProjectView,
    HarborRuleView, HarborScanView, HarborTagView, NexusAssetView, NexusCleanupPolicyView, NexusCleanupView,
    NexusComponentPage, NexusComponentView, NexusDiscoveryView, NexusRepositoryView, NexusTaskView,
};
pub use berth_backend::{Capabilities, GcRequest};
pub use berth_secrets::{
    Secret, SecretError, SecretStore as SecretBackend, APP_ID, SERVICE_ENV as KEYRING_SERVICE_ENV,
};
pub use berth_sync::SyncOptions;
pub use berth_workflows::{
    ActionResult, AuditView, BlobAction, CopyPlan, CopyProgress, CopyReport, CopyRequest, CopyResult, DeleteMode,
    DeletePlan, DeleteProgress, DeleteReport, GcPrediction, GcReport, GcRunView, PlanOptions, RegistryGcCounts,
    RestoreReport, RetentionPlan, RetentionPolicy, Selection, TagAction, TrashView,
};
pub use certs::{show_certificate_file, CertificateDetail};
pub use deletes::{EmptyRepositories, GcLogLine, SavedPolicy, ServerGcRunView, ServerGcView};
pub use docker_config::{
    default_docker_config, DockerImportNote, DockerImportPlanned, DockerImportReport, CERTS_D_ENV,
};
pub use error::{ApiError, ErrorCode, Fix, FixAction, ProfileField};
pub use inspect::{
    CertificateView, CheckView, ConfigView, ConnectionReport, DetailSource, HistoryView, ImageDetail, InspectFrom,
    LayerView, PlatformView, ReferrerView,
};
pub use instance::instance_id;
pub use jobs::{Job, JobKind};
pub use locale::system_locale;
pub use overview::{ProfileStatusView, StorageView, SyncRunView};
pub use profiles::{
    parse_profile_export, read_profile_export, trust_choice, write_profile_export, AddProfileRequest, CaView,
    ClientCertView, EditProfileRequest, GcSettingsView, ImportReport, ImportTrust, ProfileExport, ProfileFile,
    ProfileRemovalView, ProfileView, ServerLinkView, TlsExport, TlsView, TrustResult, EXPORT_FORMAT,
};
pub use session::Session;
pub use snippets::Snippet;
pub use sync::{SearchResult, SortBy, SyncProgressView, SyncSummaryView, TagView};
pub use tokio_util::sync::CancellationToken;
pub use tree::{repository_tree, RepoNode};
pub use types::RepositoryView;
pub use untagged::{StorageScanView, UntaggedManifestView, UntaggedView};

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

/// An open Berth data directory, and the keyring its secrets live in.
#[derive(Clone, Debug)]
pub struct Berth {
    store: Store,
    data_dir: PathBuf,
    secrets: Arc<dyn SecretStore>,
    /// Jobs running in this process (their locks exclude other processes).
    running: jobs::Running,
}

impl Berth {
    /// Opens `data_dir` with the OS keyring (service `$BERTH_KEYRING_SERVICE`, else `dev.berth.desktop`).
    pub async fn open(data_dir: &Path) -> Result<Self, ApiError> {
        Self::open_with_secrets(data_dir, Arc::new(KeyringStore::from_env())).await
    }

    /// Opens `data_dir` with another secret store (tests).
    pub async fn open_with_secrets(data_dir: &Path, secrets: Arc<dyn SecretStore>) -> Result<Self, ApiError> {
        let store = Store::open(data_dir).await?;
        let berth = Berth { store, data_dir: data_dir.to_path_buf(), secrets, running: Default::default() };
        berth.recover_interrupted().await;
        Ok(berth)
    }

    /// Runs a crash or a kill left `running` are marked interrupted: those whose profile's job lock
    /// no process holds (a live CLI or window keeps its run).
    pub(crate) async fn recover_interrupted(&self) {
        let runs = match self.store.running_runs().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("cannot look for interrupted runs: {e}");
                return;
            }
        };
        for run in runs {
            if !self.job_lock_free(&run.profile) {
                continue;
            }
            tracing::warn!(profile = %run.profile, kind = run.kind, started = %run.started_at, "marking an interrupted run");
            if let Err(e) = self.store.mark_interrupted(&run).await {
                tracing::warn!("cannot mark run {} interrupted: {e}", run.id);
            }
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Versions and paths for the About dialog and `berth about`.
    pub fn about(&self, shell: ShellVersions) -> Result<AboutView, ApiError> {
        Ok(AboutView::new(&self.data_dir, &logging::default_log_dir()?, shell))
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Creates a profile: validates everything, stores secrets in the keyring (after its
    /// self-check), copies certificate files into the data directory.
    pub async fn add_profile(&self, req: AddProfileRequest) -> Result<ProfileView, ApiError> {
        profiles::add(self, req).await
    }

    /// Edits a profile. A new URL on a profile a server discovered is kept by later discoveries
    /// (a reverse proxy, another host in front of the repository).
    pub async fn edit_profile(&self, name: &str, req: EditProfileRequest) -> Result<ProfileView, ApiError> {
        // A discovered profile's new URL is its endpoint override, recorded before the edit so that a
        // discovery running meanwhile keeps it (for other profiles this changes nothing).
        let before = self.store.profile(name).await?;
        let previous = self.store.backend_link(before.id).await?.and_then(|l| l.endpoint_override);
        if let Some(url) = &req.url {
            self.store.set_endpoint_override(before.id, Some(url)).await?;
        }
        let url_changed = req.url.is_some();
        let view = match profiles::edit(self, name, req).await {
            Ok(v) => v,
            Err(e) => {
                if url_changed {
                    self.store.set_endpoint_override(before.id, previous.as_deref()).await?;
                }
                return Err(e);
            }
        };
        let row = self.store.profile(&view.name).await?;
        if url_changed {
            self.store.set_endpoint_override(row.id, Some(&row.url)).await?;
        }
        session::profile_view(self, row).await
    }

    /// Copies a profile (settings, certificate files, keyring secrets) under a new name.
    pub async fn duplicate_profile(&self, name: &str, new_name: &str) -> Result<ProfileView, ApiError> {
        profiles::duplicate(self, name, new_name).await
    }

    /// What deleting a profile removes (cache rows, trash, keyring entries, files), to confirm first.
    pub async fn profile_removal(&self, name: &str) -> Result<ProfileRemovalView, ApiError> {
        profiles::removal_preview(self, name).await
    }

    /// Deletes a profile with its keyring entries, certificate files and cache.
    pub async fn delete_profile(&self, name: &str) -> Result<ProfileView, ApiError> {
        profiles::delete(self, name).await
    }

    pub async fn profiles(&self) -> Result<Vec<ProfileView>, ApiError> {
        let mut out = Vec::new();
        for row in self.store.profiles().await? {
            out.push(session::profile_view(self, row).await?);
        }
        Ok(out)
    }

    pub async fn profile(&self, name: &str) -> Result<ProfileView, ApiError> {
        let row = self.store.profile(name).await?;
        session::profile_view(self, row).await
    }

    /// The profile as JSON-ready data, without secrets.
    pub async fn export_profile(&self, name: &str) -> Result<ProfileExport, ApiError> {
        profiles::export(self, name).await
    }

    /// The GC commands an edit would set or change, as (which, command): they run on this machine
    /// through `sh -c`, so a front end confirms them with the user first (the window with a native
    /// dialog, not the webview). Empty: nothing to confirm.
    pub async fn gc_commands_to_confirm(
        &self,
        name: &str,
        req: &EditProfileRequest,
    ) -> Result<Vec<(String, String)>, ApiError> {
        let gc = self.store.profile(name).await?.settings.gc;
        let mut out = Vec::new();
        for (what, new, old) in [
            ("GC command", &req.gc_command, &gc.command),
            ("before-GC command", &req.gc_before, &gc.before),
            ("after-GC command", &req.gc_after, &gc.after),
            ("storage command prefix", &req.gc_remote, &gc.remote),
        ] {
            if let Some(n) = new.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                if old.as_deref() != Some(n) {
                    out.push((what.to_string(), n.to_string()));
                }
            }
        }
        Ok(out)
    }

    /// Creates a profile from an export (under `name`, else the exported name). GC commands and
    /// `insecure_skip_verify` in the file are dropped (and said so) unless `trust` keeps them.
    pub async fn import_profile(
        &self,
        export: ProfileExport,
        name: Option<String>,
        trust: ImportTrust,
    ) -> Result<ImportReport, ApiError> {
        profiles::import(self, export, name, trust).await
    }

    /// The certificate chain the profile's server presents, leaf first (not verified: to decide).
    pub async fn server_certificates(&self, name: &str) -> Result<Vec<CertificateDetail>, ApiError> {
        profiles::server_chain(self, name).await
    }

    /// Trust on first use: imports the topmost certificate of the server's chain as a CA, or pins
    /// the leaf (`pin`). `sha256`: the fingerprint the user saw, checked against a fresh fetch.
    pub async fn trust_server(&self, name: &str, pin: bool, sha256: Option<&str>) -> Result<TrustResult, ApiError> {
        profiles::trust(self, name, pin, sha256).await
    }

    /// Trusts the token service on another host (`origin`, as the connection test showed it) that
    /// the profile's registry sends the password to.
    pub async fn trust_token_service(&self, name: &str, origin: &str) -> Result<ProfileView, ApiError> {
        profiles::trust_token_service(self, name, origin).await
    }

    /// One profile per registry host in Docker's config.json (default `~/.docker/config.json`),
    /// with credentials (into the keyring) and `/etc/docker/certs.d/<host>/` files.
    pub async fn import_docker_config(&self, path: Option<&Path>) -> Result<DockerImportReport, ApiError> {
        docker_config::import(self, path, false).await
    }

    /// What `import_docker_config` would create, without writing anything or asking a credential helper.
    pub async fn preview_docker_config(&self, path: Option<&Path>) -> Result<DockerImportReport, ApiError> {
        docker_config::import(self, path, true).await
    }

    /// What client machines need for this profile's registry (daemon.json, certs.d, login, podman).
    pub async fn snippets(&self, name: &str) -> Result<Vec<Snippet>, ApiError> {
        snippets::snippets(&self.data_dir, &self.store.profile(name).await?)
    }

    /// Checks that the keyring keeps secrets (write, read back, delete a probe entry).
    pub async fn keyring_self_check(&self) -> Result<(), ApiError> {
        profiles::keyring(&self.secrets, |s| s.self_check()).await
    }

    /// Pings the profile's registry and reports auth, TLS (the chain the server presents), catalog
    /// access and delete capability, with a diagnosis when something fails. Never fails itself for a
    /// registry problem: that is what the report is for.
    pub async fn test_profile(&self, profile: &str) -> Result<ConnectionReport, ApiError> {
        let session = self.session(profile).await?;
        let backend = session.backend();
        // A server profile (Nexus) has no `/v2/` of its own: its checks are the test.
        let mut report = if backend.capabilities().browse {
            inspect::test_connection(profile, session.client()).await
        } else {
            let mut r = ConnectionReport::new(profile, &session.row().url);
            r.ok = true;
            r
        };
        let children = self.store.backend_children(session.id()).await?;
        for c in backend.diagnose().await {
            let fix = c.fix.map(|f| check_fix(session.row(), &children, f));
            if c.fatal && !c.ok {
                report.ok = false;
                if report.error.is_none() {
                    let mut e =
                        ApiError::new(ErrorCode::Registry, c.detail.clone(), c.hint.clone().unwrap_or_default());
                    e.fix = fix.clone();
                    report.error = Some(e);
                }
            }
            report.checks.push(inspect::CheckView {
                name: c.name,
                ok: c.ok,
                detail: c.detail,
                hint: c.hint,
                fix,
                fatal: c.fatal,
            });
        }
        Ok(report)
    }

    /// One image by tag or digest: platforms, layers, config, referrers, sibling tags, raw manifest.
    /// Asks the registry; answers from the cache when the registry cannot be reached.
    pub async fn inspect(&self, profile: &str, repo: &str, reference: &str) -> Result<ImageDetail, ApiError> {
        self.inspect_from(profile, repo, reference, InspectFrom::Registry).await
    }

    /// [`Berth::inspect`], from the cache first when `from` says so (as the last sync saw it: instant,
    /// and offline); the detail says where it came from and when the registry last confirmed it.
    pub async fn inspect_from(
        &self,
        profile: &str,
        repo: &str,
        reference: &str,
        from: InspectFrom,
    ) -> Result<ImageDetail, ApiError> {
        let session = self.session(profile).await?;
        let cx = inspect::InspectCtx {
            client: session.client(),
            store: self.store(),
            profile_id: session.row().id,
            profile,
        };
        inspect::inspect(cx, repo, reference, from).await
    }
}

/// A check's fix as the window's action and the CLI's command.
fn check_fix(
    row: &berth_store::ProfileRow,
    children: &[berth_store::BackendLink],
    fix: berth_backend::CheckFix,
) -> Fix {
    use berth_backend::CheckFix as F;
    let profile = &row.name;
    match fix {
        F::Credentials => Fix {
            action: FixAction::EditProfile { profile: profile.clone(), field: ProfileField::Password },
            command: Some(format!("berth profile edit {profile} --username USER --password-stdin")),
        },
        F::Endpoint { repository } => match children.iter().find(|l| l.repository == repository) {
            Some(l) => Fix {
                action: FixAction::EditProfile { profile: l.profile.clone(), field: ProfileField::Url },
                command: Some(format!("berth profile edit {} --url URL", l.profile)),
            },
            None => Fix {
                action: FixAction::Sync { profile: profile.clone() },
                command: Some(format!("berth nexus discover {profile}")),
            },
        },
        // The hint says where in the server's UI; there is no command for it.
        F::ServerSetting { .. } => Fix { action: FixAction::Command, command: None },
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
