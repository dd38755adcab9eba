//! Commands for safe deletes, the trash, the audit log and GC: each calls berth-core; long jobs report
//! progress as events (`delete-progress`, `gc-log`) and can be cancelled per profile.

use berth_core::{
    ApiError, AuditView, Berth, CancellationToken, DeletePlan, DeleteReport, GcLogLine, GcPrediction, GcReport,
    GcRequest, GcRunView, JobKind, PlanOptions, RestoreReport, RetentionPlan, RetentionPolicy, Selection, TrashView,
    UntaggedView,
};
use tauri::{AppHandle, Emitter, Runtime, State};

#[tauri::command]
pub async fn plan_delete(
    berth: State<'_, Berth>,
    profile: String,
    selections: Vec<Selection>,
    options: Option<PlanOptions>,
) -> Result<DeletePlan, ApiError> {
    berth.plan_delete(&profile, &selections, options.unwrap_or_default(), &CancellationToken::new()).await
}

/// Untagged manifests of a repository (or of every repository); `check`: HEAD each on the registry first.
#[tauri::command]
pub async fn untagged_manifests(
    berth: State<'_, Berth>,
    profile: String,
    repository: Option<String>,
    check: Option<bool>,
) -> Result<UntaggedView, ApiError> {
    berth.untagged(&profile, repository.as_deref(), check.unwrap_or(false)).await
}

/// The plan that deletes a whole repository (every tag and untagged manifest).
#[tauri::command]
pub async fn plan_delete_repository(
    berth: State<'_, Berth>,
    profile: String,
    repository: String,
) -> Result<DeletePlan, ApiError> {
    berth.plan_delete_repository(&profile, &repository, &CancellationToken::new()).await
}

#[tauri::command]
pub async fn execute_delete<R: Runtime>(
    app: AppHandle<R>,
    berth: State<'_, Berth>,
    profile: String,
    plan: DeletePlan,
    typed: Option<String>,
) -> Result<DeleteReport, ApiError> {
    let progress = |p: &berth_core::DeleteProgress| {
        let _ = app.emit("delete-progress", p);
    };
    berth.execute_delete_confirmed(&profile, &plan, typed.as_deref(), &CancellationToken::new(), &progress).await
}

#[tauri::command]
pub async fn cancel_delete(berth: State<'_, Berth>, profile: String) -> Result<bool, ApiError> {
    Ok(berth.cancel_job(&profile, Some(JobKind::Delete)))
}

#[tauri::command]
pub async fn plan_retention(
    berth: State<'_, Berth>,
    profile: String,
    policy: RetentionPolicy,
) -> Result<RetentionPlan, ApiError> {
    berth.plan_retention(&profile, &policy, &CancellationToken::new()).await
}

#[tauri::command]
pub async fn list_trash(
    berth: State<'_, Berth>,
    profile: String,
    all: Option<bool>,
) -> Result<Vec<TrashView>, ApiError> {
    berth.trash(&profile, all.unwrap_or(false)).await
}

#[tauri::command]
pub async fn restore_trash(berth: State<'_, Berth>, profile: String, id: i64) -> Result<RestoreReport, ApiError> {
    berth.restore(&profile, id).await
}

#[tauri::command]
pub async fn audit_log(
    berth: State<'_, Berth>,
    profile: String,
    limit: Option<u32>,
) -> Result<Vec<AuditView>, ApiError> {
    berth.audit(&profile, limit.unwrap_or(berth_core::defaults::AUDIT_LIMIT)).await
}

#[tauri::command]
pub async fn gc_pending(berth: State<'_, Berth>, profile: String) -> Result<GcPrediction, ApiError> {
    berth.gc_pending(&profile).await
}

#[tauri::command]
pub async fn gc_history(berth: State<'_, Berth>, profile: String) -> Result<Vec<GcRunView>, ApiError> {
    berth.gc_history(&profile, true).await
}

