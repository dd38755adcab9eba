/**
 * Marks `name` on the page's performance timeline once the DOM change just made has been painted:
 * at the animation frame after the one that rendered it. The window benchmark (crates/bench,
 * window_bench.rs) reads these marks; they cost one `performance.mark` each.
 */
export function markPainted(name: string): void {
  if (typeof requestAnimationFrame === "undefined") return;
  requestAnimationFrame(() => requestAnimationFrame(() => performance.mark(name)));
}
