//! What a backend can do, for the window (which buttons and tabs to show) and the workflows.

use serde::Serialize;
use ts_rs::TS;

/// What a profile's backend can do. The window shows tabs and buttons from this, never from the
/// profile's kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Capabilities {
    /// For messages: `registry:2`, `Harbor`, `Nexus`.
    pub label: &'static str,
    /// Tags, manifests and the catalog can be browsed (a Nexus server profile browses through the
    /// profiles of its repositories instead).
    pub browse: bool,
    /// One tag can be removed while its image and the other tags sharing it stay.
    pub untag_without_siblings: bool,
    /// Garbage collection has a dry run that changes nothing.
    pub gc_dry_run: bool,
    /// GC runs through shell commands set in the profile (registry:2: `registry garbage-collect`,
    /// with before and after commands).
    pub gc_commands: bool,
    /// GC runs as the server's own job (Harbor's GC, Nexus's tasks): no command to set.
    pub gc_server_job: bool,
    /// GC keeps blobs uploaded in its recent time window (Harbor: 2 hours).
    pub gc_time_window: bool,
    /// The GC report lists the blobs it deleted (else it reports sizes only).
    pub gc_lists_blobs: bool,
    /// Projects with quotas (Harbor).
    pub projects: bool,
    /// Tags can be protected by the server's immutability rules (Harbor answers 412).
    pub tag_immutability: bool,
    /// The profile discovers repositories on the server, each browsed by a profile of its own (Nexus).
    pub discovers_repositories: bool,
    /// Blob stores with their size (Nexus).
    pub blob_stores: bool,
    /// GC takes parameters chosen per run (Harbor: delete untagged, workers).
    pub gc_parameters: bool,
    /// The server keeps its own GC history and schedule, runs started outside Berth included (Harbor).
    pub gc_server_history: bool,
    /// An artifacts view per repository: every artifact, tagged or not, with its type, labels, scan
    /// overview and accessories (Harbor).
    pub artifacts: bool,
    /// The server has its own tag retention policies, shown beside Berth's dry run (Harbor).
    pub server_retention: bool,
}
