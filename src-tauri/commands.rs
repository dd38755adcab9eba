//! Each command: take state, call berth-core, hand back its view or its `ApiError`. Long jobs report
//! progress as events (`sync-progress`).

use std::time::{Duration, Instant};

use berth_core::{
    AboutView, AddProfileRequest, ApiError, Berth, BlobStoreView, CancellationToken, CertificateDetail,
    ConnectionReport, EditProfileRequest, ErrorCode, HarborArtifactView, HarborPolicyView, HarborProjectView,
    ImageDetail, NexusCleanupView, NexusComponentPage, NexusDiscoveryView, NexusTaskView, ProfileStatusView,
    ProfileView, RepoNode, RepositoryView, SearchResult, ShellVersions, Snippet, SortBy, StorageView, SyncSummaryView,
    TagView, TrustResult,
};
use tauri::{AppHandle, Emitter, State};
use tauri_plugin_dialog::DialogExt;
use tauri_plugin_notification::NotificationExt;

/// End-to-end tests only (debug builds): the path the certificate file picker answers with, instead of
/// opening the native GTK dialog, which WebDriver cannot drive. Everything after the pick (the UI
/// showing the file, the profile importing it) runs as usual. Release builds ignore it.
pub const E2E_PICK_FILE_ENV: &str = "BERTH_E2E_PICK_FILE";

/// A sync that takes longer than this many seconds ends with a system notification
/// (`BERTH_NOTIFY_AFTER_SECS` overrides it).
const NOTIFY_AFTER: Duration = Duration::from_secs(10);

#[tauri::command]
pub async fn list_profiles(berth: State<'_, Berth>) -> Result<Vec<ProfileView>, ApiError> {
    berth.profiles().await
}

#[tauri::command]
pub async fn add_profile(berth: State<'_, Berth>, request: AddProfileRequest) -> Result<ProfileView, ApiError> {
    berth.add_profile(request).await
}

#[tauri::command]
pub async fn edit_profile<R: tauri::Runtime>(
    app: AppHandle<R>,
    berth: State<'_, Berth>,
    profile: String,
    request: EditProfileRequest,
) -> Result<ProfileView, ApiError> {
    // GC commands run on this machine through `sh -c`: confirmed in a native dialog, with the exact
    // commands, before anything is saved (a page could not forge that answer).
    let commands = berth.gc_commands_to_confirm(&profile, &request).await?;
    if !commands.is_empty() && !confirm_commands(&app, &profile, &commands).await {
        return Err(ApiError::new(
            ErrorCode::Cancelled,
            format!("the GC commands of {profile} were not saved"),
            "nothing changed: they are saved only once you confirm them",
        ));
    }
    berth.edit_profile(&profile, request).await
}

/// End-to-end tests only (debug builds): answers to the GC command confirmation (`yes`/`no`, comma
/// separated, one per question), instead of the native dialog WebDriver cannot drive.
pub const E2E_CONFIRM_COMMANDS_ENV: &str = "BERTH_E2E_CONFIRM_COMMANDS";

pub(crate) async fn confirm_commands<R: tauri::Runtime>(
    app: &AppHandle<R>,
    profile: &str,
    commands: &[(String, String)],
) -> bool {
    static ASKED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    if cfg!(debug_assertions) {
        if let Ok(answers) = std::env::var(E2E_CONFIRM_COMMANDS_ENV) {
            let n = ASKED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            return answers.split(',').nth(n).map(str::trim) == Some("yes");
        }
    }
    use tauri_plugin_dialog::{MessageDialogButtons, MessageDialogKind};
    let list: Vec<String> = commands.iter().map(|(what, c)| format!("{what}:\n    {c}")).collect();
    let dialog = app
        .dialog()
        .message(format!(
            "These commands will run on this computer through sh -c when {profile} is garbage-collected:\n\n{}\n\nSave them?",
            list.join("\n")
        ))
        .title("Save GC commands?")
        .kind(MessageDialogKind::Warning)
        .buttons(MessageDialogButtons::OkCancelCustom("Save the commands".into(), "Cancel".into()));
    tauri::async_runtime::spawn_blocking(move || dialog.blocking_show()).await.unwrap_or(false)
}

#[tauri::command]
pub async fn profile_statuses(berth: State<'_, Berth>) -> Result<Vec<ProfileStatusView>, ApiError> {
    berth.profile_statuses().await
}

#[tauri::command]
pub async fn server_certificates(berth: State<'_, Berth>, profile: String) -> Result<Vec<CertificateDetail>, ApiError> {
    berth.server_certificates(&profile).await
}

