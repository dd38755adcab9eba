//! Garbage collection, one skeleton for every backend ([`run`]): check that GC can run, predict what
//! it frees (the trash's blobs nothing tagged uses), record the run, the before command, the
//! backend's own GC step (registry:2: the profile's `registry garbage-collect` command; Harbor: its GC
//! job; Nexus: its docker GC and compact tasks), the after command (always, once the before command
//! started), then verify (every predicted blob gone, every kept tag resolves and its blobs exist),
//! mark the trash entries whose blobs are gone as collected, and write the audit row.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use berth_backend::{shell, GcFailed, GcHooks, GcOutput, GcRequest, LogFn, RegistryGcCounts};
use berth_registry::{Digest, RegistryClient};
use berth_store::{GcOutcome, NewAudit};
use berth_sync::SyncOptions;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::plan::BlobRef;
use crate::{Target, WorkflowError};

/// What GC will free, from the trash and the current catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct GcPrediction {
    #[ts(type = "number")]
    pub predicted_bytes: u64,
    pub blobs: Vec<BlobRef>,
    /// Trash entries whose blobs GC will remove (they cannot be restored afterwards).
    #[ts(type = "number[]")]
    pub trash_entries: Vec<i64>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct GcReport {
    #[ts(type = "number")]
    pub id: i64,
    pub dry_run: bool,
    #[ts(type = "number")]
    pub predicted_bytes: u64,
    #[ts(type = "number")]
    pub predicted_blobs: u64,
    /// Real run: bytes of the blobs the registry deleted (sizes Berth knows). Dry run: 0.
    #[ts(type = "number")]
    pub freed_bytes: u64,
    #[ts(type = "number")]
    pub blobs_freed: u64,
    pub registry: RegistryGcCounts,
    /// Predicted blobs the registry did not list (still referenced by an untagged manifest, say).
    pub predicted_not_eligible: Vec<String>,
    /// Real run: the check afterwards passed (every predicted blob gone, every kept tag and blob intact).
    pub verified: Option<bool>,
    /// What the check found wrong.
    pub problems: Vec<String>,
    pub seconds: f64,
    pub notes: Vec<String>,
}

/// A GC run from the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct GcRunView {
    #[ts(type = "number")]
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub dry_run: bool,
    pub status: String,
    #[ts(type = "number")]
    pub predicted_bytes: u64,
    #[ts(type = "number")]
    pub freed_bytes: u64,
    #[ts(type = "number")]
    pub blobs_freed: u64,
    pub verified: Option<bool>,
    pub message: Option<String>,
    pub log: String,
    /// The after command this run still owes: Berth stopped between the before and the after command
    /// (a crash, a kill): the registry may still be read-only or stopped. `run_after` runs it.
    pub after_pending: Option<String>,
}

/// What GC would free now: the trash's blobs that nothing tagged references any more. Syncs the profile
/// first so "tagged" is what the registry holds now.
pub async fn predict(t: Target<'_>, cancel: &CancellationToken) -> Result<GcPrediction, WorkflowError> {
    berth_sync::sync_profile(t.store, t.profile_id, t.backend, &SyncOptions::default(), cancel, &|_| {}).await?;
    pending(t.store, t.profile_id).await
}

/// What GC would free, from the cache as it is (offline): the trash's blobs nothing cached and tagged uses.
pub async fn pending(store: &berth_store::Store, profile_id: i64) -> Result<GcPrediction, WorkflowError> {
    let graph = store.profile_graph(profile_id).await?;
    let live = crate::plan::live_blobs(&graph);
    let mut blobs: BTreeMap<String, u64> = BTreeMap::new();
    let mut entries = Vec::new();
    for (id, _repo, bs) in store.trashed_entry_blobs(profile_id).await? {
        let mut any = false;
        for (d, s) in bs {
            if !live.contains(d.as_str()) {
                blobs.insert(d, s);
                any = true;
            }
        }
        if any {
            entries.push(id);
        }
    }
    let predicted_bytes = berth_registry::saturating_sum(blobs.values().copied());
    let mut notes = vec![];
    if blobs.is_empty() {
        notes
            .push("nothing deleted through Berth is waiting for GC; GC may still free blobs of earlier deletes".into());
    }
    Ok(GcPrediction {
        predicted_bytes,
        blobs: blobs.into_iter().map(|(digest, size)| BlobRef { digest, size }).collect(),
        trash_entries: entries,
        notes,
    })
}

