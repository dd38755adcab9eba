//! Safe deletes for both front ends: plans, execution with progress and cancel, retention, the trash
//! and the audit log (the logic lives in berth-workflows; this binds it to profiles and keyring).

use berth_backend::GcRequest;
use berth_workflows::{
    AuditView, DeletePlan, DeleteProgress, DeleteReport, PlanOptions, RestoreReport, RetentionPlan, RetentionPolicy,
    Selection, TrashView, WorkflowError,
};
use tokio_util::sync::CancellationToken;

use crate::{ApiError, Berth, ErrorCode, JobKind};

/// Repositories with no tag left and the commands that remove their folders (shown before they run).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[ts(export)]
pub struct EmptyRepositories {
    pub repositories: Vec<String>,
    /// One per repository, in the same order.
    pub commands: Vec<String>,
    pub storage_root: String,
    pub remote: Option<String>,
}

/// A retention policy saved for a profile.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[ts(export)]
pub struct SavedPolicy {
    #[ts(type = "number")]
    pub id: i64,
    pub policy: RetentionPolicy,
}

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
    /// What deleting these tags (or digests) would do: untags, image deletes with their siblings, index
    /// children, referrers, reclaimable bytes. Refreshes the repositories concerned first; deletes nothing.
    pub async fn plan_delete(
        &self,
        profile: &str,
        selections: &[Selection],
        options: PlanOptions,
        cancel: &CancellationToken,
    ) -> Result<DeletePlan, ApiError> {
        let s = self.session(profile).await?;
        Ok(berth_workflows::plan_delete(s.target(self), selections, options, cancel).await?)
    }

    /// Executes a plan the user confirmed, re-checking each action against the registry first.
    pub async fn execute_delete(
        &self,
        profile: &str,
        plan: &DeletePlan,
        cancel: &CancellationToken,
        progress: &(dyn Fn(&DeleteProgress) + Send + Sync),
    ) -> Result<DeleteReport, ApiError> {
        let job = self.start_job(profile, JobKind::Delete, cancel)?;
        let s = self.session(profile).await?;
        Ok(berth_workflows::execute_plan(s.target(self), plan, job.cancel_token(), progress).await?)
    }

    /// [`Berth::execute_delete`] for a front end that confirms by typing (the window): a plan that
    /// needs a typed phrase ([`DeletePlan::required_phrase`], from the plan's content) runs only
    /// when `typed` is that phrase. The CLI's `--yes` is its own explicit confirmation.
    pub async fn execute_delete_confirmed(
        &self,
        profile: &str,
        plan: &DeletePlan,
        typed: Option<&str>,
        cancel: &CancellationToken,
        progress: &(dyn Fn(&DeleteProgress) + Send + Sync),
    ) -> Result<DeleteReport, ApiError> {
        if let Some(phrase) = plan.required_phrase() {
            if typed.map(str::trim) != Some(phrase.as_str()) {
                return Err(ApiError::new(
                    ErrorCode::InvalidInput,
                    format!(
                        "this delete has {} actions and must be confirmed by typing \"{phrase}\"",
                        plan.action_count()
                    ),
                    format!("type {phrase} in the confirmation field, then delete"),
                ));
            }
        }
        self.execute_delete(profile, plan, cancel, progress).await
    }

    /// A retention policy's dry run: the delete plan and the tags kept, with why.
    pub async fn plan_retention(
        &self,
        profile: &str,
        policy: &RetentionPolicy,
        cancel: &CancellationToken,
    ) -> Result<RetentionPlan, ApiError> {
        let s = self.session(profile).await?;
        Ok(berth_workflows::plan_retention(s.target(self), policy, cancel).await?)
    }

    /// Saves a retention policy for the profile (validated first); `--saved` runs applies them together.
    pub async fn save_retention_policy(
        &self,
        profile: &str,
        policy: &RetentionPolicy,
    ) -> Result<SavedPolicy, ApiError> {
        let row = self.store().profile(profile).await?;
        berth_workflows::select_for_retention(
            &berth_store::ProfileGraph::default(),
            policy,
            time::OffsetDateTime::now_utc(),
        )?;
        let json = serde_json::to_string(policy).expect("policy serializes");
        let id = self.store().save_retention_policy(row.id, &json).await?;
        Ok(SavedPolicy { id, policy: policy.clone() })
    }

    pub async fn retention_policies(&self, profile: &str) -> Result<Vec<SavedPolicy>, ApiError> {
        let row = self.store().profile(profile).await?;
        let mut out = Vec::new();
        for (id, json) in self.store().retention_policies(row.id).await? {
            let policy = serde_json::from_str(&json).map_err(|e| {
                ApiError::new(
                    ErrorCode::Storage,
                    format!("saved policy {id} is unreadable: {e}"),
                    "forget it and save it again",
                )
            })?;
            out.push(SavedPolicy { id, policy });
        }
        Ok(out)
    }

    pub async fn forget_retention_policy(&self, profile: &str, id: i64) -> Result<(), ApiError> {
        let row = self.store().profile(profile).await?;
        if self.store().delete_retention_policy(row.id, id).await? {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::NotFound,
                format!("{profile} has no saved retention policy {id}"),
                "the profile's saved retention policies are listed with their ids",
            )
            .with_fix(crate::FixAction::Command, format!("berth retention {profile} --list")))
        }
    }

    /// The dry run of every saved policy of the profile together.
    pub async fn plan_saved_retention(
        &self,
        profile: &str,
        cancel: &CancellationToken,
    ) -> Result<RetentionPlan, ApiError> {
        let policies: Vec<RetentionPolicy> =
            self.retention_policies(profile).await?.into_iter().map(|p| p.policy).collect();
        let s = self.session(profile).await?;
        Ok(berth_workflows::plan_retention_many(s.target(self), &policies, cancel).await?)
    }

    /// The trash of a profile, newest first (`all`: restored and collected entries too). Offline.
    pub async fn trash(&self, profile: &str, all: bool) -> Result<Vec<TrashView>, ApiError> {
        let row = self.store().profile(profile).await?;
        Ok(berth_workflows::trash(self.store(), row.id, all).await?)
    }

    /// Puts a trash entry back (manifests, then tags), while its blobs exist.
    pub async fn restore(&self, profile: &str, id: i64) -> Result<RestoreReport, ApiError> {
        let _job = self.start_job(profile, JobKind::Restore, &CancellationToken::new())?;
        let s = self.session(profile).await?;
        Ok(berth_workflows::restore(s.target(self), id).await?)
    }

    /// The audit log of a profile, newest first. Offline; kept after the profile is removed.
    pub async fn audit(&self, profile: &str, limit: u32) -> Result<Vec<AuditView>, ApiError> {
        Ok(berth_workflows::audit_log(self.store(), profile, limit).await?)
    }
}

