//! Harbor v2: repositories from the projects API (robots and ordinary users cannot list
//! `/v2/_catalog`), tags removed through the tag API bound to the artifact's digest, GC as Harbor's
//! own job (run, poll, log, stop on cancel).

use std::time::{Duration, Instant};

use berth_harbor::{GcParameters, HarborClient, Rights};
use berth_registry::{Error, ErrorKind, RegistryClient};
use tokio_util::sync::CancellationToken;

use crate::{
    tag_digest, Backend, BoxFuture, Capabilities, Check, CheckFix, GcFailed, GcOutput, GcRequest, LogFn,
    RegistryGcCounts, ServerGc, ServerGcRun, TagRemoval,
};

/// What a project role needs for each right, for messages.
const DELETE_NEEDS: &str = "deleting needs the maintainer or project admin role in the project, or a robot account      with the Delete artifact and Delete tag permissions: ask a project admin";

/// Projects the connection test looks at one by one (the rest are summarised).
const CHECKED_PROJECTS: usize = 20;

/// Harbor's GC (running it, its history) is for system administrators: say so on a 401/403.
fn admin_only(e: Error) -> Error {
    if matches!(e.kind, ErrorKind::PermissionDenied | ErrorKind::Unauthorized) {
        let message = format!("{}: Harbor's garbage collection is for system administrators", e.message);
        Error {
            message,
            hint: "use a Harbor system administrator account for GC (robots and project roles cannot run it)".into(),
            ..e
        }
    } else {
        e
    }
}

fn project_of(repo: &str) -> &str {
    repo.split('/').next().unwrap_or(repo)
}

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
        gc_parameters: true,
        gc_server_history: true,
        artifacts: true,
        server_retention: true,
    };
}

