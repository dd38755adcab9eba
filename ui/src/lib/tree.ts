// Flattening the repository namespace tree into the rows a virtual list shows.
import type { RepoNode } from "../bindings/RepoNode";

export interface TreeRow {
  node: RepoNode;
  depth: number;
  expandable: boolean;
  expanded: boolean;
}

/** Visible rows: children of expanded nodes only. */
export function flatten(nodes: readonly RepoNode[], expanded: ReadonlySet<string>, depth = 0, out: TreeRow[] = []): TreeRow[] {
  for (const node of nodes) {
    const expandable = node.children.length > 0;
    const open = expandable && expanded.has(node.path);
    out.push({ node, depth, expandable, expanded: open });
    if (open) flatten(node.children, expanded, depth + 1, out);
  }
  return out;
}

/** Every repository whose full path contains `needle` (case-insensitive), as flat rows. */
export function matching(nodes: readonly RepoNode[], needle: string, out: TreeRow[] = []): TreeRow[] {
  const n = needle.toLowerCase();
  for (const node of nodes) {
    if (node.is_repository && node.path.toLowerCase().includes(n)) {
      out.push({ node, depth: 0, expandable: false, expanded: false });
    }
    matching(node.children, needle, out);
  }
  return out;
}

/** Paths of all namespaces (nodes with children), to expand a small tree fully. */
export function allNamespaces(nodes: readonly RepoNode[], out: Set<string> = new Set()): Set<string> {
  for (const node of nodes) {
    if (node.children.length > 0) {
      out.add(node.path);
      allNamespaces(node.children, out);
    }
  }
  return out;
}

export function countRepositories(nodes: readonly RepoNode[]): number {
  let n = 0;
  for (const node of nodes) n += (node.is_repository ? 1 : 0) + countRepositories(node.children);
  return n;
}

/** Whether the tree holds the repository `path`. */
export function hasRepository(nodes: readonly RepoNode[], path: string): boolean {
  return nodes.some((node) => (node.is_repository && node.path === path) || hasRepository(node.children, path));
}
