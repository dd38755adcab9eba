//! Retention policies: which tags to keep per repository (the newest N by created date, those newer
//! than D days, protected tags), and the delete plan for the rest. A dry run is the plan.

use std::collections::BTreeMap;

use berth_store::ProfileGraph;
use globset::Glob;
use regex::Regex;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::delete::probe;
use crate::plan::{compute_plan, referrer_tag_subject, DeletePlan, PlanOptions, PlannedTag, Selection};
use crate::{Target, WorkflowError};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RetentionPolicy {
    /// Keep the newest N tags (by image creation time) of each repository.
    pub keep_last: Option<u32>,
    /// Delete tags whose image is older than this many days (unless kept by `keep_last`).
    pub older_than_days: Option<u32>,
    /// Only tags matching this regex are candidates.
    pub matching: Option<String>,
    /// Tags matching this regex are never candidates.
    pub exclude: Option<String>,
    /// Repositories this policy applies to (a glob like `team/*`); all when absent.
    pub repositories: Option<String>,
    /// Tags matching any of these regexes are always kept.
    pub protect: Vec<String>,
    /// Also delete the untagged manifests of the repositories it covers (pushed over by a newer tag):
    /// with `older_than_days`, those untagged (or, never seen tagged, created) longer ago than that.
    #[serde(default)]
    pub untagged: bool,
}

/// A retention dry run: the delete plan, and the tags kept with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RetentionPlan {
    #[serde(flatten)]
    #[ts(flatten)]
    pub plan: DeletePlan,
    pub kept: Vec<KeptTag>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct KeptTag {
    pub repository: String,
    pub tag: String,
    pub digest: String,
    /// `newest N`, `newer than D days`, `protected`, `not matched`, `excluded`, `unknown age`, `referrer`.
    pub reason: String,
}

struct Compiled {
    matching: Option<Regex>,
    exclude: Option<Regex>,
    protect: Vec<Regex>,
    repos: Option<globset::GlobMatcher>,
}

fn compile(p: &RetentionPolicy) -> Result<Compiled, WorkflowError> {
    if p.keep_last.is_none() && p.older_than_days.is_none() && !p.untagged {
        return Err(WorkflowError::invalid(
            "a retention policy needs a rule: keep the last N tags, delete what is older than D days, or delete \
             untagged manifests",
            "for example: keep the last 10 keeps the 10 newest tags of each repository",
        ));
    }
    let re = |s: &Option<String>, what: &str| -> Result<Option<Regex>, WorkflowError> {
        s.as_deref()
            .map(|s| {
                Regex::new(s).map_err(|e| {
                    WorkflowError::invalid(
                        format!("invalid {what} regex {s:?}: {e}"),
                        "use Rust regex syntax, e.g. ^v\\d+",
                    )
                })
            })
            .transpose()
    };
    let protect = p
        .protect
        .iter()
        .map(|s| re(&Some(s.clone()), "protect").map(|r| r.expect("some")))
        .collect::<Result<Vec<_>, _>>()?;
    let repos = p
        .repositories
        .as_deref()
        .map(|g| {
            Glob::new(g).map(|g| g.compile_matcher()).map_err(|e| {
                WorkflowError::invalid(format!("invalid repository glob {g:?}: {e}"), "for example: team/* or **/cache")
            })
        })
        .transpose()?;
    Ok(Compiled { matching: re(&p.matching, "match")?, exclude: re(&p.exclude, "exclude")?, protect, repos })
}

fn parse_time(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// Applies a policy to the cached tags: the selections to delete, and what is kept with the reason.
pub fn select_for_retention(
    g: &ProfileGraph,
    policy: &RetentionPolicy,
    now: time::OffsetDateTime,
) -> Result<(Vec<Selection>, Vec<KeptTag>), WorkflowError> {
    let c = compile(policy)?;
    if policy.keep_last.is_none() && policy.older_than_days.is_none() {
        return Ok((Vec::new(), Vec::new())); // untagged manifests only: no tag is touched
    }
    let mut by_repo: BTreeMap<&str, Vec<&berth_store::GraphTag>> = BTreeMap::new();
    for t in &g.tags {
        if c.repos.as_ref().is_none_or(|m| m.is_match(&t.repository)) {
            by_repo.entry(t.repository.as_str()).or_default().push(t);
        }
    }
    let cutoff = policy.older_than_days.map(|d| now - time::Duration::days(d as i64));
    let mut selections = Vec::new();
    let mut kept = Vec::new();
    for (repo, tags) in by_repo {
        let keep = |t: &berth_store::GraphTag, reason: &str, kept: &mut Vec<KeptTag>| {
            kept.push(KeptTag {
                repository: repo.to_string(),
                tag: t.name.clone(),
                digest: t.digest.clone(),
                reason: reason.to_string(),
            })
        };
        let mut candidates: Vec<(&berth_store::GraphTag, time::OffsetDateTime)> = Vec::new();
        for t in tags {
            if referrer_tag_subject(&t.name).is_some() {
                keep(t, "referrer (goes with its image)", &mut kept);
            } else if c.protect.iter().any(|r| r.is_match(&t.name)) {
                keep(t, "protected", &mut kept);
            } else if c.matching.as_ref().is_some_and(|r| !r.is_match(&t.name)) {
                keep(t, "not matched", &mut kept);
            } else if c.exclude.as_ref().is_some_and(|r| r.is_match(&t.name)) {
                keep(t, "excluded", &mut kept);
            } else {
                match t.created.as_deref().and_then(parse_time) {
                    Some(created) => candidates.push((t, created)),
                    None => keep(t, "unknown age", &mut kept),
                }
            }
        }
        // Newest first; equal times by name, descending (v10 before v9 is not guaranteed: names are not versions).
        candidates.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.name.cmp(&a.0.name)));
        for (i, (t, created)) in candidates.into_iter().enumerate() {
            let in_newest = policy.keep_last.is_some_and(|n| (i as u32) < n);
            let young = cutoff.is_some_and(|cut| created >= cut);
            if in_newest {
                keep(t, &format!("newest {}", policy.keep_last.unwrap_or(0)), &mut kept);
            } else if young {
                keep(t, &format!("newer than {} days", policy.older_than_days.unwrap_or(0)), &mut kept);
            } else if policy.keep_last.is_none() && cutoff.is_none() {
                keep(t, "no rule", &mut kept);
            } else {
                selections.push(Selection { repository: repo.to_string(), reference: t.name.clone() });
            }
        }
    }
    Ok((selections, kept))
}

