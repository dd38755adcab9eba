//! Safe deletes for both front ends: plans, execution with progress and cancel, retention, the trash
//! and the audit log (the logic lives in berth-workflows; this binds it to profiles and keyring).

use berth_workflows::{
    AuditView, BoxFuture, DeletePlan, DeleteProgress, DeleteReport, PlanOptions, RestoreReport, RetentionPlan,
    RetentionPolicy, Selection, TagRemover, Target, TrashView, WorkflowError,
};
use tokio_util::sync::CancellationToken;

use crate::{ApiError, Berth, ErrorCode};

/// Harbor: `DELETE …/artifacts/{ref}/tags/{tag}` removes the tag and keeps the artifact.
struct HarborTags(berth_harbor::HarborClient);

impl TagRemover for HarborTags {
    fn remove_tag<'a>(&'a self, repo: &'a str, tag: &'a str) -> BoxFuture<'a, Result<String, berth_registry::Error>> {
        Box::pin(async move { self.0.delete_tag(repo, tag).await.map(|()| "harbor tag API".to_string()) })
    }
}

/// Nexus: a docker component is one image tag; deleting it removes the tag (a `/v2` delete leaves it on 3.89+).
struct NexusTags {
    client: berth_nexus::NexusClient,
    repository: String,
}

impl TagRemover for NexusTags {
    fn remove_tag<'a>(&'a self, repo: &'a str, tag: &'a str) -> BoxFuture<'a, Result<String, berth_registry::Error>> {
        Box::pin(async move {
            self.client.status_writable().await?;
            match self.client.find_component(&self.repository, repo, tag).await? {
                Some(c) => self.client.delete_component(&c.id).await.map(|()| "nexus components API".to_string()),
                None => Err(berth_registry::Error::new(
                    berth_registry::ErrorKind::NotFound,
                    format!("{repo}:{tag} is not in Nexus repository {}", self.repository),
                    "sync the profile: someone may have deleted it already",
                )),
            }
        })
    }
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
        let t = Target { store: self.store(), profile_id: id, profile, client: &client, untagger: None };
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
        // Harbor and Nexus remove a tag through their own APIs (no dummy manifest pushed into them).
        let backend: Option<Box<dyn TagRemover>> = match self.store().profile(profile).await?.kind {
            berth_store::ProfileKind::Harbor => {
                Some(Box::new(HarborTags(crate::backends::harbor_client(self, profile).await?)))
            }
            berth_store::ProfileKind::Nexus => match crate::backends::nexus_client(self, profile).await? {
                (client, Some(repository)) => Some(Box::new(NexusTags { client, repository })),
                (_, None) => None,
            },
            _ => None,
        };
        let t = Target { store: self.store(), profile_id: id, profile, client: &client, untagger: backend.as_deref() };
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
        let t = Target { store: self.store(), profile_id: id, profile, client: &client, untagger: None };
        Ok(berth_workflows::plan_retention(t, policy, cancel).await?)
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
                format!("list them with `berth retention {profile} --list`"),
            ))
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
        let (profile_id, client) = self.profile_client(profile).await?;
        let t = Target { store: self.store(), profile_id, profile, client: &client, untagger: None };
        Ok(berth_workflows::plan_retention_many(t, &policies, cancel).await?)
    }

    /// The trash of a profile, newest first (`all`: restored and collected entries too). Offline.
    pub async fn trash(&self, profile: &str, all: bool) -> Result<Vec<TrashView>, ApiError> {
        let row = self.store().profile(profile).await?;
        Ok(berth_workflows::trash(self.store(), row.id, all).await?)
    }

    /// Puts a trash entry back (manifests, then tags), while its blobs exist.
    pub async fn restore(&self, profile: &str, id: i64) -> Result<RestoreReport, ApiError> {
        let (profile_id, client) = self.profile_client(profile).await?;
        let t = Target { store: self.store(), profile_id, profile, client: &client, untagger: None };
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
        let t = Target { store: self.store(), profile_id: id, profile, client: &client, untagger: None };
        Ok(berth_workflows::gc::predict(t, cancel).await?)
    }

    /// Berth's prediction beside the registry's own `garbage-collect --dry-run`. Changes nothing.
    pub async fn gc_dry_run(
        &self,
        profile: &str,
        log: &(dyn Fn(&str) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<berth_workflows::GcReport, ApiError> {
        match self.store().profile(profile).await?.kind {
            berth_store::ProfileKind::Harbor => {
                let params = berth_harbor::GcParameters { dry_run: true, ..Default::default() };
                return self.harbor_gc(profile, &params, log, cancel).await;
            }
            berth_store::ProfileKind::Nexus => {
                return Err(ApiError::new(
                    ErrorCode::InvalidInput,
                    "Nexus has no GC dry run",
                    "the GC page shows what Berth predicts; `berth gc NAME --yes` runs the Nexus tasks",
                ))
            }
            _ => {}
        }
        let (row, cmds) = self.gc_target(profile).await?;
        let client = self.client(profile).await?;
        let t = Target { store: self.store(), profile_id: row.id, profile, client: &client, untagger: None };
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
        let kind = self.store().profile(profile).await?.kind;
        if kind != berth_store::ProfileKind::Registry {
            let row = self.store().profile(profile).await?;
            let result = if kind == berth_store::ProfileKind::Harbor {
                self.harbor_gc(profile, &berth_harbor::GcParameters::default(), log, cancel).await
            } else {
                self.nexus_gc(profile, log, cancel).await
            };
            let (res, msg) = match &result {
                Ok(r) => {
                    (if r.verified == Some(true) { "ok" } else { "failed" }, format!("freed {} bytes", r.freed_bytes))
                }
                Err(e) => ("failed", e.message.clone()),
            };
            self.store()
                .add_audit(&berth_store::NewAudit {
                    profile_id: row.id,
                    profile_name: profile,
                    operation: &format!("gc-{}", row.id),
                    action: "gc",
                    repository: None,
                    target: kind.as_str(),
                    digest: None,
                    result: res,
                    message: Some(&msg),
                })
                .await?;
            return result;
        }
        let (row, cmds) = self.gc_target(profile).await?;
        let client = self.client(profile).await?;
        let t = Target { store: self.store(), profile_id: row.id, profile, client: &client, untagger: None };
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

    /// Repositories with no tag left (2.x lists them forever), and the commands that would remove their
    /// folders from a filesystem-storage registry at `storage_root` (`remote`: e.g. `ssh admin@host`).
    pub async fn empty_repositories(
        &self,
        profile: &str,
        storage_root: &str,
        remote: Option<&str>,
    ) -> Result<(Vec<String>, Vec<String>), ApiError> {
        let (profile_id, client) = self.profile_client(profile).await?;
        let t = Target { store: self.store(), profile_id, profile, client: &client, untagger: None };
        let repos = berth_workflows::gc::empty_repositories(t).await?;
        let cmds = berth_workflows::gc::empty_repository_commands(storage_root, &repos, remote)?;
        Ok((repos, cmds))
    }

    /// Removes empty repositories' folders between the profile's GC before and after commands.
    pub async fn remove_empty_repositories(
        &self,
        profile: &str,
        storage_root: &str,
        remote: Option<&str>,
        log: &(dyn Fn(&str) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<Vec<String>, ApiError> {
        let (row, cmds) = self.gc_target(profile).await?;
        let client = self.client(profile).await?;
        let t = Target { store: self.store(), profile_id: row.id, profile, client: &client, untagger: None };
        let removed = berth_workflows::gc::remove_empty_repositories(t, &cmds, storage_root, remote, log, cancel).await;
        let (result, message) = match &removed {
            Ok(r) => ("ok", format!("removed {}", r.join(", "))),
            Err(e) => ("failed", e.to_string()),
        };
        self.store()
            .add_audit(&berth_store::NewAudit {
                profile_id: row.id,
                profile_name: profile,
                operation: "empty-repositories",
                action: "remove_empty_repositories",
                repository: None,
                target: storage_root,
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

    /// GC runs of a profile, newest first.
    pub async fn gc_history(&self, profile: &str, with_log: bool) -> Result<Vec<berth_workflows::GcRunView>, ApiError> {
        let row = self.store().profile(profile).await?;
        Ok(berth_workflows::gc::history(self.store(), row.id, with_log).await?)
    }
}
