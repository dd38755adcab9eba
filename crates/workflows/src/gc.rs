//! Garbage collection for registry:2, which cannot run over HTTP: the profile says how to run
//! `registry garbage-collect` where the registry lives (a local command, or the same through ssh), with
//! optional before/after commands (read-only mode or stop; then restart, which also clears the blob
//! descriptor cache). Berth predicts what GC frees, shows the registry's own dry run beside it, runs it
//! with the log streamed, and verifies afterwards: every predicted blob is gone, every kept tag still
//! resolves and its blobs exist.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Stdio;
use std::time::Instant;

use berth_registry::{Digest, RegistryClient};
use berth_store::{GcOutcome, SyncOptions};
use futures::StreamExt;
use regex::Regex;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::plan::BlobRef;
use crate::{Target, WorkflowError};

/// How to run GC for a registry:2 profile (shell command lines, run by `sh -c` where Berth runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcCommands {
    /// e.g. `docker-registry garbage-collect /etc/docker/registry/config.yml`, or
    /// `ssh admin@host docker exec registry registry garbage-collect /etc/docker/registry/config.yml`.
    pub command: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The registry's own counts, from its summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RegistryGcCounts {
    #[ts(type = "number | null")]
    pub marked: Option<u64>,
    #[ts(type = "number | null")]
    pub blobs_eligible: Option<u64>,
    #[ts(type = "number | null")]
    pub manifests_eligible: Option<u64>,
    /// Blobs the registry listed as eligible (dry run) or deleted (real run).
    pub blobs: Vec<String>,
}

/// What GC will free, from the trash and the current catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
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
}

pub const DELETE_UNTAGGED_WARNING: &str = "never pass --delete-untagged (-m) to a registry 2.x: it deletes the \
     platform images of multi-arch indexes (distribution #3178), fixed only in 3.0. Berth deletes index children \
     itself, so plain GC frees them";

/// Checks a GC command line and returns the dry-run variant (`--dry-run` right after `garbage-collect`).
pub fn dry_run_command(command: &str) -> Result<String, WorkflowError> {
    let words: Vec<&str> = command.split_whitespace().collect();
    if words.iter().any(|w| *w == "--delete-untagged" || *w == "-m" || w.starts_with("--delete-untagged=")) {
        return Err(WorkflowError::invalid(
            "the GC command contains --delete-untagged",
            DELETE_UNTAGGED_WARNING.to_string(),
        ));
    }
    let Some(at) = command.find("garbage-collect") else {
        return Err(WorkflowError::invalid(
            format!("the GC command {command:?} does not run `garbage-collect`"),
            "set it with `berth profile edit NAME --gc-command 'registry garbage-collect /etc/docker/registry/config.yml'` \
             (or the same through ssh or docker exec)",
        ));
    };
    let end = at + "garbage-collect".len();
    Ok(format!("{} --dry-run{}", &command[..end], &command[end..]))
}

/// Parses `registry garbage-collect` output (dry run or real).
pub fn parse_gc_output(text: &str) -> RegistryGcCounts {
    let summary = Regex::new(r"(\d+) blobs marked, (\d+) blobs and (\d+) manifests eligible for deletion").expect("re");
    let eligible = Regex::new(r"blob eligible for deletion: (sha256:[0-9a-f]{64})").expect("re");
    let deleting = Regex::new(r"Deleting blob: \S*/blobs/sha256/[0-9a-f]{2}/([0-9a-f]{64})").expect("re");
    let mut c = RegistryGcCounts::default();
    if let Some(m) = summary.captures_iter(text).last() {
        c.marked = m[1].parse().ok();
        c.blobs_eligible = m[2].parse().ok();
        c.manifests_eligible = m[3].parse().ok();
    }
    let mut blobs = BTreeSet::new();
    for m in eligible.captures_iter(text) {
        blobs.insert(m[1].to_string());
    }
    for m in deleting.captures_iter(text) {
        blobs.insert(format!("sha256:{}", &m[1]));
    }
    c.blobs = blobs.into_iter().collect();
    c
}

