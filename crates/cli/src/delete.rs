//! `berth delete`, `retention`, `trash`, `restore`, `audit`: every destructive command shows its plan,
//! and nothing is deleted without `--yes`.

use berth_core::{
    ApiError, Berth, CancellationToken, DeleteMode, DeletePlan, DeleteReport, ErrorCode, PlanOptions, RetentionPolicy,
    Selection,
};
use clap::Args;

use crate::{human_size, print_json};

#[derive(Args)]
pub struct DeleteArgs {
    /// Profile name.
    name: String,
    /// REPO:TAG (or REPO@sha256:DIGEST for the image with all its tags), one or more.
    #[arg(required = true, value_name = "REPO:TAG")]
    images: Vec<String>,
    /// Only remove the tags; never delete an image, even when no tag would be left.
    #[arg(long, conflicts_with = "image")]
    untag_only: bool,
    /// Delete each tag's image with every other tag that shares it (listed as siblings in the plan).
    #[arg(long)]
    image: bool,
    /// Keep the signatures, attestations and SBOMs of deleted images.
    #[arg(long)]
    keep_referrers: bool,
    /// Show the plan only (the default without --yes).
    #[arg(long, conflicts_with = "yes")]
    dry_run: bool,
    /// Delete what the plan shows.
    #[arg(long)]
    yes: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct UntaggedArgs {
    /// Profile name.
    name: String,
    /// One repository (default: every repository).
    repository: Option<String>,
    /// HEAD each manifest on the registry first (what it no longer has is forgotten).
    #[arg(long)]
    check: bool,
    /// First list the storage's manifest revisions (the profile's storage root; registry:2 with
    /// filesystem storage) to find untagged manifests no sync saw tagged.
    #[arg(long)]
    scan_storage: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct DeleteRepositoryArgs {
    /// Profile name.
    name: String,
    /// The repository: every tag (with its image) and every untagged manifest go.
    repository: String,
    /// Show the plan only (the default without --yes).
    #[arg(long, conflicts_with = "yes")]
    dry_run: bool,
    /// Delete what the plan shows.
    #[arg(long)]
    yes: bool,
    #[arg(long)]
    json: bool,
}

/// Lists untagged manifests; delete them with `berth delete NAME REPO@DIGEST`.
pub async fn untagged(berth: &Berth, a: UntaggedArgs) -> Result<(), ApiError> {
    if a.scan_storage {
        let scan = berth.scan_storage_untagged(&a.name, &ctrl_c_cancels()).await?;
        eprintln!(
            "storage: {} manifest revisions; {} fetched; untagged {} → {} ({})",
            scan.revisions, scan.fetched, scan.untagged_before, scan.untagged_after, scan.command
        );
    }
    let v = berth.untagged(&a.name, a.repository.as_deref(), a.check).await?;
    if a.json {
        print_json(&v);
        return Ok(());
    }
    for m in &v.manifests {
        let created = m.created.as_deref().unwrap_or("-");
        let index = m.index_parent.as_deref().map(|p| format!("  (in index {p})")).unwrap_or_default();
        println!("{}@{}  {created}  {:>10}{index}", m.repository, m.digest, human_size(m.size));
    }
    println!(
        "{} untagged manifest(s), {}{}",
        v.manifests.len(),
        human_size(v.total_size),
        if v.checked {
            format!(" (checked; {} gone)", v.gone)
        } else {
            " (from the cache; --check asks the registry)".into()
        }
    );
    for u in &v.unchecked {
        eprintln!("berth: could not check {u}");
    }
    Ok(())
}

/// Plans (and with --yes executes) the delete of a whole repository.
pub async fn delete_repository(berth: &Berth, a: DeleteRepositoryArgs) -> Result<(), ApiError> {
    let cancel = ctrl_c_cancels();
    let plan = berth.plan_delete_repository(&a.name, &a.repository, &cancel).await?;
    finish(berth, &a.name, plan, None, a.yes && !a.dry_run, a.json, &cancel).await
}

#[derive(Args)]
pub struct RetentionArgs {
    /// Profile name.
    name: String,
    /// Keep the newest N tags (by image creation time) of each repository.
    #[arg(long, value_name = "N")]
    keep_last: Option<u32>,
    /// Delete tags whose image is older than DAYS (the newest --keep-last stay anyway).
    #[arg(long, value_name = "DAYS")]
    older_than: Option<u32>,
    /// Only tags matching this regex are candidates.
    #[arg(long = "match", value_name = "REGEX", allow_hyphen_values = true)]
    matching: Option<String>,
    /// Tags matching this regex are never candidates.
    #[arg(long, value_name = "REGEX", allow_hyphen_values = true)]
    exclude: Option<String>,
    /// Only repositories matching this glob (e.g. 'team/*').
    #[arg(long, value_name = "GLOB")]
    repo: Option<String>,
    /// Always keep tags matching this regex (repeatable), e.g. --protect '^latest$'.
    #[arg(long, value_name = "REGEX", allow_hyphen_values = true)]
    protect: Vec<String>,
    /// Also delete untagged manifests (pushed over by a newer tag) of the repositories covered; with
    /// --older-than, those untagged longer ago.
    #[arg(long)]
    untagged: bool,
    /// Also save this policy for the profile (applied later with --saved).
    #[arg(long)]
    save: bool,
    /// Apply every saved policy of the profile together (a tag goes only if no policy keeps it).
    #[arg(long, conflicts_with_all = ["keep_last", "older_than", "matching", "exclude", "repo", "protect", "save", "untagged"])]
    saved: bool,
    /// List the saved policies.
    #[arg(long, conflicts_with_all = ["saved", "save", "yes"])]
    list: bool,
    /// Forget a saved policy by id.
    #[arg(long, value_name = "ID", conflicts_with_all = ["saved", "save", "yes", "list"])]
    forget: Option<i64>,
    /// Show the plan only (the default without --yes).
    #[arg(long, conflicts_with = "yes")]
    dry_run: bool,
    /// Delete what the plan shows.
    #[arg(long)]
    yes: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct TrashArgs {
    name: String,
    /// Also list restored and garbage-collected entries.
    #[arg(long)]
    all: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RestoreArgs {
    name: String,
    /// Trash entry id (from `berth trash NAME`).
    id: i64,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct AuditArgs {
    name: String,
    #[arg(long, default_value_t = berth_core::defaults::AUDIT_LIMIT)]
    limit: u32,
    #[arg(long)]
    json: bool,
}

/// Ctrl+C (SIGINT) and SIGTERM cancel: the run stops at its next safe point (a GC's after command
/// still runs once its before command started).
pub(crate) fn ctrl_c_cancels() -> CancellationToken {
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            r = tokio::signal::ctrl_c() => if r.is_err() { return },
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
        c.cancel();
    });
    cancel
}

pub async fn delete(berth: &Berth, a: DeleteArgs) -> Result<(), ApiError> {
    let mode = if a.untag_only {
        DeleteMode::UntagOnly
    } else if a.image {
        DeleteMode::Image
    } else {
        DeleteMode::Auto
    };
    let options = PlanOptions { mode, referrers: !a.keep_referrers };
    delete_images(berth, &a.name, &a.images, options, a.yes && !a.dry_run, a.json).await
}

/// Plans the delete of `images` (REPO:TAG or REPO@DIGEST), prints the plan and, with `yes`, executes it:
/// every delete of every front end goes through this plan, the trash and the audit log.
pub async fn delete_images(
    berth: &Berth,
    profile: &str,
    images: &[String],
    options: PlanOptions,
    yes: bool,
    json: bool,
) -> Result<(), ApiError> {
    let mut selections = Vec::new();
    for i in images {
        selections.push(Selection::parse(i).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidInput,
                format!("invalid image reference {i:?}"),
                "write REPO:TAG or REPO@sha256:DIGEST, e.g. team/app:1.2",
            )
        })?);
    }
    let cancel = ctrl_c_cancels();
    let plan = berth.plan_delete(profile, &selections, options, &cancel).await?;
    finish(berth, profile, plan, None, yes, json, &cancel).await
}

