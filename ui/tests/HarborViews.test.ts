import { clearMocks } from "@tauri-apps/api/mocks";
import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { HarborArtifactView } from "../src/bindings/HarborArtifactView";
import type { HarborProjectView } from "../src/bindings/HarborProjectView";
import type { ProfileView } from "../src/bindings/ProfileView";
import HarborArtifacts from "../src/lib/components/HarborArtifacts.svelte";
import HarborProjects from "../src/lib/components/HarborProjects.svelte";
import ProfilePane from "../src/lib/components/ProfilePane.svelte";
import { apiError, CAPABILITIES, callsOf, mockBackend, namespaceNode, profile, repoNode, tag } from "./backend";

afterEach(() => {
  clearMocks();
});

const D = (c: string) => `sha256:${c.repeat(64)}`;

function artifact(digest: string, over: Partial<HarborArtifactView> = {}): HarborArtifactView {
  return {
    repository: "library/app",
    digest,
    media_type: "application/vnd.oci.image.manifest.v1+json",
    kind: "image",
    artifact_type: "application/vnd.oci.image.config.v1+json",
    size: 2048,
    tags: [],
    push_time: "2024-05-01T13:45:00Z",
    pull_time: null,
    platforms: [],
    labels: [],
    scan: null,
    accessories: [],
    ...over,
  };
}

const ARTIFACTS: HarborArtifactView[] = [
  artifact(D("a"), {
    size: 3 * 1024 * 1024,
    tags: [
      { name: "1.0", immutable: true, push_time: "2024-05-01T13:45:00Z" },
      { name: "latest", immutable: false, push_time: "2024-05-02T10:00:00Z" },
    ],
    pull_time: "2024-06-01T08:30:00Z",
    labels: [
      { name: "prod", color: "#C92100" },
      { name: "plain", color: null },
    ],
    scan: {
      status: "Success",
      severity: "Critical",
      counts: [
        ["Critical", 1n],
        ["High", 2n],
        ["Medium", 0n],
        ["Low", 4n],
      ],
      total: 7,
      fixable: 3,
      scanner: "Trivy v0.58.1",
      finished: "2024-05-01T14:00:00Z",
    },
    accessories: [
      { digest: D("c"), kind: "signature", harbor_type: "signature.cosign", size: 512, created: "2024-05-01T13:50:00Z" },
      { digest: D("d"), kind: "sbom", harbor_type: "sbom.harbor", size: 10_240, created: "2024-05-01T14:01:00Z" },
    ],
  }),
  artifact(D("b"), {
    kind: "index",
    media_type: "application/vnd.oci.image.index.v1+json",
    tags: [{ name: "multi", immutable: false, push_time: null }],
    platforms: ["linux/amd64", "linux/arm64"],
    accessories: [{ digest: D("e"), kind: "signature", harbor_type: "signature.notation", size: 700, created: null }],
  }),
  artifact(D("f"), {
    kind: "chart",
    tags: [],
    scan: { status: "Running", severity: null, counts: [], total: 0, fixable: 0, scanner: "Trivy v0.58.1", finished: null },
  }),
  artifact(D("1"), { kind: "something-new", tags: [{ name: "x", immutable: false, push_time: null }] }),
];

function artifactsBackend(answer: (call: number) => HarborArtifactView[] | Promise<HarborArtifactView[]>) {
  let n = 0;
  return mockBackend({
    other: (cmd) => {
      if (cmd !== "harbor_artifacts") return undefined;
      n += 1;
      return answer(n);
    },
  });
}

function rowOf(digest: string): HTMLElement {
  const r = screen.getAllByTestId("artifact-row").find((el) => el.dataset["digest"] === digest);
  if (r === undefined) throw new Error(`no artifact row ${digest}`);
  return r;
}