/// Runs `sh -c command`, streaming each output line to `log`; returns (success, all output).
async fn run_shell(
    command: &str,
    log: &(dyn Fn(&str) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<(bool, String), WorkflowError> {
    log(&format!("$ {command}"));
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| WorkflowError::invalid(format!("cannot run {command:?}: {e}"), "check that sh exists"))?;
    let mut out = BufReader::new(child.stdout.take().expect("piped")).lines();
    let mut err = BufReader::new(child.stderr.take().expect("piped")).lines();
    let mut all = format!("$ {command}\n");
    let (mut out_done, mut err_done) = (false, false);
    while !(out_done && err_done) {
        tokio::select! {
            l = out.next_line(), if !out_done => match l {
                Ok(Some(l)) => { log(&l); all.push_str(&l); all.push('\n'); }
                _ => out_done = true,
            },
            l = err.next_line(), if !err_done => match l {
                Ok(Some(l)) => { log(&l); all.push_str(&l); all.push('\n'); }
                _ => err_done = true,
            },
            _ = cancel.cancelled() => {
                let _ = child.kill().await;
                return Err(WorkflowError::Cancelled);
            }
        }
    }
    let status = child.wait().await.map_err(|e| WorkflowError::invalid(format!("{command:?}: {e}"), ""))?;
    let exit = format!("[exit {}]", status.code().map_or("signal".to_string(), |c| c.to_string()));
    log(&exit);
    all.push_str(&exit);
    all.push('\n');
    Ok((status.success(), all))
}

/// What GC would free now: the trash's blobs that nothing tagged references any more. Syncs the profile
/// first so "tagged" is what the registry holds now.
pub async fn predict(t: Target<'_>, cancel: &CancellationToken) -> Result<GcPrediction, WorkflowError> {
    berth_store::sync_profile(t.store, t.profile_id, t.client, &SyncOptions::default(), cancel, &|_| {}).await?;
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
    let predicted_bytes = blobs.values().sum();
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

/// A dry run: Berth's prediction beside the registry's own `--dry-run`. Changes nothing.
pub async fn dry_run(
    t: Target<'_>,
    cmds: &GcCommands,
    log: &(dyn Fn(&str) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<GcReport, WorkflowError> {
    let command = dry_run_command(&cmds.command)?;
    let started = Instant::now();
    let prediction = predict(t, cancel).await?;
    let id = t.store.start_gc_run(t.profile_id, true).await?;
    let (ok, output) = run_shell(&command, log, cancel).await?;
    let counts = parse_gc_output(&output);
    let mut report = report_from(id, true, &prediction, counts, started);
    let status = if ok && report.registry.marked.is_some() { "ok" } else { "failed" };
    let message = (status == "failed").then(|| {
        "the dry run failed or printed no summary: check the command and that it can read the registry's config"
            .to_string()
    });
    t.store
        .finish_gc_run(
            id,
            &GcOutcome {
                status: status.into(),
                predicted_bytes: report.predicted_bytes,
                predicted_blobs: report.predicted_blobs,
                freed_bytes: 0,
                blobs_freed: 0,
                verified: None,
                message: message.clone(),
                log: output,
            },
        )
        .await?;
    if let Some(m) = message {
        return Err(WorkflowError::invalid(m, "run the command by hand to see why; see the GC history for its log"));
    }
    report.notes.push(DELETE_UNTAGGED_WARNING.to_string());
    Ok(report)
}

fn report_from(id: i64, dry_run: bool, p: &GcPrediction, counts: RegistryGcCounts, started: Instant) -> GcReport {
    let eligible: BTreeSet<&str> = counts.blobs.iter().map(String::as_str).collect();
    let predicted_not_eligible =
        p.blobs.iter().filter(|b| !eligible.contains(b.digest.as_str())).map(|b| b.digest.clone()).collect();
    GcReport {
        id,
        dry_run,
        predicted_bytes: p.predicted_bytes,
        predicted_blobs: p.blobs.len() as u64,
        freed_bytes: 0,
        blobs_freed: 0,
        registry: counts,
        predicted_not_eligible,
        verified: None,
        problems: vec![],
        seconds: started.elapsed().as_secs_f64(),
        notes: p.notes.clone(),
    }
}

/// The real run: before command, GC, after command (always, even when GC failed), then the check.
pub async fn run(
    t: Target<'_>,
    cmds: &GcCommands,
    log: &(dyn Fn(&str) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<GcReport, WorkflowError> {
    dry_run_command(&cmds.command)?; // validates (no --delete-untagged, is a garbage-collect)
    let started = Instant::now();
    let prediction = predict(t, cancel).await?;
    let id = t.store.start_gc_run(t.profile_id, false).await?;
    let mut output = String::new();
    let fail = |output: String, message: String| async move {
        t.store
            .finish_gc_run(
                id,
                &GcOutcome {
                    status: "failed".into(),
                    message: Some(message.clone()),
                    log: output,
                    ..Default::default()
                },
            )
            .await?;
        Err::<GcReport, _>(WorkflowError::invalid(message, "nothing was collected; see the GC history for the log"))
    };
    if let Some(before) = &cmds.before {
        let (ok, out) = run_shell(before, log, cancel).await?;
        output.push_str(&out);
        if !ok {
            return fail(output, format!("the before-GC command failed: {before}")).await;
        }
    }
    let gc = run_shell(&cmds.command, log, &CancellationToken::new()).await;
    let (gc_ok, gc_out) = match gc {
        Ok(v) => v,
        Err(e) => (false, format!("{e}\n")),
    };
    output.push_str(&gc_out);
    if let Some(after) = &cmds.after {
        let (ok, out) = run_shell(after, log, &CancellationToken::new()).await?;
        output.push_str(&out);
        if !ok {
            return fail(
                output,
                format!("the after-GC command failed: {after}: the registry may still be read-only or stopped"),
            )
            .await;
        }
    }
    if !gc_ok {
        return fail(output, format!("garbage-collect failed: {}", cmds.command)).await;
    }
    let counts = parse_gc_output(&gc_out);
    let mut report = report_from(id, false, &prediction, counts, started);
    report.blobs_freed = report.registry.blobs.len() as u64;
    let sizes = t.store.known_sizes(&report.registry.blobs).await?;
    report.freed_bytes = sizes.values().sum();
    log("checking: predicted blobs gone, kept tags and their blobs intact");
    report.problems = verify(t, &prediction).await?;
    report.verified = Some(report.problems.is_empty());
    for p in &report.problems {
        log(&format!("PROBLEM: {p}"));
    }
    // Trash entries whose blobs are gone cannot come back any more.
    for (entry, repo, blobs) in t.store.trashed_entry_blobs(t.profile_id).await? {
        if prediction.trash_entries.contains(&entry) {
            let mut gone = true;
            for (d, _) in &blobs {
                if let Some(d) = Digest::parse(d) {
                    if t.client.head_blob(&repo, &d).await.ok().flatten().is_some() {
                        gone = false;
                        break;
                    }
                }
            }
            if gone {
                t.store.set_trash_state(entry, "collected").await?;
            }
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
                log: output,
            },
        )
        .await?;
    Ok(report)
}

/// After GC: every predicted blob answers 404; after a fresh sync, every tag resolves and every blob it
/// reaches exists.
async fn verify(t: Target<'_>, p: &GcPrediction) -> Result<Vec<String>, WorkflowError> {
    let mut problems = Vec::new();
    let entries = t.store.trashed_entry_blobs(t.profile_id).await?;
    let repo_of: HashMap<&str, &str> =
        entries.iter().flat_map(|(_, repo, bs)| bs.iter().map(move |(d, _)| (d.as_str(), repo.as_str()))).collect();
    for b in &p.blobs {
        let (Some(repo), Some(d)) = (repo_of.get(b.digest.as_str()), Digest::parse(&b.digest)) else { continue };
        if t.client.head_blob(repo, &d).await?.is_some() {
            problems.push(format!("predicted blob {} is still there ({repo})", b.digest));
        }
    }
    let cancel = CancellationToken::new();
    let s =
        berth_store::sync_profile(t.store, t.profile_id, t.client, &SyncOptions::default(), &cancel, &|_| {}).await?;
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
    let client: &RegistryClient = t.client;
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
    Ok(problems)
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
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_run_flag_goes_after_garbage_collect() {
        assert_eq!(
            dry_run_command("ssh reg docker exec r registry garbage-collect /etc/docker/registry/config.yml").unwrap(),
            "ssh reg docker exec r registry garbage-collect --dry-run /etc/docker/registry/config.yml"
        );
        assert!(dry_run_command("registry garbage-collect -m c.yml").is_err());
        assert!(dry_run_command("registry garbage-collect --delete-untagged c.yml").is_err());
        assert!(dry_run_command("rm -rf /").is_err());
    }

    #[test]
    fn parses_dry_run_and_real_output() {
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let text = format!(
            "test/img: marking manifest sha256:{a}\n21 blobs marked, 2 blobs and 0 manifests eligible for deletion\n\
             blob eligible for deletion: sha256:{a}\ntime=\"x\" level=info msg=\"Deleting blob: /docker/registry/v2/blobs/sha256/bb/{b}\" go.version=go1.19\n"
        );
        let c = parse_gc_output(&text);
        assert_eq!((c.marked, c.blobs_eligible, c.manifests_eligible), (Some(21), Some(2), Some(0)));
        assert_eq!(c.blobs, [format!("sha256:{a}"), format!("sha256:{b}")]);
    }
}
