import { describe, expect, it } from "vitest";
import { formatBytes, formatDate, relativeTime, shortDigest } from "../src/lib/format";
import { clickRow, EMPTY_SELECTION, moveCursor, retain, selectAll } from "../src/lib/selection";
import { regexError, tagFilter } from "../src/lib/tagfilter";
import { allNamespaces, countRepositories, flatten, matching } from "../src/lib/tree";
import { namespaceNode, repoNode } from "./backend";

describe("format", () => {
  it("sizes in binary units", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(5 * 1024 * 1024)).toBe("5.0 MB");
    expect(formatBytes(300 * 1024 * 1024 * 1024)).toBe("300 GB");
    expect(formatBytes(null)).toBe("—");
  });

  it("short digests, dates and relative times", () => {
    expect(shortDigest("sha256:0123456789abcdef0123")).toBe("0123456789ab");
    expect(formatDate("2024-05-01T13:45:10Z")).toBe("2024-05-01 13:45");
    expect(formatDate(null)).toBe("—");
    const now = Date.parse("2024-05-02T12:00:00Z");
    expect(relativeTime("2024-05-02T11:59:50Z", now)).toBe("just now");
    expect(relativeTime("2024-05-02T11:30:00Z", now)).toBe("30 min ago");
    expect(relativeTime("2024-05-02T09:00:00Z", now)).toBe("3 h ago");
    expect(relativeTime("2024-04-29T12:00:00Z", now)).toBe("3 days ago");
    expect(relativeTime(null, now)).toBe("never");
  });
});

describe("selection", () => {
  const keys = ["a", "b", "c", "d", "e"];

  it("click selects one, Ctrl toggles, Shift selects a range from the anchor", () => {
    let s = clickRow(EMPTY_SELECTION, keys, 1, { shift: false, toggle: false });
    expect([...s.keys]).toEqual(["b"]);
    s = clickRow(s, keys, 3, { shift: true, toggle: false });
    expect([...s.keys].sort()).toEqual(["b", "c", "d"]);
    s = clickRow(s, keys, 0, { shift: false, toggle: true });
    expect([...s.keys].sort()).toEqual(["a", "b", "c", "d"]);
    s = clickRow(s, keys, 2, { shift: false, toggle: true });
    expect([...s.keys].sort()).toEqual(["a", "b", "d"]);
    // Shift from the new anchor (c, index 2) to e, keeping the rest with Ctrl.
    s = clickRow(s, keys, 4, { shift: true, toggle: true });
    expect([...s.keys].sort()).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("arrows move the cursor; Shift+arrows extend from the anchor", () => {
    let s = moveCursor(EMPTY_SELECTION, keys, 1, false);
    expect(s.cursor).toBe(0);
    s = moveCursor(s, keys, 1, true);
    s = moveCursor(s, keys, 1, true);
    expect([...s.keys]).toEqual(["a", "b", "c"]);
    s = moveCursor(s, keys, -10, false);
    expect(s.cursor).toBe(0);
    expect([...s.keys]).toEqual(["a"]);
    s = moveCursor(s, keys, 100, false);
    expect(s.cursor).toBe(4);
  });

  it("select all, and retain after the list changes", () => {
    const all = selectAll(keys);
    expect(all.keys.size).toBe(5);
    const kept = retain(all, ["b", "d"], "d");
    expect([...kept.keys]).toEqual(["b", "d"]);
    expect(kept.cursor).toBe(1);
  });

  it("retain drops keys gone from the list and follows the cursor's key to its new place", () => {
    const sel = { keys: new Set(["a", "c", "e"]), anchor: 0, cursor: 2 };
    const kept = retain(sel, ["e", "d", "c", "b"], "c");
    expect([...kept.keys].sort()).toEqual(["c", "e"]);
    expect(kept.cursor).toBe(2);
    expect(kept.anchor).toBe(2);
    const gone = retain(sel, ["x", "y"], "c");
    expect(gone.keys.size).toBe(0);
    expect(gone.cursor).toBeNull();
    expect(retain(EMPTY_SELECTION, keys, null)).toEqual({ keys: new Set(), anchor: null, cursor: null });
  });
});

describe("tag filter", () => {
  it("turns a substring into a case-insensitive escaped regex, passes a regex through", () => {
    expect(tagFilter("", "substring")).toBeNull();
    expect(tagFilter("v1.2-rc", "substring")).toBe("(?i)v1\\.2\\-rc");
    expect(tagFilter("^v1\\.", "regex")).toBe("^v1\\.");
    expect(regexError("^v1\\.")).toBeNull();
    expect(regexError("(")).not.toBeNull();
  });
});

describe("tree", () => {
  const nodes = [
    namespaceNode("library", 2, [repoNode("library/alpine"), repoNode("library/nginx")]),
    repoNode("solo"),
    namespaceNode("team", 1, [namespaceNode("team/a", 1, [repoNode("team/a/api")])]),
  ];

  it("flattens only expanded namespaces, and filters to matching repositories", () => {
    expect(flatten(nodes, new Set()).map((r) => r.node.path)).toEqual(["library", "solo", "team"]);
    const open = flatten(nodes, new Set(["library"]));
    expect(open.map((r) => [r.node.path, r.depth])).toEqual([
      ["library", 0],
      ["library/alpine", 1],
      ["library/nginx", 1],
      ["solo", 0],
      ["team", 0],
    ]);
    expect(matching(nodes, "API").map((r) => r.node.path)).toEqual(["team/a/api"]);
    expect([...allNamespaces(nodes)].sort()).toEqual(["library", "team", "team/a"]);
    expect(countRepositories(nodes)).toBe(4);
  });
});