pub async fn retention(berth: &Berth, a: RetentionArgs) -> Result<(), ApiError> {
    if a.list {
        let saved = berth.retention_policies(&a.name).await?;
        if a.json {
            print_json(&saved);
        }
        for s in saved.iter().filter(|_| !a.json) {
            println!("{:>4}  {}", s.id, serde_json::to_string(&s.policy).expect("policy serializes"));
        }
        return Ok(());
    }
    if let Some(id) = a.forget {
        berth.forget_retention_policy(&a.name, id).await?;
        println!("forgot retention policy {id} of {}", a.name);
        return Ok(());
    }
    let cancel = ctrl_c_cancels();
    let r = if a.saved {
        berth.plan_saved_retention(&a.name, &cancel).await?
    } else {
        if a.keep_last.is_none() && a.older_than.is_none() && !a.untagged {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                "a retention policy needs --keep-last N, --older-than DAYS or --untagged",
                "for example: --keep-last 10 keeps the 10 newest tags of each repository",
            ));
        }
        let policy = RetentionPolicy {
            keep_last: a.keep_last,
            older_than_days: a.older_than,
            matching: a.matching,
            exclude: a.exclude,
            repositories: a.repo,
            protect: a.protect,
            untagged: a.untagged,
        };
        let plan = berth.plan_retention(&a.name, &policy, &cancel).await?;
        if a.save {
            let s = berth.save_retention_policy(&a.name, &policy).await?;
            eprintln!("saved as retention policy {} of {} (apply saved policies with --saved)", s.id, a.name);
        }
        plan
    };
    let kept = serde_json::to_value(&r.kept).expect("views serialize");
    if !a.json {
        for k in &r.kept {
            println!("keep    {}:{}  ({})", k.repository, k.tag, k.reason);
        }
    }
    finish(berth, &a.name, r.plan, Some(("kept", kept)), a.yes && !a.dry_run, a.json, &cancel).await
}