/// The report's fields the backend's step decides.
fn report_from(
    id: i64,
    req: &GcRequest,
    p: &GcPrediction,
    out: &GcOutput,
    lists_blobs: bool,
    started: Instant,
) -> GcReport {
    let eligible: BTreeSet<&str> = out.counts.blobs.iter().map(String::as_str).collect();
    let predicted_not_eligible = if lists_blobs {
        p.blobs.iter().filter(|b| !eligible.contains(b.digest.as_str())).map(|b| b.digest.clone()).collect()
    } else {
        vec![]
    };
    let mut notes = p.notes.clone();
    notes.extend(out.notes.iter().cloned());
    GcReport {
        id,
        dry_run: req.dry_run,
        predicted_bytes: p.predicted_bytes,
        predicted_blobs: p.blobs.len() as u64,
        freed_bytes: 0,
        blobs_freed: 0,
        registry: out.counts.clone(),
        predicted_not_eligible,
        verified: None,
        problems: vec![],
        seconds: started.elapsed().as_secs_f64(),
        notes,
    }
}

/// Garbage collection of any backend: a dry run (`req.dry_run`: the server's own dry run beside
/// Berth's prediction, nothing changed) or a real run, verified afterwards. Every run is kept in the GC
/// history; a real one also in the audit log.
pub async fn run(
    t: Target<'_>,
    req: &GcRequest,
    log: &LogFn<'_>,
    cancel: &CancellationToken,
) -> Result<GcReport, WorkflowError> {
    run_over(t, &[], req, log, cancel).await
}

