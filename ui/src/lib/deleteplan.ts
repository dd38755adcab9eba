// Pure helpers for the delete flow's display: how many actions a plan has. When a plan is confirmed by typing is the core's (`DeletePlan.confirm_phrase`).
import type { DeletePlan } from "../bindings/DeletePlan";
import type { RetentionPlan } from "../bindings/RetentionPlan";

/** Registry calls the plan makes: untags, image deletes, child deletes, referrer deletes. */
export function actionCount(plan: DeletePlan): number {
  return plan.untag.length + plan.delete.length + plan.children.length + plan.referrers.length;
}

/** The plan part of a retention dry run (what execute_delete takes). */
export function planOf(plan: DeletePlan | RetentionPlan): DeletePlan {
  if ("kept" in plan) {
    const { kept: _kept, ...rest } = plan;
    return rest;
  }
  return plan;
}
