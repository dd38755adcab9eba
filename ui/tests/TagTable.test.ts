import { clearMocks } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import TagTable from "../src/lib/components/TagTable.svelte";
import type { SortBy, TagView } from "../src/lib/ipc";
import { apiError, callsOf, mockBackend, tag, type TagSource } from "./backend";

afterEach(() => {
  clearMocks();
});

const TAGS: TagView[] = [
  tag("app", "v1.0", { created: "2024-01-01T00:00:00Z", size: 300, digest: "sha256:" + "c".repeat(64), platforms: ["linux/amd64"] }),
  tag("app", "v1.1", { created: "2024-03-01T00:00:00Z", size: 100, digest: "sha256:" + "a".repeat(64), platforms: ["linux/amd64", "linux/arm64"] }),
  tag("app", "v2.0-rc", { created: "2024-02-01T00:00:00Z", size: 200, digest: "sha256:" + "b".repeat(64), platforms: [] }),
  tag("app", "latest", { created: null, size: 50, digest: "sha256:" + "d".repeat(64), platforms: ["linux/arm64"] }),
];

const [V10, V11, RC, LATEST] = TAGS as [TagView, TagView, TagView, TagView];

/** The store's answer per sort (its orders: created newest first, size largest first, the others ascending). */
const ORDERS: Record<SortBy, TagView[]> = {
  name: [LATEST, V10, V11, RC],
  created: [V11, RC, V10, LATEST],
  size: [V10, RC, V11, LATEST],
  digest: [V11, RC, V10, LATEST],
  platforms: [RC, V10, V11, LATEST],
  repository: [LATEST, V10, V11, RC],
};
/** The store's answer per filter the window sends (in the name order). */
const FILTERED: Record<string, TagView[]> = { "(?i)V1\\.": [V10, V11], "-rc$": [RC] };
const STORE: TagSource = ({ sort, filter }) => (filter === null ? ORDERS[sort] : (FILTERED[filter] ?? []));

function names(): string[] {
  return screen.getAllByTestId("tag-name").map((e) => e.textContent ?? "");
}

function setup(tags: TagSource = STORE) {
  const calls = mockBackend({ tags: { "lab/app": tags } });
  const onopen = vi.fn();
  render(TagTable, { profile: "lab", repository: "app", onopen });
  return { calls, onopen };
}

