import { emit } from "@tauri-apps/api/event";
import { clearMocks } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import App from "../src/App.svelte";
import type { HarborProjectView, ProfileStatusView, SyncProgressView, SyncSummaryView } from "../src/lib/ipc";
import { apiError, CAPABILITIES, callsOf, failedReport, mockBackend, namespaceNode, profile, repoNode, tag } from "./backend";

beforeEach(() => {
  localStorage.clear();
});

afterEach(() => {
  clearMocks();
});

const LOCAL = profile("local", "http://127.0.0.1:5000", "registry");
const HARBOR = profile("harbor-prod", "https://harbor.example.com", "harbor");

function synced(name: string, finished = new Date(Date.now() - 5 * 60_000).toISOString()): ProfileStatusView {
  return {
    profile: name,
    cached: true,
    last_sync: { started_at: finished, finished_at: finished, status: "ok", repositories: 1, tags: 1, errors: 0, message: null },
  };
}

async function profileItems(): Promise<HTMLElement[]> {
  return screen.findAllByTestId("profile-item");
}

function repoTexts(): string[] {
  return screen.getAllByTestId("repo-item").map((r) => r.getAttribute("data-path") ?? "");
}

describe("sidebar", () => {
  it("lists profiles with kind icon, name, URL, last sync and test status, and loads the first", async () => {
    const calls = mockBackend({
      profiles: [LOCAL, HARBOR],
      repositories: { local: [repoNode("alpine")] },
      statuses: [synced("local"), { profile: "harbor-prod", cached: false, last_sync: null }],
    });
    render(App);

    const items = await profileItems();
    expect(items).toHaveLength(2);
    expect(items[0]).toHaveTextContent("local");
    expect(items[0]).toHaveTextContent("http://127.0.0.1:5000");
    expect(items[0]).toHaveTextContent("registry:2");
    expect(items[1]).toHaveTextContent("Harbor");
    expect(items[0]).toHaveAttribute("aria-current", "true");
    await waitFor(() => expect(items[0]).toHaveTextContent("synced 5 min ago"));
    expect(items[1]).toHaveTextContent("never synced");

    expect(await screen.findByTestId("repo-item")).toHaveTextContent("alpine");
    expect(callsOf(calls, "repository_tree")).toEqual([{ cmd: "repository_tree", args: { profile: "local" } }]);
    // The pane tests the connection in the background; the sidebar shows the verdict, and keeps it.
    await waitFor(() => expect(items[0]?.querySelector(".dot")).toHaveAttribute("data-state", "ok"));
    expect(JSON.parse(localStorage.getItem("berth.test-status.v1") ?? "{}")).toHaveProperty("local.ok", true);
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("local");
  });

  it("shows the welcome state with example URLs when there are no profiles", async () => {
    const calls = mockBackend({ profiles: [] });
    render(App);

    expect(await screen.findByRole("heading", { name: "Add your first registry" })).toBeInTheDocument();
    expect(screen.getByText("http://127.0.0.1:5000")).toBeInTheDocument();
    expect(screen.getByText("https://registry.example.com")).toBeInTheDocument();
    expect(callsOf(calls, "repository_tree")).toHaveLength(0);
  });

  it("shows a list_profiles failure with a Retry that re-invokes", async () => {
    const calls = mockBackend({
      profiles: [LOCAL],
      listProfiles: (n) =>
        n === 1 ? apiError("storage", "Cannot read the profile store", "Check the permissions of the data directory.") : undefined,
    });
    render(App);

    const error = await screen.findByTestId("error");
    expect(error).toHaveTextContent("Check the permissions of the data directory.");
    await userEvent.click(within(error).getByRole("button", { name: "Retry" }));
    expect(await profileItems()).toHaveLength(1);
    expect(callsOf(calls, "list_profiles")).toHaveLength(2);
  });

  it("moves focus with the arrow keys and selects with Enter", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({ profiles: [LOCAL, HARBOR], repositories: { local: [repoNode("a")], "harbor-prod": [namespaceNode("project", 1, [repoNode("project/app")])] } });
    render(App);

    const [first, second] = (await profileItems()) as [HTMLElement, HTMLElement];
    first.focus();
    await user.keyboard("{ArrowDown}");
    expect(second).toHaveFocus();
    expect(first).toHaveAttribute("aria-current", "true");
    await user.keyboard("{Enter}");
    await waitFor(() => expect(second).toHaveAttribute("aria-current", "true"));
    await waitFor(() => expect(repoTexts()).toEqual(["project/app"]));
    expect(callsOf(calls, "repository_tree").map((c) => c.args)).toContainEqual({ profile: "harbor-prod" });
  });
});

