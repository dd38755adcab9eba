//! Harbor's JSON models (the fields Berth uses; unknown fields are ignored, missing ones default).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SystemInfo {
    pub auth_mode: Option<String>,
    /// Only for a logged-in caller.
    pub harbor_version: Option<String>,
    pub external_url: Option<String>,
    pub registry_url: Option<String>,
    pub read_only: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Statistics {
    pub private_project_count: i64,
    pub private_repo_count: i64,
    pub public_project_count: i64,
    pub public_repo_count: i64,
    /// Admins only.
    pub total_project_count: Option<i64>,
    pub total_repo_count: Option<i64>,
    pub total_storage_consumption: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Project {
    pub project_id: i64,
    pub name: String,
    pub repo_count: i64,
    pub owner_name: Option<String>,
    pub creation_time: Option<String>,
    /// Harbor's metadata values are strings (`"public": "true"`); read as any JSON in case a proxy or
    /// an older version sends booleans.
    pub metadata: BTreeMap<String, Value>,
    /// The caller's role: 1 project admin, 2 developer, 3 guest, 4 maintainer, 5 limited guest; 0 none.
    pub current_user_role_id: Option<i64>,
}

impl Project {
    fn meta(&self, key: &str) -> Option<String> {
        self.metadata.get(key).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    pub fn public(&self) -> bool {
        self.meta("public").is_some_and(|v| v == "true")
    }

    /// The ID of the project's tag retention policy, if it has one.
    pub fn retention_id(&self) -> Option<i64> {
        self.meta("retention_id").and_then(|v| v.parse().ok())
    }

    /// The caller's role in the project, as Harbor names it.
    pub fn role_name(&self) -> Option<&'static str> {
        role_name(self.current_user_role_id.unwrap_or(0))
    }
}

/// Harbor's project role names by ID.
pub fn role_name(id: i64) -> Option<&'static str> {
    match id {
        1 => Some("project admin"),
        2 => Some("developer"),
        3 => Some("guest"),
        4 => Some("maintainer"),
        5 => Some("limited guest"),
        _ => None,
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Quota {
    /// Resource name (`storage`) → bytes; -1 is unlimited.
    pub hard: BTreeMap<String, i64>,
    pub used: BTreeMap<String, i64>,
}

impl Quota {
    pub fn storage_used(&self) -> i64 {
        self.used.get("storage").copied().unwrap_or(0)
    }

    /// `None` when unlimited.
    pub fn storage_limit(&self) -> Option<i64> {
        self.hard.get("storage").copied().filter(|v| *v >= 0)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProjectSummary {
    pub repo_count: i64,
    /// Member counts: absent without the permission to list members.
    pub project_admin_count: Option<i64>,
    pub maintainer_count: Option<i64>,
    pub developer_count: Option<i64>,
    pub guest_count: Option<i64>,
    /// Absent without the permission to read the quota (a public project the caller is no member of).
    pub quota: Option<Quota>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Repository {
    pub id: i64,
    pub project_id: i64,
    /// Full name: `project/repo`.
    pub name: String,
    pub artifact_count: i64,
    pub pull_count: i64,
    pub creation_time: Option<String>,
    pub update_time: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tag {
    pub id: i64,
    pub name: String,
    pub push_time: Option<String>,
    pub pull_time: Option<String>,
    /// Only filled with `with_immutable_status=true`.
    pub immutable: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Platform {
    pub os: Option<String>,
    pub architecture: Option<String>,
    pub variant: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ArtifactReference {
    pub child_digest: String,
    pub platform: Option<Platform>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Artifact {
    pub id: i64,
    /// `IMAGE`, `CHART`, `CNAB`, `WASM`, `SBOM`, `UNKNOWN`, …
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub digest: String,
    pub manifest_media_type: Option<String>,
    pub media_type: Option<String>,
    /// Absent before Harbor 2.5.
    pub artifact_type: Option<String>,
    pub repository_name: Option<String>,
    pub size: i64,
    pub push_time: Option<String>,
    /// `0001-01-01T00:00:00.000Z` when never pulled.
    pub pull_time: Option<String>,
    /// `null` for an untagged artifact.
    pub tags: Option<Vec<Tag>>,
    /// The platforms of a multi-platform index.
    pub references: Option<Vec<ArtifactReference>>,
    pub extra_attrs: Option<BTreeMap<String, Value>>,
    pub labels: Option<Vec<Label>>,
    /// Report MIME type → summary (`with_scan_overview=true`).
    pub scan_overview: Option<BTreeMap<String, ScanSummary>>,
    /// Signatures, SBOMs and other referrers of this artifact (`with_accessory=true`).
    pub accessories: Option<Vec<Accessory>>,
}

impl Artifact {
    pub fn tag_names(&self) -> Vec<String> {
        self.tags.iter().flatten().map(|t| t.name.clone()).collect()
    }

    /// The first scan report's summary.
    pub fn scan(&self) -> Option<&ScanSummary> {
        self.scan_overview.as_ref().and_then(|m| m.values().next())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Label {
    pub id: i64,
    pub name: String,
    pub color: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Accessory {
    pub id: i64,
    pub artifact_id: i64,
    pub digest: String,
    /// `signature.cosign`, `signature.notation`, `sbom.harbor`, `subject.accessory`, …
    #[serde(rename = "type")]
    pub kind: String,
    pub size: i64,
    pub subject_artifact_digest: Option<String>,
    pub creation_time: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScanSummary {
    pub report_id: Option<String>,
    /// `Success`, `Running`, `Error`, `Pending`, `Stopped`, …
    pub scan_status: Option<String>,
    /// The highest severity found: `Critical`, `High`, `Medium`, `Low`, `Unknown`, `None`.
    pub severity: Option<String>,
    pub summary: Option<VulnerabilityCounts>,
    pub end_time: Option<String>,
    pub scanner: Option<Scanner>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VulnerabilityCounts {
    pub total: i64,
    pub fixable: i64,
    /// Severity → count.
    pub summary: Option<BTreeMap<String, i64>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Scanner {
    pub name: Option<String>,
    pub vendor: Option<String>,
    pub version: Option<String>,
}

/// A doublestar selector of a retention or immutability rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Selector {
    pub kind: String,
    /// `matches`, `excludes`, `repoMatches`, `repoExcludes`.
    pub decoration: String,
    pub pattern: String,
    pub extras: Option<String>,
}

/// A rule of a project's tag immutability or retention policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Rule {
    pub id: i64,
    pub disabled: bool,
    pub action: Option<String>,
    pub template: Option<String>,
    pub params: Option<BTreeMap<String, Value>>,
    pub tag_selectors: Option<Vec<Selector>>,
    pub scope_selectors: Option<BTreeMap<String, Vec<Selector>>>,
}

impl Rule {
    fn selector_matches(sel: Option<&Selector>, value: &str) -> bool {
        let Some(s) = sel else { return false };
        let m = glob_match(&s.pattern, value);
        if s.decoration.to_ascii_lowercase().ends_with("excludes") {
            !m
        } else {
            m
        }
    }

    /// Whether this (enabled) rule selects `tag` in the project-relative `repository`, as Harbor's
    /// matcher does: the first repository selector, then the first tag selector.
    pub fn matches(&self, repository: &str, tag: &str) -> bool {
        if self.disabled {
            return false;
        }
        let repo_sel = self.scope_selectors.as_ref().and_then(|m| m.get("repository")).and_then(|v| v.first());
        let tag_sel = self.tag_selectors.as_ref().and_then(|v| v.first());
        Self::selector_matches(repo_sel, repository) && Self::selector_matches(tag_sel, tag)
    }

    /// `repositories matching "**", tags matching "release-*"`.
    pub fn describe(&self) -> String {
        let d = |s: Option<&Selector>| {
            s.map(|s| format!("{} {:?}", s.decoration.replace("repoM", "m").replace("repoE", "e"), s.pattern))
                .unwrap_or_else(|| "none".into())
        };
        let repo_sel = self.scope_selectors.as_ref().and_then(|m| m.get("repository")).and_then(|v| v.first());
        format!("repositories {}, tags {}", d(repo_sel), d(self.tag_selectors.as_ref().and_then(|v| v.first())))
    }
}

/// Doublestar matching as Harbor's selectors do it (`*` within a path segment, `**` across, `{a,b}`).
pub fn glob_match(pattern: &str, value: &str) -> bool {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher().is_match(value))
        .unwrap_or(false)
}

/// A project's tag retention policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetentionPolicy {
    pub id: i64,
    /// `or`: a tag is kept when any rule retains it.
    pub algorithm: Option<String>,
    pub rules: Option<Vec<Rule>>,
    pub trigger: Option<Value>,
}

/// One permission of the caller (`GET /users/current/permissions`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Permission {
    pub resource: String,
    pub action: String,
}

/// `parameters` of a GC run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcParameters {
    pub delete_untagged: bool,
    pub dry_run: bool,
    /// 1–10.
    pub workers: u32,
}

impl Default for GcParameters {
    fn default() -> Self {
        GcParameters { delete_untagged: false, dry_run: false, workers: 1 }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GcRun {
    pub id: i64,
    pub job_kind: Option<String>,
    /// A JSON *string* (Harbor's quirk); see [`GcRun::parameters`].
    pub job_parameters: Option<String>,
    /// `Pending`, `Running`, `Stopped`, `Error`, `Success`.
    pub job_status: String,
    pub creation_time: Option<String>,
    pub update_time: Option<String>,
    pub schedule: Option<GcSchedule>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GcSchedule {
    /// `Hourly`, `Daily`, `Weekly`, `Custom`, `Manual`, `None`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Six-field cron.
    pub cron: Option<String>,
    pub next_scheduled_time: Option<String>,
}

impl GcRun {
    /// `job_parameters` parsed: after a run it holds `freed_space`, `purged_blobs`,
    /// `purged_manifests` next to the parameters.
    pub fn parameters(&self) -> Value {
        self.job_parameters.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or(Value::Null)
    }

    pub fn freed_space(&self) -> Option<u64> {
        self.parameters().get("freed_space").and_then(Value::as_u64)
    }
}
