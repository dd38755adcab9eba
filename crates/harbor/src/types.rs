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
    /// Harbor's metadata values are strings (`"public": "true"`).
    pub metadata: BTreeMap<String, String>,
}

impl Project {
    pub fn public(&self) -> bool {
        self.metadata.get("public").is_some_and(|v| v == "true")
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
    pub project_admin_count: i64,
    pub maintainer_count: i64,
    pub developer_count: i64,
    pub guest_count: i64,
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
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub digest: String,
    pub manifest_media_type: Option<String>,
    pub media_type: Option<String>,
    pub repository_name: Option<String>,
    pub size: i64,
    pub push_time: Option<String>,
    /// `null` for an untagged artifact.
    pub tags: Option<Vec<Tag>>,
    /// The platforms of a multi-platform index.
    pub references: Option<Vec<ArtifactReference>>,
    pub extra_attrs: Option<BTreeMap<String, Value>>,
}

impl Artifact {
    pub fn tag_names(&self) -> Vec<String> {
        self.tags.iter().flatten().map(|t| t.name.clone()).collect()
    }
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