/// [`run`] for a backend whose GC collects for other profiles too (a Nexus server's tasks clean every
/// repository, each browsed by a profile of its own): the backend's step runs once on `t`; every
/// member's trash is predicted, verified and marked collected like `t`'s own. The GC history and the
/// audit row are `t`'s.
pub async fn run_over(
    t: Target<'_>,
    members: &[Target<'_>],
    req: &GcRequest,
    log: &LogFn<'_>,
    cancel: &CancellationToken,
) -> Result<GcReport, WorkflowError> {
    t.backend.gc_check(req).await?;
    let hooks = t.backend.gc_hooks();
    if t.backend.capabilities().gc_commands && !req.dry_run && hooks.before.is_none() && !req.registry_stopped {
        return Err(WorkflowError::invalid(
            "GC would sweep a registry that still accepts pushes: the profile has no GC before command",
            "set a before command that makes the registry read-only (and an after command that turns it back), \
             or stop the registry and confirm that it is stopped; uploads in progress during a sweep can lose their layers",
        ));
    }
    let started = Instant::now();
    let mut parts = vec![(t, predict(t, cancel).await?)];
    for m in members {
        parts.push((*m, predict(*m, cancel).await?));
    }
    let id = t.store.start_gc_run(t.profile_id, req.dry_run).await?;
    let result = recorded_run(t, req, &parts, id, started, log, cancel).await;
    if !req.dry_run {
        let (res, msg) = match &result {
            Ok(r) => (
                if r.verified == Some(true) { "ok" } else { "failed" },
                format!("freed {} blobs ({} bytes; predicted {})", r.blobs_freed, r.freed_bytes, r.predicted_bytes),
            ),
            Err(e) => ("failed", e.to_string()),
        };
        t.store
            .add_audit(&NewAudit {
                profile_id: t.profile_id,
                profile_name: t.profile,
                operation: &format!("gc-{id}"),
                action: "gc",
                repository: None,
                target: t.backend.label(),
                digest: None,
                result: res,
                message: Some(&msg),
            })
            .await?;
    }
    result
}

/// One prediction over every part (blobs counted once).
fn combined(parts: &[(Target<'_>, GcPrediction)]) -> GcPrediction {
    let mut blobs: BTreeMap<String, u64> = BTreeMap::new();
    let mut out = GcPrediction::default();
    for (_, p) in parts {
        blobs.extend(p.blobs.iter().map(|b| (b.digest.clone(), b.size)));
        out.trash_entries.extend(&p.trash_entries);
        out.notes.extend(p.notes.iter().filter(|n| !out.notes.contains(n)).cloned().collect::<Vec<_>>());
    }
    out.predicted_bytes = berth_registry::saturating_sum(blobs.values().copied());
    out.blobs = blobs.into_iter().map(|(digest, size)| BlobRef { digest, size }).collect();
    out
}

async fn recorded_run(
    t: Target<'_>,
    req: &GcRequest,
    parts: &[(Target<'_>, GcPrediction)],
    id: i64,
    started: Instant,
    log: &LogFn<'_>,
    cancel: &CancellationToken,
) -> Result<GcReport, WorkflowError> {
    let fail = |log_text: String, message: String, hint: String| async move {
        t.store
            .finish_gc_run(
                id,
                &GcOutcome {
                    status: "failed".into(),
                    message: Some(message.clone()),
                    log: log_text,
                    ..Default::default()
                },
            )
            .await?;
        Err::<GcReport, _>(WorkflowError::invalid(message, hint))
    };
    let hooks = if req.dry_run { GcHooks::default() } else { t.backend.gc_hooks() };
    let mut text = String::new();
    // From the moment the before command starts, the run owes the after command: recorded, so that a
    // crash or a kill before it ran is found at the next start.
    if let (Some(_), Some(after)) = (&hooks.before, &hooks.after) {
        t.store.set_gc_after_pending(id, Some(after)).await?;
    }
    let owed = |ok: bool| async move {
        if ok {
            let _ = t.store.set_gc_after_pending(id, None).await;
        }
    };
    if let Some(before) = &hooks.before {
        match shell::run(before, log, cancel).await {
            Ok(out) => {
                text.push_str(&out.text);
                if !out.success {
                    // The before command may have half-done its work (read-only on, say): undo it.
                    owed(after_command(&hooks, log, &mut text).await).await;
                    let message = format!("the before-GC command failed: {before}");
                    return fail(text, message, "nothing was collected; see the GC history for the log".into()).await;
                }
            }
            Err(e) => {
                text.push_str(&format!("{}\n", e.message));
                owed(after_command(&hooks, log, &mut text).await).await;
                return fail(text, e.message, "nothing was collected; the after command ran".into()).await;
            }
        }
    }
    if hooks.before.is_some() && !req.registry_stopped {
        if let Some(why) = still_writable(t, log).await {
            owed(after_command(&hooks, log, &mut text).await).await;
            let message = format!("the registry still accepts writes after the before-GC command: {why}");
            let hint = "make the before command turn read-only mode on (or stop the registry); nothing was collected, \
                        the after command ran"
                .to_string();
            return fail(text, message, hint).await;
        }
    }
    let gc = t.backend.gc(req, log, cancel).await;
    let after_ok = after_command(&hooks, log, &mut text).await;
    owed(after_ok).await;
    let out = match gc {
        Ok(out) => out,
        Err(GcFailed { error, log: gc_log }) => {
            let full = format!("{text}{gc_log}");
            return fail(full, error.message, error.hint).await;
        }
    };
    text.insert_str(0, &out.log);
    if let (false, Some(after)) = (after_ok, &hooks.after) {
        let message = format!("the after-GC command failed: {after}: the registry may still be read-only or stopped");
        return fail(text, message, "run the after command by hand; see the GC history for the log".into()).await;
    }
    let lists_blobs = t.backend.capabilities().gc_lists_blobs;
    let prediction = if parts.len() == 1 { parts[0].1.clone() } else { combined(parts) };
    let mut report = report_from(id, req, &prediction, &out, lists_blobs, started);
    if !req.dry_run {
        report.blobs_freed = out.blobs_freed.unwrap_or(report.registry.blobs.len() as u64);
        report.freed_bytes = match out.freed_bytes {
            Some(b) => b,
            None => {
                berth_registry::saturating_sum(t.store.known_sizes(&report.registry.blobs).await?.values().copied())
            }
        };
        log("checking: predicted blobs gone, kept tags and their blobs intact");
        let mut kept = Vec::new();
        for (part, p) in parts {
            let (problems, k) = verify(*part, p).await?;
            report.problems.extend(problems);
            kept.extend(k);
        }
        if !kept.is_empty() {
            // Inside the server's time window (Harbor: 2 hours) recent blobs stay: expected, not a problem.
            report.notes.push(format!(
                "{} predicted blob(s) are still there, kept by {}'s GC time window: run GC again after it",
                kept.len(),
                t.backend.label()
            ));
        }
        report.verified = Some(report.problems.is_empty());
        for p in &report.problems {
            log(&format!("PROBLEM: {p}"));
        }
        for (part, p) in parts {
            mark_collected(*part, p).await?;
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    t.store
        .finish_gc_run(
            id,
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

/// After the before command: `None` when the registry is read-only or stopped (nothing can be pushed
/// while GC sweeps), else what the probe found.
async fn still_writable(t: Target<'_>, log: &LogFn<'_>) -> Option<String> {
    let repo = t.store.repository_summaries(t.profile_id).await.ok().and_then(|r| r.into_iter().next().map(|r| r.name));
    let repo = repo.unwrap_or_else(|| "berth/gc-probe".to_string());
    match t.client().probe_delete(&repo).await {
        Ok(berth_registry::DeleteCapability::ReadOnly) => {
            log("the registry is read-only: GC can sweep");
            None
        }
        Err(e) if e.is_unreachable() => {
            log("the registry is stopped: GC can sweep");
            None
        }
        Ok(other) => Some(format!("it answers writes as {other:?} (not read-only)")),
        Err(e) => Some(format!("probing it failed: {}", e.message)),
    }
}

/// Runs the after command, if any, whatever happened before (never cancelled: it undoes the before
/// command). Returns whether it succeeded (true without one).
async fn after_command(hooks: &GcHooks, log: &LogFn<'_>, text: &mut String) -> bool {
    let Some(after) = &hooks.after else { return true };
    match shell::run(after, log, &CancellationToken::new()).await {
        Ok(out) => {
            text.push_str(&out.text);
            out.success
        }
        Err(e) => {
            text.push_str(&format!("{}\n", e.message));
            false
        }
    }
}

/// Trash entries whose blobs GC removed cannot come back any more: marked collected. Checked on the
/// entry's layer and config blobs (its manifests are gone from the repository since the delete, so a
/// HEAD on them says nothing); collected when every one the prediction counted is gone.
async fn mark_collected(t: Target<'_>, prediction: &GcPrediction) -> Result<(), WorkflowError> {
    let predicted: BTreeSet<&str> = prediction.blobs.iter().map(|b| b.digest.as_str()).collect();
    for (entry, repo, blobs) in t.store.trashed_entry_blobs(t.profile_id).await? {
        if !prediction.trash_entries.contains(&entry) {
            continue;
        }
        let manifests: BTreeSet<String> = t.store.trash_manifests(entry).await?.into_iter().map(|m| m.digest).collect();
        let mut checked = 0;
        let mut gone = true;
        for (d, _) in blobs.iter().filter(|(d, _)| predicted.contains(d.as_str()) && !manifests.contains(d)) {
            let Some(d) = Digest::parse(d) else { continue };
            checked += 1;
            if !matches!(t.client().head_blob(&repo, &d).await, Ok(None)) {
                gone = false;
                break;
            }
        }
        if gone && checked > 0 {
            t.store.set_trash_state(entry, "collected").await?;
        }
    }
    Ok(())
}

/// After GC: every predicted blob answers 404; after a fresh sync, every tag resolves and every blob it
/// reaches exists.
/// Returns the problems, and the predicted blobs still there where the backend's GC has a time window
/// that keeps recent blobs (those are not problems).
async fn verify(t: Target<'_>, p: &GcPrediction) -> Result<(Vec<String>, Vec<String>), WorkflowError> {
    let window = t.backend.capabilities().gc_time_window;
    let mut kept = Vec::new();
    let mut problems = Vec::new();
    let entries = t.store.trashed_entry_blobs(t.profile_id).await?;
    let repo_of: HashMap<&str, &str> =
        entries.iter().flat_map(|(_, repo, bs)| bs.iter().map(move |(d, _)| (d.as_str(), repo.as_str()))).collect();
    for b in &p.blobs {
        let (Some(repo), Some(d)) = (repo_of.get(b.digest.as_str()), Digest::parse(&b.digest)) else { continue };
        if t.client().head_blob(repo, &d).await?.is_some() {
            if window {
                kept.push(b.digest.clone());
            } else {
                problems.push(format!("predicted blob {} is still there ({repo})", b.digest));
            }
        }
    }
    let cancel = CancellationToken::new();
    let s =
        berth_sync::sync_profile(t.store, t.profile_id, t.backend, &SyncOptions::default(), &cancel, &|_| {}).await?;
    if s.errors > 0 {
        problems.push(format!("{} tag(s) no longer resolve: {}", s.errors, s.error_samples.join("; ")));
    }
    let graph = t.store.profile_graph(t.profile_id).await?;
    // Each manifest and blob checked once, in one repository whose tags reach it. Manifests by
    // digest (they are not layer links), blobs by a blob HEAD.
    let mut checks: BTreeMap<String, (String, bool)> = BTreeMap::new();
    for tag in &graph.tags {
        let mut stack = vec![tag.digest.as_str()];
        while let Some(d) = stack.pop() {
            let Some(m) = graph.manifests.get(d) else { continue };
            checks.entry(d.to_string()).or_insert_with(|| (tag.repository.clone(), true));
            for (b, _) in &m.blobs {
                checks.entry(b.clone()).or_insert_with(|| (tag.repository.clone(), false));
            }
            stack.extend(m.children.iter().map(|(c, _)| c.as_str()));
        }
    }
    let client: &RegistryClient = t.client();
    let missing: Vec<String> = futures::stream::iter(checks)
        .map(|(digest, (repo, manifest))| async move {
            let d = Digest::parse(&digest)?;
            let found = if manifest {
                client.head_manifest(&repo, &berth_registry::Reference::Digest(d)).await.map(|h| h.is_some())
            } else {
                client.head_blob(&repo, &d).await.map(|h| h.is_some())
            };
            let what = if manifest { "manifest" } else { "blob" };
            match found {
                Ok(true) => None,
                Ok(false) => Some(format!("{repo}: {what} {digest} of a kept tag is missing")),
                Err(e) => Some(format!("{repo}: {what} {digest}: {}", e.message)),
            }
        })
        .buffer_unordered(16)
        .filter_map(|x| async move { x })
        .collect()
        .await;
    problems.extend(missing);
    Ok((problems, kept))
}

/// The profile's GC history, newest first.
pub async fn history(
    store: &berth_store::Store,
    profile_id: i64,
    with_log: bool,
) -> Result<Vec<GcRunView>, WorkflowError> {
    Ok(store
        .gc_runs(profile_id, with_log)
        .await?
        .into_iter()
        .map(|r| GcRunView {
            id: r.id,
            started_at: r.started_at,
            finished_at: r.finished_at,
            dry_run: r.dry_run,
            status: r.status,
            predicted_bytes: r.predicted_bytes,
            freed_bytes: r.freed_bytes,
            blobs_freed: r.blobs_freed,
            verified: r.verified,
            message: r.message,
            log: r.log,
            after_pending: r.after_pending,
        })
        .collect())
}

/// Runs the after command an interrupted GC run owes (`after_pending`), logs it into that run and
/// clears it when it succeeded. `Ok(false)`: it failed (the run keeps owing it).
pub async fn run_after(
    store: &berth_store::Store,
    run_id: i64,
    after: &str,
    log: &LogFn<'_>,
) -> Result<bool, WorkflowError> {
    let out = shell::run(after, log, &CancellationToken::new()).await?;
    if out.success {
        store.set_gc_after_pending(run_id, None).await?;
    }
    Ok(out.success)
}

/// Repositories with no tag left on the server (`tags/list` empty or `null`): 2.x keeps them in the
/// catalog forever, GC never removes them.
pub async fn empty_repositories(t: Target<'_>) -> Result<Vec<String>, WorkflowError> {
    let mut out = Vec::new();
    for repo in t.client().catalog().await? {
        match t.client().tags(&repo).await {
            Ok(tags) if tags.is_empty() => out.push(repo),
            Ok(_) => {}
            Err(e) if e.kind == berth_registry::ErrorKind::NotFound => out.push(repo),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The commands that remove empty repositories' folders from a filesystem-storage registry: only each
/// repository's own `_manifests`, `_layers` and `_uploads` (a nested `a/b` inside `a` is untouched), then
/// the folder if nothing else is in it. `remote`: a prefix such as `ssh admin@host` to run them there.
pub fn empty_repository_commands(
    storage_root: &str,
    repos: &[String],
    remote: Option<&str>,
) -> Result<Vec<String>, WorkflowError> {
    if !storage_root.starts_with('/') {
        return Err(WorkflowError::invalid(
            format!("the storage root {storage_root:?} is not an absolute path"),
            "give the registry's `storage.filesystem.rootdirectory`, e.g. /var/lib/registry",
        ));
    }
    let base = format!("{}/docker/registry/v2/repositories", storage_root.trim_end_matches('/'));
    let mut out = Vec::new();
    for r in repos {
        berth_registry::validate_repo(r)?;
        let dir = format!("{base}/{r}");
        let parts: Vec<String> =
            ["_manifests", "_layers", "_uploads"].iter().map(|p| shell_quote(&format!("{dir}/{p}"))).collect();
        let cmd = format!("rm -rf -- {} && rmdir --ignore-fail-on-non-empty -- {}", parts.join(" "), shell_quote(&dir));
        out.push(match remote {
            Some(prefix) => format!("{prefix} {}", shell_quote(&cmd)),
            None => cmd,
        });
    }
    Ok(out)
}

/// The command that lists every manifest revision a filesystem-storage registry keeps (tagged or
/// not): one `find` over `<root>/docker/registry/v2/repositories` for `_manifests/revisions/sha256/*/link`
/// (a revision deleted by digest has no `link` any more). Read-only. `remote`: as for
/// [`empty_repository_commands`].
pub fn storage_manifests_command(storage_root: &str, remote: Option<&str>) -> Result<String, WorkflowError> {
    if !storage_root.starts_with('/') {
        return Err(WorkflowError::invalid(
            format!("the storage root {storage_root:?} is not an absolute path"),
            "give the registry's `storage.filesystem.rootdirectory`, e.g. /var/lib/registry",
        ));
    }
    let base = format!("{}/docker/registry/v2/repositories", storage_root.trim_end_matches('/'));
    let cmd = format!("find {} -path '*/_manifests/revisions/sha256/*/link' -type f", shell_quote(&base));
    Ok(match remote {
        Some(prefix) => format!("{prefix} {}", shell_quote(&cmd)),
        None => cmd,
    })
}

/// (repository, digest) of each `…/repositories/<repo>/_manifests/revisions/sha256/<hex>/link` line
/// of [`storage_manifests_command`]'s output; anything else (a prompt, an error line) is ignored.
pub fn parse_storage_manifests(output: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in output.lines() {
        let Some((_, rest)) = line.trim().split_once("/docker/registry/v2/repositories/") else { continue };
        let Some((repo, tail)) = rest.split_once("/_manifests/revisions/sha256/") else { continue };
        let Some(hex) = tail.strip_suffix("/link") else { continue };
        let digest = format!("sha256:{hex}");
        if berth_registry::validate_repo(repo).is_ok() && berth_registry::Digest::parse(&digest).is_some() {
            out.push((repo.to_string(), digest));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Removes empty repositories' folders with the registry read-only or stopped (the profile's before and
/// after commands around them). Each one is re-checked empty right before. Returns what was removed.
pub async fn remove_empty_repositories(
    t: Target<'_>,
    storage_root: &str,
    remote: Option<&str>,
    log: &(dyn Fn(&str) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<Vec<String>, WorkflowError> {
    let cmds = t.backend.gc_hooks();
    if cmds.before.is_none() {
        return Err(WorkflowError::invalid(
            "removing repository folders needs the registry read-only or stopped, and this profile has no GC before command",
            "set the profile's GC before and after commands (read-only on, then off and restart)",
        ));
    }
    let repos = empty_repositories(t).await?;
    if repos.is_empty() {
        return Ok(repos);
    }
    let commands = empty_repository_commands(storage_root, &repos, remote)?;
    if let Some(before) = &cmds.before {
        if !shell::run(before, log, cancel).await?.success {
            let _ = after_command(&cmds, log, &mut String::new()).await;
            return Err(WorkflowError::invalid(format!("the before command failed: {before}"), "nothing was removed"));
        }
    }
    // Re-check now that nothing can push (when the registry still answers; a stopped one cannot change).
    let still_empty = empty_repositories(t).await.unwrap_or_else(|_| repos.clone());
    let mut removed = Vec::new();
    let mut failure = None;
    for (repo, cmd) in repos.iter().zip(&commands) {
        if !still_empty.contains(repo) {
            log(&format!("{repo} has tags again: left alone"));
            continue;
        }
        let ok = match shell::run(cmd, log, &CancellationToken::new()).await {
            Ok(out) => out.success,
            Err(_) => false,
        };
        if ok {
            removed.push(repo.clone());
        } else {
            failure = Some(format!("removing {repo} failed"));
            break;
        }
    }
    let _ = after_command(&cmds, log, &mut String::new()).await;
    if let Some(f) = failure {
        return Err(WorkflowError::invalid(f, "see the log; repositories before it were removed"));
    }
    let names: Vec<String> = t.client().catalog().await.unwrap_or_default();
    let _ = t.store.retain_repositories(t.profile_id, &names).await;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_manifests_are_read_from_revision_links_only() {
        let hex = "ab".repeat(32);
        let out = format!(
            "/var/lib/registry/docker/registry/v2/repositories/team/app/_manifests/revisions/sha256/{hex}/link\n\
             /var/lib/registry/docker/registry/v2/repositories/team/app/_manifests/tags/v1/current/link\n\
             /var/lib/registry/docker/registry/v2/repositories/x/_manifests/revisions/sha256/nothex/link\n\
             find: permission denied\n"
        );
        assert_eq!(parse_storage_manifests(&out), vec![("team/app".to_string(), format!("sha256:{hex}"))]);
        let cmd = storage_manifests_command("/var/lib/registry/", Some("ssh admin@reg")).unwrap();
        assert!(
            cmd.starts_with("ssh admin@reg '") && cmd.contains("/var/lib/registry/docker/registry/v2/repositories"),
            "{cmd}"
        );
        assert!(storage_manifests_command("relative", None).is_err());
    }
}
