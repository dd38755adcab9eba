import { clearMocks } from "@tauri-apps/api/mocks";
import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { NexusComponentView } from "../src/bindings/NexusComponentView";
import type { NexusRepositoryView } from "../src/bindings/NexusRepositoryView";
import NexusComponents from "../src/lib/components/NexusComponents.svelte";
import NexusServerView from "../src/lib/components/NexusServerView.svelte";
import type { BlobStoreView, NexusCleanupView, NexusComponentPage, NexusDiscoveryView, NexusTaskView } from "../src/lib/ipc";
import { apiError, callsOf, mockBackend } from "./backend";

afterEach(() => {
  clearMocks();
});

function repo(name: string, over: Partial<NexusRepositoryView> = {}): NexusRepositoryView {
  return {
    name,
    kind: "hosted",
    endpoint: "http://nexus.lab:8082",
    discovered_endpoint: "http://nexus.lab:8082",
    routing: "connector",
    http_port: 8082,
    https_port: null,
    path_enabled: false,
    settings_visible: true,
    blob_store: "default",
    write_policy: "ALLOW",
    cleanup_policies: [],
    members: [],
    read_only: null,
    profile: `nexus/${name}`,
    created: false,
    ...over,
  };
}

const DISCOVERY: NexusDiscoveryView = {
  server: "nexus",
  repositories: [
    repo("docker-hosted", { cleanup_policies: ["old-snapshots", "weekly"] }),
    repo("docker-proxy", {
      kind: "proxy",
      endpoint: "https://mirror.lab",
      discovered_endpoint: "http://nexus.lab:8083",
      http_port: 8083,
      write_policy: null,
      read_only: "proxy repository: Berth does not delete here",
    }),
    repo("docker-locked", {
      endpoint: "http://nexus.lab:8081/repository/docker-locked",
      discovered_endpoint: "http://nexus.lab:8081/repository/docker-locked",
      routing: "path",
      http_port: null,
      settings_visible: false,
      write_policy: "ALLOW_ONCE",
      blob_store: null,
    }),
  ],
  removed: ["nexus/old"],
};

function row(name: string): HTMLElement {
  const r = screen.getAllByTestId("nexus-repo-row").find((el) => el.dataset["name"] === name);
  if (r === undefined) throw new Error(`no row ${name}`);
  return r;
}

describe("Nexus server: repositories", () => {
  it("discovers on mount and shows each repository's routing, policies and notes", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({ other: (cmd) => (cmd === "nexus_discover" ? DISCOVERY : undefined) });
    const onopen = vi.fn();
    const ondiscovered = vi.fn();
    render(NexusServerView, { profile: "nexus", view: "repositories", reloadKey: 0, onopen, ondiscovered });

    expect(await screen.findByTestId("nexus-repos-summary")).toHaveTextContent("3 docker repositories · removed: nexus/old (gone from Nexus)");
    expect(callsOf(calls, "nexus_discover")[0]?.args).toEqual({ profile: "nexus" });
    expect(ondiscovered).toHaveBeenCalledWith(DISCOVERY);
    expect(screen.getAllByTestId("nexus-repo-row")).toHaveLength(3);

    const hosted = row("docker-hosted");
    expect(hosted).toHaveTextContent("connector :8082");
    expect(hosted).toHaveTextContent("redeploy allowed");
    expect(hosted).toHaveTextContent("old-snapshots, weekly");
    expect(hosted).not.toHaveTextContent("(your endpoint)");
    expect(within(hosted).queryByTestId("nexus-repo-readonly")).toBeNull();

    const proxy = row("docker-proxy");
    expect(proxy).toHaveTextContent("proxy");
    expect(proxy).toHaveTextContent("https://mirror.lab (your endpoint)");
    expect(proxy).toHaveTextContent("—");
    expect(proxy).toHaveTextContent("none");
    expect(within(proxy).getByTestId("nexus-repo-readonly")).toHaveTextContent("proxy repository: Berth does not delete here");

    const locked = row("docker-locked");
    expect(locked).toHaveTextContent("path route");
    expect(locked).toHaveTextContent("redeploy disabled");
    expect(locked).toHaveTextContent("settings not visible to this account: path route used");

    await user.click(within(proxy).getByTestId("nexus-repo-open"));
    expect(onopen).toHaveBeenCalledWith("nexus/docker-proxy");
  });

  it("discovers again on the button and on a new reloadKey, telling the caller each time", async () => {
    const user = userEvent.setup();
    const single: NexusDiscoveryView = { server: "nexus", repositories: [repo("only", { write_policy: "DENY" })], removed: [] };
    const calls = mockBackend({ other: (cmd) => (cmd === "nexus_discover" ? single : undefined) });
    const ondiscovered = vi.fn();
    const props = { profile: "nexus", view: "repositories" as const, reloadKey: 0, onopen: vi.fn(), ondiscovered };
    const { rerender } = render(NexusServerView, props);

    expect(await screen.findByTestId("nexus-repos-summary")).toHaveTextContent(/^1 docker repository$/);
    expect(row("only")).toHaveTextContent("read-only");
    await user.click(screen.getByTestId("nexus-discover"));
    await waitFor(() => expect(ondiscovered).toHaveBeenCalledTimes(2));
    await rerender({ ...props, reloadKey: 1 });
    await waitFor(() => expect(ondiscovered).toHaveBeenCalledTimes(3));
    expect(callsOf(calls, "nexus_discover")).toHaveLength(3);
  });

  it("shows a failed discovery with a Retry that discovers again", async () => {
    const user = userEvent.setup();
    let n = 0;
    mockBackend({
      other: (cmd) => {
        if (cmd !== "nexus_discover") return undefined;
        n += 1;
        if (n === 1) return Promise.reject(apiError("registry", "403 Forbidden", "give the account nx-repository-view-*"));
        return DISCOVERY;
      },
    });
    render(NexusServerView, { profile: "nexus", view: "repositories", reloadKey: 0, onopen: vi.fn(), ondiscovered: vi.fn() });

    expect(await screen.findByRole("alert")).toHaveTextContent("403 Forbidden");
    await user.click(screen.getByRole("button", { name: "Retry" }));
    expect(await screen.findByTestId("nexus-repos-summary")).toHaveTextContent("3 docker repositories");
  });
});

