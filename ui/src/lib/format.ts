// Counts, sizes and dates follow the window's language (../i18n); English reads "1,200",
// "1.5 MB" and "2024-05-01 13:45" (UTC) as before.
import { getLocale, t as tr, type Locale } from "./i18n/index.svelte";

const INTL_LOCALE: Record<Locale, string> = { en: "en-US", "zh-CN": "zh-CN" };
const integers = new Map<Locale, Intl.NumberFormat>();
const decimals = new Map<string, Intl.NumberFormat>();
const dates = new Map<Locale, Intl.DateTimeFormat>();

function integer(l: Locale): Intl.NumberFormat {
  let f = integers.get(l);
  if (f === undefined) {
    f = new Intl.NumberFormat(INTL_LOCALE[l], { maximumFractionDigits: 0 });
    integers.set(l, f);
  }
  return f;
}

export function formatCount(n: number): string {
  return integer(getLocale()).format(n);
}

// Counted nouns ("1 repository", "1,200 repositories") are ICU plural messages in ../i18n:
// `t("pane.repoCount", { count, n: formatCount(count) })`.

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
  const l = getLocale();
  if (l === "en") return u === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${UNITS[u]}`;
  const digits = u === 0 || v >= 100 ? 0 : 1;
  const key = `${l}/${digits}`;
  let f = decimals.get(key);
  if (f === undefined) {
    f = new Intl.NumberFormat(INTL_LOCALE[l], { minimumFractionDigits: digits, maximumFractionDigits: digits, useGrouping: false });
    decimals.set(key, f);
  }
  return `${f.format(v)} ${UNITS[u]}`;
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
  const l = getLocale();
  if (l === "en") return d.toISOString().slice(0, 16).replace("T", " ");
  let f = dates.get(l);
  if (f === undefined) {
    f = new Intl.DateTimeFormat(INTL_LOCALE[l], {
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
      timeZone: "UTC",
    });
    dates.set(l, f);
  }
  return f.format(d);
}

/** "just now", "5 min ago", "3 h ago", "2 days ago", relative to `now`. */
export function relativeTime(iso: string | null | undefined, now: number = Date.now()): string {
  if (iso === null || iso === undefined || iso === "") return tr("time.never");
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return iso;
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 45) return tr("time.justNow");
  const m = Math.round(s / 60);
  if (m < 60) return tr("time.minutes", { m });
  const h = Math.round(m / 60);
  if (h < 36) return tr("time.hours", { h });
  const days = Math.round(h / 24);
  return tr("time.days", { days });
}
