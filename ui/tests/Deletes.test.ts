// The delete flow, retention, trash, audit and GC views, against the mocked commands (the real ones
// are tested in crates/workflows and crates/e2e/tests/deletes.rs).
import { emit } from "@tauri-apps/api/event";
import { clearMocks } from "@tauri-apps/api/mocks";
import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import AuditView from "../src/lib/components/AuditView.svelte";
import DeleteDialog from "../src/lib/components/DeleteDialog.svelte";
import GcView from "../src/lib/components/GcView.svelte";
import ProfileDialog from "../src/lib/components/ProfileDialog.svelte";
import RetentionDialog from "../src/lib/components/RetentionDialog.svelte";
import TrashView from "../src/lib/components/TrashView.svelte";
import { actionCount } from "../src/lib/deleteplan";
import type {
  AuditView as Audit,
  DeletePlan,
  DeleteReport,
  GcPrediction,
  GcReport,
  GcRunView,
  RetentionPlan,
  TrashView as Trash,
} from "../src/lib/ipc";
import { apiError, CAPABILITIES, callsOf, mockBackend, profile, repoNode } from "./backend";

afterEach(() => {
  clearMocks();
});

const D1 = "sha256:" + "d1".repeat(32);
const D2 = "sha256:" + "d2".repeat(32);
const C1 = "sha256:" + "c1".repeat(32);
const C2 = "sha256:" + "c2".repeat(32);

function emptyPlan(over: Partial<DeletePlan> = {}): DeletePlan {
  return {
    profile: "lab",
    options: { mode: "auto", referrers: true },
    untag: [],
    delete: [],
    siblings: [],
    children: [],
    kept_children: [],
    referrers: [],
    refused: [],
    reclaimable_bytes: 0,
    reclaimable_blobs: [],
    notes: [],
    confirm_phrase: null,
    ...over,
  };
}

const UNTAG_PLAN = emptyPlan({ untag: [{ repository: "app", tag: "latest", digest: D1 }], notes: ["GC frees nothing: v1 keeps the image."] });

const BIG_PLAN = emptyPlan({
  options: { mode: "image", referrers: true },
  delete: [{ repository: "app", digest: D2, media_type: "application/vnd.oci.image.index.v1+json", tags: ["v2", "stable"], size: 5_000_000 }],
  siblings: [{ repository: "app", tag: "stable", digest: D2 }],
  children: [{ repository: "app", digest: C1, parent: D2, platform: "linux/arm64", reason: null }],
  kept_children: [{ repository: "app", digest: C2, parent: D2, platform: "linux/amd64", reason: "used by app:v3" }],
  referrers: [{ repository: "app", digest: "sha256:" + "e1".repeat(32), subject: D2, tag: "sha256-d2.sig", kind: "sig" }],
  refused: [{ repository: "app", reference: "gone", reason: "tag not found", hint: "Sync to refresh the cache." }],
  reclaimable_bytes: 4 * 1048576,
  reclaimable_blobs: [{ digest: "sha256:" + "b1".repeat(32), size: 4 * 1048576 }] as DeletePlan["reclaimable_blobs"],
  // The core asks for a typed confirmation (siblings); the window shows and sends it.
  confirm_phrase: "app",
});

function report(over: Partial<DeleteReport> = {}): DeleteReport {
  return {
    operation: "op-1",
    results: [{ action: "untag", repository: "app", target: "latest", digest: D1, result: "ok", message: null }],
    untagged: 1,
    deleted: 0,
    skipped: 0,
    failed: 0,
    cancelled: false,
    trash_ids: [7],
    reclaimable_bytes: 0,
    ...over,
  };
}

describe("delete plan helpers", () => {
  it("counts the registry calls of a plan", () => {
    const many = emptyPlan({
      untag: Array.from({ length: 11 }, (_, i) => ({ repository: i % 2 === 0 ? "a" : "b", tag: `t${i}`, digest: D1 })),
    });
    expect(actionCount(many)).toBe(11);
    expect(actionCount(BIG_PLAN)).toBe(3);
  });
});

