import { clearMocks } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import App from "../src/App.svelte";
import { apiError, callsOf, mockBackend, profile } from "./backend";

afterEach(() => {
  clearMocks();
});

const LOCAL = profile("local", "http://127.0.0.1:5000", "registry");
const HARBOR = profile("harbor-prod", "https://harbor.example.com", "harbor");

async function profileItems(): Promise<HTMLElement[]> {
  return screen.findAllByTestId("profile-item");
}

describe("sidebar", () => {
  it("lists profiles from list_profiles with kind, name and URL, and loads the first", async () => {
    const calls = mockBackend({ profiles: [LOCAL, HARBOR], repositories: { local: ["alpine"] } });
    render(App);

    const items = await profileItems();
    expect(items).toHaveLength(2);
    expect(items[0]).toHaveTextContent("local");
    expect(items[0]).toHaveTextContent("http://127.0.0.1:5000");
    expect(items[0]).toHaveTextContent("registry:2");
    expect(items[1]).toHaveTextContent("harbor-prod");
    expect(items[1]).toHaveTextContent("Harbor");
    expect(items[0]).toHaveAttribute("aria-current", "true");

    expect(await screen.findByTestId("repo-item")).toHaveTextContent("alpine");
    expect(callsOf(calls, "list_repositories")).toEqual([{ cmd: "list_repositories", args: { profile: "local" } }]);
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("local");
  });

  it("shows the welcome state with example URLs when there are no profiles", async () => {
    const calls = mockBackend({ profiles: [] });
    render(App);

    expect(await screen.findByRole("heading", { name: "Add your first registry" })).toBeInTheDocument();
    expect(screen.getByText("http://127.0.0.1:5000")).toBeInTheDocument();
    expect(screen.getByText("https://registry.example.com")).toBeInTheDocument();
    expect(screen.queryAllByTestId("profile-item")).toHaveLength(0);
    expect(callsOf(calls, "list_repositories")).toHaveLength(0);
  });

  it("shows a list_profiles failure with a Retry that re-invokes", async () => {
    const calls = mockBackend({
      profiles: [LOCAL],
      listProfiles: (n) =>
        n === 1
          ? apiError("storage", "Cannot read the profile store", "Check the permissions of the config directory.")
          : undefined,
    });
    render(App);

    const error = await screen.findByTestId("error");
    expect(error).toHaveTextContent("Cannot read the profile store");
    expect(error).toHaveTextContent("Check the permissions of the config directory.");
    await userEvent.click(within(error).getByRole("button", { name: "Retry" }));
    expect(await profileItems()).toHaveLength(1);
    expect(callsOf(calls, "list_profiles")).toHaveLength(2);
  });

  it("moves focus with the arrow keys and selects with Enter", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({
      profiles: [LOCAL, HARBOR],
      repositories: { local: ["a"], "harbor-prod": ["project/app"] },
    });
    render(App);

    const items = await profileItems();
    const [first, second] = items as [HTMLElement, HTMLElement];
    expect(first).toHaveAttribute("tabindex", "0");
    expect(second).toHaveAttribute("tabindex", "-1");

    first.focus();
    await user.keyboard("{ArrowDown}");
    expect(second).toHaveFocus();
    expect(second).toHaveAttribute("tabindex", "0");
    // Focus alone does not select.
    expect(first).toHaveAttribute("aria-current", "true");

    await user.keyboard("{Enter}");
    await waitFor(() => expect(second).toHaveAttribute("aria-current", "true"));
    expect(await screen.findByText("project/app")).toBeInTheDocument();
    expect(callsOf(calls, "list_repositories").map((c) => c.args)).toContainEqual({ profile: "harbor-prod" });

    await user.keyboard("{ArrowUp}");
    expect(first).toHaveFocus();
  });
});