describe("tag table", () => {
  it("loads every tag sorted by name with digest, created, size and platforms", async () => {
    const { calls } = setup();
    await waitFor(() => expect(names()).toEqual(["latest", "v1.0", "v1.1", "v2.0-rc"]));
    expect(callsOf(calls, "list_tag_names")[0]?.args).toEqual({ profile: "lab", repository: "app", sort: "name", filter: null });
    expect(screen.getByTestId("tag-count")).toHaveTextContent("4 tags");
    const row = screen.getAllByTestId("tag-row")[2] as HTMLElement;
    expect(row).toHaveTextContent("aaaaaaaaaaaa");
    expect(row).toHaveTextContent("2024-03-01 00:00");
    expect(row).toHaveTextContent("100 B");
    expect(row).toHaveTextContent("linux/amd64, linux/arm64");
  });

  it("shows the tags in the order the store answered", async () => {
    setup([V11, LATEST, RC, V10]);
    await waitFor(() => expect(names()).toEqual(["v1.1", "latest", "v2.0-rc", "v1.0"]));
  });

  it("sorts by every column through the store query, and a second click reverses", async () => {
    const user = userEvent.setup();
    const { calls } = setup();
    await waitFor(() => expect(names()).toHaveLength(4));

    await user.click(screen.getByTestId("sort-created"));
    await waitFor(() => expect(names()).toEqual(["v1.1", "v2.0-rc", "v1.0", "latest"]));
    expect(callsOf(calls, "list_tag_names").at(-1)?.args).toMatchObject({ sort: "created" });
    expect(screen.getByTestId("sort-created").parentElement).toHaveAttribute("aria-sort", "descending");

    await user.click(screen.getByTestId("sort-created"));
    await waitFor(() => expect(names()).toEqual(["latest", "v1.0", "v2.0-rc", "v1.1"]));
    expect(screen.getByTestId("sort-created").parentElement).toHaveAttribute("aria-sort", "ascending");

    await user.click(screen.getByTestId("sort-size"));
    await waitFor(() => expect(names()).toEqual(["v1.0", "v2.0-rc", "v1.1", "latest"]));
    await user.click(screen.getByTestId("sort-digest"));
    await waitFor(() => expect(names()).toEqual(["v1.1", "v2.0-rc", "v1.0", "latest"]));
    await user.click(screen.getByTestId("sort-platforms"));
    await waitFor(() => expect(names()).toEqual(["v2.0-rc", "v1.0", "v1.1", "latest"]));
    expect(callsOf(calls, "list_tag_names").map((c) => (c.args as { sort: string }).sort)).toEqual([
      "name",
      "created",
      "size",
      "digest",
      "platforms",
    ]);
  });

  it("filters by substring (case-insensitive, escaped) or by regex in the backend", async () => {
    const user = userEvent.setup();
    const { calls } = setup();
    await waitFor(() => expect(names()).toHaveLength(4));

    await user.type(screen.getByTestId("tag-filter"), "V1.");
    await waitFor(() => expect(names()).toEqual(["v1.0", "v1.1"]));
    expect(callsOf(calls, "list_tag_names").at(-1)?.args).toMatchObject({ filter: "(?i)V1\\." });

    await user.clear(screen.getByTestId("tag-filter"));
    await user.click(screen.getByRole("checkbox"));
    await user.type(screen.getByTestId("tag-filter"), "-rc$");
    await waitFor(() => expect(names()).toEqual(["v2.0-rc"]));
    expect(callsOf(calls, "list_tag_names").at(-1)?.args).toMatchObject({ filter: "-rc$" });

    // An unfinished regex is reported locally and not sent.
    const before = callsOf(calls, "list_tag_names").length;
    await user.clear(screen.getByTestId("tag-filter"));
    await user.type(screen.getByTestId("tag-filter"), "v(");
    expect(await screen.findByRole("alert")).toHaveTextContent("Invalid regular expression");
    await new Promise((r) => setTimeout(r, 300));
    expect(callsOf(calls, "list_tag_names").slice(before).map((c) => (c.args as { filter: string | null }).filter)).not.toContain(
      "v(",
    );
  });

  it("selects with click, Ctrl+click and Shift+click; arrows move; Enter opens", async () => {
    const user = userEvent.setup();
    const { onopen } = setup();
    await waitFor(() => expect(names()).toHaveLength(4));
    const rows = () => screen.getAllByTestId("tag-row");
    const selected = () =>
      rows()
        .filter((r) => r.getAttribute("aria-selected") === "true")
        .map((r) => r.querySelector("[data-testid=tag-name]")?.textContent);

    await user.click(rows()[0] as HTMLElement);
    expect(onopen).toHaveBeenLastCalledWith(expect.objectContaining({ name: "latest" }));
    expect(selected()).toEqual(["latest"]);

    await user.keyboard("{Shift>}");
    await user.click(rows()[2] as HTMLElement);
    await user.keyboard("{/Shift}");
    expect(selected()).toEqual(["latest", "v1.0", "v1.1"]);
    expect(screen.getByTestId("selection-bar")).toHaveTextContent("3 selected");

    await user.keyboard("{Control>}");
    await user.click(rows()[1] as HTMLElement);
    await user.keyboard("{/Control}");
    expect(selected()).toEqual(["latest", "v1.1"]);
    expect(onopen).toHaveBeenCalledTimes(1);

    screen.getByTestId("tag-table").focus();
    await user.keyboard("{ArrowDown}");
    expect(selected()).toEqual(["v1.1"]);
    await user.keyboard("{Shift>}{ArrowUp}{ArrowUp}{/Shift}");
    expect(selected()).toEqual(["latest", "v1.0", "v1.1"]);
    await user.keyboard("{Enter}");
    expect(onopen).toHaveBeenLastCalledWith(expect.objectContaining({ name: "latest" }));
    await user.keyboard("{Control>}a{/Control}");
    expect(selected()).toHaveLength(4);
    await user.keyboard("{Escape}");
    expect(selected()).toEqual([]);
  });

  it("renders 100,000 tags as a window of rows", async () => {
    const many = Array.from({ length: 100_000 }, (_, i) => tag("app", `t${String(i).padStart(6, "0")}`));
    setup(many);
    await waitFor(() => expect(screen.getByTestId("tag-count")).toHaveTextContent("100,000 tags"));
    expect(screen.getAllByTestId("tag-row").length).toBeLessThan(80);
  });

  it("fetches the rows of the names in view only, and those scrolled into view", async () => {
    const many = Array.from({ length: 100_000 }, (_, i) => tag("app", `t${String(i).padStart(6, "0")}`));
    const { calls } = setup(many);
    await waitFor(() => expect(screen.getAllByTestId("tag-row")[0]).toHaveTextContent("t000000"));
    const asked = () => callsOf(calls, "tags_named").flatMap((c) => (c.args as { names: string[] }).names);
    expect(callsOf(calls, "list_tag_names")).toHaveLength(1);
    expect(asked().length).toBeLessThanOrEqual(100);
    expect(asked()).not.toContain("t050000");
    const list = document.querySelector(".viewport") as HTMLElement;
    list.scrollTop = 50_000 * 32;
    await fireEvent.scroll(list);
    await waitFor(() => expect(screen.getAllByTestId("tag-row").map((r) => r.querySelector("[data-testid=tag-name]")?.textContent)).toContain("t050000"));
    expect(asked()).toContain("t050000");
    expect(asked().length).toBeLessThan(300);
    expect(new Set(asked()).size).toBe(asked().length);
  });

  it("explains an unsynced profile and offers to sync", async () => {
    mockBackend({ tags: { "lab/app": apiError("not_found", "lab has not been synced yet", "run `berth sync lab` first") } });
    const onsync = vi.fn();
    render(TagTable, { profile: "lab", repository: "app", onopen: vi.fn(), onsync });
    expect(await screen.findByTestId("error")).toHaveTextContent("has not been synced yet");
    await userEvent.click(screen.getByRole("button", { name: "Sync now" }));
    expect(onsync).toHaveBeenCalled();
  });

  it("shows hostile tag names as text", async () => {
    setup([tag("app", "<img src=x onerror=alert(1)>")]);
    await waitFor(() => expect(names()).toEqual(["<img src=x onerror=alert(1)>"]));
    expect(document.querySelector("img")).toBeNull();
  });
});