describe("delete dialog", () => {
  it("plans, confirms with one click, shows progress, reports and tells the caller", async () => {
    const user = userEvent.setup();
    let release: (() => void) | null = null;
    const calls = mockBackend({
      other: (cmd) => {
        if (cmd === "plan_delete") return UNTAG_PLAN;
        if (cmd === "execute_delete")
          return new Promise((resolve) => {
            release = () => resolve(report());
          });
        if (cmd === "cancel_delete") return true;
        return undefined;
      },
    });
    const ondone = vi.fn();
    render(DeleteDialog, { profile: "lab", selections: [{ repository: "app", reference: "latest" }], ondone, onclose: vi.fn() });

    const plan = await screen.findByTestId("delete-plan");
    expect(within(plan).getByTestId("plan-untag")).toHaveTextContent("app:latest");
    expect(plan).toHaveTextContent("GC frees nothing: v1 keeps the image.");
    expect(callsOf(calls, "plan_delete")[0]?.args).toEqual({
      profile: "lab",
      selections: [{ repository: "app", reference: "latest" }],
      options: { mode: "auto", referrers: true },
    });
    expect(screen.queryByTestId("delete-typed")).toBeNull();
    const confirm = screen.getByTestId("delete-confirm");
    expect(confirm).toHaveTextContent("Untag 1 item");
    await user.click(confirm);

    await waitFor(() => expect(callsOf(calls, "execute_delete")).toHaveLength(1));
    expect(callsOf(calls, "execute_delete")[0]?.args).toEqual({ profile: "lab", plan: UNTAG_PLAN, typed: null });
    await emit("delete-progress", { profile: "other", operation: "op-9", done: 5, total: 9, current: "untag other:x" });
    await emit("delete-progress", { profile: "lab", operation: "op-1", done: 0, total: 1, current: "untag app:latest" });
    const progress = await screen.findByTestId("delete-progress");
    await waitFor(() => expect(progress).toHaveTextContent("untag app:latest"));
    expect(progress).not.toHaveTextContent("other:x");
    expect(screen.getByTestId("mode-image")).toBeDisabled();
    await user.click(screen.getByTestId("delete-cancel"));
    expect(callsOf(calls, "cancel_delete")[0]?.args).toEqual({ profile: "lab" });
    release!();

    const rep = await screen.findByTestId("delete-report");
    expect(rep).toHaveTextContent("1 untagged, 0 deleted, 0 skipped, 0 failed");
    expect(within(rep).getByTestId("report-row")).toHaveAttribute("data-result", "ok");
    expect(ondone).toHaveBeenCalledWith(expect.objectContaining({ untagged: 1 }));
  });

  it("shows siblings, children kept and deleted, referrers and refusals, and gates the run on the typed name", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({
      other: (cmd, args) => {
        if (cmd === "plan_delete") return { ...BIG_PLAN, options: args["options"] };
        if (cmd === "execute_delete")
          return report({
            results: [
              { action: "delete", repository: "app", target: D2, digest: D2, result: "ok", message: null },
              { action: "delete_child", repository: "app", target: C1, digest: C1, result: "failed", message: "HTTP 500 from <b>registry</b>" },
            ],
            untagged: 0,
            deleted: 1,
            failed: 1,
          });
        return undefined;
      },
    });
    render(DeleteDialog, { profile: "lab", selections: [{ repository: "app", reference: "v2" }], mode: "image", ondone: vi.fn(), onclose: vi.fn() });

    const plan = await screen.findByTestId("delete-plan");
    expect(callsOf(calls, "plan_delete")[0]?.args).toMatchObject({ options: { mode: "image", referrers: true } });
    expect(within(plan).getByTestId("plan-siblings")).toHaveTextContent("app:stable");
    expect(within(plan).getByTestId("plan-delete").querySelector(".sibling")).toHaveTextContent("stable");
    expect(within(plan).getByTestId("plan-children")).toHaveTextContent("linux/arm64");
    expect(within(plan).getByTestId("plan-kept-children")).toHaveTextContent("used by app:v3");
    expect(within(plan).getByTestId("plan-referrers")).toHaveTextContent("sha256-d2.sig");
    expect(within(plan).getByTestId("plan-refused")).toHaveTextContent("app:gone: tag not found Sync to refresh the cache.");
    expect(within(plan).getByTestId("plan-reclaimable")).toHaveTextContent("4.0 MB");

    const confirm = screen.getByTestId("delete-confirm");
    expect(confirm).toBeDisabled();
    await user.type(screen.getByTestId("delete-typed"), "ap");
    expect(confirm).toBeDisabled();
    await user.type(screen.getByTestId("delete-typed"), "p");
    expect(confirm).toBeEnabled();
    await user.click(confirm);

    const rep = await screen.findByTestId("delete-report");
    // The typed phrase goes to the core, which checks it.
    expect(callsOf(calls, "execute_delete")[0]?.args).toMatchObject({ profile: "lab", typed: "app" });
    expect(rep).toHaveTextContent("1 failed");
    // Registry text stays text.
    expect(rep).toHaveTextContent("HTTP 500 from <b>registry</b>");
    expect(rep.querySelector("b")).toBeNull();
  });

  it("re-plans when the mode changes, and shows a planning error with its hint", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({
      other: (cmd, args) => {
        if (cmd !== "plan_delete") return undefined;
        if ((args["options"] as { mode: string }).mode === "untag_only") throw apiError("registry", "deletes are disabled", "set REGISTRY_STORAGE_DELETE_ENABLED=true");
        return UNTAG_PLAN;
      },
    });
    render(DeleteDialog, { profile: "lab", selections: [{ repository: "app", reference: "latest" }], ondone: vi.fn(), onclose: vi.fn() });
    await screen.findByTestId("delete-plan");
    await user.click(screen.getByTestId("mode-untag_only"));
    expect(await screen.findByText("deletes are disabled")).toBeInTheDocument();
    expect(screen.getByText(/REGISTRY_STORAGE_DELETE_ENABLED/)).toBeInTheDocument();
    expect(callsOf(calls, "plan_delete")).toHaveLength(2);
    expect(screen.queryByTestId("delete-confirm")).toBeNull();
  });
});