describe("add registry", () => {
  it("calls add_profile with {request:{name,url}}, then shows and selects the new profile", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({ profiles: [LOCAL], repositories: { staging: ["svc/one", "svc/two"] } });
    render(App);
    await profileItems();

    await user.click(screen.getByTestId("add-profile-open"));
    const dialog = screen.getByRole("dialog", { name: "Add registry" });
    expect(document.getElementById("profile-name")).toHaveFocus();
    expect(screen.getByPlaceholderText("https://registry.example.com")).toBe(document.getElementById("profile-url"));
    expect(dialog).toHaveTextContent("http://host:5000");

    await user.type(document.getElementById("profile-name") as HTMLInputElement, "staging");
    await user.type(document.getElementById("profile-url") as HTMLInputElement, "https://staging.example.com");
    const submit = screen.getByTestId("add-profile-submit");
    expect(submit).toHaveTextContent("Add registry");
    await user.click(submit);

    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(callsOf(calls, "add_profile")).toEqual([
      { cmd: "add_profile", args: { request: { name: "staging", url: "https://staging.example.com" } } },
    ]);

    const items = await profileItems();
    expect(items).toHaveLength(2);
    const added = items.find((el) => el.textContent?.includes("staging"));
    expect(added).toHaveAttribute("aria-current", "true");
    expect((await screen.findAllByTestId("repo-item")).map((el) => el.textContent)).toEqual(["svc/one", "svc/two"]);
    expect(callsOf(calls, "list_repositories").map((c) => c.args)).toContainEqual({ profile: "staging" });
  });

  it("shows the ApiError message and hint when add_profile rejects, keeping the form open", async () => {
    const user = userEvent.setup();
    mockBackend({
      profiles: [],
      addProfile: () =>
        apiError("invalid_input", "URL must start with http:// or https://", "Try https://registry.example.com"),
    });
    render(App);

    await user.click(await screen.findByTestId("add-profile-open"));
    await user.type(document.getElementById("profile-name") as HTMLInputElement, "bad");
    await user.type(document.getElementById("profile-url") as HTMLInputElement, "registry.example.com");
    await user.click(screen.getByTestId("add-profile-submit"));

    const error = await screen.findByTestId("error");
    expect(error).toHaveTextContent("URL must start with http:// or https://");
    expect(error).toHaveTextContent("Try https://registry.example.com");
    expect(screen.getByRole("dialog")).toBeInTheDocument();
    expect(screen.queryAllByTestId("profile-item")).toHaveLength(0);
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
    expect(screen.getByRole("dialog")).toBeInTheDocument();
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(open).toHaveFocus();
  });
});

