//! The delete plan: from selected tags (or a retention policy) to exactly what will go, computed from
//! the catalog cache before anything is deleted. Pure: no network here (see `crate::delete` for how the
//! cache is refreshed first and how the plan is re-checked while it runs).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use berth_registry::{media, Digest};
use berth_store::ProfileGraph;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// One selected tag or image: `reference` is a tag, or a digest (the image with all its tags).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Selection {
    pub repository: String,
    pub reference: String,
}

impl Selection {
    /// `repo:tag` or `repo@sha256:…`.
    pub fn parse(s: &str) -> Option<Selection> {
        if let Some((repo, digest)) = s.split_once('@') {
            return Some(Selection { repository: repo.into(), reference: digest.into() }).filter(|_| !repo.is_empty());
        }
        // The tag is after the last ':' that follows the last '/' (a registry port never appears here).
        let slash = s.rfind('/').map_or(0, |i| i + 1);
        let colon = s[slash..].rfind(':')? + slash;
        let (repo, tag) = (&s[..colon], &s[colon + 1..]);
        (!repo.is_empty() && !tag.is_empty()).then(|| Selection { repository: repo.into(), reference: tag.into() })
    }
}

/// What a selected tag means for its image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum DeleteMode {
    /// Untag when other tags keep the image; delete the image when no tag would be left.
    #[default]
    Auto,
    /// Only ever remove tags; images stay (untagged ones until GC with --delete-untagged, which 2.x must not run).
    UntagOnly,
    /// Delete each selected tag's image, with every other tag that shares it (listed as siblings).
    Image,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PlanOptions {
    pub mode: DeleteMode,
    /// Delete the signatures, attestations and SBOMs of deleted images too (default).
    pub referrers: bool,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions { mode: DeleteMode::Auto, referrers: true }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PlannedTag {
    pub repository: String,
    pub tag: String,
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PlannedImage {
    pub repository: String,
    pub digest: String,
    pub media_type: String,
    /// Every tag that goes with it: the selected ones and the siblings.
    pub tags: Vec<String>,
    /// Total size of the image (config, layers; for an index, of all its platforms).
    #[ts(type = "number")]
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PlannedChild {
    pub repository: String,
    pub digest: String,
    pub parent: String,
    /// `os/arch[/variant]` when the index says.
    pub platform: Option<String>,
    /// For a kept child: why it stays.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PlannedReferrer {
    pub repository: String,
    pub digest: String,
    pub subject: String,
    /// The tag that holds it (`sha256-<hex>` fallback index, cosign `sha256-<hex>.sig`), if any.
    pub tag: Option<String>,
    /// `sig`, `att`, `sbom`, an artifact type, or `index` for the fallback index.
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Refusal {
    pub repository: String,
    pub reference: String,
    pub reason: String,
    pub hint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct BlobRef {
    pub digest: String,
    #[ts(type = "number")]
    pub size: u64,
}

/// Everything a delete would do, shown and confirmed before anything happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DeletePlan {
    pub profile: String,
    pub options: PlanOptions,
    /// Tags removed while their image stays (other tags keep it).
    pub untag: Vec<PlannedTag>,
    /// Images (manifests) deleted by digest, with all their tags.
    pub delete: Vec<PlannedImage>,
    /// Tags not selected that an image delete takes along.
    pub siblings: Vec<PlannedTag>,
    /// Index children deleted with their index (nothing else in the repository uses them).
    pub children: Vec<PlannedChild>,
    /// Index children kept because a surviving tag or index uses them.
    pub kept_children: Vec<PlannedChild>,
    /// Signatures, attestations and SBOMs of deleted images.
    pub referrers: Vec<PlannedReferrer>,
    /// Selected items that will not be touched, and why.
    pub refused: Vec<Refusal>,
    /// Bytes GC can free after this delete: blobs nothing surviving in any repository of the profile
    /// references, each counted once.
    #[ts(type = "number")]
    pub reclaimable_bytes: u64,
    pub reclaimable_blobs: Vec<BlobRef>,
    /// Caveats of the estimate.
    pub notes: Vec<String>,
    /// What the user types to confirm this plan in the window, or none when a button is enough
    /// ([`DeletePlan::required_phrase`], filled when the plan is computed).
    #[serde(default)]
    pub confirm_phrase: Option<String>,
}

/// Plans with more destructive actions than this are confirmed by typing a phrase, not a click.
pub const TYPED_CONFIRM_ABOVE: usize = 10;

impl DeletePlan {
    /// The phrase the user must type to confirm: for plans with more than [`TYPED_CONFIRM_ABOVE`]
    /// actions and plans that take sibling tags along. One repository: its name; several:
    /// `delete N`. Computed from the plan's content, so a plan edited on its way back cannot
    /// lower the bar.
    pub fn required_phrase(&self) -> Option<String> {
        let n = self.action_count();
        if n <= TYPED_CONFIRM_ABOVE && self.siblings.is_empty() {
            return None;
        }
        let repos = self.repositories();
        match repos.as_slice() {
            [one] => Some(one.clone()),
            _ => Some(format!("delete {n}")),
        }
    }

    /// Repositories the plan touches, sorted.
    pub fn repositories(&self) -> Vec<String> {
        let mut set: BTreeSet<&str> = BTreeSet::new();
        set.extend(self.untag.iter().map(|t| t.repository.as_str()));
        set.extend(self.delete.iter().map(|t| t.repository.as_str()));
        set.extend(self.children.iter().map(|t| t.repository.as_str()));
        set.extend(self.referrers.iter().map(|t| t.repository.as_str()));
        set.into_iter().map(str::to_string).collect()
    }

    /// Number of destructive actions (for "type to confirm" on large plans).
    pub fn action_count(&self) -> usize {
        self.untag.len() + self.delete.len() + self.children.len() + self.referrers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.action_count() == 0
    }
}

/// `sha256-<hex>` / `sha256-<hex>.<suffix>` tags name the digest they belong to.
pub(crate) fn referrer_tag_subject(tag: &str) -> Option<(String, Option<String>)> {
    let (base, suffix) = match tag.split_once('.') {
        Some((b, s)) => (b, Some(s.to_string())),
        None => (tag, None),
    };
    let (alg, hex) = base.split_once('-')?;
    let d = Digest::parse(&format!("{alg}:{hex}"))?;
    Some((d.to_string(), suffix))
}

/// Closure of manifests (digest → children, recursively) from `roots`.
fn manifest_closure<'a>(g: &'a ProfileGraph, roots: impl IntoIterator<Item = &'a str>) -> HashSet<&'a str> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut stack: Vec<&str> = roots.into_iter().collect();
    while let Some(d) = stack.pop() {
        if !seen.insert(d) {
            continue;
        }
        if let Some(m) = g.manifests.get(d) {
            stack.extend(m.children.iter().map(|(c, _)| c.as_str()));
        }
    }
    seen
}

/// Blobs (manifests themselves included) of a set of manifests, with sizes.
fn blob_closure<'a>(g: &'a ProfileGraph, manifests: &HashSet<&'a str>) -> HashMap<&'a str, u64> {
    let mut out = HashMap::new();
    for d in manifests {
        if let Some(m) = g.manifests.get(*d) {
            out.insert(*d, m.size);
            for (b, s) in &m.blobs {
                out.insert(b.as_str(), *s);
            }
        }
    }
    out
}

/// What the server refuses to delete, found before planning: repositories where deletes cannot work
/// (disabled, read-only, no permission) and single tags it protects (Harbor's tag immutability
/// rules), each with why and what to do.
#[derive(Debug, Clone, Default)]
pub struct Guards {
    pub repos: HashMap<String, (String, String)>,
    /// (repository, tag) → (why, what to do).
    pub tags: HashMap<(String, String), (String, String)>,
}

impl Guards {
    fn tag(&self, repo: &str, tag: &str) -> Option<&(String, String)> {
        self.tags.get(&(repo.to_string(), tag.to_string()))
    }
}

/// Computes the plan from the profile's graph. `guards`: repositories where deletes cannot work
/// (delete disabled, read-only, no permission), with the reason and the fix. In steps: resolve the
/// selections, decide per image (untag or delete), the referrers of deleted images, the index children
/// deleted with them, then the bytes GC can free.
pub fn compute_plan(
    profile: &str,
    g: &ProfileGraph,
    selections: &[Selection],
    opts: PlanOptions,
    guards: &Guards,
) -> DeletePlan {
    let mut p = Planner::new(profile, g, opts);
    let (selected, whole) = p.select(selections, &guards.repos);
    p.decide(&selected, &whole, guards);
    if opts.referrers {
        p.referrers();
    }
    p.children();
    p.reclaimable();
    p.plan.confirm_phrase = p.plan.required_phrase();
    p.plan
}

/// A plan being computed over one graph.
struct Planner<'g> {
    g: &'g ProfileGraph,
    opts: PlanOptions,
    /// repo → tag → digest (every repository with tags or untagged manifests has an entry)
    tags: BTreeMap<&'g str, BTreeMap<&'g str, &'g str>>,
    /// repo → untagged manifests the registry keeps
    untagged: BTreeMap<&'g str, BTreeSet<&'g str>>,
    plan: DeletePlan,
    /// (repo, tag) the plan removes.
    removed_tags: HashSet<(&'g str, &'g str)>,
    /// repo → deleted manifest digests (images and referrers).
    deleted: BTreeMap<&'g str, BTreeSet<&'g str>>,
    /// repo → index children deleted with their index.
    child_deleted: BTreeMap<&'g str, BTreeSet<&'g str>>,
}

/// (repo, digest) → selected tags.
type Selected<'g> = BTreeMap<(&'g str, &'g str), BTreeSet<&'g str>>;

impl<'g> Planner<'g> {
    fn new(profile: &str, g: &'g ProfileGraph, opts: PlanOptions) -> Self {
        let mut tags: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
        for t in &g.tags {
            tags.entry(t.repository.as_str()).or_default().insert(t.name.as_str(), t.digest.as_str());
        }
        let mut untagged: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (repo, digest) in &g.untagged {
            tags.entry(repo.as_str()).or_default();
            untagged.entry(repo.as_str()).or_default().insert(digest.as_str());
        }
        let plan = DeletePlan {
            profile: profile.to_string(),
            options: opts,
            untag: vec![],
            delete: vec![],
            siblings: vec![],
            children: vec![],
            kept_children: vec![],
            referrers: vec![],
            refused: vec![],
            reclaimable_bytes: 0,
            reclaimable_blobs: vec![],
            notes: vec![],
            confirm_phrase: None,
        };
        Planner {
            g,
            opts,
            tags,
            untagged,
            plan,
            removed_tags: HashSet::new(),
            deleted: BTreeMap::new(),
            child_deleted: BTreeMap::new(),
        }
    }

    /// The selections as (repo, digest) → tags, and the digests selected as whole images; refusals
    /// for what cannot be planned.
    fn select(
        &mut self,
        selections: &[Selection],
        blocked: &HashMap<String, (String, String)>,
    ) -> (Selected<'g>, HashSet<(&'g str, &'g str)>) {
        let (tags, untagged, plan) = (&self.tags, &self.untagged, &mut self.plan);
        // (repo, digest) → selected tags; and digests selected as whole images
        let mut selected: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
        let mut whole: HashSet<(&str, &str)> = HashSet::new();
        for s in selections {
            let refuse = |reason: String, hint: &str| Refusal {
                repository: s.repository.clone(),
                reference: s.reference.clone(),
                reason,
                hint: hint.to_string(),
            };
            if let Some((reason, hint)) = blocked.get(&s.repository) {
                plan.refused.push(refuse(reason.clone(), hint));
                continue;
            }
            let Some(repo_tags) = tags.get_key_value(s.repository.as_str()) else {
                plan.refused.push(refuse(
                    format!("no repository {} in the cache", s.repository),
                    "check the name, or sync the profile: the plan is computed from the cache",
                ));
                continue;
            };
            let (repo, repo_tags) = (*repo_tags.0, repo_tags.1);
            if s.reference.contains(':') {
                let matching: Vec<(&str, &str)> =
                    repo_tags.iter().filter(|(_, d)| **d == s.reference).map(|(t, d)| (*t, *d)).collect();
                if let Some(d) =
                    untagged.get(repo).and_then(|u| u.get(s.reference.as_str())).filter(|_| matching.is_empty())
                {
                    // An untagged manifest: deleted by digest, with no tag to take along.
                    selected.entry((repo, *d)).or_default();
                    whole.insert((repo, *d));
                    continue;
                }
                if matching.is_empty() {
                    plan.refused.push(refuse(
                        format!("no tag of {repo} points at {}", s.reference),
                        "only tagged images can be deleted from here: sync, then select it again",
                    ));
                    continue;
                }
                for (t, d) in matching {
                    selected.entry((repo, d)).or_default().insert(t);
                    whole.insert((repo, d));
                }
            } else if let Some((t, d)) = repo_tags.get_key_value(s.reference.as_str()) {
                selected.entry((repo, *d)).or_default().insert(*t);
            } else {
                plan.refused.push(refuse(
                    format!("{repo}:{} is not in the cache", s.reference),
                    "it may be gone already: sync the profile and select it again",
                ));
            }
        }
        (selected, whole)
    }

    /// Per image: untag the chosen tags, or delete the image with every tag on it (siblings listed).
    fn decide(&mut self, selected: &Selected<'g>, whole: &HashSet<(&'g str, &'g str)>, guards: &Guards) {
        let (g, opts) = (self.g, self.opts);
        let (tags, plan, removed_tags, deleted) =
            (&self.tags, &mut self.plan, &mut self.removed_tags, &mut self.deleted);
        // Decide per image: untag or delete.
        for ((repo, digest), sel) in selected {
            let all: BTreeSet<&str> = tags[repo].iter().filter(|(_, d)| *d == digest).map(|(t, _)| *t).collect();
            let others: Vec<&str> = all.difference(sel).copied().collect();
            if all.is_empty() && opts.mode == DeleteMode::UntagOnly {
                plan.refused.push(Refusal {
                    repository: repo.to_string(),
                    reference: digest.to_string(),
                    reason: format!("{repo}@{digest} has no tag to remove"),
                    hint: "delete untagged manifests as images (not Untag only)".into(),
                });
                continue;
            }
            let delete_image = match opts.mode {
                DeleteMode::UntagOnly => false,
                DeleteMode::Image => true,
                DeleteMode::Auto => others.is_empty() || whole.contains(&(*repo, *digest)),
            };
            // A protected tag refuses what would remove it: the untag, or the image delete it goes with.
            let removing: Vec<&str> =
                if delete_image { all.iter().copied().collect() } else { sel.iter().copied().collect() };
            let protected: Vec<(&str, &(String, String))> =
                removing.iter().filter_map(|t| guards.tag(repo, t).map(|why| (*t, why))).collect();
            if !protected.is_empty() {
                for (t, (reason, hint)) in &protected {
                    plan.refused.push(Refusal {
                        repository: repo.to_string(),
                        reference: t.to_string(),
                        reason: reason.clone(),
                        hint: hint.clone(),
                    });
                }
                let names: Vec<&str> = protected.iter().map(|(t, _)| *t).collect();
                for t in sel.iter().filter(|t| !names.contains(t)) {
                    plan.refused.push(Refusal {
                        repository: repo.to_string(),
                        reference: t.to_string(),
                        reason: format!(
                            "{repo}:{t} is the same image as the protected {}: deleting the image would remove them",
                            names.join(", ")
                        ),
                        hint: "untag it instead (Untag only), which leaves the image and its protected tags".into(),
                    });
                }
                continue;
            }
            if delete_image {
                let m = g.manifests.get(*digest);
                plan.delete.push(PlannedImage {
                    repository: repo.to_string(),
                    digest: digest.to_string(),
                    media_type: m.map(|m| m.media_type.clone()).unwrap_or_default(),
                    tags: all.iter().map(|t| t.to_string()).collect(),
                    size: berth_registry::saturating_sum(
                        blob_closure(g, &manifest_closure(g, [*digest])).values().copied(),
                    ),
                });
                for t in &others {
                    plan.siblings.push(PlannedTag {
                        repository: repo.to_string(),
                        tag: t.to_string(),
                        digest: digest.to_string(),
                    });
                }
                for t in &all {
                    removed_tags.insert((repo, t));
                }
                deleted.entry(repo).or_default().insert(digest);
            } else {
                for t in sel {
                    plan.untag.push(PlannedTag {
                        repository: repo.to_string(),
                        tag: t.to_string(),
                        digest: digest.to_string(),
                    });
                    removed_tags.insert((repo, t));
                }
            }
        }
    }

    /// Referrers of deleted images: tags `sha256-<hex>[.suffix]` in the same repository, and referrers
    /// the cache knows by subject.
    fn referrers(&mut self) {
        let g = self.g;
        let (tags, plan, removed_tags, deleted) =
            (&self.tags, &mut self.plan, &mut self.removed_tags, &mut self.deleted);
        // Referrers of deleted images: tags `sha256-<hex>[.suffix]` in the same repository, and referrers the
        // cache knows by subject.
        for (repo, repo_tags) in tags.iter() {
            let Some(dels) = deleted.get(repo).cloned() else { continue };
            for (t, d) in repo_tags {
                let Some((subject, suffix)) = referrer_tag_subject(t) else { continue };
                if !dels.contains(subject.as_str()) || removed_tags.contains(&(*repo, *t)) {
                    continue;
                }
                // Another surviving, non-referrer tag on the same digest keeps it.
                let shared = repo_tags.iter().any(|(t2, d2)| {
                    d2 == d && t2 != t && !removed_tags.contains(&(*repo, *t2)) && referrer_tag_subject(t2).is_none()
                });
                if shared {
                    continue;
                }
                plan.referrers.push(PlannedReferrer {
                    repository: repo.to_string(),
                    digest: d.to_string(),
                    subject: subject.clone(),
                    tag: Some(t.to_string()),
                    kind: suffix.unwrap_or_else(|| "index".into()),
                });
                removed_tags.insert((repo, t));
                deleted.entry(repo).or_default().insert(d);
            }
            for subject in &dels {
                for r in g.referrers.get(*subject).into_iter().flatten() {
                    let listed = plan.referrers.iter().any(|p| p.repository == *repo && p.digest == *r);
                    let tagged = repo_tags.values().any(|d| d == r);
                    if !listed && !tagged {
                        let kind = g
                            .manifests
                            .get(r)
                            .and_then(|m| m.artifact_type.clone())
                            .unwrap_or_else(|| "referrer".into());
                        plan.referrers.push(PlannedReferrer {
                            repository: repo.to_string(),
                            digest: r.clone(),
                            subject: subject.to_string(),
                            tag: None,
                            kind,
                        });
                    }
                }
            }
        }
    }

    /// Index children: deleted with their index unless a surviving tag or index in the repository uses them.
    fn children(&mut self) {
        let g = self.g;
        let (tags, plan, removed_tags, deleted, child_deleted) =
            (&self.tags, &mut self.plan, &self.removed_tags, &self.deleted, &mut self.child_deleted);
        // Index children: deleted with their index unless a surviving tag or index in the repository uses them.
        for (repo, dels) in deleted.iter() {
            let surviving_untagged =
                self.untagged.get(repo).into_iter().flatten().copied().filter(|d| !dels.contains(d));
            let surviving_roots = tags[repo]
                .iter()
                .filter(|(t, _)| !removed_tags.contains(&(*repo, **t)))
                .map(|(_, d)| *d)
                .chain(surviving_untagged);
            let live_in_repo = manifest_closure(g, surviving_roots);
            let mut stack: Vec<&str> = dels.iter().copied().collect();
            let mut seen: HashSet<&str> = HashSet::new();
            while let Some(parent) = stack.pop() {
                if !seen.insert(parent) {
                    continue;
                }
                let Some(m) = g.manifests.get(parent) else { continue };
                if !media::is_index(&m.media_type) {
                    continue;
                }
                let raw_children = children_with_platform(g, parent);
                for (child, platform) in raw_children {
                    if dels.contains(child) || child_deleted.get(repo).is_some_and(|c| c.contains(child)) {
                        continue;
                    }
                    let mut pc = PlannedChild {
                        repository: repo.to_string(),
                        digest: child.to_string(),
                        parent: parent.to_string(),
                        platform,
                        reason: None,
                    };
                    if live_in_repo.contains(child) {
                        let by_tag: Vec<&str> = tags[repo]
                            .iter()
                            .filter(|(t, d)| **d == child && !removed_tags.contains(&(*repo, **t)))
                            .map(|(t, _)| *t)
                            .collect();
                        pc.reason = Some(if by_tag.is_empty() {
                            "another index in this repository uses it".to_string()
                        } else {
                            format!("tagged {}", by_tag.join(", "))
                        });
                        if !plan.kept_children.iter().any(|k| k.repository == pc.repository && k.digest == pc.digest) {
                            plan.kept_children.push(pc);
                        }
                    } else {
                        child_deleted.entry(repo).or_default().insert(child);
                        plan.children.push(pc);
                        stack.push(child);
                    }
                }
            }
        }
    }

    /// Reclaimable bytes: what the deleted manifests reach minus what every surviving tag of every
    /// repository reaches (blobs are stored once per registry); and the notes.
    fn reclaimable(&mut self) {
        let g = self.g;
        let (plan, removed_tags, deleted, child_deleted) =
            (&mut self.plan, &self.removed_tags, &self.deleted, &self.child_deleted);
        // Reclaimable bytes: what the deleted manifests reach minus what every surviving tag of every
        // repository reaches (blobs are stored once per registry).
        // Untagged manifests the plan keeps hold their blobs too (GC keeps them).
        let kept_untagged = self.untagged.iter().flat_map(|(repo, ds)| {
            ds.iter().copied().filter(move |d| !deleted.get(repo).is_some_and(|del| del.contains(d)))
        });
        let live_roots = g
            .tags
            .iter()
            .filter(|t| !removed_tags.contains(&(t.repository.as_str(), t.name.as_str())))
            .map(|t| t.digest.as_str())
            .chain(kept_untagged);
        let live = blob_closure(g, &manifest_closure(g, live_roots));
        let mut gone_manifests: HashSet<&str> = HashSet::new();
        for (repo, dels) in deleted.iter() {
            gone_manifests.extend(dels.iter().copied());
            if let Some(c) = child_deleted.get(repo) {
                gone_manifests.extend(c.iter().copied());
            }
        }
        // A manifest deleted in one repository may stay in another one (a revision there).
        let gone = blob_closure(g, &gone_manifests);
        let mut reclaim: Vec<BlobRef> = gone
            .into_iter()
            .filter(|(d, _)| !live.contains_key(d))
            .map(|(d, s)| BlobRef { digest: d.to_string(), size: s })
            .collect();
        reclaim.sort_by(|a, b| a.digest.cmp(&b.digest));
        plan.reclaimable_bytes = berth_registry::saturating_sum(reclaim.iter().map(|b| b.size));
        plan.reclaimable_blobs = reclaim;
        if !plan.untag.is_empty() {
            plan.notes.push(
                "untagging frees no space: the image stays in the registry, untagged, until it is deleted by digest"
                    .into(),
            );
        }
        if !plan.delete.is_empty() {
            plan.notes.push(
                "space returns only after garbage collection; until then the trash can restore what was deleted".into(),
            );
            plan.notes.push(
                "the estimate counts what the cache knows: untagged manifests kept by the registry can hold blobs too"
                    .into(),
            );
        }
    }
}

/// Every manifest and blob digest the profile's tags reach (what GC keeps).
pub(crate) fn live_blobs(g: &ProfileGraph) -> HashSet<&str> {
    let roots = g.tags.iter().map(|t| t.digest.as_str());
    blob_closure(g, &manifest_closure(g, roots)).into_keys().collect()
}

fn children_with_platform<'a>(g: &'a ProfileGraph, parent: &str) -> Vec<(&'a str, Option<String>)> {
    g.manifests.get(parent).map_or_else(Vec::new, |m| m.children.iter().map(|(c, p)| (c.as_str(), p.clone())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_selections() {
        assert_eq!(Selection::parse("a/b:v1"), Some(Selection { repository: "a/b".into(), reference: "v1".into() }));
        assert_eq!(
            Selection::parse("a@sha256:abc"),
            Some(Selection { repository: "a".into(), reference: "sha256:abc".into() })
        );
        assert_eq!(Selection::parse("nocolon"), None);
        assert_eq!(Selection::parse(":v1"), None);
    }
}
