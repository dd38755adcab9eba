// The tag filter box: a plain substring (case-insensitive) or a regular expression. Both become the
// regular expression list_tags filters with in the store query (Rust regex syntax).

export type FilterMode = "substring" | "regex";

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|#&~-]/g, "\\$&");
}

/** The filter to send to list_tags, or null for none. */
export function tagFilter(text: string, mode: FilterMode): string | null {
  if (text === "") return null;
  return mode === "regex" ? text : `(?i)${escapeRegex(text)}`;
}

/** A quick local syntax check, so an unfinished regex does not reach the backend on every keystroke. */
export function regexError(text: string): string | null {
  try {
    new RegExp(text);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
