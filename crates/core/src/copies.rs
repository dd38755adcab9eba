//! Copy, retag and promote for both front ends (the logic lives in `berth_workflows::copy`; this
//! binds it to profiles, sessions and the job locks).

use berth_workflows::{CopyPlan, CopyProgress, CopyReport, CopyRequest};
use tokio_util::sync::CancellationToken;

use crate::{ApiError, Berth, ErrorCode, JobKind};

impl Berth {
    /// What copying these references from `source` to `target` would do (both may be one profile: a
    /// retag). Reads both registries; writes nothing.
    pub async fn plan_copy(
        &self,
        source: &str,
        target: &str,
        request: &CopyRequest,
        cancel: &CancellationToken,
    ) -> Result<CopyPlan, ApiError> {
        let s = self.session(source).await?;
        if source == target {
            return Ok(berth_workflows::plan_copy(s.target(self), s.target(self), request, cancel).await?);
        }
        let t = self.session(target).await?;
        Ok(berth_workflows::plan_copy(s.target(self), t.target(self), request, cancel).await?)
    }

    /// Executes a copy plan the user confirmed. One job on the target (and on the source, so no GC
    /// runs there while its blobs are read); cancel through either profile.
    pub async fn execute_copy(
        &self,
        plan: &CopyPlan,
        cancel: &CancellationToken,
        progress: &(dyn Fn(&CopyProgress) + Send + Sync),
    ) -> Result<CopyReport, ApiError> {
        let job = self.start_job(&plan.target_profile, JobKind::Copy, cancel)?;
        let token = job.cancel_token().clone();
        let source_job = if plan.source_profile != plan.target_profile {
            Some(self.start_job(&plan.source_profile, JobKind::Copy, cancel)?)
        } else {
            None
        };
        let watch = source_job.as_ref().map(|j| {
            let (from, to) = (j.cancel_token().clone(), token.clone());
            tokio::spawn(async move {
                from.cancelled().await;
                to.cancel();
            })
        });
        let s = self.session(&plan.source_profile).await?;
        let result = if plan.source_profile == plan.target_profile {
            berth_workflows::execute_copy(s.target(self), s.target(self), plan, &token, progress).await
        } else {
            let t = self.session(&plan.target_profile).await?;
            berth_workflows::execute_copy(s.target(self), t.target(self), plan, &token, progress).await
        };
        if let Some(w) = watch {
            w.abort();
        }
        Ok(result?)
    }

    /// Adds `new_tag` to `reference` (`REPO:TAG` or `REPO@DIGEST`) in one profile: a manifest PUT,
    /// no blob moved. Refuses to move an existing tag unless `overwrite`.
    pub async fn retag(
        &self,
        profile: &str,
        reference: &str,
        new_tag: &str,
        overwrite: bool,
        cancel: &CancellationToken,
    ) -> Result<(CopyPlan, CopyReport), ApiError> {
        let request = CopyRequest {
            sources: vec![reference.to_string()],
            target_repository: None,
            target_tag: Some(new_tag.to_string()),
            overwrite,
            with_referrers: false,
        };
        let plan = self.plan_copy(profile, profile, &request, cancel).await?;
        if let Some(r) = plan.refused.first() {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!("{}: {}", r.reference, r.reason),
                r.hint.clone(),
            ));
        }
        let report = self.execute_copy(&plan, cancel, &|_| {}).await?;
        Ok((plan, report))
    }
}
