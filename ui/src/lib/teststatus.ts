// The result of each profile's last connection test, kept in the webview's local storage so the
// sidebar can show it after a restart. Only a verdict and a short text: never a secret.
import type { ConnectionReport } from "../bindings/ConnectionReport";

export interface TestStatus {
  ok: boolean;
  /** RFC 3339. */
  at: string;
  /** The diagnosis when it failed. */
  message: string | null;
  /** The registry error kind (`connection_refused`, `tls_unknown_ca`…) when it failed. */
  kind: string | null;
}

const KEY = "berth.test-status.v1";

function readAll(): Record<string, TestStatus> {
  try {
    const raw = localStorage.getItem(KEY);
    const parsed: unknown = raw === null ? {} : JSON.parse(raw);
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, TestStatus>) : {};
  } catch {
    return {};
  }
}

export function loadTestStatuses(): Record<string, TestStatus> {
  return readAll();
}

export function statusFromReport(report: ConnectionReport, now: Date = new Date()): TestStatus {
  return {
    ok: report.ok,
    at: now.toISOString(),
    message: report.error === null ? null : report.error.message,
    kind: report.error?.registry ?? null,
  };
}

export function saveTestStatus(profile: string, status: TestStatus): void {
  const all = readAll();
  all[profile] = status;
  try {
    localStorage.setItem(KEY, JSON.stringify(all));
  } catch {
    // Storage full or disabled: the status still shows for this session.
  }
}
