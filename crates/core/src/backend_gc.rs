//! GC for Harbor and Nexus, through their own APIs (they have no `registry garbage-collect` to run):
//! Harbor's GC job (run, poll, log, stop), Nexus's "Docker - Delete unused manifests and images" then
//! "Admin - Compact blob store" tasks with the blob stores' size before and after. Both end with the
//! same check as registry:2: a sync (every kept tag still resolves) and the predicted blobs gone.

use std::time::{Duration, Instant};

use berth_harbor::GcParameters;
use berth_nexus::{TASK_COMPACT, TASK_DOCKER_GC};
use berth_store::GcOutcome;
use berth_workflows::{GcReport, RegistryGcCounts};
use tokio_util::sync::CancellationToken;

use crate::backends::{api_error, harbor_client, nexus_client};
use crate::{ApiError, Berth, ErrorCode};

const JOB_TIMEOUT: Duration = Duration::from_secs(30 * 60);

pub const HARBOR_WINDOW_NOTE: &str = "Harbor's GC keeps blobs uploaded in the last 2 hours (its time window, \
     so a push in progress is never collected): a run right after a delete can free nothing. Run it again later.";

impl Berth {
    /// The check after a backend GC: sync (every tag must resolve), then each predicted blob must be gone.
    async fn verify_backend_gc(&self, profile: &str, predicted: &berth_workflows::GcPrediction) -> Vec<String> {
        let mut problems = Vec::new();
        match self.sync(profile, 16, &CancellationToken::new(), &|_| {}).await {
            Ok(s) if s.errors > 0 => {
                problems.push(format!("{} tag(s) no longer resolve: {}", s.errors, s.error_samples.join("; ")))
            }
            Ok(_) => {}
            Err(e) => problems.push(format!("the check's sync failed: {}", e.message)),
        }
        if let (Ok(row), Ok(client)) = (self.store().profile(profile).await, self.client(profile).await) {
            let entries = self.store().trashed_entry_blobs(row.id).await.unwrap_or_default();
            for b in &predicted.blobs {
                let repo =
                    entries.iter().find(|(_, _, bs)| bs.iter().any(|(d, _)| *d == b.digest)).map(|e| e.1.clone());
                let (Some(repo), Some(d)) = (repo, berth_registry::Digest::parse(&b.digest)) else { continue };
                if let Ok(Some(_)) = client.head_blob(&repo, &d).await {
                    problems.push(format!("predicted blob {} is still there ({repo})", b.digest));
                }
            }
        }
        problems
    }

