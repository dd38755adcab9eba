// Harbor's GC parameters and its own GC history in the GC view, and Harbor's own retention and
// immutability policies in the retention dialog, against the mocked commands. Everything shown
// follows the profile's capabilities (gc_parameters, gc_server_history, server_retention).
import { clearMocks } from "@tauri-apps/api/mocks";
import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ServerGcRunView } from "../src/bindings/ServerGcRunView";
import GcView from "../src/lib/components/GcView.svelte";
import RetentionDialog from "../src/lib/components/RetentionDialog.svelte";
import type { GcPrediction, GcReport, HarborPolicyView, ServerGcView } from "../src/lib/ipc";
import { apiError, CAPABILITIES, callsOf, mockBackend, profile } from "./backend";

afterEach(() => {
  clearMocks();
});

const PENDING: GcPrediction = { predicted_bytes: 1048576, blobs: [], trash_entries: [], notes: [] };

function report(over: Partial<GcReport> = {}): GcReport {
  return {
    id: 1,
    dry_run: true,
    predicted_bytes: 1048576,
    predicted_blobs: 1,
    freed_bytes: 0,
    blobs_freed: 0,
    registry: { marked: null, blobs_eligible: null, manifests_eligible: null, blobs: [] },
    predicted_not_eligible: [],
    verified: null,
    problems: [],
    seconds: 2,
    notes: [],
    ...over,
  };
}

function serverRun(id: number, over: Partial<ServerGcRunView> = {}): ServerGcRunView {
  return {
    id,
    trigger: "MANUAL",
    status: "Success",
    created: "2025-03-01T10:00:00Z",
    updated: "2025-03-01T10:01:00Z",
    dry_run: false,
    delete_untagged: false,
    workers: 1,
    freed_bytes: 5 * 1048576,
    blobs_deleted: 12,
    manifests_deleted: 3,
    ...over,
  };
}

const SERVER: ServerGcView = {
  runs: [
    serverRun(9, { trigger: "SCHEDULE", delete_untagged: true, workers: 4, freed_bytes: 2 * 1048576, blobs_deleted: 1200, manifests_deleted: 7 }),
    serverRun(8, { trigger: "EVENT", status: "Error", dry_run: true, freed_bytes: null, blobs_deleted: null, manifests_deleted: null, workers: null }),
    serverRun(7),
  ],
  schedule: "Daily (0 0 0 * * *), next 2025-03-02T00:00:00Z",
  time_window_hours: 2,
  collects_before: "2025-03-01T10:30:00Z",
  collectable_from: "2025-03-01T14:30:00Z",
};

const harbor = () => profile("hb", "https://harbor.lab", "harbor");

/** gc_pending, gc_history and server_gc answer; run_gc and anything else as `more` says. */
function gcBackend(server: (call: number) => ServerGcView | Promise<never>, more: (cmd: string, args: Record<string, unknown>) => unknown = () => undefined) {
  let n = 0;
  return mockBackend({
    other: (cmd, args) => {
      if (cmd === "gc_pending") return PENDING;
      if (cmd === "gc_history") return [];
      if (cmd === "server_gc") return server(++n);
      return more(cmd, args);
    },
  });
}

