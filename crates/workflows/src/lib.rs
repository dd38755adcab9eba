//! Berth's destructive workflows, made safe. Every one works the same way:
//!
//! 1. **Plan** ([`plan_delete`], [`plan_retention`]): refresh the affected repositories in the cache,
//!    probe whether deletes can work there, and compute exactly what would go ([`DeletePlan`]): untags,
//!    image deletes with the sibling tags they take along, index children, referrers, and the bytes GC
//!    could then free. Nothing is deleted; a dry run is the plan.
//! 2. **Execute** ([`execute_plan`]): refresh again, re-check every action against the registry's
//!    current state (a tag that moved since the plan is skipped, an image another tag now points at is
//!    kept), then delete with retries, progress and cancel. Every deleted manifest's bytes and tags go
//!    to the trash, every action to the audit log.
//! 3. **Undo** ([`restore`]): put a trash entry's manifests back and re-tag them, while the blobs exist
//!    (before garbage collection).

mod copy;
mod delete;
mod error;
pub mod gc;
mod plan;
mod retention;
mod trash;

pub use berth_backend::{GcCommands, GcRequest, RegistryGcCounts};
pub use copy::{
    execute_copy, plan_copy, BlobAction, CopyPlan, CopyProgress, CopyReferrer, CopyRefusal, CopyReport, CopyRequest,
    CopyResult, PlannedBlob, PlannedCopy, PlannedManifest, TagAction, COPY_CONCURRENCY,
};
pub use delete::{execute_plan, plan_delete, ActionResult, DeleteProgress, DeleteReport};
pub use error::WorkflowError;
pub use gc::{GcPrediction, GcReport, GcRunView};
pub use plan::{
    compute_plan, BlobRef, DeleteMode, DeletePlan, PlanOptions, PlannedChild, PlannedImage, PlannedReferrer,
    PlannedTag, Refusal, Selection, TYPED_CONFIRM_ABOVE,
};
pub use retention::{
    plan_retention, plan_retention_many, select_for_retention, KeptTag, RetentionPlan, RetentionPolicy,
};
pub use trash::{audit_log, restore, trash, AuditView, RestoreReport, TrashView};

use berth_backend::Backend;
use berth_registry::RegistryClient;
use berth_store::Store;

/// The profile a workflow runs against: its cache and its backend.
#[derive(Clone, Copy)]
pub struct Target<'a> {
    pub store: &'a Store,
    pub profile_id: i64,
    pub profile: &'a str,
    pub backend: &'a dyn Backend,
}

impl<'a> Target<'a> {
    /// The backend's `/v2` client.
    pub fn client(&self) -> &'a RegistryClient {
        self.backend.client()
    }
}

/// An id shared by every audit row and trash entry of one run.
pub(crate) fn operation_id(kind: &str) -> String {
    let now = time::OffsetDateTime::now_utc();
    format!("{kind}-{}", now.unix_timestamp_nanos())
}
