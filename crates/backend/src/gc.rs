//! The parts of garbage collection each backend does its own way; the skeleton around them (predict,
//! record, before/after, verify, audit, trash) is berth-workflows' `gc::run`, the same for all.

use berth_registry::Error;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What the user asked of a GC run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct GcRequest {
    /// Change nothing: the server's own dry run beside Berth's prediction.
    pub dry_run: bool,
    /// Harbor: also delete untagged artifacts (never on registry 2.x: distribution #3178).
    pub delete_untagged: bool,
    /// Harbor: GC workers (1 to 10; `null`: Harbor's default, 1).
    pub workers: Option<u32>,
    /// registry:2 without a before command: the user confirms the registry is stopped or read-only
    /// (else GC is refused: a sweep while pushes run can delete the layers of uploads in progress).
    #[serde(default)]
    pub registry_stopped: bool,
}

/// Commands run before and after a real GC, where the backend has them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcHooks {
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The server's own counts, from its log or its job's result.
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

/// What a backend's GC step did.
#[derive(Debug, Clone, Default)]
pub struct GcOutput {
    /// Everything it printed or logged, for the GC history.
    pub log: String,
    pub counts: RegistryGcCounts,
    /// Bytes the server says it freed (Harbor's figure, Nexus's blob stores before minus after);
    /// `None`: Berth adds up the sizes it knows of `counts.blobs`.
    pub freed_bytes: Option<u64>,
    /// `None`: the number of `counts.blobs`.
    pub blobs_freed: Option<u64>,
    pub notes: Vec<String>,
}

/// A GC step that failed, with what it logged until then (kept in the GC history).
#[derive(Debug, Clone)]
pub struct GcFailed {
    pub error: Error,
    pub log: String,
}

impl From<Error> for GcFailed {
    fn from(error: Error) -> Self {
        GcFailed { error, log: String::new() }
    }
}

/// One run of the server's own GC, as the server recorded it (started by Berth or not).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerGcRun {
    pub id: i64,
    /// `MANUAL`, `SCHEDULE`, `EVENT`.
    pub trigger: String,
    /// `Pending`, `Running`, `Success`, `Error`, `Stopped`.
    pub status: String,
    pub created: Option<String>,
    pub updated: Option<String>,
    pub dry_run: bool,
    pub delete_untagged: bool,
    pub workers: Option<u32>,
    pub freed_bytes: Option<u64>,
    pub blobs_deleted: Option<u64>,
    pub manifests_deleted: Option<u64>,
}

/// The server's GC history and schedule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerGc {
    pub runs: Vec<ServerGcRun>,
    /// `Daily`, `Weekly 0 0 0 * * 0`, … (`None`: no schedule).
    pub schedule: Option<String>,
    /// Blobs pushed this recently are kept by a run (Harbor's `time_window`).
    pub time_window_hours: Option<i64>,
}