#[tauri::command]
pub async fn trust_server(
    berth: State<'_, Berth>,
    profile: String,
    pin: bool,
    sha256: Option<String>,
) -> Result<TrustResult, ApiError> {
    berth.trust_server(&profile, pin, sha256.as_deref()).await
}

#[tauri::command]
pub async fn trust_token_service(
    berth: State<'_, Berth>,
    profile: String,
    origin: String,
) -> Result<ProfileView, ApiError> {
    berth.trust_token_service(&profile, &origin).await
}

#[tauri::command]
pub async fn snippets(berth: State<'_, Berth>, profile: String) -> Result<Vec<Snippet>, ApiError> {
    berth.snippets(&profile).await
}

#[tauri::command]
pub async fn storage(berth: State<'_, Berth>, profile: String) -> Result<StorageView, ApiError> {
    berth.storage(&profile).await
}

/// A Harbor profile's projects (those its account sees), with their repository counts and quotas.
#[tauri::command]
pub async fn harbor_projects(berth: State<'_, Berth>, profile: String) -> Result<Vec<HarborProjectView>, ApiError> {
    berth.harbor_projects(&profile).await
}

/// Every artifact of a Harbor repository (tagged or not) with its tags, type, labels, scan overview
/// and accessories.
#[tauri::command]
pub async fn harbor_artifacts(
    berth: State<'_, Berth>,
    profile: String,
    repository: String,
) -> Result<Vec<HarborArtifactView>, ApiError> {
    berth.harbor_artifacts(&profile, &repository).await
}

/// Each Harbor project's own tag immutability rules and tag retention policy.
#[tauri::command]
pub async fn harbor_policies(berth: State<'_, Berth>, profile: String) -> Result<Vec<HarborPolicyView>, ApiError> {
    berth.harbor_policies(&profile).await
}

/// Discovers a Nexus server profile's docker repositories: creates, updates and removes the
/// profiles beneath it.
#[tauri::command]
pub async fn nexus_discover(berth: State<'_, Berth>, profile: String) -> Result<NexusDiscoveryView, ApiError> {
    berth.nexus_discover(&profile).await
}

/// The Nexus server's blob stores (of a server or repository profile).
#[tauri::command]
pub async fn nexus_blob_stores(berth: State<'_, Berth>, profile: String) -> Result<Vec<BlobStoreView>, ApiError> {
    berth.nexus_blob_stores(&profile).await
}

/// One page of a Nexus repository profile's components.
#[tauri::command]
pub async fn nexus_components(
    berth: State<'_, Berth>,
    profile: String,
    token: Option<String>,
) -> Result<NexusComponentPage, ApiError> {
    berth.nexus_components(&profile, token.as_deref()).await
}

/// The Nexus tasks behind GC and cleanup, with their last run.
#[tauri::command]
pub async fn nexus_tasks(berth: State<'_, Berth>, profile: String) -> Result<Vec<NexusTaskView>, ApiError> {
    berth.nexus_tasks(&profile).await
}

/// The Nexus server's docker cleanup policies.
#[tauri::command]
pub async fn nexus_cleanup_policies(berth: State<'_, Berth>, profile: String) -> Result<NexusCleanupView, ApiError> {
    berth.nexus_cleanup_policies(&profile).await
}

/// The certificates in a PEM file, to show before importing it.
#[tauri::command]
pub async fn show_certificate_file(path: String) -> Result<Vec<CertificateDetail>, ApiError> {
    berth_core::show_certificate_file(std::path::Path::new(&path))
}

/// Opens the native file dialog for a PEM certificate file; `None` when the user cancels.
#[tauri::command]
pub async fn pick_certificate_file<R: tauri::Runtime>(app: AppHandle<R>) -> Result<Option<String>, ApiError> {
    let filter = ("PEM certificates", &["pem", "crt", "cer"][..]);
    let picked = crate::profiles::pick_path(&app, "CERTIFICATE", "Import a CA certificate", filter).await?;
    Ok(picked.map(|p| p.to_string_lossy().into_owned()))
}

#[tauri::command]
pub async fn test_profile(berth: State<'_, Berth>, profile: String) -> Result<ConnectionReport, ApiError> {
    berth.test_profile(&profile).await
}

#[tauri::command]
pub async fn list_repositories(berth: State<'_, Berth>, profile: String) -> Result<Vec<RepositoryView>, ApiError> {
    berth.repositories(&profile).await
}

#[tauri::command]
pub async fn repository_tree(berth: State<'_, Berth>, profile: String) -> Result<Vec<RepoNode>, ApiError> {
    Ok(berth_core::repository_tree(&berth.repositories(&profile).await?))
}