impl Berth {
    /// What GC would free now (syncs the profile first): the trash's blobs nothing tagged uses.
    pub async fn gc_prediction(
        &self,
        profile: &str,
        cancel: &CancellationToken,
    ) -> Result<berth_workflows::GcPrediction, ApiError> {
        let s = self.session(profile).await?;
        Ok(berth_workflows::gc::predict(s.target(self), cancel).await?)
    }

    /// Garbage collection of any backend, one skeleton: a dry run (`request.dry_run`: the server's own
    /// dry run beside Berth's prediction) or a real run (before command, the backend's GC, after
    /// command, then the check that every predicted blob is gone and every kept tag and blob is
    /// intact; trash entries whose blobs are gone marked collected). Kept in the GC history; a real
    /// run in the audit log. One job per profile: refused while another runs.
    pub async fn gc(
        &self,
        profile: &str,
        request: &GcRequest,
        log: &(dyn Fn(&str) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<berth_workflows::GcReport, ApiError> {
        let job = self.start_job(profile, JobKind::Gc, cancel)?;
        let s = self.session(profile).await?;
        let caps = s.backend().capabilities();
        if (request.delete_untagged || request.workers.is_some()) && !caps.gc_parameters {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!("GC on {} takes no parameters (delete untagged, workers)", caps.label),
                "run it without them; on registry 2.x Berth never deletes untagged manifests (distribution #3178: \
                 that deletes the platform images of multi-arch indexes)",
            ));
        }
        if let Some(w) = request.workers.filter(|w| !(1..=10).contains(w)) {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!("{w} GC workers: {} takes 1 to 10", caps.label),
                "choose between 1 and 10 workers",
            ));
        }
        let no_command = s.backend().capabilities().gc_commands && s.row().settings.gc.command.is_none();
        // A Nexus server's tasks collect for every repository it serves: the other profiles on the
        // same server are locked too, and their trash is predicted, verified and marked with this run.
        let mut member_jobs = Vec::new();
        let mut members = Vec::new();
        for name in self.same_server_profiles(s.row()).await? {
            member_jobs.push(self.start_job(&name, JobKind::Gc, cancel)?);
            members.push(self.session(&name).await?);
        }
        let targets: Vec<_> = members.iter().map(|m| m.target(self)).collect();
        let run = berth_workflows::gc::run_over(s.target(self), &targets, request, log, job.cancel_token()).await;
        drop(member_jobs);
        run.map_err(|e| {
            let e = ApiError::from(e);
            if !no_command {
                return e;
            }
            e.edit(
                profile,
                crate::ProfileField::GcCommand,
                format!(
                    "berth profile edit {profile} --gc-command 'ssh admin@host docker exec registry registry \
                     garbage-collect /etc/docker/registry/config.yml' --gc-before '…read-only on…' \
                     --gc-after '…read-only off, restart…'"
                ),
            )
        })
    }

    /// The other profiles a server discovered alongside this one (or beneath it, for the server).
    async fn same_server_profiles(&self, row: &berth_store::ProfileRow) -> Result<Vec<String>, ApiError> {
        let server = match self.store().backend_link(row.id).await? {
            Some(link) => link.parent_id,
            None => Some(row.id),
        };
        let Some(server) = server else { return Ok(Vec::new()) };
        let children = self.store().backend_children(server).await?;
        Ok(children.into_iter().filter(|l| l.profile_id != row.id).map(|l| l.profile).collect())
    }

    /// [`Berth::gc`] as a dry run.
    pub async fn gc_dry_run(
        &self,
        profile: &str,
        log: &(dyn Fn(&str) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<berth_workflows::GcReport, ApiError> {
        self.gc(profile, &GcRequest { dry_run: true, ..GcRequest::default() }, log, cancel).await
    }

    /// [`Berth::gc`] for real, with the backend's default parameters.
    pub async fn gc_run(
        &self,
        profile: &str,
        log: &(dyn Fn(&str) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<berth_workflows::GcReport, ApiError> {
        self.gc(profile, &GcRequest::default(), log, cancel).await
    }

    /// The profile's storage settings with the caller's overrides: the storage root (required, from
    /// `root` or the profile's GC settings) and the remote prefix (`remote`, else the profile's).
    pub(crate) async fn storage_of(
        &self,
        profile: &str,
        root: Option<&str>,
        remote: Option<&str>,
    ) -> Result<(String, Option<String>), ApiError> {
        let gc = self.store().profile(profile).await?.settings.gc;
        let root = root.map(str::to_string).or(gc.storage_root).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidInput,
                format!("{profile} has no storage root: Berth cannot reach the registry's files"),
                "set the profile's storage root (storage.filesystem.rootdirectory) and, for another host, how to run a command there",
            )
            .edit(
                profile,
                crate::ProfileField::GcStorageRoot,
                format!("berth profile edit {profile} --storage-root /var/lib/registry --storage-remote 'ssh admin@host'"),
            )
        })?;
        Ok((root, remote.map(str::to_string).or(gc.remote)))
    }

    /// Repositories with no tag left (2.x lists them forever), and the commands that would remove their
    /// folders from the registry's filesystem storage (`root`/`remote` override the profile's settings).
    pub async fn empty_repositories(
        &self,
        profile: &str,
        root: Option<&str>,
        remote: Option<&str>,
    ) -> Result<EmptyRepositories, ApiError> {
        let (root, remote) = self.storage_of(profile, root, remote).await?;
        let s = self.session(profile).await?;
        let repositories = berth_workflows::gc::empty_repositories(s.target(self)).await?;
        let commands = berth_workflows::gc::empty_repository_commands(&root, &repositories, remote.as_deref())?;
        Ok(EmptyRepositories { repositories, commands, storage_root: root, remote })
    }

    /// Removes empty repositories' folders between the profile's GC before and after commands
    /// (`root`/`remote` override the profile's storage settings); audited.
    pub async fn remove_empty_repositories(
        &self,
        profile: &str,
        root: Option<&str>,
        remote: Option<&str>,
        log: &(dyn Fn(&str) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<Vec<String>, ApiError> {
        let (root, remote) = self.storage_of(profile, root, remote).await?;
        let job = self.start_job(profile, JobKind::Gc, cancel)?;
        let s = self.session(profile).await?;
        let t = s.target(self);
        let removed =
            berth_workflows::gc::remove_empty_repositories(t, &root, remote.as_deref(), log, job.cancel_token()).await;
        let (result, message) = match &removed {
            Ok(r) => ("ok", format!("removed {}", r.join(", "))),
            Err(e) => ("failed", e.to_string()),
        };
        self.store()
            .add_audit(&berth_store::NewAudit {
                profile_id: s.id(),
                profile_name: profile,
                operation: "empty-repositories",
                action: "remove_empty_repositories",
                repository: None,
                target: &root,
                digest: None,
                result,
                message: Some(&message),
            })
            .await?;
        Ok(removed?)
    }

    /// What GC would free, from the cache (offline): the trash's blobs nothing tagged uses.
    pub async fn gc_pending(&self, profile: &str) -> Result<berth_workflows::GcPrediction, ApiError> {
        let row = self.store().profile(profile).await?;
        Ok(berth_workflows::gc::pending(self.store(), row.id).await?)
    }

    /// Runs the after command the profile's newest interrupted GC run owes (Berth stopped between its
    /// before and after commands), under the profile's job lock, logged into the run and the audit log.
    /// `Ok(None)`: no run owes one.
    pub async fn gc_run_after(
        &self,
        profile: &str,
        log: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<Option<bool>, ApiError> {
        let _job = self.start_job(profile, JobKind::Gc, &CancellationToken::new())?;
        let row = self.store().profile(profile).await?;
        let runs = self.store().gc_runs(row.id, false).await?;
        let Some((id, after)) = runs.iter().find_map(|r| r.after_pending.clone().map(|a| (r.id, a))) else {
            return Ok(None);
        };
        let ok = berth_workflows::gc::run_after(self.store(), id, &after, log).await?;
        let message = if ok {
            format!("the after command of interrupted GC run {id} ran: {after}")
        } else {
            format!("the after command of interrupted GC run {id} failed: {after}")
        };
        self.store()
            .add_audit(&berth_store::NewAudit {
                profile_id: row.id,
                profile_name: profile,
                operation: &format!("gc-{id}"),
                action: "gc_after",
                repository: None,
                target: "after command",
                digest: None,
                result: if ok { "ok" } else { "failed" },
                message: Some(&message),
            })
            .await?;
        Ok(Some(ok))
    }

    /// GC runs of a profile, newest first.
    pub async fn gc_history(&self, profile: &str, with_log: bool) -> Result<Vec<berth_workflows::GcRunView>, ApiError> {
        // A run another process left running and no process holds any more is interrupted: say so now
        // (not only at the next start), so that its owed after command is offered.
        self.recover_interrupted().await;
        let row = self.store().profile(profile).await?;
        Ok(berth_workflows::gc::history(self.store(), row.id, with_log).await?)
    }
    /// The server's own GC history and schedule (Harbor's, runs started outside Berth included), with
    /// what its time window means now: a run now collects only blobs pushed before `collects_before`;
    /// a blob pushed now becomes collectable at `collectable_from`.
    pub async fn server_gc(&self, profile: &str) -> Result<ServerGcView, ApiError> {
        let session = self.session(profile).await?;
        let gc = session.backend().server_gc().await.map_err(crate::backends::api_error)?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidInput,
                format!("{profile:?}'s registry keeps no GC history of its own"),
                "Berth's own GC history is in the GC tab",
            )
        })?;
        let now = time::OffsetDateTime::now_utc();
        let window = gc.time_window_hours.unwrap_or(0);
        let fmt = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).ok();
        Ok(ServerGcView {
            runs: gc
                .runs
                .into_iter()
                .map(|r| ServerGcRunView {
                    id: r.id,
                    trigger: r.trigger,
                    status: r.status,
                    created: r.created,
                    updated: r.updated,
                    dry_run: r.dry_run,
                    delete_untagged: r.delete_untagged,
                    workers: r.workers,
                    freed_bytes: r.freed_bytes,
                    blobs_deleted: r.blobs_deleted,
                    manifests_deleted: r.manifests_deleted,
                })
                .collect(),
            schedule: gc.schedule,
            time_window_hours: gc.time_window_hours,
            collects_before: fmt(now - time::Duration::hours(window)),
            collectable_from: fmt(now + time::Duration::hours(window)),
        })
    }
}

/// One run of the server's own GC.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[ts(export)]
pub struct ServerGcRunView {
    #[ts(type = "number")]
    pub id: i64,
    /// `MANUAL`, `SCHEDULE`, `EVENT`.
    pub trigger: String,
    pub status: String,
    pub created: Option<String>,
    pub updated: Option<String>,
    pub dry_run: bool,
    pub delete_untagged: bool,
    pub workers: Option<u32>,
    #[ts(type = "number | null")]
    pub freed_bytes: Option<u64>,
    #[ts(type = "number | null")]
    pub blobs_deleted: Option<u64>,
    #[ts(type = "number | null")]
    pub manifests_deleted: Option<u64>,
}

/// The server's GC history, schedule and time window.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[ts(export)]
pub struct ServerGcView {
    pub runs: Vec<ServerGcRunView>,
    pub schedule: Option<String>,
    #[ts(type = "number | null")]
    pub time_window_hours: Option<i64>,
    /// A run now collects only blobs last pushed before this time (now minus the window).
    pub collects_before: Option<String>,
    /// A blob pushed now becomes collectable at this time (now plus the window).
    pub collectable_from: Option<String>,
}