describe("retention dialog", () => {
  it("sends the policy, shows the plan and the kept tags with reasons, then executes the plan without them", async () => {
    const user = userEvent.setup();
    const retention: RetentionPlan = {
      ...UNTAG_PLAN,
      kept: [
        { repository: "app", tag: "v9", digest: D2, reason: "newest 1" },
        { repository: "app", tag: "release", digest: D2, reason: "protected" },
      ],
    };
    const calls = mockBackend({
      other: (cmd) => {
        if (cmd === "plan_retention") return retention;
        if (cmd === "execute_delete") return report();
        return undefined;
      },
    });
    const ondone = vi.fn();
    render(RetentionDialog, { profile: "lab", ondone, onclose: vi.fn() });

    await user.click(screen.getByTestId("ret-dry-run"));
    expect(await screen.findByText("Set “keep last” or “older than”.")).toBeInTheDocument();
    expect(callsOf(calls, "plan_retention")).toHaveLength(0);

    await user.type(screen.getByTestId("ret-keep-last"), "1");
    await user.type(screen.getByTestId("ret-older-than"), "30");
    await user.type(screen.getByTestId("ret-match"), "^v");
    await user.type(screen.getByTestId("ret-repos"), "team/*");
    await user.type(screen.getByTestId("ret-protect"), "^release$");
    await user.click(screen.getByTestId("ret-dry-run"));

    await screen.findByTestId("delete-plan");
    expect(callsOf(calls, "plan_retention")[0]?.args).toEqual({
      profile: "lab",
      policy: { keep_last: 1, older_than_days: 30, matching: "^v", exclude: null, repositories: "team/*", protect: ["^release$"], untagged: false },
    });
    const kept = screen.getByTestId("ret-kept");
    expect(kept).toHaveTextContent("2 tags kept");
    expect(within(kept).getAllByTestId("kept-row")[1]).toHaveTextContent("app:release");
    expect(within(kept).getAllByTestId("kept-row")[1]).toHaveTextContent("protected");

    await user.click(screen.getByTestId("delete-confirm"));
    await screen.findByTestId("delete-report");
    expect(callsOf(calls, "execute_delete")[0]?.args).toEqual({ profile: "lab", plan: UNTAG_PLAN, typed: null });
    expect(ondone).toHaveBeenCalled();
  });
});

