//! Profile management in the window: remove (after its preview), duplicate, export to a file,
//! import a file, and import Docker's config.json with certs.d (after a preview). Files are picked in
//! native dialogs, from Rust; the page only ever sees paths the user chose.

use std::path::{Path, PathBuf};

use berth_core::{
    ApiError, Berth, DockerImportReport, ErrorCode, ImportReport, ImportTrust, ProfileFile, ProfileRemovalView,
    ProfileView,
};
use tauri::{AppHandle, State};
use tauri_plugin_dialog::DialogExt;

use crate::commands::{confirm_commands, E2E_PICK_FILE_ENV};

/// End-to-end tests only (debug builds): the path the save dialog answers with.
pub const E2E_SAVE_FILE_ENV: &str = "BERTH_E2E_SAVE_FILE";

#[tauri::command]
pub async fn profile_removal(berth: State<'_, Berth>, profile: String) -> Result<ProfileRemovalView, ApiError> {
    berth.profile_removal(&profile).await
}

#[tauri::command]
pub async fn delete_profile(berth: State<'_, Berth>, profile: String) -> Result<ProfileView, ApiError> {
    berth.delete_profile(&profile).await
}

#[tauri::command]
pub async fn duplicate_profile(
    berth: State<'_, Berth>,
    profile: String,
    new_name: String,
) -> Result<ProfileView, ApiError> {
    berth.duplicate_profile(&profile, &new_name).await
}

/// Asks where to save the profile file, writes it; `None` when the user cancels.
#[tauri::command]
pub async fn export_profile<R: tauri::Runtime>(
    app: AppHandle<R>,
    berth: State<'_, Berth>,
    profile: String,
) -> Result<Option<String>, ApiError> {
    let export = berth.export_profile(&profile).await?;
    let Some(path) = save_path(&app, &format!("{profile}.berth-profile.json")).await? else {
        return Ok(None);
    };
    berth_core::write_profile_export(&export, &path)?;
    Ok(Some(path.to_string_lossy().into_owned()))
}

/// Asks for a profile file and reads it, to show before importing; `None` when the user cancels.
#[tauri::command]
pub async fn pick_profile_file<R: tauri::Runtime>(app: AppHandle<R>) -> Result<Option<ProfileFile>, ApiError> {
    let Some(path) = pick_path(&app, "PROFILE", "Import a Berth profile", ("Berth profiles", &["json"])).await? else {
        return Ok(None);
    };
    let export = berth_core::read_profile_export(&path)?;
    Ok(Some(ProfileFile { path: path.to_string_lossy().into_owned(), export }))
}

/// Imports the profile file at `path` (as picked). GC commands kept from a file run on this machine:
/// confirmed in a native dialog first.
#[tauri::command]
pub async fn import_profile<R: tauri::Runtime>(
    app: AppHandle<R>,
    berth: State<'_, Berth>,
    path: String,
    name: Option<String>,
    trust: ImportTrust,
) -> Result<ImportReport, ApiError> {
    let export = berth_core::read_profile_export(Path::new(&path))?;
    if trust.gc_commands {
        let commands: Vec<(String, String)> = [
            ("GC command", &export.gc.command),
            ("before-GC command", &export.gc.before),
            ("after-GC command", &export.gc.after),
        ]
        .into_iter()
        .filter_map(|(w, c)| c.as_ref().filter(|c| !c.trim().is_empty()).map(|c| (w.to_string(), c.clone())))
        .collect();
        let target = name.clone().unwrap_or_else(|| export.name.clone());
        if !commands.is_empty() && !confirm_commands(&app, &target, &commands).await {
            return Err(ApiError::new(
                ErrorCode::Cancelled,
                format!("{target} was not imported"),
                "import it again, and confirm its GC commands or leave them out",
            ));
        }
    }
    berth.import_profile(export, name.filter(|n| !n.trim().is_empty()), trust).await
}