describe("Nexus server: blob stores and tasks", () => {
  it("shows the blob stores with their used bytes and the compaction note", async () => {
    const stores: BlobStoreView[] = [
      { name: "default", kind: "File", unavailable: false, blob_count: 1200, total_size: 12_897_484, available_space: 50 * 1024 ** 3 },
      { name: "s3", kind: "S3", unavailable: true, blob_count: 0, total_size: 0, available_space: 0 },
    ];
    const calls = mockBackend({ other: (cmd) => (cmd === "nexus_blob_stores" ? stores : undefined) });
    render(NexusServerView, { profile: "nexus", view: "blobstores", reloadKey: 0, onopen: vi.fn(), ondiscovered: vi.fn() });

    expect(await screen.findByTestId("blobstores-summary")).toHaveTextContent("2 blob stores · 12.3 MB used");
    expect(callsOf(calls, "nexus_blob_stores")[0]?.args).toEqual({ profile: "nexus" });
    const rows = screen.getAllByTestId("blobstore-row");
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent("1,200");
    expect(within(rows[0]!).getByTestId("blobstore-used")).toHaveAttribute("data-bytes", "12897484");
    expect(within(rows[0]!).queryByTestId("blobstore-unavailable")).toBeNull();
    expect(within(rows[1]!).getByTestId("blobstore-unavailable")).toHaveTextContent("unavailable");
    expect(screen.getByText(/Admin - Compact blob store/)).toBeInTheDocument();
    expect(callsOf(calls, "nexus_discover")).toHaveLength(0);
  });

  it("shows the tasks and the cleanup policies in words", async () => {
    const tasks: NexusTaskView[] = [
      { id: "t1", name: "Docker GC", kind: "repository.docker.gc", state: "WAITING", last_run: null, last_result: null, message: null },
      {
        id: "t2",
        name: "Compact default",
        kind: "blobstore.compact",
        state: "WAITING",
        last_run: "2024-01-01T00:00:00Z",
        last_result: "FAILED",
        message: "blob store unavailable",
      },
    ];
    const cleanup: NexusCleanupView = {
      available: true,
      policies: [
        {
          name: "old-snapshots",
          format: "docker",
          last_blob_updated_days: 30,
          last_downloaded_days: 7,
          asset_regex: ".*-SNAPSHOT",
          notes: null,
          repositories: ["docker-hosted"],
        },
      ],
    };
    const calls = mockBackend({
      other: (cmd) => (cmd === "nexus_tasks" ? tasks : cmd === "nexus_cleanup_policies" ? cleanup : undefined),
    });
    render(NexusServerView, { profile: "nexus", view: "tasks", reloadKey: 0, onopen: vi.fn(), ondiscovered: vi.fn() });

    const rows = await screen.findAllByTestId("nexus-task-row");
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent("never");
    expect(rows[1]).toHaveTextContent("FAILED");
    expect(rows[1]).toHaveTextContent("blob store unavailable");
    expect(rows[1]).toHaveTextContent("days ago");
    const policy = screen.getByTestId("cleanup-policy-row");
    expect(policy).toHaveTextContent("components older than 30 days, not downloaded for 7 days, assets matching .*-SNAPSHOT");
    expect(policy).toHaveTextContent("docker-hosted");
    expect(callsOf(calls, "nexus_tasks")).toHaveLength(1);
    expect(callsOf(calls, "nexus_cleanup_policies")).toHaveLength(1);
  });

  it("says when the server has no cleanup-policy API", async () => {
    mockBackend({
      other: (cmd) => (cmd === "nexus_tasks" ? [] : cmd === "nexus_cleanup_policies" ? { available: false, policies: [] } : undefined),
    });
    render(NexusServerView, { profile: "nexus", view: "tasks", reloadKey: 0, onopen: vi.fn(), ondiscovered: vi.fn() });

    expect(await screen.findByTestId("cleanup-unavailable")).toHaveTextContent("no cleanup-policy API");
    expect(screen.getByTestId("no-nexus-tasks")).toBeInTheDocument();
    expect(screen.queryAllByTestId("cleanup-policy-row")).toHaveLength(0);
  });
});