/// Runs the after command an interrupted GC run owes; `null`: none owed; else whether it succeeded.
#[tauri::command]
pub async fn gc_run_after<R: Runtime>(
    app: AppHandle<R>,
    berth: State<'_, Berth>,
    profile: String,
) -> Result<Option<bool>, ApiError> {
    let log = gc_log(&app, &profile);
    berth.gc_run_after(&profile, &log).await
}

/// The server's own GC history and schedule (Harbor), with its time window now.
#[tauri::command]
pub async fn server_gc(berth: State<'_, Berth>, profile: String) -> Result<berth_core::ServerGcView, ApiError> {
    berth.server_gc(&profile).await
}

/// `dry_run: true`: the registry's dry run beside Berth's prediction; else the real run and its check.
#[tauri::command]
pub async fn run_gc<R: Runtime>(
    app: AppHandle<R>,
    berth: State<'_, Berth>,
    profile: String,
    dry_run: bool,
    request: Option<GcRequest>,
) -> Result<GcReport, ApiError> {
    let log = gc_log(&app, &profile);
    let request = GcRequest { dry_run, ..request.unwrap_or_default() };
    berth.gc(&profile, &request, &log, &CancellationToken::new()).await
}

/// Lists the storage's manifest revisions (the profile's storage root) and caches the untagged
/// manifests no sync saw tagged.
#[tauri::command]
pub async fn scan_storage_untagged(
    berth: State<'_, Berth>,
    profile: String,
) -> Result<berth_core::StorageScanView, ApiError> {
    berth.scan_storage_untagged(&profile, &CancellationToken::new()).await
}

/// Repositories with no tag left and the commands that would remove their folders (the profile's
/// storage settings), shown before anything runs.
#[tauri::command]
pub async fn empty_repositories(
    berth: State<'_, Berth>,
    profile: String,
) -> Result<berth_core::EmptyRepositories, ApiError> {
    berth.empty_repositories(&profile, None, None).await
}

/// Removes those folders between the profile's GC before and after commands, logging as `gc-log`.
#[tauri::command]
pub async fn remove_empty_repositories<R: Runtime>(
    app: AppHandle<R>,
    berth: State<'_, Berth>,
    profile: String,
) -> Result<Vec<String>, ApiError> {
    let log = gc_log(&app, &profile);
    berth.remove_empty_repositories(&profile, None, None, &log, &CancellationToken::new()).await
}

#[tauri::command]
pub async fn cancel_gc(berth: State<'_, Berth>, profile: String) -> Result<bool, ApiError> {
    Ok(berth.cancel_job(&profile, Some(JobKind::Gc)))
}

/// What copying `request` from `source` to `target` would do (the same profile: a retag).
#[tauri::command]
pub async fn plan_copy(
    berth: State<'_, Berth>,
    source: String,
    target: String,
    request: berth_core::CopyRequest,
) -> Result<berth_core::CopyPlan, ApiError> {
    berth.plan_copy(&source, &target, &request, &CancellationToken::new()).await
}

/// Runs a confirmed copy plan; progress as `copy-progress` events.
#[tauri::command]
pub async fn execute_copy<R: Runtime>(
    app: AppHandle<R>,
    berth: State<'_, Berth>,
    plan: berth_core::CopyPlan,
) -> Result<berth_core::CopyReport, ApiError> {
    let progress = |p: &berth_core::CopyProgress| {
        let _ = app.emit("copy-progress", p);
    };
    berth.execute_copy(&plan, &CancellationToken::new(), &progress).await
}

#[tauri::command]
pub async fn cancel_copy(berth: State<'_, Berth>, profile: String) -> Result<bool, ApiError> {
    Ok(berth.cancel_job(&profile, Some(JobKind::Copy)))
}

/// Emits each line of a GC (or storage) command's output as a `gc-log` event for `profile`.
fn gc_log<'a, R: Runtime>(app: &'a AppHandle<R>, profile: &'a str) -> impl Fn(&str) + Send + Sync + 'a {
    move |line: &str| {
        let _ = app.emit("gc-log", GcLogLine { profile: profile.to_string(), line: line.to_string() });
    }
}