describe("Harbor artifacts", () => {
  it("lists each artifact with its kind, tags, labels, scan and pull time", async () => {
    const calls = artifactsBackend(() => ARTIFACTS);
    render(HarborArtifacts, { profile: "harbor-prod", repository: "library/app" });

    expect(screen.getByRole("status")).toHaveTextContent("Reading the artifacts from Harbor");
    expect(await screen.findByTestId("artifacts-summary")).toHaveTextContent("4 artifacts · 1 untagged · 3 accessories");
    expect(callsOf(calls, "harbor_artifacts").map((c) => c.args)).toEqual([{ profile: "harbor-prod", repository: "library/app" }]);
    expect(screen.getByTestId("artifacts-note")).toHaveTextContent(
      "Accessories (signatures, SBOMs) are listed under their image; Harbor deletes them with it. Deletes go through the Browse tab's selection (plan first).",
    );

    const rows = screen.getAllByTestId("artifact-row");
    expect(rows.map((r) => r.dataset["kind"])).toEqual(["image", "index", "chart", "other"]);
    expect(rows.map((r) => within(r).getByTestId("artifact-kind").textContent)).toEqual(["image", "index", "chart", "other"]);

    const image = rowOf(D("a"));
    expect(image).toHaveTextContent("a".repeat(12));
    expect(image).not.toHaveTextContent("a".repeat(13));
    expect(within(image).getByTitle(D("a"))).toBeInTheDocument();
    expect(within(image).getByRole("button", { name: "Copy digest" })).toBeInTheDocument();
    expect(within(image).getByTestId("artifact-size")).toHaveTextContent("3.0 MB");
    // The day in the cell, the full time in its title.
    expect(image).toHaveTextContent("2024-05-01");
    expect(image.querySelector("[title='pushed 2024-05-01 13:45 UTC']")).not.toBeNull();
    expect(within(image).getByTestId("artifact-pulled")).toHaveTextContent("pulled 2024-06-01");
    expect(within(image).getByTestId("artifact-pulled")).toHaveAttribute("title", "pulled 2024-06-01 08:30 UTC");

    // Tags: the immutable one is marked and explained.
    const tags = within(image).getAllByTestId("artifact-tag");
    expect(tags.map((t) => t.textContent?.replace("(immutable)", "").trim())).toEqual(["1.0", "latest"]);
    expect(tags[0]).toHaveAttribute("data-immutable", "true");
    expect(tags[0]).toHaveAttribute("title", "Protected by a tag immutability rule: Harbor refuses to delete it");
    expect(tags[0]?.querySelector("svg.lock")).not.toBeNull();
    expect(tags[0]).toHaveTextContent("(immutable)");
    expect(tags[1]).not.toHaveAttribute("data-immutable");
    expect(tags[1]?.querySelector("svg.lock")).toBeNull();

    // Labels: coloured with the label's own colour when it has one.
    const labels = within(image).getAllByTestId("artifact-label");
    expect(labels.map((l) => l.textContent)).toEqual(["prod", "plain"]);
    expect(labels[0]!.style.background).toBe("rgb(201, 33, 0)");
    expect(labels[0]!.style.color).toBe("rgb(255, 255, 255)");
    expect(labels[1]!.style.background).toBe("");

    // Scan: the highest severity, the non-zero counts, the details in the title.
    const scan = within(image).getByTestId("artifact-scan");
    expect(within(scan).getByTestId("scan-severity")).toHaveTextContent("critical");
    expect(within(scan).getByTestId("scan-counts")).toHaveTextContent(/^1 critical · 2 high · 4 low$/);
    const title = scan.querySelector("[title]")?.getAttribute("title") ?? "";
    expect(title).toContain("7 vulnerabilities, 3 fixable");
    expect(title).toContain("Trivy v0.58.1");
    expect(title).toContain("2024-05-01 14:00");

    // An index lists its platforms; never pulled, not scanned.
    const index = rowOf(D("b"));
    expect(within(index).getByTestId("artifact-platforms")).toHaveTextContent("linux/amd64, linux/arm64");
    expect(within(index).getByTestId("artifact-pulled")).toHaveTextContent("never");
    expect(within(index).getByTestId("artifact-scan")).toHaveTextContent("not scanned");
    expect(within(index).queryAllByTestId("artifact-label")).toHaveLength(0);
    expect(within(image).queryByTestId("artifact-platforms")).toBeNull();

    // An untagged chart, its scan still running.
    const chart = rowOf(D("f"));
    expect(within(chart).queryAllByTestId("artifact-tag")).toHaveLength(0);
    expect(within(chart).getByTestId("artifact-untagged")).toHaveTextContent("untagged");
    expect(within(chart).getByTestId("scan-severity")).toHaveTextContent("running");
    expect(within(image).queryByTestId("artifact-untagged")).toBeNull();
  });

  it("shows the accessories as sub-rows right under their subject", async () => {
    artifactsBackend(() => ARTIFACTS);
    render(HarborArtifacts, { profile: "harbor-prod", repository: "library/app" });
    await screen.findByTestId("artifacts-summary");

    const body = screen.getByRole("table").querySelector("tbody") as HTMLElement;
    const order = [...body.querySelectorAll("tr")].map((tr) => `${tr.dataset["testid"]}:${tr.dataset["digest"]?.slice(7, 8)}`);
    expect(order).toEqual([
      "artifact-row:a",
      "accessory-row:c",
      "accessory-row:d",
      "artifact-row:b",
      "accessory-row:e",
      "artifact-row:f",
      "artifact-row:1",
    ]);

    const accessories = screen.getAllByTestId("accessory-row");
    const cosign = accessories[0]!;
    expect(cosign).toHaveAttribute("data-digest", D("c"));
    expect(cosign).toHaveTextContent("signature");
    expect(cosign).toHaveTextContent("signature.cosign");
    expect(cosign).toHaveTextContent("c".repeat(12));
    expect(cosign).toHaveTextContent("512 B");
    expect(cosign).toHaveTextContent("2024-05-01");
    expect(cosign.querySelector("[title='created 2024-05-01 13:50 UTC']")).not.toBeNull();
    expect(cosign).toHaveTextContent("deleted with its subject");
    expect(accessories[1]).toHaveTextContent("sbom.harbor");
    expect(accessories[1]).toHaveTextContent("10.0 KB");
    expect(accessories[2]).toHaveTextContent("signature.notation");
  });

  it("lists an accessory Harbor also returns on its own under its subject only", async () => {
    const sig = artifact(D("c"), { kind: "signature" });
    artifactsBackend(() => [ARTIFACTS[0]!, sig]);
    render(HarborArtifacts, { profile: "harbor-prod", repository: "library/app" });

    expect(await screen.findByTestId("artifacts-summary")).toHaveTextContent(/^1 artifact · 2 accessories$/);
    expect(screen.getAllByTestId("artifact-row")).toHaveLength(1);
    expect(screen.getAllByTestId("accessory-row").map((r) => r.dataset["digest"])).toEqual([D("c"), D("d")]);
  });

  it("says when the repository has no artifacts", async () => {
    artifactsBackend(() => []);
    render(HarborArtifacts, { profile: "harbor-prod", repository: "library/empty" });
    expect(await screen.findByTestId("no-artifacts")).toHaveTextContent("library/empty has no artifacts");
    expect(screen.queryByRole("table")).toBeNull();
  });

  it("shows Harbor's error with a Retry that reads again", async () => {
    const user = userEvent.setup();
    const calls = artifactsBackend((n) =>
      n === 1 ? Promise.reject(apiError("registry", "403 Forbidden", "give the robot account list artifact", "unauthorized")) : [ARTIFACTS[2]!],
    );
    render(HarborArtifacts, { profile: "harbor-prod", repository: "library/app" });

    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("403 Forbidden");
    expect(alert).toHaveTextContent("give the robot account list artifact");
    expect(screen.queryByTestId("artifacts-summary")).toBeNull();
    await user.click(within(alert).getByRole("button", { name: "Retry" }));
    expect(await screen.findByTestId("artifacts-summary")).toHaveTextContent(/^1 artifact · 1 untagged$/);
    expect(screen.queryByRole("alert")).toBeNull();
    expect(callsOf(calls, "harbor_artifacts")).toHaveLength(2);
  });

  it("reads again on a new reloadKey and ignores a stale answer", async () => {
    let release: (v: HarborArtifactView[]) => void = () => {};
    const calls = artifactsBackend((n) =>
      n === 1 ? new Promise<HarborArtifactView[]>((resolve) => (release = resolve)) : [ARTIFACTS[1]!],
    );
    const { rerender } = render(HarborArtifacts, { profile: "harbor-prod", repository: "library/app", reloadKey: 0 });
    await waitFor(() => expect(callsOf(calls, "harbor_artifacts")).toHaveLength(1));
    await rerender({ profile: "harbor-prod", repository: "library/app", reloadKey: 1 });
    expect(await screen.findByTestId("artifacts-summary")).toHaveTextContent(/^1 artifact · 1 accessory$/);
    // The first, slower answer arrives last: it is not shown.
    release(ARTIFACTS);
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.getByTestId("artifacts-summary")).toHaveTextContent(/^1 artifact · 1 accessory$/);
    expect(screen.getAllByTestId("artifact-row")).toHaveLength(1);
    expect(callsOf(calls, "harbor_artifacts")).toHaveLength(2);
  });
});