describe("trash view", () => {
  const entries: Trash[] = [
    {
      id: 7,
      repository: "app",
      tags: ["latest"],
      digest: D1,
      media_type: "application/vnd.oci.image.manifest.v1+json",
      kind: "untag",
      deleted_at: "2025-03-01T10:00:00Z",
      state: "trashed",
      reclaimable_bytes: 0,
      manifests: 1,
    },
    {
      id: 3,
      repository: "old",
      tags: ["v0"],
      digest: D2,
      media_type: "application/vnd.oci.image.manifest.v1+json",
      kind: "delete",
      deleted_at: "2025-01-01T10:00:00Z",
      state: "collected",
      reclaimable_bytes: 1_000_000,
      manifests: 1,
    },
  ];

  it("lists entries, restores one, reports what came back and reloads", async () => {
    const user = userEvent.setup();
    let restored = false;
    const calls = mockBackend({
      other: (cmd) => {
        if (cmd === "list_trash") return restored ? entries.slice(1) : entries;
        if (cmd === "restore_trash") {
          restored = true;
          return { id: 7, repository: "app", digest: D1, manifests_restored: 0, tags_restored: ["latest"], tags_skipped: [] };
        }
        return undefined;
      },
    });
    const onrestored = vi.fn();
    render(TrashView, { profile: "lab", onrestored });

    const rows = await screen.findAllByTestId("trash-row");
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent("app");
    expect(rows[0]).toHaveTextContent("latest");
    expect(rows[0]).toHaveTextContent("untag");
    expect(rows[1]).toHaveTextContent("not restorable");
    expect(within(rows[1]!).queryByTestId("trash-restore")).toBeNull();
    expect(screen.getByTestId("trash-view")).toHaveTextContent("Restore works only until garbage collection removes the blobs");

    await user.click(within(rows[0]!).getByTestId("trash-restore"));
    expect(await screen.findByTestId("restore-result")).toHaveTextContent("tags latest");
    expect(callsOf(calls, "restore_trash")[0]?.args).toEqual({ profile: "lab", id: 7 });
    expect(onrestored).toHaveBeenCalled();
    await waitFor(() => expect(screen.getAllByTestId("trash-row")).toHaveLength(1));

    await user.click(screen.getByTestId("trash-all"));
    await waitFor(() => expect(callsOf(calls, "list_trash").at(-1)?.args).toEqual({ profile: "lab", all: true }));
  });

  it("shows a failed restore with its hint", async () => {
    const user = userEvent.setup();
    mockBackend({
      other: (cmd) => {
        if (cmd === "list_trash") return entries.slice(0, 1);
        if (cmd === "restore_trash") throw apiError("registry", "blob unknown", "GC removed it: the entry cannot be restored");
        return undefined;
      },
    });
    render(TrashView, { profile: "lab" });
    await user.click(await screen.findByTestId("trash-restore"));
    expect(await screen.findByText("blob unknown")).toBeInTheDocument();
    expect(screen.getByText(/GC removed it/)).toBeInTheDocument();
  });
});

describe("audit view", () => {
  it("lists when, action, target, result and message", async () => {
    const rows: Audit[] = [
      { id: 2, at: "2025-03-01T10:00:00Z", profile: "lab", operation: "delete", action: "untag", repository: "app", target: "latest", digest: D1, result: "ok", message: null },
      { id: 1, at: "2025-03-01T09:00:00Z", profile: "lab", operation: "gc", action: "gc", repository: null, target: "lab", digest: null, result: "failed", message: "exit status 1" },
    ];
    const calls = mockBackend({ other: (cmd) => (cmd === "audit_log" ? rows : undefined) });
    render(AuditView, { profile: "lab" });
    const shown = await screen.findAllByTestId("audit-row");
    expect(shown[0]).toHaveTextContent("untag");
    expect(shown[0]).toHaveTextContent("app:latest");
    expect(shown[0]).toHaveTextContent("ok");
    expect(shown[1]).toHaveTextContent("exit status 1");
    expect(callsOf(calls, "audit_log")[0]?.args).toEqual({ profile: "lab", limit: 500 });
  });
});