describe("add registry", () => {
  it("adds, tests, closes the dialog and selects the new profile", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({ profiles: [LOCAL], repositories: { staging: [namespaceNode("svc", 2, [repoNode("svc/one"), repoNode("svc/two")])] } });
    render(App);
    await profileItems();

    await user.click(screen.getByTestId("add-profile-open"));
    expect(screen.getByRole("dialog", { name: "Add registry" })).toBeInTheDocument();
    expect(document.getElementById("profile-name")).toHaveFocus();
    await user.type(document.getElementById("profile-name") as HTMLInputElement, "staging");
    await user.type(document.getElementById("profile-url") as HTMLInputElement, "https://staging.example.com");
    await user.click(screen.getByTestId("add-profile-submit"));

    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(callsOf(calls, "add_profile")[0]?.args).toEqual({
      request: { name: "staging", url: "https://staging.example.com", kind: "registry" },
    });
    const added = (await profileItems()).find((el) => el.textContent?.includes("staging"));
    expect(added).toHaveAttribute("aria-current", "true");
    await waitFor(() => expect(repoTexts()).toEqual(["svc/one", "svc/two"]));
  });

  it("shows the ApiError message and hint when add_profile rejects, keeping the form open", async () => {
    const user = userEvent.setup();
    mockBackend({
      profiles: [],
      addProfile: () => apiError("invalid_input", "URL must start with http:// or https://", "Try https://registry.example.com"),
    });
    render(App);

    await user.click(await screen.findByTestId("add-profile-open"));
    await user.type(document.getElementById("profile-name") as HTMLInputElement, "bad");
    await user.type(document.getElementById("profile-url") as HTMLInputElement, "registry.example.com");
    await user.click(screen.getByTestId("add-profile-submit"));

    const error = await screen.findByTestId("error");
    expect(error).toHaveTextContent("Try https://registry.example.com");
    expect(screen.getByRole("dialog")).toBeInTheDocument();
  });

  it("does not call add_profile with an empty name", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({ profiles: [] });
    render(App);
    await user.click(await screen.findByTestId("add-profile-open"));
    await user.click(screen.getByTestId("add-profile-submit"));
    expect(await screen.findByTestId("error")).toHaveTextContent("Enter a name");
    expect(callsOf(calls, "add_profile")).toHaveLength(0);
  });

  it("closes on Escape and returns focus to the opener", async () => {
    const user = userEvent.setup();
    mockBackend({ profiles: [LOCAL] });
    render(App);
    await profileItems();
    const open = screen.getByTestId("add-profile-open");
    await user.click(open);
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(open).toHaveFocus();
  });
});

