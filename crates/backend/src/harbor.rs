//! Harbor v2: repositories from the projects API (robots and ordinary users cannot list
//! `/v2/_catalog`), tags removed through the tag API bound to the artifact's digest, GC as Harbor's
//! own job (run, poll, log, stop on cancel).

use std::time::{Duration, Instant};

use berth_harbor::{GcParameters, HarborClient};
use berth_registry::{Error, ErrorKind, RegistryClient};
use tokio_util::sync::CancellationToken;

use crate::{
    tag_digest, Backend, BoxFuture, Capabilities, GcFailed, GcOutput, GcRequest, LogFn, RegistryGcCounts, TagRemoval,
};

const JOB_TIMEOUT: Duration = Duration::from_secs(30 * 60);

pub const HARBOR_WINDOW_NOTE: &str = "Harbor's GC keeps blobs uploaded in the last 2 hours (its time window, \
     so a push in progress is never collected): a run right after a delete can free nothing. Run it again later.";

/// A Harbor profile: its `/v2` client and its REST API client.
pub struct Harbor {
    client: RegistryClient,
    api: HarborClient,
}

impl Harbor {
    pub fn new(client: RegistryClient, api: HarborClient) -> Self {
        Harbor { client, api }
    }

    /// The REST API client (projects, artifacts, quotas).
    pub fn api(&self) -> &HarborClient {
        &self.api
    }

    pub const CAPABILITIES: Capabilities = Capabilities {
        label: "Harbor",
        browse: true,
        untag_without_siblings: true,
        gc_dry_run: true,
        gc_commands: false,
        gc_server_job: true,
        gc_time_window: true,
        gc_lists_blobs: false,
        projects: true,
        tag_immutability: true,
        discovers_repositories: false,
        blob_stores: false,
    };
}

impl Backend for Harbor {
    fn label(&self) -> &'static str {
        Self::CAPABILITIES.label
    }

    fn capabilities(&self) -> Capabilities {
        Self::CAPABILITIES
    }

    fn client(&self) -> &RegistryClient {
        &self.client
    }

    fn repositories(&self) -> BoxFuture<'_, Result<Vec<String>, Error>> {
        Box::pin(async move {
            // A wrong password is "anonymous" to Harbor's project list: say so instead of listing nothing.
            self.api.check_login().await?;
            self.api.all_repositories().await
        })
    }

    /// From the artifacts API (`with_tag=true`, 100 per page): every artifact with its tags.
    fn tag_digests<'a>(&'a self, repo: &'a str) -> BoxFuture<'a, Result<Option<Vec<(String, String)>>, Error>> {
        Box::pin(async move {
            let mut out: Vec<(String, String)> = Vec::new();
            for a in self.api.artifacts(repo, None).await? {
                out.extend(a.tag_names().into_iter().map(|t| (t, a.digest.clone())));
            }
            out.sort();
            Ok(Some(out))
        })
    }

    fn remove_tag<'a>(
        &'a self,
        repo: &'a str,
        tag: &'a str,
        digest: &'a str,
    ) -> BoxFuture<'a, Result<TagRemoval, Error>> {
        Box::pin(async move {
            match self.api.delete_tag_of(repo, digest, tag).await {
                Ok(()) => Ok(TagRemoval::Removed("harbor tag API".into())),
                Err(e) if e.kind == ErrorKind::NotFound => match tag_digest(&self.client, repo, tag).await? {
                    None => Ok(TagRemoval::Gone),
                    Some(now) if now != digest => Ok(TagRemoval::Moved(now)),
                    Some(_) => Err(e),
                },
                Err(e) => Err(e),
            }
        })
    }

    fn gc_check<'a>(&'a self, _req: &'a GcRequest) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move { self.api.check_login().await.map(|_| ()) })
    }

    fn gc<'a>(
        &'a self,
        req: &'a GcRequest,
        log: &'a LogFn<'a>,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<GcOutput, GcFailed>> {
        Box::pin(async move {
            let started = Instant::now();
            let defaults = GcParameters::default();
            let params = GcParameters {
                dry_run: req.dry_run,
                delete_untagged: req.delete_untagged,
                workers: req.workers.unwrap_or(defaults.workers).clamp(1, 5),
            };
            let job = self.api.run_gc(&params).await.map_err(|e| GcFailed {
                log: e.hint.clone(),
                error: Error::new(e.kind, format!("Harbor refused to start GC: {}", e.message), e.hint.clone()),
            })?;
            log(&format!(
                "Harbor GC job {job} started (dry run: {}, delete untagged: {})",
                params.dry_run, params.delete_untagged
            ));
            let mut seen = 0usize;
            let mut text = String::new();
            let fail = |message: String, text: String| GcFailed {
                error: Error::new(ErrorKind::Server, message, "see the GC history for Harbor's log"),
                log: text,
            };
            let finished = loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                if let Ok(l) = self.api.gc_log(job).await {
                    if l.len() > seen {
                        for line in l.get(seen..).unwrap_or("").lines() {
                            log(line);
                        }
                        seen = l.len();
                        text = l;
                    }
                }
                let run = self.api.gc_run(job).await.map_err(|e| GcFailed { error: e, log: text.clone() })?;
                match run.job_status.as_str() {
                    "Success" | "Error" | "Stopped" => break run,
                    _ if cancel.is_cancelled() => {
                        let _ = self.api.stop_gc(job).await;
                        log("stop requested");
                    }
                    _ if started.elapsed() > JOB_TIMEOUT => {
                        let _ = self.api.stop_gc(job).await;
                        return Err(fail(format!("Harbor GC job {job} did not finish in 30 minutes: stopped"), text));
                    }
                    _ => {}
                }
            };
            if finished.job_status != "Success" {
                return Err(fail(format!("Harbor GC job {job} ended {}", finished.job_status), text));
            }
            let p = finished.parameters();
            let freed = finished.freed_space().unwrap_or(0);
            let purged_blobs = p.get("purged_blobs").and_then(|v| v.as_u64()).unwrap_or(0);
            let mut notes = vec![];
            if freed == 0 {
                notes.push(HARBOR_WINDOW_NOTE.to_string());
            }
            Ok(GcOutput {
                log: text,
                counts: RegistryGcCounts {
                    marked: None,
                    blobs_eligible: Some(purged_blobs),
                    manifests_eligible: p.get("purged_manifests").and_then(|v| v.as_u64()),
                    blobs: vec![],
                },
                freed_bytes: Some(if params.dry_run { 0 } else { freed }),
                blobs_freed: Some(if params.dry_run { 0 } else { purged_blobs }),
                notes,
            })
        })
    }
}