/// Docker's config.json: the default one (`path` None) or one picked (`pick`). `dry_run`: only what
/// would be created.
#[tauri::command]
pub async fn import_docker_config<R: tauri::Runtime>(
    app: AppHandle<R>,
    berth: State<'_, Berth>,
    path: Option<String>,
    pick: bool,
    dry_run: bool,
) -> Result<Option<DockerImportReport>, ApiError> {
    let path = match (path, pick) {
        (Some(p), _) => Some(PathBuf::from(p)),
        (None, true) => {
            match pick_path(&app, "DOCKER_CONFIG", "Docker's config.json", ("Docker configuration", &["json"])).await? {
                Some(p) => Some(p),
                None => return Ok(None),
            }
        }
        (None, false) => None,
    };
    let r = if dry_run {
        berth.preview_docker_config(path.as_deref()).await?
    } else {
        berth.import_docker_config(path.as_deref()).await?
    };
    Ok(Some(r))
}

/// Opens the native file dialog for a client certificate or key (`what`: `certificate` or `key`).
#[tauri::command]
pub async fn pick_client_file<R: tauri::Runtime>(app: AppHandle<R>, what: String) -> Result<Option<String>, ApiError> {
    let (purpose, title, exts): (&str, &str, &[&str]) = if what == "key" {
        ("CLIENT_KEY", "The client key (PEM)", &["key", "pem"])
    } else {
        ("CLIENT_CERT", "The client certificate (PEM)", &["pem", "crt", "cert", "cer"])
    };
    Ok(pick_path(&app, purpose, title, ("PEM files", exts)).await?.map(|p| p.to_string_lossy().into_owned()))
}

/// The picked file. E2E (debug builds): `BERTH_E2E_PICK_FILE_<PURPOSE>` or `BERTH_E2E_PICK_FILE`
/// answers instead of the GTK dialog.
pub(crate) async fn pick_path<R: tauri::Runtime>(
    app: &AppHandle<R>,
    purpose: &str,
    title: &str,
    filter: (&str, &[&str]),
) -> Result<Option<PathBuf>, ApiError> {
    if let Some(p) = e2e_answer(E2E_PICK_FILE_ENV, purpose) {
        return Ok(Some(p));
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog().file().set_title(title).add_filter(filter.0, filter.1).pick_file(move |f| {
        let _ = tx.send(f);
    });
    local(rx.await.map_err(|_| closed())?)
}

async fn save_path<R: tauri::Runtime>(app: &AppHandle<R>, file_name: &str) -> Result<Option<PathBuf>, ApiError> {
    if let Some(p) = e2e_answer(E2E_SAVE_FILE_ENV, "PROFILE") {
        return Ok(Some(p));
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog().file().set_title("Export the profile").set_file_name(file_name).save_file(move |f| {
        let _ = tx.send(f);
    });
    local(rx.await.map_err(|_| closed())?)
}

fn e2e_answer(env: &str, purpose: &str) -> Option<PathBuf> {
    if !cfg!(debug_assertions) {
        return None;
    }
    let p = std::env::var_os(format!("{env}_{purpose}"))
        .filter(|p| !p.is_empty())
        .or_else(|| std::env::var_os(env).filter(|p| !p.is_empty()))?;
    tracing::warn!("{env} is set: answering the file dialog with {}", PathBuf::from(&p).display());
    Some(PathBuf::from(p))
}

fn closed() -> ApiError {
    ApiError::new(ErrorCode::Internal, "the file dialog closed", "try again")
}

fn local(picked: Option<tauri_plugin_dialog::FilePath>) -> Result<Option<PathBuf>, ApiError> {
    match picked {
        None => Ok(None),
        Some(f) => f.into_path().map(Some).map_err(|e| {
            ApiError::new(ErrorCode::InvalidInput, format!("the file has no local path: {e}"), "choose a local file")
        }),
    }
}