describe("repositories", () => {
  it("renders the list and the filter narrows it case-insensitively", async () => {
    const user = userEvent.setup();
    mockBackend({
      profiles: [LOCAL],
      repositories: { local: ["library/alpine", "library/nginx", "team/API", "team/web"] },
    });
    render(App);

    const rows = await screen.findAllByTestId("repo-item");
    expect(rows.map((r) => r.textContent)).toEqual(["library/alpine", "library/nginx", "team/API", "team/web"]);
    expect(screen.getByTestId("repo-count")).toHaveTextContent("4 repositories");

    await user.type(screen.getByRole("searchbox", { name: "Filter repositories" }), "api");
    await waitFor(() =>
      expect(screen.getAllByTestId("repo-item").map((r) => r.textContent)).toEqual(["team/API"]),
    );
    expect(screen.getByTestId("repo-count")).toHaveTextContent("1 of 4 repositories");

    await user.clear(screen.getByRole("searchbox"));
    await user.type(screen.getByRole("searchbox"), "zzz");
    expect(await screen.findByText(/No repositories match/)).toBeInTheDocument();
    expect(screen.queryAllByTestId("repo-item")).toHaveLength(0);
  });

  it("shows the full total for a large list while rendering only a window of rows", async () => {
    const names = Array.from({ length: 5000 }, (_, i) => `repo-${String(i).padStart(5, "0")}`);
    mockBackend({ profiles: [LOCAL], repositories: { local: names } });
    render(App);

    const count = await screen.findByTestId("repo-count");
    expect(count).toHaveTextContent("5,000 repositories");
    const rows = screen.getAllByTestId("repo-item");
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(100);
    expect(rows[0]).toHaveTextContent("repo-00000");

    // Scrolling far down swaps the window.
    const viewport = screen.getByRole("region", { name: "Repositories" });
    viewport.scrollTop = 34 * 2500;
    await fireEvent.scroll(viewport);
    const scrolled = screen.getAllByTestId("repo-item").map((r) => r.textContent);
    expect(scrolled).toContain("repo-02500");
    expect(scrolled).not.toContain("repo-00000");
    expect(scrolled.length).toBeLessThan(100);
  });

  it("renders registry-controlled strings as text, never as HTML", async () => {
    const evil = "<img src=x onerror=alert(1)>";
    const evilProfile = profile("<b>bold</b>", "http://example.com/<script>x</script>");
    mockBackend({ profiles: [evilProfile], repositories: { "<b>bold</b>": [evil] } });
    const { container } = render(App);

    const row = await screen.findByTestId("repo-item");
    expect(row.textContent).toBe(evil);
    expect(document.querySelector("img")).toBeNull();
    expect(container.querySelector("b")).toBeNull();
    expect(container.querySelector("script")).toBeNull();
    expect(screen.getByTestId("profile-item")).toHaveTextContent("<b>bold</b>");
  });

  it("shows the empty state with the Harbor permissions hint", async () => {
    mockBackend({ profiles: [HARBOR], repositories: { "harbor-prod": [] } });
    render(App);

    expect(await screen.findByText("This registry has no repositories yet")).toBeInTheDocument();
    expect(screen.getByText(/Harbor.*admin/)).toBeInTheDocument();
    expect(screen.getByTestId("repo-count")).toHaveTextContent("0 repositories");
  });

  it("shows a list_repositories failure with its hint, and Retry re-invokes", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({
      profiles: [LOCAL],
      repositories: {
        local: (n) =>
          n === 1
            ? {
                code: "registry",
                registry: "local",
                message: "connection refused (http://127.0.0.1:5000)",
                hint: "is the registry running?",
              }
            : ["alpine"],
      },
    });
    render(App);

    const error = await screen.findByTestId("error");
    expect(error).toHaveTextContent("connection refused");
    expect(error).toHaveTextContent("is the registry running?");
    expect(screen.queryByTestId("repo-count")).not.toBeInTheDocument();

    await user.click(within(error).getByRole("button", { name: "Retry" }));
    expect(await screen.findByTestId("repo-item")).toHaveTextContent("alpine");
    expect(screen.queryByTestId("error")).not.toBeInTheDocument();
    expect(callsOf(calls, "list_repositories")).toHaveLength(2);
  });

  it("shows a loading state while the registry answers", async () => {
    let release: (names: readonly string[]) => void = () => {};
    mockBackend({
      profiles: [LOCAL],
      repositories: { local: () => new Promise<readonly string[]>((resolve) => (release = resolve)) },
    });
    render(App);

    expect(await screen.findByText("Loading repositories…")).toBeInTheDocument();
    release(["alpine"]);
    expect(await screen.findByTestId("repo-item")).toHaveTextContent("alpine");
    expect(screen.queryByText("Loading repositories…")).not.toBeInTheDocument();
  });

  it("ignores a slow answer for a profile that is no longer selected", async () => {
    const user = userEvent.setup();
    let releaseLocal: (names: readonly string[]) => void = () => {};
    mockBackend({
      profiles: [LOCAL, HARBOR],
      repositories: {
        local: () => new Promise<readonly string[]>((resolve) => (releaseLocal = resolve)),
        "harbor-prod": ["project/app"],
      },
    });
    render(App);

    const items = await profileItems();
    await user.click(items[1] as HTMLElement);
    expect(await screen.findByTestId("repo-item")).toHaveTextContent("project/app");
    releaseLocal(["stale"]);
    await new Promise((r) => setTimeout(r, 0));
    expect(screen.getAllByTestId("repo-item").map((r) => r.textContent)).toEqual(["project/app"]);
  });
});