describe("repositories", () => {
  it("shows the namespace tree; the filter lists matching repositories", async () => {
    const user = userEvent.setup();
    mockBackend({ profiles: [LOCAL], repositories: { local: [namespaceNode("library", 2, [repoNode("library/alpine"), repoNode("library/nginx")]), namespaceNode("team", 2, [repoNode("team/API"), repoNode("team/web")])] } });
    render(App);

    await waitFor(() => expect(repoTexts()).toEqual(["library/alpine", "library/nginx", "team/API", "team/web"]));
    expect(screen.getAllByTestId("namespace-item").map((n) => n.getAttribute("data-path"))).toEqual(["library", "team"]);
    expect(screen.getByTestId("repo-count")).toHaveTextContent("4 repositories");

    await user.click(screen.getAllByTestId("namespace-item")[0] as HTMLElement);
    await waitFor(() => expect(repoTexts()).toEqual(["team/API", "team/web"]));

    await user.type(screen.getByRole("searchbox", { name: "Filter repositories" }), "api");
    await waitFor(() => expect(repoTexts()).toEqual(["team/API"]));
  });

  it("renders a large tree as a window of rows", async () => {
    const names = Array.from({ length: 5000 }, (_, i) => `repo-${String(i).padStart(5, "0")}`);
    mockBackend({ profiles: [LOCAL], repositories: { local: names.map((n) => repoNode(n)) } });
    render(App);

    await waitFor(() => expect(screen.getByTestId("repo-count")).toHaveTextContent("5,000 repositories"));
    await screen.findAllByTestId("repo-item");
    expect(screen.getAllByTestId("repo-item").length).toBeLessThan(100);
    const viewport = screen.getByRole("region", { name: "Repositories" });
    viewport.scrollTop = 30 * 2500;
    await fireEvent.scroll(viewport);
    expect(repoTexts()).toContain("repo-02500");
    expect(repoTexts()).not.toContain("repo-00000");
  });

  it("renders registry-controlled strings as text, never as HTML", async () => {
    const evil = "<img src=x onerror=alert(1)>";
    const evilProfile = profile("<b>bold</b>", "http://example.com/<script>x</script>");
    mockBackend({ profiles: [evilProfile], repositories: { "<b>bold</b>": [repoNode(evil)] } });
    const { container } = render(App);

    const row = await screen.findByTestId("repo-item");
    expect(row).toHaveTextContent(evil);
    expect(document.querySelector("img")).toBeNull();
    expect(container.querySelector("b")).toBeNull();
    expect(container.querySelector("script")).toBeNull();
  });

  it("explains an empty Harbor list by catalog permissions, an empty registry by pushing", async () => {
    const user = userEvent.setup();
    mockBackend({ profiles: [HARBOR, LOCAL], repositories: { "harbor-prod": [], local: [] } });
    render(App);
    expect(await screen.findByTestId("no-repositories")).toHaveTextContent(/administrators only/);
    await user.click((await profileItems())[1] as HTMLElement);
    await waitFor(() => expect(screen.getByTestId("no-repositories")).toHaveTextContent("docker push 127.0.0.1:5000/library/alpine:3"));
  });

  it("shows a repository_tree failure with its hint, and Retry re-invokes", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({
      profiles: [LOCAL],
      repositories: {
        local: (n) =>
          n === 1 ? apiError("registry", "connection refused (http://127.0.0.1:5000)", "is the registry running?") : [repoNode("alpine")],
      },
    });
    render(App);
    const error = (await screen.findAllByTestId("error")).find((e) => within(e).queryByRole("button", { name: "Retry" }));
    expect(error).toHaveTextContent("is the registry running?");
    await user.click(within(error as HTMLElement).getByRole("button", { name: "Retry" }));
    expect(await screen.findByTestId("repo-item")).toHaveTextContent("alpine");
    expect(callsOf(calls, "repository_tree")).toHaveLength(2);
  });
});

describe("browsing", () => {
  it("opens a repository's tags and an image's detail", async () => {
    const user = userEvent.setup();
    mockBackend({
      profiles: [LOCAL],
      repositories: { local: [repoNode("app")] },
      tags: { "local/app": [tag("app", "1.0"), tag("app", "2.0")] },
    });
    render(App);
    await user.click(await screen.findByTestId("repo-item"));
    await waitFor(() => expect(screen.getAllByTestId("tag-row")).toHaveLength(2));
    await user.click(screen.getAllByTestId("tag-row")[1] as HTMLElement);
    expect(await screen.findByTestId("detail-title")).toHaveTextContent("app:2.0");
    expect(await screen.findByTestId("pull-line")).toHaveTextContent("docker pull 127.0.0.1:5000/app@sha256:");
  });

  it("shows the offline banner when the registry is unreachable but the cache answers", async () => {
    mockBackend({
      profiles: [LOCAL],
      statuses: [synced("local")],
      repositories: { local: [repoNode("app")] },
      test: {
        local: failedReport(
          "local",
          LOCAL.url,
          apiError("registry", "connection refused (http://127.0.0.1:5000)", "is the registry running?", "connection_refused", true),
        ),
      },
    });
    render(App);
    const banner = await screen.findByTestId("offline-banner");
    expect(banner).toHaveTextContent("Offline");
    expect(banner).toHaveTextContent("connection refused");
    expect(banner).toHaveTextContent("5 min ago");
    expect(await screen.findByTestId("repo-item")).toHaveTextContent("app");
    await waitFor(() => expect(screen.getByTestId("profile-item").querySelector(".dot")).toHaveAttribute("data-state", "failed"));
  });

  it("Ctrl+F searches every tag and opens the picked image", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({
      profiles: [LOCAL],
      repositories: { local: [namespaceNode("team", 2, [repoNode("team/api"), repoNode("team/web")])] },
      tags: { "local/team/api": [tag("team/api", "v1")], "local/team/web": [tag("team/web", "v1"), tag("team/web", "v2")] },
      search: { "web:": { total: 2, tags: [tag("team/web", "v1"), tag("team/web", "v2")] } },
    });
    render(App);
    await screen.findAllByTestId("repo-item");
    await user.keyboard("{Control>}f{/Control}");
    const input = await screen.findByTestId("search-input");
    expect(input).toHaveFocus();
    await user.type(input, "web:");
    await waitFor(() => expect(screen.getAllByTestId("search-hit")).toHaveLength(2));
    expect(screen.getByTestId("search-count")).toHaveTextContent("2 matches");
    expect(callsOf(calls, "search_tags").at(-1)?.args).toEqual({ profile: "local", query: "web:", sort: "name", limit: 200, offset: 0 });
    await user.keyboard("{ArrowDown}{Enter}");
    expect(screen.queryByTestId("search-dialog")).not.toBeInTheDocument();
    expect(await screen.findByTestId("detail-title")).toHaveTextContent("team/web:v2");
  });
});