describe("GC parameters", () => {
  it("sends delete untagged and the workers with the dry run and the real run, warning before deleting untagged", async () => {
    const user = userEvent.setup();
    const calls = gcBackend(
      () => SERVER,
      (cmd, args) => (cmd === "run_gc" ? report({ dry_run: args["dryRun"] as boolean }) : undefined),
    );
    const oncollected = vi.fn();
    render(GcView, { profile: harbor(), onedit: vi.fn(), oncollected });

    const params = screen.getByTestId("gc-parameters");
    expect(params).toHaveTextContent("Parameters");
    expect(params).toHaveTextContent("They cannot be restored from Berth's trash afterwards.");
    expect(params).toHaveTextContent("more workers finish sooner and load the storage more");
    const untagged = screen.getByTestId<HTMLInputElement>("gc-delete-untagged");
    const workers = screen.getByTestId<HTMLSelectElement>("gc-workers");
    expect(untagged).not.toBeChecked();
    expect(workers).toHaveValue("1");
    expect(within(workers).getAllByRole("option").map((o) => o.textContent)).toEqual(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]);
    // The parameters come before the run buttons.
    expect(params.compareDocumentPosition(screen.getByTestId("gc-run")) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();

    await user.click(screen.getByTestId("gc-dry-run"));
    await screen.findByTestId("gc-result");
    expect(callsOf(calls, "run_gc")[0]?.args).toEqual({
      profile: "hb",
      dryRun: true,
      request: { dry_run: true, delete_untagged: false, workers: 1, registry_stopped: false },
    });

    await user.click(untagged);
    await user.selectOptions(workers, "4");
    await user.click(screen.getByTestId("gc-run"));
    const box = screen.getByTestId("gc-confirm-box");
    expect(box).toHaveTextContent("can no longer be restored");
    expect(within(box).getByTestId("gc-confirm-untagged")).toHaveTextContent("Delete untagged is on");
    await user.click(screen.getByTestId("gc-confirm"));
    await waitFor(() => expect(callsOf(calls, "run_gc")).toHaveLength(2));
    expect(callsOf(calls, "run_gc")[1]?.args).toEqual({
      profile: "hb",
      dryRun: false,
      request: { dry_run: false, delete_untagged: true, workers: 4, registry_stopped: false },
    });
    await waitFor(() => expect(oncollected).toHaveBeenCalled());
  });

  it("warns in the confirmation only when delete untagged is on", async () => {
    const user = userEvent.setup();
    gcBackend(() => SERVER);
    render(GcView, { profile: harbor(), onedit: vi.fn() });
    await user.click(screen.getByTestId("gc-run"));
    expect(screen.getByTestId("gc-confirm-box")).toHaveTextContent("can no longer be restored");
    expect(screen.queryByTestId("gc-confirm-untagged")).toBeNull();
  });

  it("has no parameters and no server history on registry:2, and sends none", async () => {
    const user = userEvent.setup();
    const calls = gcBackend(
      () => SERVER,
      (cmd) => (cmd === "run_gc" ? report() : undefined),
    );
    const p = { ...profile("lab", "http://127.0.0.1:5000"), gc: { command: "registry garbage-collect /etc/r.yml", before: "ro on", after: "ro off", storage_root: null, remote: null } };
    render(GcView, { profile: p, onedit: vi.fn() });
    expect(await screen.findByTestId("gc-pending-bytes")).toHaveTextContent("1.0 MB");
    expect(screen.queryByTestId("gc-parameters")).toBeNull();
    expect(screen.queryByTestId("gc-delete-untagged")).toBeNull();
    expect(screen.queryByTestId("server-gc")).toBeNull();

    await user.click(screen.getByTestId("gc-dry-run"));
    await screen.findByTestId("gc-result");
    expect(callsOf(calls, "run_gc")[0]?.args).toEqual({ profile: "lab", dryRun: true });
    await user.click(screen.getByTestId("gc-run"));
    await user.click(screen.getByTestId("gc-confirm"));
    await waitFor(() => expect(callsOf(calls, "run_gc")).toHaveLength(2));
    expect(callsOf(calls, "run_gc")[1]?.args).toEqual({ profile: "lab", dryRun: false });
    expect(callsOf(calls, "server_gc")).toHaveLength(0);
  });

  it("follows the capabilities, not the kind", () => {
    gcBackend(() => SERVER);
    const p = { ...harbor(), capabilities: { ...CAPABILITIES.harbor!, gc_parameters: false, gc_server_history: false } };
    render(GcView, { profile: p, onedit: vi.fn() });
    expect(screen.queryByTestId("gc-parameters")).toBeNull();
    expect(screen.queryByTestId("server-gc")).toBeNull();
    expect(screen.getByTestId("gc-api-note")).toHaveTextContent("2 hours");
  });
});

