// Untagged manifests (listed, checked against the registry, deleted by digest) and whole-repository
// deletes, against the mocked commands (the real ones are tested in crates/workflows and
// crates/e2e). The search is in Search.test.ts.
import { clearMocks } from "@tauri-apps/api/mocks";
import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import ProfilePane from "../src/lib/components/ProfilePane.svelte";
import UntaggedManifests from "../src/lib/components/UntaggedManifests.svelte";
import type { DeletePlan, DeleteReport, ProfileView } from "../src/lib/ipc";
import type { UntaggedManifestView } from "../src/bindings/UntaggedManifestView";
import type { UntaggedView } from "../src/bindings/UntaggedView";
import { callsOf, mockBackend, profile, repoNode, tag } from "./backend";

afterEach(() => {
  clearMocks();
});

const U1 = "sha256:" + "a1".repeat(32);
const U2 = "sha256:" + "a2".repeat(32);
const U3 = "sha256:" + "a3".repeat(32);
const IDX = "sha256:" + "1d".repeat(32);

function manifest(repository: string, digest: string, over: Partial<UntaggedManifestView> = {}): UntaggedManifestView {
  return {
    repository,
    digest,
    media_type: "application/vnd.oci.image.manifest.v1+json",
    created: "2024-03-01T08:00:00Z",
    size: 2 * 1048576,
    untagged_since: "2025-02-01T12:30:00Z",
    index_parent: null,
    ...over,
  };
}

const MANIFESTS = [
  manifest("app", U1),
  manifest("app", U2, { size: 1048576, untagged_since: null }),
  manifest("web", U3, { size: 512 * 1024, index_parent: IDX }),
];

/** The core's list of untagged manifests (by default MANIFESTS, 3.5 MB; give total_size with other manifests). */
function untagged(over: Partial<UntaggedView> = {}): UntaggedView {
  return {
    profile: "lab",
    repository: null,
    manifests: MANIFESTS,
    total_size: 3.5 * 1048576,
    checked: false,
    gone: 0,
    unchecked: [],
    ...over,
  };
}