describe("GC view", () => {
  const pending: GcPrediction = { predicted_bytes: 3 * 1048576, blobs: [{ digest: "sha256:" + "b1".repeat(32), size: 3 * 1048576 }] as GcPrediction["blobs"], trash_entries: [7], notes: [] };
  const run: GcRunView = {
    id: 1,
    started_at: "2025-03-01T10:00:00Z",
    finished_at: "2025-03-01T10:00:05Z",
    dry_run: false,
    status: "ok",
    predicted_bytes: 2 * 1048576,
    freed_bytes: 2 * 1048576,
    blobs_freed: 2,
    verified: true,
    message: null,
    log: "blob eligible for deletion: sha256:aa\nold run log",
    after_pending: null,
  };
  function gcReport(over: Partial<GcReport>): GcReport {
    return {
      id: 2,
      dry_run: true,
      predicted_bytes: 3 * 1048576,
      predicted_blobs: 1,
      freed_bytes: 0,
      blobs_freed: 0,
      registry: { marked: 4, blobs_eligible: 2, manifests_eligible: 0, blobs: [] },
      predicted_not_eligible: [],
      verified: null,
      problems: [],
      seconds: 1.5,
      notes: [],
      ...over,
    };
  }

  it("offers to set the GC command when none is set", async () => {
    const user = userEvent.setup();
    mockBackend({ other: (cmd) => (cmd === "gc_pending" ? pending : cmd === "gc_history" ? [] : undefined) });
    const onedit = vi.fn();
    render(GcView, { profile: profile("lab", "http://127.0.0.1:5000"), onedit });
    expect(await screen.findByTestId("gc-pending-bytes")).toHaveTextContent("3.0 MB");
    expect(screen.getByTestId("gc-dry-run")).toBeDisabled();
    expect(screen.getByTestId("gc-run")).toBeDisabled();
    expect(screen.getByTestId("gc-view")).toHaveTextContent("--delete-untagged");
    expect(await screen.findByTestId("gc-history-empty")).toBeInTheDocument();
    await user.click(screen.getByTestId("gc-set-command"));
    expect(onedit).toHaveBeenCalled();
  });

  it("dry-runs beside the prediction, runs after confirming with the live log, and shows the history", async () => {
    const user = userEvent.setup();
    let finish: ((r: GcReport) => void) | null = null;
    const calls = mockBackend({
      other: (cmd, args) => {
        if (cmd === "gc_pending") return pending;
        if (cmd === "gc_history") return [run];
        if (cmd === "run_gc") {
          if (args["dryRun"] === true) return gcReport({ predicted_not_eligible: ["sha256:" + "b9".repeat(32)] });
          return new Promise<GcReport>((resolve) => (finish = resolve));
        }
        return undefined;
      },
    });
    const p = { ...profile("lab", "http://127.0.0.1:5000"), gc: { command: "docker-registry garbage-collect /etc/r.yml", before: null, after: null, storage_root: null, remote: null } };
    const oncollected = vi.fn();
    render(GcView, { profile: p, onedit: vi.fn(), oncollected });
    expect(screen.getByTestId("gc-command")).toHaveTextContent("docker-registry garbage-collect /etc/r.yml");

    await user.click(screen.getByTestId("gc-dry-run"));
    const dry = await screen.findByTestId("gc-result");
    expect(callsOf(calls, "run_gc")[0]?.args).toEqual({ profile: "lab", dryRun: true });
    expect(within(dry).getByTestId("gc-predicted-blobs")).toHaveTextContent("1 (3.0 MB)");
    expect(within(dry).getByTestId("gc-registry-blobs")).toHaveTextContent("2 eligible");
    expect(within(dry).getByTestId("gc-not-eligible")).toHaveTextContent("b9b9");

    // No before command: the real run waits for the user to confirm the registry is stopped.
    expect(screen.getByTestId("gc-run")).toBeDisabled();
    await user.click(screen.getByTestId("gc-registry-stopped"));
    await user.click(screen.getByTestId("gc-run"));
    expect(screen.getByTestId("gc-confirm-box")).toHaveTextContent("can no longer be restored");
    expect(callsOf(calls, "run_gc")).toHaveLength(1);
    await user.click(screen.getByTestId("gc-confirm"));
    await waitFor(() => expect(callsOf(calls, "run_gc")).toHaveLength(2));
    expect(callsOf(calls, "run_gc")[1]?.args).toEqual({
      profile: "lab",
      dryRun: false,
      request: { dry_run: false, delete_untagged: false, workers: null, registry_stopped: true },
    });
    await emit("gc-log", { profile: "lab", line: "blob eligible for deletion: sha256:b1" });
    await emit("gc-log", { profile: "other", line: "not mine" });
    await emit("gc-log", { profile: "lab", line: "<i>deleting</i>" });
    const log = await screen.findByTestId("gc-log");
    await waitFor(() => expect(log).toHaveTextContent("<i>deleting</i>"));
    expect(log).toHaveTextContent("blob eligible for deletion: sha256:b1");
    expect(log).not.toHaveTextContent("not mine");
    finish!(gcReport({ dry_run: false, freed_bytes: 2.9 * 1048576, blobs_freed: 1, verified: false, problems: ["app:v1 lost a layer"] }));

    const res = await screen.findByTestId("gc-freed");
    expect(res).toHaveTextContent("2.9 MB");
    expect(screen.getByTestId("gc-verified")).toHaveTextContent("Verified: NO");
    expect(screen.getByTestId("gc-problems")).toHaveTextContent("app:v1 lost a layer");
    expect(oncollected).toHaveBeenCalled();

    const hist = await screen.findAllByTestId("gc-history-row");
    expect(hist[0]).toHaveTextContent("2.0 MB");
    expect(hist[0]).toHaveTextContent("yes");
    expect(screen.getAllByTestId("gc-history-log")[0]).toHaveTextContent("old run log");
  });

  it("runs Harbor's GC through its API (dry run too) and Nexus's tasks (no dry run), without a command", () => {
    mockBackend({});
    const { unmount } = render(GcView, { profile: profile("hb", "https://harbor.lab", "harbor"), onedit: vi.fn() });
    expect(screen.getByTestId("gc-api-note")).toHaveTextContent("through its API");
    expect(screen.getByTestId("gc-api-note")).toHaveTextContent("2 hours");
    expect(screen.getByTestId("gc-run")).toBeEnabled();
    expect(screen.getByTestId("gc-dry-run")).toBeEnabled();
    expect(screen.queryByTestId("gc-set-command")).toBeNull();
    unmount();
    render(GcView, { profile: profile("nx", "https://nexus.lab", "nexus"), onedit: vi.fn() });
    expect(screen.getByTestId("gc-api-note")).toHaveTextContent("Compact blob store");
    expect(screen.getByTestId("gc-run")).toBeEnabled();
    expect(screen.queryByTestId("gc-dry-run")).toBeNull();
  });

  it("follows the profile's capabilities, not its kind", () => {
    mockBackend({});
    const gc = { command: "registry garbage-collect /etc/r.yml", before: "ro on", after: "ro off", storage_root: null, remote: null };
    // gc_dry_run: false means no dry-run button, whatever the kind says.
    for (const kind of ["registry", "harbor", "nexus"] as const) {
      const p = { ...profile(`p-${kind}`, "https://p.lab", kind), gc, capabilities: { ...CAPABILITIES[kind]!, gc_dry_run: false } };
      const { unmount } = render(GcView, { profile: p, onedit: vi.fn() });
      expect(screen.queryByTestId("gc-dry-run"), kind).toBeNull();
      expect(screen.getByTestId("gc-run"), kind).toBeEnabled();
      unmount();
    }
    // A Nexus-kind profile whose backend runs GC commands with a dry run shows the registry:2 view.
    const nx = { ...profile("nx", "https://nexus.lab", "nexus"), capabilities: CAPABILITIES.registry! };
    const { unmount } = render(GcView, { profile: nx, onedit: vi.fn() });
    expect(screen.queryByTestId("gc-api-note")).toBeNull();
    expect(screen.getByTestId("gc-set-command")).toBeInTheDocument();
    expect(screen.getByTestId("gc-dry-run")).toBeDisabled();
    expect(screen.getByTestId("gc-run")).toBeDisabled();
    unmount();
    // A registry-kind profile whose backend runs its own job, with the time window, gets Harbor's note and label.
    const hb = { ...profile("reg", "http://127.0.0.1:5000", "registry"), capabilities: CAPABILITIES.harbor! };
    render(GcView, { profile: hb, onedit: vi.fn() });
    expect(screen.getByTestId("gc-api-note")).toHaveTextContent("Garbage collection on Harbor");
    expect(screen.getByTestId("gc-api-note")).toHaveTextContent("2 hours");
    expect(screen.queryByTestId("gc-set-command")).toBeNull();
    expect(screen.getByTestId("gc-dry-run")).toBeEnabled();
  });

  it("shows the message and hint when another run holds the profile (busy)", async () => {
    const user = userEvent.setup();
    const busy = apiError("busy", "A sync of hb is running", "Wait for it to end, or cancel it, then run GC again.");
    mockBackend({
      other: (cmd) => {
        if (cmd === "gc_pending") return pending;
        if (cmd === "gc_history") return [];
        if (cmd === "run_gc") throw busy;
        if (cmd === "server_gc") return { runs: [], schedule: null, time_window_hours: 2, collects_before: null, collectable_from: null };
        return undefined;
      },
    });
    render(GcView, { profile: profile("hb", "https://harbor.lab", "harbor"), onedit: vi.fn() });
    await user.click(screen.getByTestId("gc-dry-run"));
    const error = await screen.findByTestId("error");
    expect(error).toHaveTextContent("A sync of hb is running");
    expect(error).toHaveTextContent("Wait for it to end, or cancel it, then run GC again.");
    expect(screen.getByTestId("gc-dry-run")).toBeEnabled();
  });
});

