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