describe("Harbor's own GC history", () => {
  it("shows the schedule, the time window and the runs, newest first as given", async () => {
    const calls = gcBackend(() => SERVER);
    render(GcView, { profile: harbor(), onedit: vi.fn() });

    const section = screen.getByTestId("server-gc");
    expect(within(section).getByRole("heading")).toHaveTextContent("Harbor's own GC history");
    const rows = await within(section).findAllByTestId("server-gc-row");
    expect(callsOf(calls, "server_gc")[0]?.args).toEqual({ profile: "hb" });
    expect(within(section).getByTestId("server-gc-schedule")).toHaveTextContent("Daily (0 0 0 * * *), next 2025-03-02T00:00:00Z");
    expect(within(section).getByTestId("server-gc-window")).toHaveTextContent(
      "Harbor keeps blobs pushed in the last 2 hours: a run now frees only blobs last pushed before 2025-03-01 10:30; " +
        "a blob pushed now becomes collectable at 2025-03-01 14:30.",
    );

    expect(rows.map((r) => r.dataset["id"])).toEqual(["9", "8", "7"]);
    const cells = (r: HTMLElement) => within(r).getAllByRole("cell").map((c) => c.textContent?.trim());
    expect(cells(rows[0]!)).toEqual(["9", "scheduled", "Success", "2025-03-01 10:00", "2.0 MB", "1,200", "7", "delete untagged, 4 workers"]);
    expect(cells(rows[1]!)).toEqual(["8", "event", "Error", "2025-03-01 10:00", "—", "—", "—", "dry run"]);
    expect(cells(rows[2]!)).toEqual(["7", "manual", "Success", "2025-03-01 10:00", "5.0 MB", "12", "3", "1 worker"]);
    expect(within(rows[1]!).getByText("Error")).toHaveClass("badge");

    // The Harbor note about the 2-hour window stays.
    expect(screen.getByTestId("gc-api-note")).toHaveTextContent("last 2 hours");
  });

  it("says when there is no schedule and no run, and loads again on a new reloadKey and after a run", async () => {
    const user = userEvent.setup();
    const empty: ServerGcView = { runs: [], schedule: null, time_window_hours: 2, collects_before: null, collectable_from: null };
    const calls = gcBackend(
      (n) => (n === 1 ? empty : { ...empty, runs: [serverRun(n)] }),
      (cmd) => (cmd === "run_gc" ? report() : undefined),
    );
    const props = { profile: harbor(), onedit: vi.fn(), reloadKey: 0 };
    const { rerender } = render(GcView, props);

    const section = screen.getByTestId("server-gc");
    expect(await within(section).findByText("No GC run recorded by Harbor yet.")).toBeInTheDocument();
    expect(within(section).getByTestId("server-gc-schedule")).toHaveTextContent("No schedule: GC runs only when started");

    await rerender({ ...props, reloadKey: 1 });
    await waitFor(() => expect(callsOf(calls, "server_gc")).toHaveLength(2));
    await waitFor(() => expect(within(section).getAllByTestId("server-gc-row")[0]).toHaveAttribute("data-id", "2"));

    await user.click(screen.getByTestId("gc-dry-run"));
    await screen.findByTestId("gc-result");
    await waitFor(() => expect(callsOf(calls, "server_gc")).toHaveLength(3));
    await waitFor(() => expect(within(section).getAllByTestId("server-gc-row")[0]).toHaveAttribute("data-id", "3"));
  });

  it("shows an error in its own section only, with a Retry", async () => {
    const user = userEvent.setup();
    const calls = gcBackend(
      (n) => (n === 1 ? Promise.reject(apiError("registry", "403 Forbidden", "GC history needs a system administrator account", "permission_denied")) : SERVER),
      (cmd) => (cmd === "run_gc" ? report() : undefined),
    );
    render(GcView, { profile: harbor(), onedit: vi.fn() });

    const section = screen.getByTestId("server-gc");
    const alert = await within(section).findByRole("alert");
    expect(alert).toHaveTextContent("403 Forbidden");
    expect(alert).toHaveTextContent("system administrator");
    expect(screen.getAllByRole("alert")).toHaveLength(1);
    // The rest of the view still works.
    expect(await screen.findByTestId("gc-pending-bytes")).toHaveTextContent("1.0 MB");
    expect(await screen.findByTestId("gc-history-empty")).toBeInTheDocument();
    expect(screen.getByTestId("gc-run")).toBeEnabled();
    await user.click(screen.getByTestId("gc-dry-run"));
    await screen.findByTestId("gc-result");
    expect(callsOf(calls, "run_gc")).toHaveLength(1);

    await waitFor(() => expect(callsOf(calls, "server_gc")).toHaveLength(2));
    expect(await within(section).findAllByTestId("server-gc-row")).toHaveLength(3);
    expect(within(section).queryByRole("alert")).toBeNull();
  });

  it("retries from the error box", async () => {
    const user = userEvent.setup();
    const calls = gcBackend((n) => (n === 1 ? Promise.reject(apiError("registry", "403 Forbidden", "")) : SERVER));
    render(GcView, { profile: harbor(), onedit: vi.fn() });
    const section = screen.getByTestId("server-gc");
    await within(section).findByRole("alert");
    await user.click(within(section).getByRole("button", { name: "Retry" }));
    expect(await within(section).findAllByTestId("server-gc-row")).toHaveLength(3);
    expect(callsOf(calls, "server_gc")).toHaveLength(2);
  });
});

