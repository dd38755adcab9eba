//! Commands for safe deletes, the trash, the audit log and GC: each calls berth-core; long jobs report
//! progress as events (`delete-progress`, `gc-log`) and can be cancelled per profile.

use std::collections::HashMap;
use std::sync::Mutex;

use berth_core::{
    ApiError, AuditView, Berth, CancellationToken, DeletePlan, DeleteReport, GcLogLine, GcPrediction, GcReport,
    GcRunView, PlanOptions, RestoreReport, RetentionPlan, RetentionPolicy, Selection, TrashView,
};
use tauri::{AppHandle, Emitter, Runtime, State};

/// Running deletes and GC runs by profile, so the window can cancel them.
#[derive(Default)]
pub struct DeleteJobs {
    running: Mutex<HashMap<String, CancellationToken>>,
}

impl DeleteJobs {
    fn start(&self, key: String) -> CancellationToken {
        let token = CancellationToken::new();
        self.running.lock().expect("jobs lock").insert(key, token.clone());
        token
    }

    fn finish(&self, key: &str) {
        self.running.lock().expect("jobs lock").remove(key);
    }

    fn cancel(&self, key: &str) -> bool {
        match self.running.lock().expect("jobs lock").get(key) {
            Some(t) => {
                t.cancel();
                true
            }
            None => false,
        }
    }
}

#[tauri::command]
pub async fn plan_delete(
    berth: State<'_, Berth>,
    profile: String,
    selections: Vec<Selection>,
    options: Option<PlanOptions>,
) -> Result<DeletePlan, ApiError> {
    berth.plan_delete(&profile, &selections, options.unwrap_or_default(), &CancellationToken::new()).await
}

#[tauri::command]
pub async fn execute_delete<R: Runtime>(
    app: AppHandle<R>,
    berth: State<'_, Berth>,
    jobs: State<'_, DeleteJobs>,
    profile: String,
    plan: DeletePlan,
) -> Result<DeleteReport, ApiError> {
    let key = format!("delete:{profile}");
    let cancel = jobs.start(key.clone());
    let progress = |p: &berth_core::DeleteProgress| {
        let _ = app.emit("delete-progress", p);
    };
    let result = berth.execute_delete(&profile, &plan, &cancel, &progress).await;
    jobs.finish(&key);
    result
}

#[tauri::command]
pub async fn cancel_delete(jobs: State<'_, DeleteJobs>, profile: String) -> Result<bool, ApiError> {
    Ok(jobs.cancel(&format!("delete:{profile}")))
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
    berth.audit(&profile, limit.unwrap_or(500)).await
}

#[tauri::command]
pub async fn gc_pending(berth: State<'_, Berth>, profile: String) -> Result<GcPrediction, ApiError> {
    berth.gc_pending(&profile).await
}

#[tauri::command]
pub async fn gc_history(berth: State<'_, Berth>, profile: String) -> Result<Vec<GcRunView>, ApiError> {
    berth.gc_history(&profile, true).await
}

/// `dry_run: true`: the registry's dry run beside Berth's prediction; else the real run and its check.
#[tauri::command]
pub async fn run_gc<R: Runtime>(
    app: AppHandle<R>,
    berth: State<'_, Berth>,
    jobs: State<'_, DeleteJobs>,
    profile: String,
    dry_run: bool,
) -> Result<GcReport, ApiError> {
    let key = format!("gc:{profile}");
    let cancel = jobs.start(key.clone());
    let log = |line: &str| {
        let _ = app.emit("gc-log", GcLogLine { profile: profile.clone(), line: line.to_string() });
    };
    let result = if dry_run {
        berth.gc_dry_run(&profile, &log, &cancel).await
    } else {
        berth.gc_run(&profile, &log, &cancel).await
    };
    jobs.finish(&key);
    result
}

#[tauri::command]
pub async fn cancel_gc(jobs: State<'_, DeleteJobs>, profile: String) -> Result<bool, ApiError> {
    Ok(jobs.cancel(&format!("gc:{profile}")))
}
