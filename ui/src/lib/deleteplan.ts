// Pure helpers for the delete flow: how many actions a plan has, and when (and how) it must be
// confirmed by typing.
import type { DeletePlan } from "../bindings/DeletePlan";
import type { RetentionPlan } from "../bindings/RetentionPlan";

/** Plans with more actions than this need a typed confirmation. */
export const TYPED_CONFIRM_ABOVE = 10;

/** Registry calls the plan makes: untags, image deletes, child deletes, referrer deletes. */
export function actionCount(plan: DeletePlan): number {
  return plan.untag.length + plan.delete.length + plan.children.length + plan.referrers.length;
}

/** Repositories the plan touches. */
export function repositoriesOf(plan: DeletePlan): string[] {
  const set = new Set<string>();
  for (const t of plan.untag) set.add(t.repository);
  for (const d of plan.delete) set.add(d.repository);
  for (const c of plan.children) set.add(c.repository);
  for (const r of plan.referrers) set.add(r.repository);
  return [...set].sort();
}

/**
 * What the user must type to confirm, or null when a plain button is enough: large plans (more than
 * TYPED_CONFIRM_ABOVE actions) and plans that take sibling tags along. One repository: its name;
 * several: `delete N`.
 */
export function confirmPhrase(plan: DeletePlan): string | null {
  const n = actionCount(plan);
  if (n <= TYPED_CONFIRM_ABOVE && plan.siblings.length === 0) return null;
  const repos = repositoriesOf(plan);
  return repos.length === 1 ? (repos[0] as string) : `delete ${n}`;
}

/** The plan part of a retention dry run (what execute_delete takes). */
export function planOf(plan: DeletePlan | RetentionPlan): DeletePlan {
  if ("kept" in plan) {
    const { kept: _kept, ...rest } = plan;
    return rest;
  }
  return plan;
}