const POLICIES: HarborPolicyView[] = [
  {
    project: "library",
    immutable: [
      { id: 1, disabled: false, action: "immutable", scope: 'repositories matching "**", tags matching "release-*"' },
      { id: 2, disabled: true, action: "immutable", scope: 'repositories matching "base/**", tags matching "v*"' },
    ],
    retention: [
      { id: 10, disabled: false, action: "retain the 5 most recently pushed", scope: 'repositories matching "**", tags matching "**"' },
      { id: 11, disabled: true, action: "retain the artifacts pulled within the last 30 days", scope: 'repositories matching "app", tags matching "pr-*"' },
    ],
    retention_algorithm: "or",
    retention_schedule: "0 0 0 * * *",
    hidden: [],
  },
  { project: "empty", immutable: [], retention: null, retention_algorithm: null, retention_schedule: null, hidden: [] },
  {
    project: "secret",
    immutable: null,
    retention: null,
    retention_algorithm: null,
    retention_schedule: null,
    hidden: [
      "tag immutability rules not visible to this account (needs maintainer or project admin)",
      "tag retention policy not visible to this account (needs developer or above)",
    ],
  },
];

function policy(name: string): HTMLElement {
  const el = screen.getAllByTestId("server-policy").find((p) => p.dataset["project"] === name);
  if (el === undefined) throw new Error(`no policy ${name}`);
  return el;
}