    /// Harbor GC through its API: run now (dry run, delete untagged, workers), the job's log streamed,
    /// stop on cancel; then the check. Kept in the GC history with Harbor's own freed-space figure.
    pub async fn harbor_gc(
        &self,
        profile: &str,
        params: &GcParameters,
        log: &(dyn Fn(&str) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<GcReport, ApiError> {
        let started = Instant::now();
        let row = self.store().profile(profile).await?;
        let harbor = harbor_client(self, profile).await?;
        let prediction = self.gc_pending(profile).await?;
        let run_id = self.store().start_gc_run(row.id, params.dry_run).await?;
        let fail = |message: String, log_text: String| async move {
            let o = GcOutcome {
                status: "failed".into(),
                message: Some(message.clone()),
                log: log_text,
                ..Default::default()
            };
            self.store().finish_gc_run(run_id, &o).await?;
            Err::<GcReport, ApiError>(ApiError::new(
                ErrorCode::Registry,
                message,
                "see the GC history for Harbor's log",
            ))
        };
        let job = match harbor.run_gc(params).await {
            Ok(id) => id,
            Err(e) => {
                let e = api_error(e);
                return fail(format!("Harbor refused to start GC: {}", e.message), e.hint).await;
            }
        };
        log(&format!(
            "Harbor GC job {job} started (dry run: {}, delete untagged: {})",
            params.dry_run, params.delete_untagged
        ));
        let mut seen = 0usize;
        let mut text = String::new();
        let finished = loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if let Ok(l) = harbor.gc_log(job).await {
                if l.len() > seen {
                    for line in l[seen..].lines() {
                        log(line);
                    }
                    seen = l.len();
                    text = l;
                }
            }
            let run = harbor.gc_run(job).await.map_err(api_error)?;
            match run.job_status.as_str() {
                "Success" | "Error" | "Stopped" => break run,
                _ if cancel.is_cancelled() => {
                    let _ = harbor.stop_gc(job).await;
                    log("stop requested");
                }
                _ if started.elapsed() > JOB_TIMEOUT => {
                    let _ = harbor.stop_gc(job).await;
                    return fail(format!("Harbor GC job {job} did not finish in 30 minutes: stopped"), text).await;
                }
                _ => {}
            }
        };
        if finished.job_status != "Success" {
            return fail(format!("Harbor GC job {job} ended {}", finished.job_status), text).await;
        }
        let p = finished.parameters();
        let freed = finished.freed_space().unwrap_or(0);
        let purged_blobs = p.get("purged_blobs").and_then(|v| v.as_u64()).unwrap_or(0);
        let mut report = GcReport {
            id: run_id,
            dry_run: params.dry_run,
            predicted_bytes: prediction.predicted_bytes,
            predicted_blobs: prediction.blobs.len() as u64,
            freed_bytes: if params.dry_run { 0 } else { freed },
            blobs_freed: if params.dry_run { 0 } else { purged_blobs },
            registry: RegistryGcCounts {
                marked: None,
                blobs_eligible: Some(purged_blobs),
                manifests_eligible: p.get("purged_manifests").and_then(|v| v.as_u64()),
                blobs: vec![],
            },
            predicted_not_eligible: vec![],
            verified: None,
            problems: vec![],
            seconds: 0.0,
            notes: prediction.notes.clone(),
        };
        if freed == 0 {
            report.notes.push(HARBOR_WINDOW_NOTE.into());
        }
        if !params.dry_run {
            report.problems = self.verify_backend_gc(profile, &prediction).await;
            report.verified = Some(report.problems.is_empty());
        }
        report.seconds = started.elapsed().as_secs_f64();
        self.store()
            .finish_gc_run(
                run_id,
                &GcOutcome {
                    status: "ok".into(),
                    predicted_bytes: report.predicted_bytes,
                    predicted_blobs: report.predicted_blobs,
                    freed_bytes: report.freed_bytes,
                    blobs_freed: report.blobs_freed,
                    verified: report.verified,
                    message: (!report.problems.is_empty()).then(|| report.problems.join("; ")),
                    log: text,
                },
            )
            .await?;
        Ok(report)
    }

    /// Nexus GC: every "Docker - Delete unused manifests and images" task, then every "Admin - Compact
    /// blob store" task, each polled to the end; freed bytes are the blob stores' size before minus after.
    pub async fn nexus_gc(
        &self,
        profile: &str,
        log: &(dyn Fn(&str) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<GcReport, ApiError> {
        let started = Instant::now();
        let row = self.store().profile(profile).await?;
        let (nexus, _) = nexus_client(self, profile).await?;
        nexus.status_writable().await.map_err(api_error)?;
        let prediction = self.gc_pending(profile).await?;
        let run_id = self.store().start_gc_run(row.id, false).await?;
        let size = |stores: Vec<berth_nexus::BlobStore>| stores.iter().map(|b| b.total_size_in_bytes).sum::<u64>();
        let before = size(nexus.blob_stores().await.map_err(api_error)?);
        log(&format!("blob stores: {before} bytes before"));
        let mut text = format!("blob stores before: {before} bytes\n");
        for kind in [TASK_DOCKER_GC, TASK_COMPACT] {
            let tasks = nexus.tasks(Some(kind)).await.map_err(api_error)?;
            if tasks.is_empty() {
                let message = format!("Nexus has no {kind} task");
                let o = GcOutcome {
                    status: "failed".into(),
                    message: Some(message.clone()),
                    log: text,
                    ..Default::default()
                };
                self.store().finish_gc_run(run_id, &o).await?;
                return Err(ApiError::new(
                    ErrorCode::NotFound,
                    message,
                    "create it in Nexus (Administration → System → Tasks: \"Docker - Delete unused manifests and images\" and \"Admin - Compact blob store\")",
                ));
            }
            for t in tasks {
                if cancel.is_cancelled() {
                    return Err(ApiError::new(ErrorCode::Cancelled, "GC cancelled", "tasks already run have finished"));
                }
                log(&format!("running task {} ({})", t.name, t.id));
                nexus.run_task(&t.id).await.map_err(api_error)?;
                let done = nexus.wait_task(&t.id, JOB_TIMEOUT).await.map_err(api_error)?;
                let line = format!("task {}: {}", t.name, done.last_run_result.as_deref().unwrap_or("?"));
                log(&line);
                text.push_str(&line);
                text.push('\n');
                if done.last_run_result.as_deref() != Some("OK") {
                    let o = GcOutcome {
                        status: "failed".into(),
                        message: Some(line.clone()),
                        log: text,
                        ..Default::default()
                    };
                    self.store().finish_gc_run(run_id, &o).await?;
                    return Err(ApiError::new(ErrorCode::Registry, line, "see the task's log in Nexus"));
                }
            }
        }
        let after = size(nexus.blob_stores().await.map_err(api_error)?);
        let line = format!("blob stores after: {after} bytes");
        log(&line);
        text.push_str(&line);
        let problems = self.verify_backend_gc(profile, &prediction).await;
        let report = GcReport {
            id: run_id,
            dry_run: false,
            predicted_bytes: prediction.predicted_bytes,
            predicted_blobs: prediction.blobs.len() as u64,
            freed_bytes: before.saturating_sub(after),
            blobs_freed: 0,
            registry: RegistryGcCounts::default(),
            predicted_not_eligible: vec![],
            verified: Some(problems.is_empty()),
            problems,
            seconds: started.elapsed().as_secs_f64(),
            notes: vec![
                "Nexus reports blob store sizes, not blob lists: freed bytes are the size before minus after".into()
            ],
        };
        self.store()
            .finish_gc_run(
                run_id,
                &GcOutcome {
                    status: "ok".into(),
                    predicted_bytes: report.predicted_bytes,
                    predicted_blobs: report.predicted_blobs,
                    freed_bytes: report.freed_bytes,
                    blobs_freed: 0,
                    verified: report.verified,
                    message: (!report.problems.is_empty()).then(|| report.problems.join("; ")),
                    log: text,
                },
            )
            .await?;
        Ok(report)
    }
}
