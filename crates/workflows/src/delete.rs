//! Planning against the registry's current state, and executing a plan with re-checks, retries, the
//! trash and the audit log.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use berth_backend::TagRemoval;
use berth_registry::{Digest, ErrorKind, Reference};
use berth_store::{NewAudit, NewTrashEntry, ProfileGraph, TrashManifest};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::plan::{compute_plan, DeletePlan, Guards, PlanOptions, PlannedReferrer, PlannedTag, Selection};
use crate::{operation_id, Target, WorkflowError};

/// Refreshes the selected repositories, probes delete support in each, and computes the plan.
pub async fn plan_delete(
    t: Target<'_>,
    selections: &[Selection],
    opts: PlanOptions,
    cancel: &CancellationToken,
) -> Result<DeletePlan, WorkflowError> {
    if selections.is_empty() {
        return Err(WorkflowError::invalid("nothing selected", "name at least one REPOSITORY:TAG"));
    }
    let repos: BTreeSet<String> = selections.iter().map(|s| s.repository.clone()).collect();
    let repos: Vec<String> = repos.into_iter().collect();
    for r in &repos {
        berth_registry::validate_repo(r)?;
    }
    berth_sync::refresh_repositories(t.store, t.profile_id, t.client(), &repos, cancel).await?;
    let guards = probe(t, &repos).await?;
    let graph = t.store.profile_graph(t.profile_id).await?;
    let mut plan = compute_plan(t.profile, &graph, selections, opts, &guards);
    if opts.referrers {
        add_accessories(t, &mut plan).await?;
    }
    if !t.store.has_synced(t.profile_id).await? {
        plan.notes.push(
            "the profile was never fully synced: other repositories may share these blobs, so the reclaimable \
             bytes are an upper bound (sync the profile for an exact figure)"
                .into(),
        );
    }
    Ok(plan)
}

/// Repositories where deletes cannot work and tags the server protects, with the reason and the fix.
pub(crate) async fn probe(t: Target<'_>, repos: &[String]) -> Result<Guards, WorkflowError> {
    let mut guards = Guards::default();
    for r in repos {
        if let Some((reason, hint)) = t.backend.delete_blocked(r).await? {
            guards.repos.insert(r.clone(), (format!("{reason}: nothing will be changed in {r}"), hint));
            continue;
        }
        for (tag, reason, hint) in t.backend.protected_tags(r).await? {
            guards.tags.insert((r.clone(), tag), (reason, hint));
        }
    }
    Ok(guards)
}