describe("GC view: an interrupted run's after command", () => {
  it("offers the owed after command, runs it, and the banner goes", async () => {
    const user = userEvent.setup();
    const owedRun = {
      id: 3, started_at: "2025-03-02T09:00:00Z", finished_at: "2025-03-02T09:05:00Z", dry_run: false, status: "failed",
      predicted_bytes: 0, freed_bytes: 0, blobs_freed: 0, verified: null,
      message: "interrupted after the before command", log: "", after_pending: "ssh reg ro-off",
    };
    let owes = true;
    const calls = mockBackend({
      other: (cmd) => {
        if (cmd === "gc_pending") return { predicted_bytes: 0, blobs: [], trash_entries: [], notes: [] };
        if (cmd === "gc_history") return [{ ...owedRun, after_pending: owes ? "ssh reg ro-off" : null }];
        if (cmd === "gc_run_after") {
          owes = false;
          return true;
        }
        return undefined;
      },
    });
    const lab = { ...profile("lab", "http://127.0.0.1:5000"), gc: { command: "registry garbage-collect /c.yml", before: "ro-on", after: "ro-off", storage_root: null, remote: null } };
    render(GcView, { profile: lab, onedit: vi.fn() });
    const banner = await screen.findByTestId("gc-after-owed");
    expect(banner).toHaveTextContent("ssh reg ro-off");
    expect(banner).toHaveTextContent("may still be read-only");
    await user.click(screen.getByTestId("gc-run-after"));
    await waitFor(() => expect(screen.queryByTestId("gc-after-owed")).toBeNull());
    expect(calls.some((c) => c.cmd === "gc_run_after" && (c.args as { profile: string }).profile === "lab")).toBe(true);
  });
});