describe("Tags/Artifacts toggle in Browse", () => {
  function renderPane(p: ProfileView) {
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
    });
  }

  async function pick(path: string, user: ReturnType<typeof userEvent.setup>) {
    const items = await screen.findAllByTestId("repo-item");
    const item = items.find((i) => i.getAttribute("data-path") === path);
    if (item === undefined) throw new Error(`no repository ${path}`);
    await user.click(item);
  }

  it("switches a Harbor repository between its tags and its artifacts, keeping the mode across repositories", async () => {
    const user = userEvent.setup();
    const hb = profile("harbor-prod", "https://harbor.example.com", "harbor");
    const calls = mockBackend({
      repositories: { "harbor-prod": [namespaceNode("library", 2, [repoNode("library/app"), repoNode("library/web")])] },
      tags: { "harbor-prod/library/app": [tag("library/app", "1.0")], "harbor-prod/library/web": [tag("library/web", "2.0")] },
      other: (cmd, args) => (cmd === "harbor_artifacts" ? [artifact(D("a"), { repository: args["repository"] as string })] : undefined),
    });
    renderPane(hb);

    await pick("library/app", user);
    const tagsButton = await screen.findByTestId("repo-view-tags");
    const artifactsButton = screen.getByTestId("repo-view-artifacts");
    expect(tagsButton).toHaveTextContent("Tags");
    expect(artifactsButton).toHaveTextContent("Artifacts");
    // Tags by default.
    expect(tagsButton).toHaveAttribute("aria-pressed", "true");
    expect(artifactsButton).toHaveAttribute("aria-pressed", "false");
    expect(screen.getByTestId("tag-table")).toBeInTheDocument();
    expect(screen.queryByTestId("harbor-artifacts")).toBeNull();
    expect(callsOf(calls, "harbor_artifacts")).toHaveLength(0);

    await user.click(artifactsButton);
    expect(artifactsButton).toHaveAttribute("aria-pressed", "true");
    expect(tagsButton).toHaveAttribute("aria-pressed", "false");
    expect(await screen.findByTestId("artifacts-summary")).toHaveTextContent("1 artifact");
    expect(screen.getByRole("region", { name: "Artifacts of library/app" })).toBeInTheDocument();
    expect(screen.queryByTestId("tag-table")).toBeNull();
    expect(callsOf(calls, "harbor_artifacts").map((c) => c.args)).toEqual([{ profile: "harbor-prod", repository: "library/app" }]);

    // Another repository keeps the Artifacts mode and reads that repository's artifacts.
    await pick("library/web", user);
    expect(await screen.findByRole("region", { name: "Artifacts of library/web" })).toBeInTheDocument();
    expect(screen.getByTestId("repo-view-artifacts")).toHaveAttribute("aria-pressed", "true");
    await waitFor(() =>
      expect(callsOf(calls, "harbor_artifacts").map((c) => c.args)).toContainEqual({ profile: "harbor-prod", repository: "library/web" }),
    );

    await user.click(screen.getByTestId("repo-view-tags"));
    expect(screen.getByTestId("tag-table")).toBeInTheDocument();
    expect(screen.queryByTestId("harbor-artifacts")).toBeNull();
  });

  it("has no toggle without capabilities.artifacts, and one from the capability whatever the kind", async () => {
    const user = userEvent.setup();
    mockBackend({
      repositories: { local: [repoNode("app")], "reg-artifacts": [repoNode("app")], "harbor-plain": [repoNode("app")] },
      tags: { "local/app": [tag("app", "1")], "reg-artifacts/app": [tag("app", "1")], "harbor-plain/app": [tag("app", "1")] },
      other: (cmd) => (cmd === "harbor_artifacts" ? [] : undefined),
    });
    expect(CAPABILITIES.registry!.artifacts).toBe(false);
    const first = renderPane(profile("local", "http://127.0.0.1:5000", "registry"));
    await pick("app", user);
    expect(await screen.findByTestId("tag-table")).toBeInTheDocument();
    expect(screen.queryByTestId("repo-view-tags")).toBeNull();
    expect(screen.queryByTestId("repo-view-artifacts")).toBeNull();
    first.unmount();

    // A Harbor-kind profile whose backend has no artifacts view: no toggle.
    const second = renderPane({ ...profile("harbor-plain", "https://hb.lab", "harbor"), capabilities: { ...CAPABILITIES.harbor!, artifacts: false } });
    await pick("app", user);
    expect(await screen.findByTestId("tag-table")).toBeInTheDocument();
    expect(screen.queryByTestId("repo-view-artifacts")).toBeNull();
    second.unmount();

    // A registry-kind profile whose backend has one: the toggle.
    renderPane({ ...profile("reg-artifacts", "http://reg.lab", "registry"), capabilities: { ...CAPABILITIES.registry!, artifacts: true } });
    await pick("app", user);
    await user.click(await screen.findByTestId("repo-view-artifacts"));
    expect(await screen.findByTestId("no-artifacts")).toBeInTheDocument();
  });
});

