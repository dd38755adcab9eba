// Row selection as file managers do it: click selects one, Ctrl/Cmd+click toggles, Shift+click selects
// the range from the anchor; arrows move the cursor (with Shift they extend the range).

export interface Selection {
  /** Selected row keys. */
  readonly keys: ReadonlySet<string>;
  /** Where a Shift range starts. */
  readonly anchor: number | null;
  /** The row with the keyboard cursor. */
  readonly cursor: number | null;
}

export const EMPTY_SELECTION: Selection = { keys: new Set(), anchor: null, cursor: null };

export interface Modifiers {
  shift: boolean;
  /** Ctrl, or Cmd on macOS. */
  toggle: boolean;
}

function range(keys: readonly string[], a: number, b: number): Set<string> {
  const [lo, hi] = a <= b ? [a, b] : [b, a];
  return new Set(keys.slice(lo, hi + 1));
}

/** The selection after clicking row `index` of `keys` (the visible, sorted rows). */
export function clickRow(sel: Selection, keys: readonly string[], index: number, mods: Modifiers): Selection {
  const key = keys[index];
  if (key === undefined) return sel;
  if (mods.shift && sel.anchor !== null) {
    const r = range(keys, sel.anchor, index);
    if (mods.toggle) for (const k of sel.keys) r.add(k);
    return { keys: r, anchor: sel.anchor, cursor: index };
  }
  if (mods.toggle) {
    const next = new Set(sel.keys);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    return { keys: next, anchor: index, cursor: index };
  }
  return { keys: new Set([key]), anchor: index, cursor: index };
}

/** The selection after an arrow key: `delta` rows (−1 up, +1 down, ±page), Shift extends. */
export function moveCursor(sel: Selection, keys: readonly string[], delta: number, shift: boolean): Selection {
  if (keys.length === 0) return sel;
  const from = sel.cursor ?? (delta > 0 ? -1 : keys.length);
  const index = Math.min(keys.length - 1, Math.max(0, from + delta));
  if (shift) {
    const anchor = sel.anchor ?? index;
    return { keys: range(keys, anchor, index), anchor, cursor: index };
  }
  return { keys: new Set([keys[index] as string]), anchor: index, cursor: index };
}

/** Selects every visible row (Ctrl+A). */
export function selectAll(keys: readonly string[]): Selection {
  return { keys: new Set(keys), anchor: keys.length > 0 ? 0 : null, cursor: keys.length > 0 ? keys.length - 1 : null };
}

/** Keeps only keys still visible (after a filter or a reload), re-finding the cursor by key. */
export function retain(sel: Selection, keys: readonly string[], cursorKey: string | null): Selection {
  // One pass over the keys, no set of them: a table reloads 100,000 of them.
  const kept = new Set<string>();
  let cursor: number | null = null;
  if (sel.keys.size > 0 || cursorKey !== null) {
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      if (sel.keys.has(k)) kept.add(k);
      if (cursor === null && k === cursorKey) cursor = i;
    }
  }
  return { keys: kept, anchor: cursor, cursor };
}
