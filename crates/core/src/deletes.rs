//! Safe deletes for both front ends: plans, execution with progress and cancel, retention, the trash
//! and the audit log (the logic lives in berth-workflows; this binds it to profiles and keyring).

use berth_workflows::{
    AuditView, DeletePlan, DeleteProgress, DeleteReport, PlanOptions, RestoreReport, RetentionPlan, RetentionPolicy,
    Selection, Target, TrashView, WorkflowError,
};
use tokio_util::sync::CancellationToken;

use crate::{ApiError, Berth, ErrorCode};

/// One line of a running GC's log (the window's `gc-log` event).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[ts(export)]
pub struct GcLogLine {
    pub profile: String,
    pub line: String,
}

impl From<WorkflowError> for ApiError {
    fn from(e: WorkflowError) -> Self {
        let hint = e.hint();
        match e {
            WorkflowError::Registry(e) => e.into(),
            WorkflowError::Store(e) => e.into(),
            WorkflowError::Invalid { message, .. } => ApiError::new(ErrorCode::InvalidInput, message, hint),
            WorkflowError::NotRestorable { message, .. } => ApiError::new(ErrorCode::NotFound, message, hint),
            WorkflowError::Cancelled => ApiError::new(ErrorCode::Cancelled, "cancelled", hint),
        }
    }
}

impl Berth {
    /// The profile's id and registry client (credentials from the keyring).
    async fn profile_client(&self, profile: &str) -> Result<(i64, berth_registry::RegistryClient), ApiError> {
        let row = self.store().profile(profile).await?;
        Ok((row.id, self.client(profile).await?))
    }

    /// What deleting these tags (or digests) would do: untags, image deletes with their siblings, index
    /// children, referrers, reclaimable bytes. Refreshes the repositories concerned first; deletes nothing.
    pub async fn plan_delete(
        &self,
        profile: &str,
        selections: &[Selection],
        options: PlanOptions,
        cancel: &CancellationToken,
    ) -> Result<DeletePlan, ApiError> {
        let (id, client) = self.profile_client(profile).await?;
        let t = Target { store: self.store(), profile_id: id, profile, client: &client };
        Ok(berth_workflows::plan_delete(t, selections, options, cancel).await?)
    }

    /// Executes a plan the user confirmed, re-checking each action against the registry first.
    pub async fn execute_delete(
        &self,
        profile: &str,
        plan: &DeletePlan,
        cancel: &CancellationToken,
        progress: &(dyn Fn(&DeleteProgress) + Send + Sync),
    ) -> Result<DeleteReport, ApiError> {
        let (id, client) = self.profile_client(profile).await?;
        let t = Target { store: self.store(), profile_id: id, profile, client: &client };
        Ok(berth_workflows::execute_plan(t, plan, cancel, progress).await?)
    }

    /// A retention policy's dry run: the delete plan and the tags kept, with why.
    pub async fn plan_retention(
        &self,
        profile: &str,
        policy: &RetentionPolicy,
        cancel: &CancellationToken,
    ) -> Result<RetentionPlan, ApiError> {
        let (id, client) = self.profile_client(profile).await?;
        let t = Target { store: self.store(), profile_id: id, profile, client: &client };
        Ok(berth_workflows::plan_retention(t, policy, cancel).await?)
    }

    /// The trash of a profile, newest first (`all`: restored and collected entries too). Offline.
    pub async fn trash(&self, profile: &str, all: bool) -> Result<Vec<TrashView>, ApiError> {
        let row = self.store().profile(profile).await?;
        Ok(berth_workflows::trash(self.store(), row.id, all).await?)
    }

    /// Puts a trash entry back (manifests, then tags), while its blobs exist.
    pub async fn restore(&self, profile: &str, id: i64) -> Result<RestoreReport, ApiError> {
        let (profile_id, client) = self.profile_client(profile).await?;
        let t = Target { store: self.store(), profile_id, profile, client: &client };
        Ok(berth_workflows::restore(t, id).await?)
    }