function emptyPlan(over: Partial<DeletePlan> = {}): DeletePlan {
  return {
    profile: "lab",
    options: { mode: "image", referrers: true },
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

function report(over: Partial<DeleteReport> = {}): DeleteReport {
  return {
    operation: "op-1",
    results: [],
    untagged: 0,
    deleted: 1,
    skipped: 0,
    failed: 0,
    cancelled: false,
    trash_ids: [1],
    reclaimable_bytes: 0,
    ...over,
  };
}

describe("untagged manifests", () => {
  it("lists every repository's untagged manifests with the summary, sizes, dates and index parents", async () => {
    const calls = mockBackend({ other: (cmd) => (cmd === "untagged_manifests" ? untagged() : undefined) });
    render(UntaggedManifests, { profile: "lab" });

    const rows = await screen.findAllByTestId("untagged-row");
    expect(rows).toHaveLength(3);
    expect(callsOf(calls, "untagged_manifests")[0]?.args).toEqual({ profile: "lab", repository: null, check: false });
    expect(screen.getByTestId("untagged-summary")).toHaveTextContent("3 untagged manifests · 3.5 MB");
    expect(rows[0]).toHaveTextContent("app");
    expect(rows[0]).toHaveTextContent("a1a1a1a1a1a1");
    expect(rows[0]).toHaveTextContent("2.0 MB");
    expect(rows[0]).toHaveTextContent("2024-03-01 08:00");
    expect(rows[0]).toHaveTextContent("2025-02-01 12:30");
    expect(within(rows[0]!).queryByTestId("untagged-index")).toBeNull();
    // Untagged before Berth kept track: no date.
    expect(rows[1]).toHaveTextContent("—");
    expect(within(rows[2]!).getByTestId("untagged-index")).toHaveTextContent("in 1d1d1d1d1d1d");
    expect(screen.getByTestId("untagged-delete")).toBeDisabled();
    expect(screen.queryByTestId("untagged-gone")).toBeNull();
    expect(screen.queryByTestId("untagged-empty")).toBeNull();
  });

  it("says so when there are none, and scopes to the selected repository", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({
      other: (cmd, args) =>
        cmd === "untagged_manifests" ? (args["repository"] === null ? untagged() : untagged({ repository: "db", manifests: [], total_size: 0 })) : undefined,
    });
    render(UntaggedManifests, { profile: "lab", repository: "db" });
    expect(await screen.findAllByTestId("untagged-row")).toHaveLength(3);

    await user.click(screen.getByTestId("untagged-scope-repository"));
    expect(await screen.findByTestId("untagged-empty")).toHaveTextContent("No untagged manifests in db.");
    expect(callsOf(calls, "untagged_manifests").at(-1)?.args).toEqual({ profile: "lab", repository: "db", check: false });
    expect(screen.queryAllByTestId("untagged-row")).toHaveLength(0);
    expect(screen.getByTestId("untagged-summary")).toHaveTextContent("0 untagged manifests");
  });

  it("checks against the registry: reports the forgotten ones and those it could not check", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({
      other: (cmd, args) => {
        if (cmd !== "untagged_manifests") return undefined;
        return args["check"] === true ? untagged({ manifests: MANIFESTS.slice(1), total_size: 1.5 * 1048576, checked: true, gone: 1, unchecked: [`web@${U3}`] }) : untagged();
      },
    });
    render(UntaggedManifests, { profile: "lab" });
    await screen.findAllByTestId("untagged-row");

    const recheck = screen.getByTestId("untagged-recheck");
    expect(recheck).toHaveTextContent("Check against the registry");
    await user.click(recheck);
    expect(await screen.findByTestId("untagged-gone")).toHaveTextContent("1 manifest no longer there, forgotten");
    expect(callsOf(calls, "untagged_manifests").at(-1)?.args).toEqual({ profile: "lab", repository: null, check: true });
    const unchecked = screen.getByTestId("untagged-unchecked");
    expect(unchecked).toHaveTextContent("1 could not be checked");
    expect(unchecked).toHaveTextContent(`web@${U3}`);
    expect(screen.getAllByTestId("untagged-row")).toHaveLength(2);
    expect(screen.getByTestId("untagged-summary")).toHaveTextContent("2 untagged manifests");
  });

  it("deletes the selected ones by digest through the delete plan, then reloads", async () => {
    const user = userEvent.setup();
    let listed = 0;
    const calls = mockBackend({
      other: (cmd, args) => {
        if (cmd === "untagged_manifests") return ++listed === 1 ? untagged() : untagged({ manifests: MANIFESTS.slice(2), total_size: 512 * 1024 });
        if (cmd === "plan_delete")
          return emptyPlan({
            options: args["options"] as DeletePlan["options"],
            delete: [
              { repository: "app", digest: U1, media_type: "application/vnd.oci.image.manifest.v1+json", tags: [], size: 2 * 1048576 },
              { repository: "app", digest: U2, media_type: "application/vnd.oci.image.manifest.v1+json", tags: [], size: 1048576 },
            ],
            reclaimable_bytes: 3 * 1048576,
          });
        if (cmd === "execute_delete") return report({ deleted: 2 });
        return undefined;
      },
    });
    const onchanged = vi.fn();
    render(UntaggedManifests, { profile: "lab", onchanged });
    const rows = await screen.findAllByTestId("untagged-row");

    await user.click(within(rows[0]!).getByTestId("untagged-check"));
    await user.click(within(rows[1]!).getByTestId("untagged-check"));
    const del = screen.getByTestId("untagged-delete");
    expect(del).toHaveTextContent("Delete 2…");
    await user.click(del);

    const dialog = await screen.findByTestId("delete-dialog");
    expect(dialog).toHaveTextContent("Delete 2 untagged manifests from lab");
    const plan = await within(dialog).findByTestId("delete-plan");
    expect(within(plan).getByTestId("plan-delete")).toHaveTextContent("app@a1a1a1a1a1a1");
    expect(within(plan).getByTestId("plan-delete")).toHaveTextContent("untagged");
    expect(callsOf(calls, "plan_delete")[0]?.args).toEqual({
      profile: "lab",
      selections: [
        { repository: "app", reference: U1 },
        { repository: "app", reference: U2 },
      ],
      options: { mode: "image", referrers: true },
    });

    await user.click(within(dialog).getByTestId("delete-confirm"));
    expect(await screen.findByTestId("delete-report")).toHaveTextContent("2 deleted");
    expect(onchanged).toHaveBeenCalled();
    await waitFor(() => expect(screen.getAllByTestId("untagged-row")).toHaveLength(1));
    expect(callsOf(calls, "untagged_manifests")).toHaveLength(2);
    expect(screen.getByTestId("untagged-delete")).toBeDisabled();
  });
});