describe("sync", () => {
  it("shows progress counts from sync-progress events, then the summary, and reloads", async () => {
    const user = userEvent.setup();
    let finish: (s: SyncSummaryView) => void = () => {};
    const calls = mockBackend({
      profiles: [LOCAL],
      repositories: { local: [repoNode("app")] },
      other: (cmd) => {
        if (cmd === "sync_profile") return new Promise<SyncSummaryView>((resolve) => (finish = resolve));
        if (cmd === "cancel_sync") return true;
        return undefined;
      },
    });
    render(App);
    await screen.findByTestId("repo-item");
    await user.click(screen.getByTestId("sync-start"));
    expect(await screen.findByTestId("sync-counts")).toHaveTextContent("Listing the catalog");

    const progress: SyncProgressView = {
      profile: "local",
      repositories_done: 3,
      repositories_total: 10,
      tags_done: 40,
      tags_total: 80,
      requests: 50,
      errors: 0,
    };
    await emit("sync-progress", progress);
    await waitFor(() => expect(screen.getByTestId("sync-counts")).toHaveTextContent("3/10 repositories · 40/80 tags"));
    expect(screen.getByTestId("sync-progress")).toHaveAttribute("value", "0.3");
    // Another profile's progress is not shown here.
    await emit("sync-progress", { ...progress, profile: "other", tags_done: 1 });

    await user.click(screen.getByTestId("sync-cancel"));
    expect(callsOf(calls, "cancel_sync")[0]?.args).toEqual({ profile: "local" });

    finish({
      profile: "local",
      status: "ok",
      repositories: 10,
      tags: 80,
      manifests_fetched: 80,
      requests: 100,
      errors: 0,
      seconds: 2.5,
      repositories_removed: 0,
      error_samples: [],
    });
    expect(await screen.findByTestId("sync-summary")).toHaveTextContent("Synced 10 repositories, 80 tags in 2.5 s");
    await waitFor(() => expect(callsOf(calls, "repository_tree")).toHaveLength(2));
    expect(callsOf(calls, "profile_statuses").length).toBeGreaterThanOrEqual(2);
  });
});

describe("storage", () => {
  it("shows dedup-aware sizes per repository and registry", async () => {
    const user = userEvent.setup();
    mockBackend({
      profiles: [LOCAL],
      repositories: { local: [repoNode("a"), repoNode("b")] },
      storage: {
        local: {
          profile: "local",
          registry_size: 3 * 1024 * 1024,
          repositories_total: 5 * 1024 * 1024,
          repositories: [
            { name: "b", tags: 4, size: 3 * 1024 * 1024 },
            { name: "a", tags: 1, size: 2 * 1024 * 1024 },
          ],
        },
      },
    });
    render(App);
    await screen.findAllByTestId("repo-item");
    await user.click(screen.getByTestId("view-storage"));
    expect(await screen.findByTestId("registry-size")).toHaveTextContent("3.0 MB");
    const view = screen.getByTestId("storage-view");
    expect(view).toHaveTextContent("2.0 MB");
    expect(view).toHaveTextContent("shared between repositories");
    const rows = within(screen.getByTestId("storage-table")).getAllByRole("row");
    expect(rows[1]).toHaveTextContent("b");
    expect(rows[1]).toHaveTextContent("60.0%");
    expect(screen.getByRole("img", { name: /Largest repositories: b 3.0 MB, a 2.0 MB/ })).toBeInTheDocument();
  });
});