describe("Harbor projects: roles, rights and what is hidden", () => {
  const PROJECTS: HarborProjectView[] = [
    {
      name: "library",
      public: true,
      repo_count: 3,
      quota_used: 8 * 1024 * 1024,
      quota_limit: null,
      role: "developer",
      rights: "pull, push",
      can_delete: false,
      hidden: [],
    },
    {
      name: "team",
      public: false,
      repo_count: 1,
      quota_used: 4 * 1024 * 1024,
      quota_limit: 16 * 1024 * 1024,
      role: "maintainer",
      rights: "pull, push, delete",
      can_delete: true,
      hidden: [],
    },
    {
      name: "secret",
      public: false,
      repo_count: 2,
      quota_used: null,
      quota_limit: null,
      role: null,
      rights: null,
      can_delete: null,
      hidden: ["quota: needs the project's maintainer role or a system administrator", "members: needs the project admin role"],
    },
  ];

  function projectRow(name: string): HTMLElement {
    const r = screen.getAllByTestId("project-row").find((el) => el.textContent?.includes(name));
    if (r === undefined) throw new Error(`no project ${name}`);
    return r;
  }

  it("shows a quota not visible to the account, out of the total, with the account's role, rights and hidden notes", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({ other: (cmd) => (cmd === "harbor_projects" ? PROJECTS : undefined) });
    const onopen = vi.fn();
    render(HarborProjects, { profile: "harbor-prod", reloadKey: 0, onopen });

    expect(await screen.findByTestId("projects-summary")).toHaveTextContent(
      /^3 projects · 12\.0 MB counted against quotas \(1 quota not visible to this account\)$/,
    );
    expect(callsOf(calls, "harbor_projects").map((c) => c.args)).toEqual([{ profile: "harbor-prod" }]);
    expect(screen.getByRole("columnheader", { name: "Role" })).toBeInTheDocument();
    expect(screen.getByRole("columnheader", { name: "May" })).toBeInTheDocument();

    const library = projectRow("library");
    expect(within(library).getByTestId("project-role")).toHaveTextContent("developer");
    expect(within(library).getByTestId("project-rights")).toHaveTextContent("pull, push");
    expect(within(library).getByTestId("project-used")).toHaveTextContent("8.0 MB");
    expect(within(library).getByTestId("project-quota")).toHaveTextContent("unlimited");

    const team = projectRow("team");
    expect(within(team).getByTestId("project-rights")).toHaveTextContent("pull, push, delete");
    expect(within(team).getByRole("meter", { name: "team quota used" })).toHaveAttribute("aria-valuenow", "25");
    expect(team).toHaveTextContent("25% of 16.0 MB");

    const secret = projectRow("secret");
    expect(within(secret).getByTestId("project-role")).toHaveTextContent(/^—$/);
    expect(within(secret).getByTestId("project-rights")).toHaveTextContent(/^—$/);
    expect(within(secret).getByTestId("project-used")).toHaveTextContent(/^not visible$/);
    expect(within(secret).getByTestId("project-quota")).toHaveTextContent(/^not visible$/);
    expect(within(secret).queryByRole("meter")).toBeNull();
    expect(within(secret).getByTestId("project-used").querySelector(".muted")).not.toBeNull();
    expect(secret.getAttribute("data-level")).toBe("ok");

    // The hidden notes sit right under their project, and only there.
    const hidden = screen.getAllByTestId("project-hidden");
    expect(hidden.map((h) => h.textContent)).toEqual([
      "quota: needs the project's maintainer role or a system administrator",
      "members: needs the project admin role",
    ]);
    expect(secret.nextElementSibling).toContainElement(hidden[0]!);
    expect(library.nextElementSibling).toBe(team);

    await user.click(within(secret).getByRole("button", { name: "secret" }));
    expect(onopen).toHaveBeenCalledWith("secret");
  });

  it("says nothing about hidden quotas when every quota is visible", async () => {
    mockBackend({ other: (cmd) => (cmd === "harbor_projects" ? PROJECTS.slice(0, 2) : undefined) });
    render(HarborProjects, { profile: "harbor-prod", reloadKey: 0, onopen: vi.fn() });
    expect(await screen.findByTestId("projects-summary")).toHaveTextContent(/^2 projects · 12\.0 MB counted against quotas$/);
    expect(screen.queryAllByTestId("project-hidden")).toHaveLength(0);
  });
});