describe("profile pane: the Untagged tab and deleting a repository", () => {
  function renderPane(p: ProfileView, over: Record<string, unknown> = {}) {
    return render(ProfilePane, {
      profile: p,
      status: undefined,
      sync: undefined,
      reloadKey: 0,
      onsync: vi.fn(),
      oncancelsync: vi.fn(),
      ontested: vi.fn(),
      onedit: vi.fn(),
      oncertificates: vi.fn(),
      onsnippets: vi.fn(),
      ondelete: vi.fn(),
      ...over,
    });
  }

  async function pick(path: string, user: ReturnType<typeof userEvent.setup>) {
    const items = await screen.findAllByTestId("repo-item");
    const item = items.find((i) => i.getAttribute("data-path") === path);
    if (item === undefined) throw new Error(`no repository ${path}`);
    await user.click(item);
  }

  it("shows untagged manifests in their own tab, scoped to the selected repository on demand", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({
      repositories: { lab: [repoNode("app"), repoNode("web")] },
      tags: { "lab/app": [tag("app", "1.0")] },
      other: (cmd, args) => (cmd === "untagged_manifests" ? untagged({ repository: (args["repository"] as string | null) ?? null }) : undefined),
    });
    renderPane(profile("lab", "http://127.0.0.1:5000"));
    await pick("app", user);

    const tab = screen.getByTestId("view-untagged");
    expect(tab).toHaveTextContent("Untagged");
    await user.click(tab);
    expect(tab).toHaveAttribute("aria-selected", "true");
    expect(await screen.findAllByTestId("untagged-row")).toHaveLength(3);
    expect(screen.getByTestId("untagged-view")).toBeInTheDocument();
    await user.click(screen.getByTestId("untagged-scope-repository"));
    await waitFor(() => expect(callsOf(calls, "untagged_manifests").at(-1)?.args).toEqual({ profile: "lab", repository: "app", check: false }));
  });

  it("deletes a whole repository through its own plan, showing the plan's notes, then refreshes the tree", async () => {
    const user = userEvent.setup();
    let trees = 0;
    const onchanged = vi.fn();
    const NOTE = "registry:2 keeps the empty repository folder until the GC page's empty-repository step removes it.";
    const calls = mockBackend({
      repositories: { lab: () => (++trees <= 1 ? [repoNode("app"), repoNode("web")] : [repoNode("web")]) },
      tags: { "lab/app": [tag("app", "1.0"), tag("app", "2.0")] },
      other: (cmd) => {
        if (cmd === "plan_delete_repository")
          return emptyPlan({
            options: { mode: "image", referrers: true },
            delete: [
              { repository: "app", digest: tag("app", "1.0").digest, media_type: "application/vnd.oci.image.manifest.v1+json", tags: ["1.0"], size: 1000 },
              { repository: "app", digest: tag("app", "2.0").digest, media_type: "application/vnd.oci.image.manifest.v1+json", tags: ["2.0"], size: 1000 },
            ],
            notes: [NOTE],
          });
        if (cmd === "execute_delete") return report({ deleted: 2 });
        return undefined;
      },
    });
    renderPane(profile("lab", "http://127.0.0.1:5000"), { onchanged });
    await pick("app", user);

    const button = await screen.findByTestId("delete-repository");
    expect(button).toHaveTextContent("Delete repository…");
    await user.click(button);
    const dialog = await screen.findByTestId("delete-dialog");
    expect(dialog).toHaveTextContent("Delete repository app from lab");
    expect(await within(dialog).findByTestId("plan-notes")).toHaveTextContent(NOTE);
    expect(callsOf(calls, "plan_delete_repository")[0]?.args).toEqual({ profile: "lab", repository: "app" });
    expect(callsOf(calls, "plan_delete")).toHaveLength(0);
    // The plan is the repository's: no mode to choose.
    expect(within(dialog).queryByTestId("mode-auto")).toBeNull();
    expect(within(dialog).queryByTestId("with-referrers")).toBeNull();
    expect(within(dialog).getByTestId("plan-delete")).toHaveTextContent("app@");

    await user.click(within(dialog).getByTestId("delete-confirm"));
    expect(await screen.findByTestId("delete-report")).toHaveTextContent("2 deleted");
    expect(onchanged).toHaveBeenCalled();
    await waitFor(() => expect(callsOf(calls, "repository_tree").length).toBeGreaterThanOrEqual(2));
    // The repository left the tree: it is no longer selected.
    await waitFor(() => expect(screen.queryByTestId("delete-repository")).toBeNull());
    expect(screen.getAllByTestId("repo-item").map((i) => i.getAttribute("data-path"))).toEqual(["web"]);
  });

  it("offers no repository delete where deletes are not offered", async () => {
    const user = userEvent.setup();
    mockBackend({ repositories: { lab: [repoNode("app")] }, tags: { "lab/app": [tag("app", "1.0")] } });
    renderPane(profile("lab", "http://127.0.0.1:5000"), { ondelete: undefined });
    await pick("app", user);
    expect(await screen.findByTestId("tag-table")).toBeInTheDocument();
    expect(screen.queryByTestId("delete-repository")).toBeNull();
  });
});