describe("profile dialog GC settings", () => {
  it("edits the GC command of a registry profile and warns about --delete-untagged", async () => {
    const user = userEvent.setup();
    const p = { ...profile("lab", "http://127.0.0.1:5000"), gc: { command: "old", before: "ro on", after: null, storage_root: null, remote: null } };
    const calls = mockBackend({ profiles: [p], editProfile: (_n, _r) => p });
    render(ProfileDialog, { profile: p, onsaved: vi.fn(), onclose: vi.fn() });
    expect(screen.getByTestId("gc-untagged-warning")).toHaveTextContent("#3178");
    const cmd = document.getElementById("profile-gc-command") as HTMLInputElement;
    expect(cmd.value).toBe("old");
    await user.clear(cmd);
    await user.type(cmd, "ssh reg docker exec registry registry garbage-collect /etc/docker/registry/config.yml");
    await user.clear(document.getElementById("profile-gc-before") as HTMLInputElement);
    await user.type(document.getElementById("profile-gc-after") as HTMLInputElement, "ro off");
    await user.click(screen.getByTestId("add-profile-submit"));
    await waitFor(() => expect(callsOf(calls, "edit_profile")).toHaveLength(1));
    expect(callsOf(calls, "edit_profile")[0]?.args).toEqual({
      profile: "lab",
      request: { gc_command: "ssh reg docker exec registry registry garbage-collect /etc/docker/registry/config.yml", gc_before: "", gc_after: "ro off" },
    });
  });

  it("has no GC settings for Harbor", () => {
    mockBackend({});
    render(ProfileDialog, { profile: profile("hb", "https://harbor.lab", "harbor"), onsaved: vi.fn(), onclose: vi.fn() });
    expect(screen.queryByTestId("gc-settings")).toBeNull();
  });
});