    /// The audit log of a profile, newest first. Offline; kept after the profile is removed.
    pub async fn audit(&self, profile: &str, limit: u32) -> Result<Vec<AuditView>, ApiError> {
        Ok(berth_workflows::audit_log(self.store(), profile, limit).await?)
    }
}

impl Berth {
    async fn gc_target(
        &self,
        profile: &str,
    ) -> Result<(berth_store::ProfileRow, berth_workflows::GcCommands), ApiError> {
        let row = self.store().profile(profile).await?;
        let Some(command) = row.settings.gc.command.clone() else {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!("{profile} has no GC command: garbage collection cannot run over HTTP on registry:2"),
                format!(
                    "tell Berth how to run it where the registry lives, e.g. `berth profile edit {profile} --gc-command \
                     'ssh admin@host docker exec registry registry garbage-collect /etc/docker/registry/config.yml' \
                     --gc-before '…read-only on…' --gc-after '…read-only off, restart…'`"
                ),
            ));
        };
        let cmds = berth_workflows::GcCommands {
            command,
            before: row.settings.gc.before.clone(),
            after: row.settings.gc.after.clone(),
        };
        Ok((row, cmds))
    }

    /// What GC would free now (syncs the profile first): the trash's blobs nothing tagged uses.
    pub async fn gc_prediction(
        &self,
        profile: &str,
        cancel: &CancellationToken,
    ) -> Result<berth_workflows::GcPrediction, ApiError> {
        let (id, client) = self.profile_client(profile).await?;
        let t = Target { store: self.store(), profile_id: id, profile, client: &client };
        Ok(berth_workflows::gc::predict(t, cancel).await?)
    }

    /// Berth's prediction beside the registry's own `garbage-collect --dry-run`. Changes nothing.
    pub async fn gc_dry_run(
        &self,
        profile: &str,
        log: &(dyn Fn(&str) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<berth_workflows::GcReport, ApiError> {
        let (row, cmds) = self.gc_target(profile).await?;
        let client = self.client(profile).await?;
        let t = Target { store: self.store(), profile_id: row.id, profile, client: &client };
        Ok(berth_workflows::gc::dry_run(t, &cmds, log, cancel).await?)
    }

    /// Runs GC (before command, GC, after command), streams its log, then verifies that every predicted
    /// blob is gone and every kept tag and blob is intact. Kept in the GC history.
    pub async fn gc_run(
        &self,
        profile: &str,
        log: &(dyn Fn(&str) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<berth_workflows::GcReport, ApiError> {
        let (row, cmds) = self.gc_target(profile).await?;
        let client = self.client(profile).await?;
        let t = Target { store: self.store(), profile_id: row.id, profile, client: &client };
        let operation = format!("gc-{}", row.id);
        let result = berth_workflows::gc::run(t, &cmds, log, cancel).await;
        let (res, msg) = match &result {
            Ok(r) => (
                if r.verified == Some(true) { "ok" } else { "failed" },
                format!("freed {} blobs ({} bytes; predicted {})", r.blobs_freed, r.freed_bytes, r.predicted_bytes),
            ),
            Err(e) => ("failed", e.to_string()),
        };
        self.store()
            .add_audit(&berth_store::NewAudit {
                profile_id: row.id,
                profile_name: profile,
                operation: &operation,
                action: "gc",
                repository: None,
                target: &cmds.command,
                digest: None,
                result: res,
                message: Some(&msg),
            })
            .await?;
        Ok(result?)
    }

    /// What GC would free, from the cache (offline): the trash's blobs nothing tagged uses.
    pub async fn gc_pending(&self, profile: &str) -> Result<berth_workflows::GcPrediction, ApiError> {
        let row = self.store().profile(profile).await?;
        Ok(berth_workflows::gc::pending(self.store(), row.id).await?)
    }

    /// GC runs of a profile, newest first.
    pub async fn gc_history(&self, profile: &str, with_log: bool) -> Result<Vec<berth_workflows::GcRunView>, ApiError> {
        let row = self.store().profile(profile).await?;
        Ok(berth_workflows::gc::history(self.store(), row.id, with_log).await?)
    }
}