/// The retention plan for a profile: refreshes the repositories the policy covers, then plans the deletes
/// (untag where a kept tag shares the image, image delete otherwise).
pub async fn plan_retention(
    t: Target<'_>,
    policy: &RetentionPolicy,
    cancel: &CancellationToken,
) -> Result<RetentionPlan, WorkflowError> {
    plan_retention_many(t, std::slice::from_ref(policy), cancel).await
}

/// Several policies at once (a profile's saved ones): a tag goes only when a policy selects it and no
/// policy covering its repository keeps it.
pub async fn plan_retention_many(
    t: Target<'_>,
    policies: &[RetentionPolicy],
    cancel: &CancellationToken,
) -> Result<RetentionPlan, WorkflowError> {
    if policies.is_empty() {
        return Err(WorkflowError::invalid(
            "no retention policy",
            "save a retention policy for the profile first (keep last N, older than D days, …)",
        ));
    }
    let compiled = policies.iter().map(compile).collect::<Result<Vec<_>, _>>()?;
    // Which repositories: from the cache when synced, else from the registry's catalog.
    let mut repos: Vec<String> =
        t.store.repository_summaries(t.profile_id).await?.into_iter().map(|r| r.name).collect();
    if repos.is_empty() {
        repos = t.client().catalog().await?;
    }
    repos.retain(|r| compiled.iter().any(|c| c.repos.as_ref().is_none_or(|m| m.is_match(r))));
    berth_sync::refresh_repositories(t.store, t.profile_id, t.client(), &repos, cancel).await?;
    let graph = t.store.profile_graph(t.profile_id).await?;
    let now = time::OffsetDateTime::now_utc();
    let mut selections: Vec<Selection> = Vec::new();
    let mut kept: Vec<KeptTag> = Vec::new();
    // A policy that merely does not cover a tag (not matched, excluded) does not veto another's choice.
    let covers = |k: &KeptTag| k.reason != "not matched" && k.reason != "excluded";
    for policy in policies {
        let (sel, k) = select_for_retention(&graph, policy, now)?;
        selections.extend(sel);
        for k in k {
            match kept.iter_mut().find(|x| x.repository == k.repository && x.tag == k.tag) {
                Some(x) if !covers(x) && covers(&k) => *x = k,
                Some(_) => {}
                None => kept.push(k),
            }
        }
    }
    selections.retain(|s| !kept.iter().any(|k| covers(k) && k.repository == s.repository && k.tag == s.reference));
    kept.retain(|k| !selections.iter().any(|s| k.repository == s.repository && k.tag == s.reference));
    selections.extend(untagged_selections(t, policies, &compiled, now).await?);
    selections.sort();
    selections.dedup();
    let mut touched: Vec<String> = selections.iter().map(|s| s.repository.clone()).collect();
    touched.dedup();
    let guards = probe(t, &touched).await?;
    let plan = compute_plan(t.profile, &graph, &selections, PlanOptions::default(), &guards);
    Ok(RetentionPlan { plan, kept })
}

/// Untagged manifests the policies that ask for them select: by digest, in the repositories each
/// covers, untagged longer than its `older_than_days` (all when it sets none). An index's platforms go
/// with the index, so they are not selected on their own.
async fn untagged_selections(
    t: Target<'_>,
    policies: &[RetentionPolicy],
    compiled: &[Compiled],
    now: time::OffsetDateTime,
) -> Result<Vec<Selection>, WorkflowError> {
    if !policies.iter().any(|p| p.untagged) {
        return Ok(Vec::new());
    }
    let rows = t.store.untagged_manifests(t.profile_id, None).await?;
    let mut out = Vec::new();
    for (p, c) in policies.iter().zip(compiled).filter(|(p, _)| p.untagged) {
        let cutoff = p.older_than_days.map(|d| now - time::Duration::days(d as i64));
        for r in rows.iter().filter(|r| r.index_parent.is_none()) {
            if c.repos.as_ref().is_some_and(|m| !m.is_match(&r.repository)) {
                continue;
            }
            let since = r.last_tagged.as_deref().or(r.created.as_deref()).and_then(parse_time);
            let old_enough = match (cutoff, since) {
                (None, _) => true,
                (Some(cut), Some(since)) => since < cut,
                (Some(_), None) => false,
            };
            if old_enough {
                out.push(Selection { repository: r.repository.clone(), reference: r.digest.clone() });
            }
        }
    }
    Ok(out)
}

impl RetentionPlan {
    /// Tags the plan removes (untags, image deletes with siblings).
    pub fn removed_tags(&self) -> Vec<PlannedTag> {
        let mut v = self.plan.untag.clone();
        for d in &self.plan.delete {
            v.extend(d.tags.iter().map(|t| PlannedTag {
                repository: d.repository.clone(),
                tag: t.clone(),
                digest: d.digest.clone(),
            }));
        }
        v
    }
}