/// Prints the plan; with `yes`, executes it with a progress bar and prints the report.
async fn finish(
    berth: &Berth,
    profile: &str,
    plan: DeletePlan,
    extra: Option<(&str, serde_json::Value)>,
    yes: bool,
    json: bool,
    cancel: &CancellationToken,
) -> Result<(), ApiError> {
    let mut out = serde_json::to_value(&plan).expect("views serialize");
    if let Some((k, v)) = extra {
        out[k] = v;
    }
    if !json {
        print_plan(&plan);
    }
    for r in &plan.refused {
        eprintln!("refused {}:{}: {}. {}", r.repository, r.reference, r.reason, r.hint);
    }
    if !yes || plan.is_empty() {
        if json {
            print_json(&out);
        }
        if !plan.is_empty() {
            eprintln!("dry run: nothing was deleted. Run again with --yes to delete what is listed above.");
        }
        return Ok(());
    }
    let bar = indicatif::ProgressBar::new(plan.action_count() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    let progress = |p: &berth_core::DeleteProgress| {
        bar.set_position(p.done);
        if !p.current.is_empty() {
            bar.set_message(p.current.clone());
        }
    };
    let result = berth.execute_delete(profile, &plan, cancel, &progress).await;
    bar.finish_and_clear();
    let report = result?;
    if json {
        out["report"] = serde_json::to_value(&report).expect("views serialize");
        print_json(&out);
    } else {
        print_report(&report);
    }
    if report.failed > 0 {
        return Err(ApiError::new(
            ErrorCode::Registry,
            format!("{} of {} actions failed", report.failed, report.results.len()),
            format!("see `berth audit {profile}` for each one; what succeeded is in `berth trash {profile}`"),
        ));
    }
    if report.cancelled {
        return Err(ApiError::new(
            ErrorCode::Cancelled,
            "cancelled",
            "what ran before the cancel is in the audit log and the trash",
        ));
    }
    Ok(())
}

fn print_plan(p: &DeletePlan) {
    for u in &p.untag {
        println!("untag   {}:{}  ({})", u.repository, u.tag, short(&u.digest));
    }
    for d in &p.delete {
        println!("delete  {}@{}  tags: {}  {}", d.repository, short(&d.digest), d.tags.join(", "), human_size(d.size));
    }
    for s in &p.siblings {
        println!("  sibling {}:{} goes with its image", s.repository, s.tag);
    }
    for c in &p.children {
        println!("  child   {}@{} {}", c.repository, short(&c.digest), c.platform.as_deref().unwrap_or(""));
    }
    for c in &p.kept_children {
        println!("  keep    {}@{} ({})", c.repository, short(&c.digest), c.reason.as_deref().unwrap_or(""));
    }
    for r in &p.referrers {
        println!("  referrer {}@{} {} of {}", r.repository, short(&r.digest), r.kind, short(&r.subject));
    }
    if !p.is_empty() {
        println!("reclaimable after GC: {}", human_size(p.reclaimable_bytes));
    }
    for n in &p.notes {
        println!("note: {n}");
    }
    if p.is_empty() {
        println!("nothing to delete");
    }
}

fn print_report(r: &DeleteReport) {
    for a in &r.results {
        let msg = a.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
        println!("{:8} {} {}:{}{msg}", a.result, a.action, a.repository, a.target);
    }
    println!(
        "{} untagged, {} deleted, {} skipped, {} failed; trash ids: {}",
        r.untagged,
        r.deleted,
        r.skipped,
        r.failed,
        r.trash_ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
    );
}

fn short(d: &str) -> &str {
    d.get(..19).unwrap_or(d)
}

pub async fn trash(berth: &Berth, a: TrashArgs) -> Result<(), ApiError> {
    let entries = berth.trash(&a.name, a.all).await?;
    if a.json {
        print_json(&entries);
        return Ok(());
    }
    if entries.is_empty() {
        println!("the trash of {} is empty", a.name);
    }
    for e in &entries {
        println!(
            "{:>5}  {}  {}  {}@{}  tags: {}  {}  {}",
            e.id,
            e.deleted_at,
            e.kind,
            e.repository,
            short(&e.digest),
            e.tags.join(", "),
            human_size(e.reclaimable_bytes),
            e.state
        );
    }
    if entries.iter().any(|e| e.state == "trashed") {
        println!("restore with `berth restore {} ID` (works until garbage collection removes the blobs)", a.name);
    }
    Ok(())
}

pub async fn restore(berth: &Berth, a: RestoreArgs) -> Result<(), ApiError> {
    let r = berth.restore(&a.name, a.id).await?;
    if a.json {
        print_json(&r);
    } else {
        println!(
            "restored {}@{}: {} manifest(s), tags {}",
            r.repository,
            short(&r.digest),
            r.manifests_restored,
            r.tags_restored.join(", ")
        );
        for s in &r.tags_skipped {
            eprintln!("not restored: {s}: it points at another image now");
        }
    }
    Ok(())
}

pub async fn audit(berth: &Berth, a: AuditArgs) -> Result<(), ApiError> {
    let rows = berth.audit(&a.name, a.limit).await?;
    if a.json {
        print_json(&rows);
        return Ok(());
    }
    for r in &rows {
        let msg = r.message.as_deref().map(|m| format!("  {m}")).unwrap_or_default();
        println!(
            "{}  {:8} {:16} {}:{}  {}{msg}",
            r.at,
            r.result,
            r.action,
            r.repository.as_deref().unwrap_or("-"),
            r.target,
            r.operation
        );
    }
    Ok(())
}

#[derive(Args)]
pub struct GcArgs {
    name: String,
    /// The registry's own dry run beside Berth's prediction (the default without --yes).
    #[arg(long, conflicts_with = "yes")]
    dry_run: bool,
    /// Run GC: the before command, garbage-collect, the after command, then the check.
    #[arg(long)]
    yes: bool,
    /// List past GC runs instead.
    #[arg(long, conflicts_with_all = ["dry_run", "yes"])]
    history: bool,
    /// List the server's own GC runs (Harbor's history, runs started outside Berth too), its schedule
    /// and its time window.
    #[arg(long, conflicts_with_all = ["dry_run", "yes", "history"])]
    server_history: bool,
    /// Run the after command an interrupted GC run still owes (Berth stopped between the before and
    /// the after command: the registry may still be read-only).
    #[arg(long, conflicts_with_all = ["dry_run", "yes", "history", "server_history"])]
    run_after: bool,
    /// Harbor: also delete untagged artifacts (they cannot be restored from Berth's trash afterwards).
    #[arg(long)]
    delete_untagged: bool,
    /// Harbor: GC workers, 1 to 10 (default: Harbor's, 1).
    #[arg(long, value_name = "N")]
    workers: Option<u32>,
    /// The registry is stopped (or read-only) although the profile has no GC before command: without
    /// this, GC is refused there (a sweep while pushes run can delete the layers of uploads).
    #[arg(long)]
    registry_stopped: bool,
    /// Repositories with no tag left (2.x lists them forever): show them and the commands that remove
    /// their folders; with --yes, run those between the profile's GC before and after commands.
    #[arg(long, conflicts_with = "history")]
    empty_repos: bool,
    /// The registry's storage.filesystem.rootdirectory (for --empty-repos; default: the profile's
    /// storage root, `profile edit --storage-root`).
    #[arg(long, value_name = "DIR")]
    storage_root: Option<String>,
    /// Run the folder removal there, e.g. --remote 'ssh admin@registry-host' (for --empty-repos;
    /// default: the profile's, `profile edit --storage-remote`).
    #[arg(long, value_name = "PREFIX")]
    remote: Option<String>,
    #[arg(long)]
    json: bool,
}

pub async fn gc(berth: &Berth, a: GcArgs) -> Result<(), ApiError> {
    if a.run_after {
        let log = |line: &str| eprintln!("  {line}");
        match berth.gc_run_after(&a.name, &log).await? {
            None => println!("no interrupted GC run of {} owes its after command", a.name),
            Some(true) => println!("the after command ran: {} is back in service", a.name),
            Some(false) => {
                return Err(ApiError::new(
                    berth_core::ErrorCode::Registry,
                    format!("the after command of {}'s interrupted GC run failed", a.name),
                    "see its output above; fix the command (berth profile edit) or run it by hand",
                ))
            }
        }
        return Ok(());
    }
    if a.server_history {
        let v = berth.server_gc(&a.name).await?;
        if a.json {
            print_json(&v);
            return Ok(());
        }
        println!("schedule: {}", v.schedule.as_deref().unwrap_or("none (GC runs only when started)"));
        if let (Some(h), Some(before), Some(from)) = (v.time_window_hours, &v.collects_before, &v.collectable_from) {
            println!("time window: {h} h: a run now frees only blobs pushed before {before}; a blob pushed now is collectable from {from}");
        }
        for r in &v.runs {
            let mut params = Vec::new();
            if r.dry_run {
                params.push("dry run".to_string());
            }
            if r.delete_untagged {
                params.push("delete untagged".to_string());
            }
            if let Some(w) = r.workers {
                params.push(format!("{w} workers"));
            }
            println!(
                "{:>4}  {}  {:8} {:9} freed {}  blobs {}  manifests {}  {}",
                r.id,
                r.created.as_deref().unwrap_or("-"),
                r.trigger,
                r.status,
                r.freed_bytes.map(human_size).unwrap_or_else(|| "-".into()),
                r.blobs_deleted.map(|n| n.to_string()).unwrap_or_else(|| "-".into()),
                r.manifests_deleted.map(|n| n.to_string()).unwrap_or_else(|| "-".into()),
                params.join(", ")
            );
        }
        if v.runs.is_empty() {
            println!("no GC run recorded by the server yet");
        }
        return Ok(());
    }
    if a.history {
        let runs = berth.gc_history(&a.name, a.json).await?;
        if a.json {
            print_json(&runs);
        }
        for r in runs.iter().filter(|_| !a.json) {
            println!(
                "{:>4}  {}  {:8} {}  predicted {}  freed {} ({} blobs)  verified: {}",
                r.id,
                r.started_at,
                r.status,
                if r.dry_run { "dry run" } else { "run    " },
                human_size(r.predicted_bytes),
                human_size(r.freed_bytes),
                r.blobs_freed,
                r.verified.map_or("-", |v| if v { "yes" } else { "NO" })
            );
        }
        return Ok(());
    }
    if a.empty_repos {
        let (root, remote) = (a.storage_root.as_deref(), a.remote.as_deref());
        if !(a.yes && !a.dry_run) {
            let e = berth.empty_repositories(&a.name, root, remote).await?;
            if a.json {
                print_json(&e);
            } else {
                for (r, c) in e.repositories.iter().zip(&e.commands) {
                    println!("{r}\n  {c}");
                }
                if e.repositories.is_empty() {
                    println!("no empty repositories");
                }
            }
            eprintln!("dry run: nothing was removed. With --yes these run between the profile's GC before and after commands.");
            return Ok(());
        }
        let log = |line: &str| eprintln!("  {line}");
        let removed = berth.remove_empty_repositories(&a.name, root, remote, &log, &ctrl_c_cancels()).await?;
        if a.json {
            print_json(&serde_json::json!({ "removed": removed }));
        } else {
            println!("removed {} empty repositories: {}", removed.len(), removed.join(", "));
        }
        return Ok(());
    }
    let cancel = ctrl_c_cancels();
    // The log goes to stderr as it comes, so stdout stays JSON with --json.
    let log = |line: &str| eprintln!("  {line}");
    let run = a.yes && !a.dry_run;
    let request = berth_core::GcRequest {
        dry_run: !run,
        registry_stopped: a.registry_stopped,
        delete_untagged: a.delete_untagged,
        workers: a.workers,
    };
    let report = berth.gc(&a.name, &request, &log, &cancel).await?;
    if a.json {
        print_json(&report);
    } else {
        println!("Berth predicted: {} in {} blobs", human_size(report.predicted_bytes), report.predicted_blobs);
        let r = &report.registry;
        let n = |v: Option<u64>| v.map_or("?".to_string(), |v| v.to_string());
        println!(
            "registry: {} blobs marked, {} blobs and {} manifests eligible",
            n(r.marked),
            n(r.blobs_eligible),
            n(r.manifests_eligible)
        );
        for d in &report.predicted_not_eligible {
            println!("predicted but kept by the registry: {d} (an untagged manifest still references it)");
        }
        if run {
            println!("freed: {} ({} blobs)", human_size(report.freed_bytes), report.blobs_freed);
            println!("verified: {}", if report.verified == Some(true) { "yes" } else { "NO" });
        }
        for p in &report.problems {
            println!("problem: {p}");
        }
        for n in &report.notes {
            println!("note: {n}");
        }
    }
    if !run {
        eprintln!("dry run: nothing was collected. Run again with --yes to collect.");
    } else if report.verified != Some(true) {
        return Err(ApiError::new(
            ErrorCode::Registry,
            format!("the check after GC found {} problem(s)", report.problems.len()),
            "see the problems above and `berth gc NAME --history --json` for the log",
        ));
    }
    Ok(())
}