/// The names of a repository's cached tags, sorted and filtered as the store sorts (the window pages
/// through them; the rows it shows come from `tags_named`).
#[tauri::command]
pub async fn list_tag_names(
    berth: State<'_, Berth>,
    profile: String,
    repository: String,
    sort: Option<SortBy>,
    filter: Option<String>,
) -> Result<Vec<String>, ApiError> {
    berth.tag_names(&profile, &repository, sort.unwrap_or_default(), filter.as_deref().filter(|f| !f.is_empty())).await
}

#[tauri::command]
pub async fn tags_named(
    berth: State<'_, Berth>,
    profile: String,
    repository: String,
    names: Vec<String>,
) -> Result<Vec<TagView>, ApiError> {
    berth.tags_named(&profile, &repository, &names).await
}

#[tauri::command]
pub async fn search_tags(
    berth: State<'_, Berth>,
    profile: String,
    query: String,
    sort: Option<SortBy>,
    offset: Option<u64>,
    limit: Option<u32>,
) -> Result<SearchResult, ApiError> {
    let limit = limit.unwrap_or(berth_core::defaults::SEARCH_LIMIT);
    berth.search_page(&profile, &query, sort.unwrap_or_default(), offset.unwrap_or(0), limit).await
}

#[tauri::command]
pub async fn inspect_image(
    berth: State<'_, Berth>,
    profile: String,
    repository: String,
    reference: String,
    fresh: Option<bool>,
) -> Result<ImageDetail, ApiError> {
    // The window opens a detail from the cache (instant, offline); `fresh` asks the registry.
    let from = if fresh.unwrap_or(false) { berth_core::InspectFrom::Registry } else { berth_core::InspectFrom::Cache };
    berth.inspect_from(&profile, &repository, &reference, from).await
}

/// Syncs a profile, emitting `sync-progress` events; one sync per profile at a time.
#[tauri::command]
pub async fn sync_profile<R: tauri::Runtime>(
    app: AppHandle<R>,
    berth: State<'_, Berth>,
    profile: String,
    concurrency: Option<usize>,
) -> Result<SyncSummaryView, ApiError> {
    let cancel = CancellationToken::new();
    let progress = |p: &berth_core::SyncProgressView| {
        let _ = app.emit("sync-progress", p);
    };
    let started = Instant::now();
    let concurrency = concurrency.unwrap_or(berth_core::defaults::SYNC_CONCURRENCY);
    let result = berth.sync(&profile, concurrency, &cancel, &progress).await;
    if started.elapsed() >= notify_after() {
        notify_sync_end(&app, &profile, &result);
    }
    result
}

fn notify_after() -> Duration {
    std::env::var("BERTH_NOTIFY_AFTER_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(NOTIFY_AFTER)
}

/// Tells the desktop a long sync ended (the user has likely switched to another window).
fn notify_sync_end<R: tauri::Runtime>(app: &AppHandle<R>, profile: &str, result: &Result<SyncSummaryView, ApiError>) {
    let (title, body) = match result {
        Ok(s) => (
            format!("{profile} synced"),
            format!("{} repositories, {} tags in {:.0} s", s.repositories, s.tags, s.seconds),
        ),
        Err(e) if e.code == ErrorCode::Cancelled => (format!("{profile}: sync cancelled"), e.hint.clone()),
        Err(e) => (format!("{profile}: sync failed"), e.message.clone()),
    };
    // The notification server reads the body as markup and the server's error text comes from the
    // network: plain text only, control characters out.
    let (title, body) = (plain_text(&title), plain_text(&body));
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::warn!("cannot show the sync notification: {e}");
    }
}

/// Text safe for a desktop notification: markup characters escaped, control characters dropped,
/// at most 300 characters.
fn plain_text(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().filter(|c| !c.is_control()).take(300) {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

#[tauri::command]
pub fn cancel_sync(berth: State<'_, Berth>, profile: String) -> bool {
    berth.cancel_job(&profile, Some(berth_core::JobKind::Sync))
}

/// The system's message language (e.g. `zh_CN.UTF-8`): the window follows it unless the user chose one.
#[tauri::command]
pub fn system_locale() -> Option<String> {
    berth_core::system_locale()
}

/// Versions (app, Tauri, WebKitGTK) and paths (data, database, logs) for the About dialog.
#[tauri::command]
pub fn about(berth: State<'_, Berth>) -> Result<AboutView, ApiError> {
    berth.about(ShellVersions { tauri: Some(tauri::VERSION.into()), webview: tauri::webview_version().ok() })
}