describe("harbor projects", () => {
  const member = { role: "developer", rights: "pull, push", can_delete: false, hidden: [] as string[] };
  const PROJECTS: HarborProjectView[] = [
    { name: "library", public: true, repo_count: 3, quota_used: 512 * 1024 * 1024, quota_limit: null, ...member },
    { name: "team", public: false, repo_count: 1, quota_used: 900 * 1024 * 1024, quota_limit: 1024 * 1024 * 1024, ...member },
    { name: "small", public: false, repo_count: 0, quota_used: 0, quota_limit: 10 * 1024 * 1024, ...member },
  ];

  it("lists each project's access, repositories and quota, and opens a project in Browse", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({
      profiles: [HARBOR],
      repositories: { "harbor-prod": [namespaceNode("library", 1, [repoNode("library/app")]), namespaceNode("team", 1, [repoNode("team/api")])] },
      other: (cmd) => (cmd === "harbor_projects" ? PROJECTS : undefined),
    });
    render(App);
    await screen.findAllByTestId("repo-item");
    await user.click(screen.getByTestId("view-projects"));

    expect(await screen.findByTestId("projects-summary")).toHaveTextContent("3 projects · 1.4 GB counted against quotas");
    const rows = screen.getAllByTestId("project-row");
    expect(rows.map((r) => r.getAttribute("data-level"))).toEqual(["ok", "warn", "ok"]);
    expect(rows[0]).toHaveTextContent("public");
    expect(rows[0]).toHaveTextContent("unlimited");
    expect(rows[1]).toHaveTextContent("private");
    expect(rows[1]).toHaveTextContent("88% of 1.0 GB");
    expect(within(rows[1] as HTMLElement).getByRole("meter", { name: "team quota used" })).toHaveAttribute("aria-valuenow", "88");
    expect(rows[2]).toHaveTextContent("0% of 10.0 MB");
    expect(callsOf(calls, "harbor_projects").map((c) => c.args)).toEqual([{ profile: "harbor-prod" }]);

    // A project name opens Browse, filtered to its repositories.
    await user.click(within(rows[1] as HTMLElement).getByRole("button", { name: "team" }));
    expect(screen.getByTestId("view-browse")).toHaveAttribute("aria-selected", "true");
    expect(screen.getByRole("searchbox", { name: "Filter repositories" })).toHaveValue("team/");
  });

  it("shows Harbor's error with its hint, and has no Projects tab for a plain registry", async () => {
    const user = userEvent.setup();
    mockBackend({
      profiles: [HARBOR, LOCAL],
      repositories: { "harbor-prod": [namespaceNode("library", 1, [repoNode("library/app")])], local: [repoNode("a")] },
      other: (cmd) => {
        if (cmd === "harbor_projects") throw apiError("registry", "401 Unauthorized", "check the robot account's secret", "unauthorized");
        return undefined;
      },
    });
    render(App);
    await screen.findAllByTestId("repo-item");
    await user.click(screen.getByTestId("view-projects"));
    expect(await screen.findByTestId("error")).toHaveTextContent("check the robot account's secret");

    const items = await screen.findAllByTestId("profile-item");
    await user.click(items.find((i) => i.textContent?.includes("local")) as HTMLElement);
    await waitFor(() => expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("local"));
    expect(screen.getByTestId("view-storage")).toBeInTheDocument();
    expect(screen.queryByTestId("view-projects")).toBeNull();
  });
});

describe("capabilities, not kind", () => {
  it("shows the Projects tab from capabilities.projects, whatever the profile's kind", async () => {
    const user = userEvent.setup();
    // A registry-kind profile whose backend has projects, and a Harbor-kind one whose backend has none.
    const registryWithProjects = { ...profile("reg-projects", "http://reg.lab", "registry"), capabilities: { ...CAPABILITIES.registry!, projects: true } };
    const harborWithout = { ...profile("harbor-plain", "https://hb.lab", "harbor"), capabilities: { ...CAPABILITIES.harbor!, projects: false } };
    const calls = mockBackend({
      profiles: [registryWithProjects, harborWithout],
      repositories: { "reg-projects": [repoNode("a")], "harbor-plain": [repoNode("b")] },
      other: (cmd) => (cmd === "harbor_projects" ? [] : undefined),
    });
    render(App);
    await waitFor(() => expect(repoTexts()).toEqual(["a"]));
    const pane = screen.getByRole("region", { name: "reg-projects" });
    // The kind is still displayed as such.
    expect(within(pane).getByText("registry:2")).toBeInTheDocument();
    await user.click(screen.getByTestId("view-projects"));
    expect(screen.getByTestId("view-projects")).toHaveAttribute("aria-selected", "true");
    await waitFor(() => expect(callsOf(calls, "harbor_projects").map((c) => c.args)).toEqual([{ profile: "reg-projects" }]));

    const items = await profileItems();
    await user.click(items.find((i) => i.textContent?.includes("harbor-plain")) as HTMLElement);
    await waitFor(() => expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("harbor-plain"));
    await waitFor(() => expect(repoTexts()).toEqual(["b"]));
    expect(within(screen.getByRole("region", { name: "harbor-plain" })).getByText("Harbor")).toBeInTheDocument();
    expect(screen.getByTestId("view-storage")).toBeInTheDocument();
    expect(screen.queryByTestId("view-projects")).toBeNull();
  });
});