describe("window wiring", () => {
  it("deletes the tags selected in the table (Select all matching), then reloads the table; the tabs open", async () => {
    const { default: App } = await import("../src/App.svelte");
    const { tag } = await import("./backend");
    const user = userEvent.setup();
    const [v10, v11, v20] = [tag("app", "1.0"), tag("app", "1.1"), tag("app", "2.0")];
    let deleted = false;
    const calls = mockBackend({
      profiles: [profile("local", "http://127.0.0.1:5000")],
      repositories: { local: [repoNode("app")] },
      other: (cmd) => {
        if (cmd === "plan_delete")
          return emptyPlan({
            profile: "local",
            untag: [
              { repository: "app", tag: "1.0", digest: D1 },
              { repository: "app", tag: "1.1", digest: D1 },
            ],
          });
        if (cmd === "execute_delete") {
          deleted = true;
          return report({ untagged: 2 });
        }
        if (cmd === "list_trash") return [];
        if (cmd === "audit_log") return [];
        if (cmd === "gc_pending") return { predicted_bytes: 0, blobs: [], trash_entries: [], notes: [] };
        if (cmd === "gc_history") return [];
        return undefined;
      },
      // The store's answers: every tag, or those matching the filter the window sends; after the delete, 2.0 alone.
      tags: { "local/app": ({ filter }) => (filter === null ? (deleted ? [v20] : [v10, v11, v20]) : filter === "(?i)1\\." && !deleted ? [v10, v11] : []) },
    });
    render(App);
    await user.click(await screen.findByTestId("repo-item"));
    await waitFor(() => expect(screen.getAllByTestId("tag-row")).toHaveLength(3));
    await user.type(screen.getByTestId("tag-filter"), "1.");
    await waitFor(() => expect(screen.getAllByTestId("tag-row")).toHaveLength(2));
    expect(callsOf(calls, "list_tag_names").at(-1)?.args).toMatchObject({ repository: "app", filter: "(?i)1\\." });
    await user.click(screen.getByTestId("select-all"));
    expect(screen.getByTestId("selection-bar")).toHaveTextContent("2 selected");
    await user.click(screen.getByTestId("delete-open"));

    const dialog = await screen.findByTestId("delete-dialog");
    await within(dialog).findByTestId("delete-plan");
    expect(callsOf(calls, "plan_delete")[0]?.args).toMatchObject({
      profile: "local",
      selections: [
        { repository: "app", reference: "1.0" },
        { repository: "app", reference: "1.1" },
      ],
    });
    const before = callsOf(calls, "list_tag_names").length;
    await user.click(within(dialog).getByTestId("delete-confirm"));
    await within(dialog).findByTestId("delete-report");
    await waitFor(() => expect(callsOf(calls, "list_tag_names").length).toBeGreaterThan(before));
    expect(callsOf(calls, "list_tag_names").at(-1)?.args).toMatchObject({ filter: "(?i)1\\." });
    await user.click(within(dialog).getByTestId("delete-close"));
    expect(screen.queryByTestId("delete-dialog")).toBeNull();
    await waitFor(() => expect(screen.queryAllByTestId("tag-row")).toHaveLength(0));

    await user.click(screen.getByTestId("view-trash"));
    expect(await screen.findByTestId("trash-empty")).toBeInTheDocument();
    await user.click(screen.getByTestId("view-audit"));
    expect(await screen.findByTestId("audit-empty")).toBeInTheDocument();
    await user.click(screen.getByTestId("view-gc"));
    expect(await screen.findByTestId("gc-no-command")).toBeInTheDocument();
    await user.click(screen.getByTestId("retention-open"));
    expect(await screen.findByTestId("retention-dialog")).toBeInTheDocument();
  }, 30_000);
});