/// What the account lacks that Berth's views need, in words.
fn rights_note(r: &Rights) -> String {
    let mut v = Vec::new();
    if !r.delete {
        v.push("deletes are refused here");
    }
    if !r.quota {
        v.push("its quota is not visible");
    }
    if !r.list {
        v.push("its repositories are not listed");
    }
    if v.is_empty() {
        String::new()
    } else {
        format!(" — {}", v.join("; "))
    }
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

    /// From the artifacts API (`with_tag=true`, 100 per page): every artifact with its tags. Harbor
    /// lists accessories under their subject, not as artifacts: a cosign signature's
    /// `sha256-<hex>.sig` tag is read from the accessory itself, so the cache knows it as a referrer.
    fn tag_digests<'a>(&'a self, repo: &'a str) -> BoxFuture<'a, Result<Option<crate::TagDigests>, Error>> {
        Box::pin(async move {
            let mut out: Vec<(String, String)> = Vec::new();
            for a in self.api.artifacts_with_accessories(repo).await? {
                out.extend(a.tag_names().into_iter().map(|t| (t, a.digest.clone())));
                for acc in a.accessories.iter().flatten().filter(|x| x.kind == "signature.cosign") {
                    if let Ok(sig) = self.api.artifact(repo, &acc.digest).await {
                        out.extend(sig.tag_names().into_iter().map(|t| (t, acc.digest.clone())));
                    }
                }
            }
            out.sort();
            out.dedup();
            Ok(Some(out))
        })
    }

    /// From Harbor's permission list for the project: no delete right, no delete (Harbor would
    /// answer 403 for each). Falls back to a `/v2` probe when the list cannot be read.
    fn delete_blocked<'a>(&'a self, repo: &'a str) -> BoxFuture<'a, Result<Option<(String, String)>, Error>> {
        Box::pin(async move {
            let project = project_of(repo);
            let rights = match self.api.project(project).await {
                Ok(p) => self.api.rights(p.project_id).await.ok().map(|r| (p, r)),
                Err(_) => None,
            };
            match rights {
                Some((p, r)) if !r.delete && !r.untag => {
                    let role = p.role_name().map(|r| format!(" (role: {r})")).unwrap_or_default();
                    Ok(Some((
                        format!("this account may not delete in Harbor project {project}{role}"),
                        DELETE_NEEDS.into(),
                    )))
                }
                Some(_) => Ok(None),
                None => crate::probe_v2(&self.client, repo).await,
            }
        })
    }

    /// Tags protected by the project's tag immutability rules: the tags Harbor marks immutable, with
    /// the rule when the account may read the rules.
    fn protected_tags<'a>(&'a self, repo: &'a str) -> BoxFuture<'a, Result<Vec<(String, String, String)>, Error>> {
        Box::pin(async move {
            let project = project_of(repo);
            let relative = repo.strip_prefix(&format!("{project}/")).unwrap_or(repo);
            let immutable: Vec<String> = self
                .api
                .artifacts_with_accessories(repo)
                .await?
                .iter()
                .flat_map(|a| a.tags.iter().flatten().filter(|t| t.immutable).map(|t| t.name.clone()))
                .collect();
            if immutable.is_empty() {
                return Ok(Vec::new());
            }
            let rules = self.api.immutable_rules(project).await.ok();
            let hint = "Harbor refuses to delete an immutable tag (412); a project admin or maintainer can change the \
                        project's rules under Policy → Tag Immutability"
                .to_string();
            Ok(immutable
                .into_iter()
                .map(|tag| {
                    let rule = rules.as_ref().and_then(|rs| rs.iter().find(|r| r.matches(relative, &tag)));
                    let why = match (rule, rules.is_some()) {
                        (Some(r), _) => format!("{repo}:{tag} is immutable: tag immutability rule #{} ({})", r.id, r.describe()),
                        (None, true) => format!("{repo}:{tag} is immutable in Harbor project {project}"),
                        (None, false) => format!(
                            "{repo}:{tag} is immutable: a tag immutability rule of project {project} (the rules are not visible to this account)"
                        ),
                    };
                    (tag, why, hint.clone())
                })
                .collect())
        })
    }

    /// The artifact's accessories (signatures, SBOMs), which Harbor deletes with it.
    fn accessories<'a>(
        &'a self,
        repo: &'a str,
        digest: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, Error>> {
        Box::pin(async move {
            match self.api.artifact(repo, digest).await {
                Ok(a) => Ok(a.accessories.unwrap_or_default().into_iter().map(|x| (x.digest, x.kind)).collect()),
                Err(e) if e.kind == ErrorKind::NotFound => Ok(Vec::new()),
                Err(e) => Err(e),
            }
        })
    }

    /// Who the account is (local user, robot, OIDC user, admin) and what it may do per project.
    fn diagnose(&self) -> BoxFuture<'_, Vec<Check>> {
        Box::pin(async move {
            let mut out = Vec::new();
            let login = match self.api.check_login().await {
                Ok(l) => l,
                Err(e) => {
                    let fix = (e.kind == ErrorKind::Unauthorized).then_some(CheckFix::Credentials);
                    let mut c = Check::fail("Harbor login", e.message, e.hint).fatal();
                    c.fix = fix;
                    out.push(c);
                    return out;
                }
            };
            let who = login.user.as_deref().map(|u| format!("{u}: ")).unwrap_or_default();
            let version = login.version.as_deref().map(|v| format!(", Harbor {v}")).unwrap_or_default();
            out.push(Check::ok("account", format!("{who}{}{version}", login.kind())));
            let projects = match self.api.projects().await {
                Ok(p) => p,
                Err(e) => {
                    out.push(Check::fail("projects", e.message, e.hint));
                    return out;
                }
            };
            if projects.is_empty() {
                out.push(Check::fail(
                    "projects",
                    "this account sees no project",
                    "ask a project admin to add the account as a member, or use a robot account of the project",
                ));
                return out;
            }
            for p in projects.iter().take(CHECKED_PROJECTS) {
                let name = format!("project {}", p.name);
                let role = p.role_name().map(|r| format!(" as {r}")).unwrap_or_else(|| {
                    if login.admin {
                        " as system administrator".into()
                    } else if p.public() {
                        " (public project, not a member)".into()
                    } else {
                        String::new()
                    }
                });
                match self.api.rights(p.project_id).await {
                    Ok(r) => out.push(Check::ok(name, format!("may {}{role}{}", r.describe(), rights_note(&r)))),
                    Err(e) => out.push(Check::ok(name, format!("permissions not readable: {}", e.message))),
                }
            }
            if projects.len() > CHECKED_PROJECTS {
                out.push(Check::ok(
                    "projects",
                    format!("{} more projects not checked one by one", projects.len() - CHECKED_PROJECTS),
                ));
            }
            out
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

    /// Harbor's GC history (`/system/gc`) and schedule; system administrators only.
    fn server_gc(&self) -> BoxFuture<'_, Result<Option<ServerGc>, Error>> {
        Box::pin(async move {
            let history = self.api.gc_history().await.map_err(admin_only)?;
            let schedule = self.api.gc_schedule().await.map_err(admin_only)?.and_then(|s| {
                let sc = s.schedule.unwrap_or_default();
                let kind = sc.kind.filter(|k| !k.is_empty() && k != "None" && k != "Manual")?;
                let cron = sc.cron.filter(|c| !c.is_empty()).map(|c| format!(" ({c})")).unwrap_or_default();
                let next = sc
                    .next_scheduled_time
                    .filter(|t| !t.starts_with("0001-"))
                    .map(|t| format!(", next {t}"))
                    .unwrap_or_default();
                Some(format!("{kind}{cron}{next}"))
            });
            let runs: Vec<ServerGcRun> = history
                .iter()
                .map(|r| {
                    let p = r.parameters();
                    let flag = |k: &str| p.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
                    let num = |k: &str| p.get(k).and_then(|v| v.as_u64());
                    ServerGcRun {
                        id: r.id,
                        trigger: r.job_kind.clone().unwrap_or_default(),
                        status: r.job_status.clone(),
                        created: r.creation_time.clone(),
                        updated: r.update_time.clone(),
                        dry_run: flag("dry_run"),
                        delete_untagged: flag("delete_untagged"),
                        workers: num("workers").map(|w| w as u32),
                        freed_bytes: num("freed_space"),
                        blobs_deleted: num("purged_blobs"),
                        manifests_deleted: num("purged_manifests"),
                    }
                })
                .collect();
            let window = history.iter().find_map(|r| r.parameters().get("time_window").and_then(|v| v.as_i64()));
            Ok(Some(ServerGc { runs, schedule, time_window_hours: Some(window.unwrap_or(2)) }))
        })
    }

    fn gc_check<'a>(&'a self, _req: &'a GcRequest) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let login = self.api.check_login().await?;
            if login.admin {
                return Ok(());
            }
            Err(Error::new(
                ErrorKind::PermissionDenied,
                format!(
                    "{} may not run GC: Harbor's garbage collection is for system administrators",
                    login.user.as_deref().unwrap_or("an anonymous profile")
                ),
                "use a Harbor system administrator account for GC (robots and project roles cannot run it)",
            ))
        })
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
                workers: req.workers.unwrap_or(defaults.workers).clamp(1, 10),
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