function component(image: string, tag: string, over: Partial<NexusComponentView> = {}): NexusComponentView {
  return {
    id: `${image}:${tag}`,
    image,
    tag,
    digest: `sha256:${"ab".repeat(32)}`,
    assets: [
      {
        path: `v2/${image}/manifests/${tag}`,
        content_type: "application/vnd.docker.distribution.manifest.v2+json",
        size: 1000,
        last_modified: "2024-01-01T00:00:00Z",
        blob_store: "default",
      },
      { path: `v2/${image}/blobs/sha256:${"11".repeat(32)}`, content_type: "application/octet-stream", size: 2048, last_modified: null, blob_store: "default" },
    ],
    ...over,
  };
}

describe("Nexus components", () => {
  it("loads the first page, then appends the next one with the continuation token", async () => {
    const user = userEvent.setup();
    const pages: Record<string, NexusComponentPage> = {
      first: {
        repository: "docker-hosted",
        items: [
          component("app", "1"),
          component("app", "2", { digest: null, assets: [{ path: "v2/app/blobs/x", content_type: null, size: null, last_modified: null, blob_store: null }] }),
        ],
        continuation_token: "tok-2",
      },
      "tok-2": { repository: "docker-hosted", items: [component("web", "latest")], continuation_token: null },
    };
    const calls = mockBackend({
      other: (cmd, args) => (cmd === "nexus_components" ? pages[(args["token"] as string | null) ?? "first"] : undefined),
    });
    render(NexusComponents, { profile: "nexus/docker-hosted", reloadKey: 0 });

    expect(await screen.findByTestId("components-summary")).toHaveTextContent("2 components loaded (more on the server)");
    expect(callsOf(calls, "nexus_components")[0]?.args).toEqual({ profile: "nexus/docker-hosted", token: null });
    let rows = screen.getAllByTestId("component-row");
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent("app:1");
    expect(within(rows[0]!).getByTestId("component-digest")).toHaveTextContent(/^abababababab$/);
    expect(within(rows[0]!).getByTestId("component-digest")).toHaveAttribute("title", `sha256:${"ab".repeat(32)}`);
    expect(within(rows[0]!).getByTestId("component-size")).toHaveTextContent("3.0 KB");
    expect(within(rows[0]!).getByTestId("component-size")).toHaveAttribute("data-bytes", "3048");
    expect(within(rows[1]!).getByTestId("component-size")).toHaveTextContent("—");
    expect(screen.getByText(/continuationToken/)).toBeInTheDocument();

    await user.click(screen.getByTestId("components-more"));
    await waitFor(() => expect(screen.getAllByTestId("component-row")).toHaveLength(3));
    expect(callsOf(calls, "nexus_components")[1]?.args).toEqual({ profile: "nexus/docker-hosted", token: "tok-2" });
    rows = screen.getAllByTestId("component-row");
    expect(rows[2]).toHaveTextContent("web:latest");
    expect(screen.getByTestId("components-summary")).toHaveTextContent(/^3 components loaded$/);
    expect(screen.queryByTestId("components-more")).toBeNull();
  });

  it("starts again from the first page on a new reloadKey", async () => {
    const calls = mockBackend({
      other: (cmd) =>
        cmd === "nexus_components" ? { repository: "r", items: [component("app", "1")], continuation_token: null } : undefined,
    });
    const { rerender } = render(NexusComponents, { profile: "nexus/r", reloadKey: 0 });
    expect(await screen.findByTestId("components-summary")).toHaveTextContent(/^1 component loaded$/);
    await rerender({ profile: "nexus/r", reloadKey: 1 });
    await waitFor(() => expect(callsOf(calls, "nexus_components")).toHaveLength(2));
    expect(callsOf(calls, "nexus_components")[1]?.args).toEqual({ profile: "nexus/r", token: null });
    expect(screen.getAllByTestId("component-row")).toHaveLength(1);
  });
});
