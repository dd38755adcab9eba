/**
 * Case-insensitive substring filter. `haystack` is a pre-lowercased copy of
 * the names (same order) so typing in the filter box does not re-lowercase
 * thousands of strings per keystroke.
 */
export function filterByName<T>(items: readonly T[], haystack: readonly string[], query: string): readonly T[] {
  const needle = query.trim().toLowerCase();
  if (needle === "") return items;
  const out: T[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (item !== undefined && (haystack[i] ?? "").includes(needle)) out.push(item);
  }
  return out;
}