describe("retention dialog: Harbor's own policies", () => {
  it("loads the policies once and shows the rules, algorithm, schedule, immutability and hidden notes", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({ other: (cmd) => (cmd === "harbor_policies" ? POLICIES : undefined) });
    render(RetentionDialog, { profile: "hb", capabilities: CAPABILITIES.harbor!, ondone: vi.fn(), onclose: vi.fn() });

    const section = screen.getByTestId("server-retention");
    expect(within(section).getByRole("heading", { level: 3 })).toHaveTextContent("Harbor's own policies");
    expect(section).toHaveTextContent(
      "Harbor runs these itself on its schedule; Berth's dry run above does not include them. Immutable tags are refused in every delete plan.",
    );
    await within(section).findAllByTestId("server-policy");
    expect(callsOf(calls, "harbor_policies")).toHaveLength(1);
    expect(callsOf(calls, "harbor_policies")[0]?.args).toEqual({ profile: "hb" });
    expect(screen.getAllByTestId("server-policy").map((p) => p.dataset["project"])).toEqual(["library", "empty", "secret"]);

    const lib = policy("library");
    const rules = within(lib).getAllByTestId("server-retention-rule");
    expect(rules).toHaveLength(2);
    expect(rules[0]).toHaveTextContent('retain the 5 most recently pushed, repositories matching "**", tags matching "**"');
    expect(rules[0]).not.toHaveTextContent("disabled");
    expect(rules[1]).toHaveTextContent('retain the artifacts pulled within the last 30 days, repositories matching "app", tags matching "pr-*"');
    expect(rules[1]).toHaveTextContent("disabled");
    expect(lib).toHaveTextContent("a tag is kept when any rule retains it");
    expect(lib).toHaveTextContent("0 0 0 * * *");
    const immutable = within(lib).getAllByTestId("server-immutable-rule");
    expect(immutable).toHaveLength(2);
    expect(immutable[0]).toHaveTextContent('immutable: repositories matching "**", tags matching "release-*"');
    expect(immutable[0]).not.toHaveTextContent("disabled");
    expect(immutable[1]).toHaveTextContent("disabled");
    expect(within(lib).queryByText("No retention policy")).toBeNull();
    expect(within(lib).queryAllByTestId("server-policy-hidden")).toHaveLength(0);

    const empty = policy("empty");
    expect(within(empty).getByText("No retention policy")).toBeInTheDocument();
    expect(within(empty).queryAllByTestId("server-retention-rule")).toHaveLength(0);
    expect(within(empty).queryAllByTestId("server-immutable-rule")).toHaveLength(0);

    const secret = policy("secret");
    const hidden = within(secret).getAllByTestId("server-policy-hidden");
    expect(hidden.map((h) => h.textContent)).toEqual(POLICIES[2]!.hidden);
    expect(hidden[0]).toHaveClass("muted");
    // The hidden note says why: not "No retention policy".
    expect(within(secret).queryByText("No retention policy")).toBeNull();

    // Berth's own dry run still works beside them, and the policies are not loaded again.
    await user.type(screen.getByTestId("ret-keep-last"), "1");
    expect(screen.getByTestId("ret-dry-run")).toBeEnabled();
    expect(callsOf(calls, "harbor_policies")).toHaveLength(1);
  });

  it("shows an error in its section only, with a Retry that loads again", async () => {
    const user = userEvent.setup();
    let n = 0;
    const calls = mockBackend({
      other: (cmd) => {
        if (cmd !== "harbor_policies") return undefined;
        n += 1;
        return n === 1 ? Promise.reject(apiError("registry", "401 Unauthorized", "check the password", "unauthorized")) : POLICIES;
      },
    });
    render(RetentionDialog, { profile: "hb", capabilities: CAPABILITIES.harbor!, ondone: vi.fn(), onclose: vi.fn() });

    const section = screen.getByTestId("server-retention");
    expect(await within(section).findByRole("alert")).toHaveTextContent("401 Unauthorized");
    expect(screen.getAllByRole("alert")).toHaveLength(1);
    expect(screen.getByTestId("ret-dry-run")).toBeEnabled();
    await user.click(within(section).getByRole("button", { name: "Retry" }));
    expect(await within(section).findAllByTestId("server-policy")).toHaveLength(3);
    expect(within(section).queryByRole("alert")).toBeNull();
    expect(callsOf(calls, "harbor_policies")).toHaveLength(2);
  });

  it("has no such section without server_retention (registry:2, or no capabilities given)", () => {
    const calls = mockBackend({ other: (cmd) => (cmd === "harbor_policies" ? POLICIES : undefined) });
    const { unmount } = render(RetentionDialog, { profile: "lab", capabilities: CAPABILITIES.registry!, ondone: vi.fn(), onclose: vi.fn() });
    expect(screen.queryByTestId("server-retention")).toBeNull();
    unmount();
    render(RetentionDialog, { profile: "lab", ondone: vi.fn(), onclose: vi.fn() });
    expect(screen.queryByTestId("server-retention")).toBeNull();
    expect(callsOf(calls, "harbor_policies")).toHaveLength(0);
  });
});