/// Accessories the server deletes with an image (Harbor's signatures and SBOMs that are not tagged,
/// so the cache does not know them): listed in the plan with the image.
async fn add_accessories(t: Target<'_>, plan: &mut DeletePlan) -> Result<(), WorkflowError> {
    let images: Vec<(String, String)> = plan.delete.iter().map(|d| (d.repository.clone(), d.digest.clone())).collect();
    for (repo, digest) in images {
        for (acc, kind) in t.backend.accessories(&repo, &digest).await? {
            if plan.referrers.iter().any(|r| r.repository == repo && r.digest == acc) {
                continue;
            }
            plan.referrers.push(PlannedReferrer {
                repository: repo.clone(),
                digest: acc,
                subject: digest.clone(),
                tag: None,
                kind,
            });
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DeleteProgress {
    /// The profile being deleted from (every progress event names its profile).
    pub profile: String,
    pub operation: String,
    #[ts(type = "number")]
    pub done: u64,
    #[ts(type = "number")]
    pub total: u64,
    /// What is being done now (`untag repo:tag`, `delete repo@digest`).
    pub current: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ActionResult {
    /// `untag`, `delete`, `delete_child` or `delete_referrer`.
    #[ts(type = "\"untag\" | \"delete\" | \"delete_child\" | \"delete_referrer\"")]
    pub action: String,
    pub repository: String,
    /// The tag, or the digest.
    pub target: String,
    pub digest: Option<String>,
    /// `ok`, `skipped` or `failed`.
    #[ts(type = "\"ok\" | \"skipped\" | \"failed\"")]
    pub result: String,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DeleteReport {
    pub operation: String,
    pub results: Vec<ActionResult>,
    #[ts(type = "number")]
    pub untagged: u64,
    #[ts(type = "number")]
    pub deleted: u64,
    #[ts(type = "number")]
    pub skipped: u64,
    #[ts(type = "number")]
    pub failed: u64,
    pub cancelled: bool,
    /// Trash entries recorded (restore them with their id).
    #[ts(type = "number[]")]
    pub trash_ids: Vec<i64>,
    /// Bytes GC can free now, as planned, for what was actually deleted.
    #[ts(type = "number")]
    pub reclaimable_bytes: u64,
}

struct Run<'a, 'p> {
    t: Target<'a>,
    operation: String,
    report: DeleteReport,
    total: u64,
    progress: &'p (dyn Fn(&DeleteProgress) + Send + Sync),
    /// Reclaimable blobs of the plan not yet attributed to a trash entry.
    unclaimed: HashMap<String, u64>,
    /// Manifest bytes of planned referrers the cache does not hold (a server's untagged accessories),
    /// read before anything is deleted: the server may delete them with their subject.
    prefetched: HashMap<String, (String, Vec<u8>)>,
}

impl Run<'_, '_> {
    async fn record(&mut self, r: ActionResult) {
        match r.result.as_str() {
            "ok" if r.action == "untag" => self.report.untagged += 1,
            "ok" => self.report.deleted += 1,
            "skipped" => self.report.skipped += 1,
            _ => self.report.failed += 1,
        }
        let audit = NewAudit {
            profile_id: self.t.profile_id,
            profile_name: self.t.profile,
            operation: &self.operation,
            action: &r.action,
            repository: Some(&r.repository),
            target: &r.target,
            digest: r.digest.as_deref(),
            result: &r.result,
            message: r.message.as_deref(),
        };
        if let Err(e) = self.t.store.add_audit(&audit).await {
            tracing::error!("audit log write failed: {e}");
        }
        self.report.results.push(r);
        (self.progress)(&DeleteProgress {
            profile: self.t.profile.to_string(),
            operation: self.operation.clone(),
            done: self.report.results.len() as u64,
            total: self.total,
            current: String::new(),
        });
    }

    fn announce(&self, current: String) {
        (self.progress)(&DeleteProgress {
            profile: self.t.profile.to_string(),
            operation: self.operation.clone(),
            done: self.report.results.len() as u64,
            total: self.total,
            current,
        });
    }

    /// Claims the plan's reclaimable blobs that `manifests` reach (each blob for one entry only).
    fn claim(&mut self, graph: &ProfileGraph, manifests: &[String]) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for m in manifests {
            let Some(gm) = graph.manifests.get(m) else { continue };
            let mut reach: Vec<(String, u64)> = vec![(m.clone(), gm.size)];
            reach.extend(gm.blobs.iter().cloned());
            for (d, _) in reach {
                if let Some(size) = self.unclaimed.remove(&d) {
                    out.push((d, size));
                }
            }
        }
        out
    }
}

fn result(
    action: &str,
    repo: &str,
    target: &str,
    digest: Option<&str>,
    res: &str,
    msg: Option<String>,
) -> ActionResult {
    ActionResult {
        action: action.into(),
        repository: repo.into(),
        target: target.into(),
        digest: digest.map(Into::into),
        result: res.into(),
        message: msg,
    }
}

/// Retries a registry call on server errors (5xx); 429 and 503 are already retried by the client.
async fn retry<T, F, Fut>(mut f: F) -> Result<T, berth_registry::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, berth_registry::Error>>,
{
    let mut attempt = 0;
    loop {
        match f().await {
            Err(e) if e.kind == ErrorKind::Server && attempt < 3 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(300 * (1 << attempt))).await;
            }
            other => return other,
        }
    }
}

/// repo → tag → digest, now.
fn tag_map(g: &ProfileGraph) -> HashMap<(String, String), String> {
    g.tags.iter().map(|t| ((t.repository.clone(), t.name.clone()), t.digest.clone())).collect()
}

/// Executes a plan. Refreshes the affected repositories first and re-checks each action against what
/// the registry holds now; then records trash entries and audit rows. Cancel stops before the next action.
/// The audit row of a cancelled delete run.
async fn audit_cancel(t: Target<'_>, operation: &str) -> Result<(), WorkflowError> {
    let audit = NewAudit {
        profile_id: t.profile_id,
        profile_name: t.profile,
        operation,
        action: "cancel",
        repository: None,
        target: "delete",
        digest: None,
        result: "skipped",
        message: Some("cancelled: later actions did not run"),
    };
    t.store.add_audit(&audit).await?;
    Ok(())
}

pub async fn execute_plan(
    t: Target<'_>,
    plan: &DeletePlan,
    cancel: &CancellationToken,
    progress: &(dyn Fn(&DeleteProgress) + Send + Sync),
) -> Result<DeleteReport, WorkflowError> {
    if plan.profile != t.profile {
        return Err(WorkflowError::invalid(
            format!("this plan is for profile {}, not {}", plan.profile, t.profile),
            "compute the plan again for this profile",
        ));
    }
    let operation = operation_id("delete");
    let mut run = Run {
        t,
        operation: operation.clone(),
        report: DeleteReport {
            operation,
            results: vec![],
            untagged: 0,
            deleted: 0,
            skipped: 0,
            failed: 0,
            cancelled: false,
            trash_ids: vec![],
            reclaimable_bytes: 0,
        },
        total: plan.action_count() as u64,
        progress,
        unclaimed: plan.reclaimable_blobs.iter().map(|b| (b.digest.clone(), b.size)).collect(),
        prefetched: HashMap::new(),
    };
    if plan.is_empty() {
        return Ok(run.report);
    }
    let mut repos: BTreeSet<String> = BTreeSet::new();
    repos.extend(plan.untag.iter().map(|u| u.repository.clone()));
    repos.extend(plan.delete.iter().map(|u| u.repository.clone()));
    repos.extend(plan.referrers.iter().map(|u| u.repository.clone()));
    let repos: Vec<String> = repos.into_iter().collect();
    run.announce("checking the registry's current state".into());
    match berth_sync::refresh_repositories(t.store, t.profile_id, t.client(), &repos, cancel).await {
        Ok(_) => {}
        // Cancelled before the first action: a cancelled run that changed nothing, not an error.
        Err(_) if cancel.is_cancelled() => {
            run.report.cancelled = true;
            audit_cancel(t, &run.operation).await?;
            return Ok(run.report);
        }
        Err(e) => return Err(e.into()),
    }
    let graph = t.store.profile_graph(t.profile_id).await?;
    let now = tag_map(&graph);
    // Deletes cannot work in a repository that turned read-only since the plan: refuse there.
    let guards = probe(t, &repos).await?;
    let blocked = &guards.repos;
    // Tags this plan removes, per repository, so child checks know what survives.
    let mut removed: HashSet<(String, String)> = HashSet::new();
    removed.extend(plan.untag.iter().map(|u| (u.repository.clone(), u.tag.clone())));
    for d in &plan.delete {
        removed.extend(d.tags.iter().map(|tag| (d.repository.clone(), tag.clone())));
    }
    removed.extend(plan.referrers.iter().filter_map(|r| r.tag.clone().map(|tag| (r.repository.clone(), tag))));

    let checked = Checked { graph: &graph, now: &now, blocked, guards: &guards, removed: &removed };
    for u in &plan.untag {
        if cancel.is_cancelled() {
            break;
        }
        run.untag(u, &checked).await?;
    }

    // Untagged accessories the cache lacks: their bytes now, for the trash, before any delete.
    for r in plan.referrers.iter().filter(|r| r.tag.is_none()) {
        if !t.store.manifests_raw(std::slice::from_ref(&r.digest)).await?.is_empty() {
            continue;
        }
        let Some(d) = Digest::parse(&r.digest) else { continue };
        if let Ok(Some(m)) = t.client().get_manifest(&r.repository, &Reference::Digest(d)).await {
            run.prefetched.insert(r.digest.clone(), (m.media_type.clone(), m.bytes.to_vec()));
        }
    }

    // Image deletes, then referrers; each followed by the children planned with it.
    let mut roots: Vec<Root> = Vec::new();
    for d in &plan.delete {
        roots.push(Root {
            action: "delete",
            repo: d.repository.clone(),
            digest: d.digest.clone(),
            planned_tags: d.tags.clone(),
        });
    }
    for r in &plan.referrers {
        roots.push(Root {
            action: "delete_referrer",
            repo: r.repository.clone(),
            digest: r.digest.clone(),
            planned_tags: r.tag.clone().into_iter().collect(),
        });
    }
    for root in roots {
        if cancel.is_cancelled() {
            break;
        }
        run.delete_root(root, plan, &checked, cancel).await?;
    }
    if cancel.is_cancelled() {
        run.report.cancelled = true;
        audit_cancel(t, &run.operation).await?;
    }
    // The cache follows what happened.
    let fresh = CancellationToken::new();
    if let Err(e) = berth_sync::refresh_repositories(t.store, t.profile_id, t.client(), &repos, &fresh).await {
        tracing::warn!("refreshing the cache after the delete failed: {e}");
    }
    Ok(run.report)
}

/// What the registry holds now, from the refresh right before the execution.
struct Checked<'g> {
    graph: &'g ProfileGraph,
    /// repo → tag → digest, now.
    now: &'g HashMap<(String, String), String>,
    /// Repositories where deletes cannot work now, with why.
    blocked: &'g HashMap<String, (String, String)>,
    guards: &'g Guards,
    /// Tags this plan removes, per repository, so child checks know what survives.
    removed: &'g HashSet<(String, String)>,
}

/// An image delete or a referrer delete, with the tags the plan saw on it.
struct Root {
    action: &'static str,
    repo: String,
    digest: String,
    planned_tags: Vec<String>,
}

impl Run<'_, '_> {
    /// One untag, re-checked: skipped when the repository is blocked, the tag moved or is gone.
    async fn untag(&mut self, u: &PlannedTag, ck: &Checked<'_>) -> Result<(), WorkflowError> {
        let protected = ck.guards.tags.get(&(u.repository.clone(), u.tag.clone())).map(|(r, _)| r);
        if let Some(reason) = ck.blocked.get(&u.repository).map(|(r, _)| r).or(protected) {
            self.record(result("untag", &u.repository, &u.tag, Some(&u.digest), "skipped", Some(reason.clone()))).await;
            return Ok(());
        }
        match ck.now.get(&(u.repository.clone(), u.tag.clone())) {
            Some(d) if *d == u.digest => {}
            Some(d) => {
                let msg = format!("the tag moved since the plan (now {d}): not touched");
                self.record(result("untag", &u.repository, &u.tag, Some(&u.digest), "skipped", Some(msg))).await;
                return Ok(());
            }
            None => {
                let msg = "the tag is gone already".to_string();
                self.record(result("untag", &u.repository, &u.tag, Some(&u.digest), "skipped", Some(msg))).await;
                return Ok(());
            }
        }
        self.announce(format!("untag {}:{}", u.repository, u.tag));
        let raw = self.t.store.manifests_raw(std::slice::from_ref(&u.digest)).await?;
        let untagged = retry(|| self.t.backend.remove_tag(&u.repository, &u.tag, &u.digest)).await;
        match untagged {
            Ok(TagRemoval::Moved(d)) => {
                let msg = format!("the tag moved since the plan (now {d}): not touched");
                self.record(result("untag", &u.repository, &u.tag, Some(&u.digest), "skipped", Some(msg))).await;
            }
            Ok(TagRemoval::Gone) => {
                let msg = "the tag is gone already".to_string();
                self.record(result("untag", &u.repository, &u.tag, Some(&u.digest), "skipped", Some(msg))).await;
            }
            Ok(TagRemoval::Removed(method)) => {
                if let Some((mt, raw)) = raw.get(&u.digest) {
                    let id = self
                        .t
                        .store
                        .add_trash_entry(&NewTrashEntry {
                            profile_id: self.t.profile_id,
                            operation: self.operation.clone(),
                            repository: u.repository.clone(),
                            digest: u.digest.clone(),
                            media_type: mt.clone(),
                            kind: "untag".into(),
                            tags: vec![u.tag.clone()],
                            reclaimable: 0,
                            manifests: vec![TrashManifest {
                                digest: u.digest.clone(),
                                media_type: mt.clone(),
                                raw: raw.clone(),
                            }],
                            blobs: vec![],
                        })
                        .await?;
                    self.report.trash_ids.push(id);
                }
                let msg = format!("untagged ({method})");
                self.record(result("untag", &u.repository, &u.tag, Some(&u.digest), "ok", Some(msg))).await;
            }
            Err(e) => {
                let fatal = e.is_fatal();
                self.record(result("untag", &u.repository, &u.tag, Some(&u.digest), "failed", Some(error_text(&e))))
                    .await;
                if fatal {
                    return Err(e.into());
                }
            }
        }
        Ok(())
    }

    /// One image (or referrer) delete with the children planned under it, re-checked first: nothing
    /// is deleted when another tag points at it now, a planned tag moved, or a push races the delete.
    async fn delete_root(
        &mut self,
        root: Root,
        plan: &DeletePlan,
        ck: &Checked<'_>,
        cancel: &CancellationToken,
    ) -> Result<(), WorkflowError> {
        let Root { action, repo, digest, planned_tags } = root;
        let target = planned_tags.first().cloned().unwrap_or_else(|| digest.clone());
        if let Some((reason, _)) = ck.blocked.get(&repo) {
            self.record(result(action, &repo, &target, Some(&digest), "skipped", Some(reason.clone()))).await;
            return Ok(());
        }
        // Every tag on this digest now must be one the plan chose; every chosen tag must still be here.
        let tags_now: BTreeSet<&str> = ck
            .graph
            .tags
            .iter()
            .filter(|g| g.repository == repo && g.digest == digest)
            .map(|g| g.name.as_str())
            .collect();
        let extra: Vec<&str> = tags_now.iter().filter(|tag| !planned_tags.iter().any(|p| p == *tag)).copied().collect();
        if !extra.is_empty() {
            let msg = format!(
                "{} now point(s) at this image and {} not chosen: nothing deleted",
                extra.join(", "),
                if extra.len() == 1 { "was" } else { "were" }
            );
            self.record(result(action, &repo, &target, Some(&digest), "skipped", Some(msg))).await;
            return Ok(());
        }
        let moved: Vec<String> = planned_tags
            .iter()
            .filter_map(|p| {
                ck.now.get(&(repo.clone(), p.clone())).filter(|d| **d != digest).map(|d| format!("{p} (now {d})"))
            })
            .collect();
        if !moved.is_empty() {
            let msg = format!("moved since the plan: {}; nothing deleted", moved.join(", "));
            self.record(result(action, &repo, &target, Some(&digest), "skipped", Some(msg))).await;
            return Ok(());
        }
        if action == "delete_referrer"
            && planned_tags.is_empty()
            && ck.graph.tags.iter().any(|g| g.repository == repo && g.digest == digest)
        {
            self.record(result(action, &repo, &target, Some(&digest), "skipped", Some("it is tagged now".into())))
                .await;
            return Ok(());
        }
        // Last look right before the delete: the refresh above is seconds old.
        let mut raced = None;
        for p in &planned_tags {
            if let Ok(Some(h)) = self.t.client().head_manifest(&repo, &Reference::Tag(p.clone())).await {
                if h.digest.as_str() != digest {
                    raced = Some(format!("{p} was pushed to just now (now {}): nothing deleted", h.digest));
                }
            }
        }
        if let Some(msg) = raced {
            self.record(result(action, &repo, &target, Some(&digest), "skipped", Some(msg))).await;
            return Ok(());
        }
        let Some(parsed) = Digest::parse(&digest) else {
            self.record(result(action, &repo, &target, Some(&digest), "failed", Some("not a digest".into()))).await;
            return Ok(());
        };
        let mut keep_bytes = self.t.store.manifests_raw(std::slice::from_ref(&digest)).await?;
        if let (true, Some(b)) = (keep_bytes.is_empty(), self.prefetched.get(&digest)) {
            keep_bytes.insert(digest.clone(), b.clone());
        }
        self.announce(format!("delete {repo}@{digest}"));
        match retry(|| self.t.backend.delete_manifest(&repo, &parsed)).await {
            Ok(found) => {
                let msg = (!found).then(|| "already gone".to_string());
                self.record(result(action, &repo, &target, Some(&digest), "ok", msg)).await;
                // Gone from the registry: no longer one of its untagged manifests.
                self.t.store.forget_repository_manifest(self.t.profile_id, &repo, &digest).await?;
            }
            Err(e) => {
                let fatal = e.is_fatal();
                self.record(result(action, &repo, &target, Some(&digest), "failed", Some(error_text(&e)))).await;
                if fatal {
                    return Err(e.into());
                }
                return Ok(());
            }
        }
        // Children planned under this root (recursively), checked against what survives now.
        let mut deleted_manifests = vec![];
        let surviving_roots: Vec<&str> = ck
            .graph
            .tags
            .iter()
            .filter(|g| g.repository == repo && !ck.removed.contains(&(g.repository.clone(), g.name.clone())))
            .map(|g| g.digest.as_str())
            .collect();
        let live = closure(ck.graph, &surviving_roots);
        let mut parents = vec![digest.clone()];
        while let Some(parent) = parents.pop() {
            for c in plan.children.iter().filter(|c| c.repository == repo && c.parent == parent) {
                if cancel.is_cancelled() {
                    break;
                }
                if live.contains(c.digest.as_str()) {
                    let msg = "a tag or index that survives uses it now: kept".to_string();
                    self.record(result("delete_child", &repo, &c.digest, Some(&c.digest), "skipped", Some(msg))).await;
                    continue;
                }
                let Some(cd) = Digest::parse(&c.digest) else { continue };
                keep_bytes.extend(self.t.store.manifests_raw(std::slice::from_ref(&c.digest)).await?);
                self.announce(format!("delete {repo}@{} (child)", c.digest));
                match retry(|| self.t.backend.delete_manifest(&repo, &cd)).await {
                    Ok(_) => {
                        self.t.store.forget_repository_manifest(self.t.profile_id, &repo, &c.digest).await?;
                        self.record(result(
                            "delete_child",
                            &repo,
                            &c.digest,
                            Some(&c.digest),
                            "ok",
                            c.platform.clone(),
                        ))
                        .await;
                        deleted_manifests.push(c.digest.clone());
                        parents.push(c.digest.clone());
                    }
                    Err(e) => {
                        let fatal = e.is_fatal();
                        self.record(result(
                            "delete_child",
                            &repo,
                            &c.digest,
                            Some(&c.digest),
                            "failed",
                            Some(error_text(&e)),
                        ))
                        .await;
                        if fatal {
                            return Err(e.into());
                        }
                    }
                }
            }
        }
        // The trash entry: children first (restore order), then the root.
        deleted_manifests.reverse();
        deleted_manifests.push(digest.clone());
        let manifests: Vec<TrashManifest> = deleted_manifests
            .iter()
            .filter_map(|d| {
                keep_bytes.get(d).map(|(mt, raw)| TrashManifest {
                    digest: d.clone(),
                    media_type: mt.clone(),
                    raw: raw.clone(),
                })
            })
            .collect();
        let blobs = self.claim(ck.graph, &deleted_manifests);
        let reclaimable: u64 = berth_registry::saturating_sum(blobs.iter().map(|(_, s)| *s));
        self.report.reclaimable_bytes = self.report.reclaimable_bytes.saturating_add(reclaimable);
        if let Some(root) = manifests.last() {
            let id = self
                .t
                .store
                .add_trash_entry(&NewTrashEntry {
                    profile_id: self.t.profile_id,
                    operation: self.operation.clone(),
                    repository: repo.clone(),
                    digest: digest.clone(),
                    media_type: root.media_type.clone(),
                    kind: "delete".into(),
                    tags: tags_now.iter().map(|s| s.to_string()).collect(),
                    reclaimable,
                    manifests,
                    blobs,
                })
                .await?;
            self.report.trash_ids.push(id);
        }
        Ok(())
    }
}

fn closure<'a>(g: &'a ProfileGraph, roots: &[&'a str]) -> HashSet<&'a str> {
    let mut seen = HashSet::new();
    let mut stack: Vec<&str> = roots.to_vec();
    while let Some(d) = stack.pop() {
        if seen.insert(d) {
            if let Some(m) = g.manifests.get(d) {
                stack.extend(m.children.iter().map(|(c, _)| c.as_str()));
            }
        }
    }
    seen
}

fn error_text(e: &berth_registry::Error) -> String {
    if e.hint.is_empty() {
        e.message.clone()
    } else {
        format!("{} ({})", e.message, e.hint)
    }
}
