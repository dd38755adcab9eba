// Fixed locale so counts read the same everywhere ("1,200"), whatever the
// webview's language.
const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export function formatCount(n: number): string {
  return integer.format(n);
}

/** "1 repository", "1,200 repositories". */
export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${formatCount(n)} ${n === 1 ? singular : pluralForm}`;
}

export type ProfileKind = "registry" | "nexus" | "harbor";

const KIND_LABELS: Record<ProfileKind, string> = {
  registry: "registry:2",
  nexus: "Nexus",
  harbor: "Harbor",
};

/** Short badge text for a profile kind; unknown kinds are shown as-is. */
export function kindLabel(kind: string): string {
  return Object.hasOwn(KIND_LABELS, kind) ? KIND_LABELS[kind as ProfileKind] : kind;
}

const UNITS = ["B", "KB", "MB", "GB", "TB", "PB"];

/** Bytes in binary units with one decimal above KB ("1.5 MB"); the unit names are the usual short ones. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "—";
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${UNITS[u]}`;
}

/** "sha256:0123456789ab…" → "0123456789ab" (12 hex digits, as docker prints image IDs). */
export function shortDigest(digest: string): string {
  const hex = digest.includes(":") ? digest.slice(digest.indexOf(":") + 1) : digest;
  return hex.slice(0, 12);
}

/** An RFC 3339 time as "2024-05-01 13:45" (UTC); "—" when unknown or unparsable. */
export function formatDate(iso: string | null | undefined): string {
  if (iso === null || iso === undefined || iso === "") return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().slice(0, 16).replace("T", " ");
}

/** "just now", "5 min ago", "3 h ago", "2 days ago", relative to `now`. */
export function relativeTime(iso: string | null | undefined, now: number = Date.now()): string {
  if (iso === null || iso === undefined || iso === "") return "never";
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return iso;
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 45) return "just now";
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 36) return `${h} h ago`;
  const days = Math.round(h / 24);
  return `${days} ${days === 1 ? "day" : "days"} ago`;
}
