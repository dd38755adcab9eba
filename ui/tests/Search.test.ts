// The registry-wide search (Ctrl+F): the total, the sort sent to the core, the virtualized list of
// matches (only a window of rows in the DOM, like the tag table) and the next page fetched when the
// list is scrolled (or the cursor walks) near the end of the loaded rows. The core's answers are
// literal fixtures per request; jsdom has no layout, so VirtualList uses its fallback height (600px)
// and a test scrolls by setting scrollTop on the list and dispatching a scroll event.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import SearchDialog from "../src/lib/components/SearchDialog.svelte";
import type { TagView } from "../src/lib/ipc";
import type { SortBy } from "../src/bindings/SortBy";
import { apiError, callsOf, tag, type Call } from "./backend";

afterEach(() => {
  clearMocks();
});

/** SearchDialog's row height and VirtualList's viewport height without layout. */
const ROW = 28;
const VIEWPORT = 600;

/** 1,000 matches of "app" in the name order, and the same in the size order (the reverse). */
const BY_NAME: TagView[] = Array.from({ length: 1000 }, (_, i) => tag(`app${String(i % 3)}`, `t${String(i).padStart(4, "0")}`));
const BY_SIZE: TagView[] = [...BY_NAME].reverse();

interface SearchArgs {
  profile: string;
  query: string;
  sort: SortBy;
  limit: number;
  offset: number;
}

/** Answers search_tags with `answer(args)`; by default the page of BY_NAME / BY_SIZE at the asked offset. */
function mockSearch(answer?: (args: SearchArgs) => Promise<unknown> | unknown): Call[] {
  const calls: Call[] = [];
  mockIPC((cmd, raw) => {
    calls.push({ cmd, args: raw });
    if (cmd !== "search_tags") throw `unknown command ${cmd}`;
    const args = raw as unknown as SearchArgs;
    if (answer !== undefined) return answer(args);
    const list = args.sort === "size" ? BY_SIZE : BY_NAME;
    return { total: list.length, tags: list.slice(args.offset, args.offset + args.limit) };
  });
  return calls;
}

const searches = (calls: readonly Call[]) => callsOf(calls, "search_tags").map((c) => c.args as SearchArgs);
const hitTexts = () => screen.queryAllByTestId("search-hit").map((h) => h.textContent ?? "");

/** Scrolls the list so that its last loaded row is at the bottom of the viewport. */
async function scrollToEnd() {
  const list = screen.getByTestId("search-list");
  const rows = Number(list.querySelector("li")?.getAttribute("aria-setsize") ?? "0");
  list.scrollTop = rows * ROW - VIEWPORT;
  await fireEvent.scroll(list);
}

async function open(calls: Call[]) {
  const user = userEvent.setup();
  const onpick = vi.fn();
  render(SearchDialog, { profile: "lab", onpick, onclose: vi.fn() });
  await user.type(screen.getByTestId("search-input"), "app");
  await waitFor(() => expect(searches(calls)).toHaveLength(1));
  await waitFor(() => expect(screen.getByTestId("search-count")).toHaveTextContent("1,000 matches · 200 shown"));
  return { user, onpick };
}

describe("search: a virtualized list of matches", () => {
  it("keeps only a window of the 1,000 matches in the DOM and shows the total", async () => {
    const calls = mockSearch();
    await open(calls);
    expect(searches(calls)).toEqual([{ profile: "lab", query: "app", sort: "name", limit: 200, offset: 0 }]);
    expect(screen.getByTestId("search-total")).toHaveTextContent(/^1,000 matches$/);

    const list = screen.getByTestId("search-list");
    expect(within(list).getByRole("listbox", { name: "Matches" })).toBeInTheDocument();
    const shown = hitTexts();
    expect(shown.length).toBeGreaterThan(10);
    expect(shown.length).toBeLessThan(60);
    expect(shown[0]).toContain("app0:t0000");
    expect(shown.some((h) => h.includes("t0199"))).toBe(false);
    // Each row says where it is in the loaded list.
    expect(within(list).getAllByRole("option")[0]).toHaveAttribute("aria-setsize", "200");
    expect(within(list).getAllByRole("option")[0]).toHaveAttribute("aria-selected", "true");

    // Scrolling in the middle shows other rows and asks for nothing.
    list.scrollTop = 100 * ROW;
    await fireEvent.scroll(list);
    expect(hitTexts().some((h) => h.includes("t0100"))).toBe(true);
    expect(hitTexts().some((h) => h.includes("t0000"))).toBe(false);
    await new Promise((r) => setTimeout(r, 20));
    expect(searches(calls)).toHaveLength(1);
  });

  it("fetches the next page when scrolled to the end of the loaded rows and appends it, until all are loaded", async () => {
    const calls = mockSearch();
    await open(calls);

    await scrollToEnd();
    await waitFor(() => expect(searches(calls)).toHaveLength(2));
    expect(searches(calls)[1]).toEqual({ profile: "lab", query: "app", sort: "name", limit: 200, offset: 200 });
    await waitFor(() => expect(screen.getByTestId("search-count")).toHaveTextContent("1,000 matches · 400 shown"));
    // Appending keeps the scroll position: the rows at the old end are still in view, followed by the new page.
    const list = screen.getByTestId("search-list");
    expect(list.scrollTop).toBe(200 * ROW - VIEWPORT);
    expect(hitTexts().some((h) => h.includes("app1:t0199"))).toBe(true);
    expect(hitTexts().some((h) => h.includes("app2:t0200"))).toBe(true);
    expect(within(list).getAllByRole("option")[0]).toHaveAttribute("aria-setsize", "400");

    for (const offset of [400, 600, 800]) {
      await scrollToEnd();
      await waitFor(() => expect(searches(calls).at(-1)?.offset).toBe(offset));
      await waitFor(() => expect(within(list).getAllByRole("option")[0]).toHaveAttribute("aria-setsize", String(offset + 200)));
    }
    expect(screen.getByTestId("search-count")).toHaveTextContent(/^1,000 matches$/);

    // Everything is loaded: the end shows the last match and asks for nothing more.
    await scrollToEnd();
    expect(hitTexts().at(-1)).toContain("app0:t0999");
    expect(hitTexts().length).toBeLessThan(60);
    await new Promise((r) => setTimeout(r, 20));
    expect(searches(calls).map((s) => s.offset)).toEqual([0, 200, 400, 600, 800]);
  });

  it("moves the cursor with the keyboard, scrolls it into view, loads the next page at the end and opens the hit", async () => {
    const calls = mockSearch();
    const { user, onpick } = await open(calls);
    const input = screen.getByTestId("search-input");
    const list = screen.getByTestId("search-list");

    for (let i = 0; i < 30; i++) await fireEvent.keyDown(input, { key: "ArrowDown" });
    // Row 30 is the last row of the viewport.
    expect(list.scrollTop).toBe(31 * ROW - VIEWPORT);
    const selected = within(list).getAllByRole("option", { selected: true });
    expect(selected).toHaveLength(1);
    expect(selected[0]).toHaveTextContent("app0:t0030");
    expect(selected[0]).toHaveAttribute("aria-posinset", "31");
    await user.keyboard("{Enter}");
    expect(onpick).toHaveBeenCalledWith(BY_NAME[30]);

    await user.keyboard("{ArrowUp}");
    expect(within(list).getByRole("option", { selected: true })).toHaveTextContent("app2:t0029");
    expect(searches(calls)).toHaveLength(1);

    // Walking down to the last loaded rows fetches the next page.
    for (let i = 0; i < 170; i++) await fireEvent.keyDown(input, { key: "ArrowDown" });
    await waitFor(() => expect(searches(calls).at(-1)?.offset).toBe(200));
    await waitFor(() => expect(screen.getByTestId("search-count")).toHaveTextContent("400 shown"));
    expect(within(list).getByRole("option", { selected: true })).toHaveTextContent("t0199");
    await user.keyboard("{Enter}");
    expect(onpick).toHaveBeenLastCalledWith(BY_NAME[199]);
  });

  it("starts again at offset 0 and at the top when the sort or the query changes", async () => {
    const calls = mockSearch();
    const { user } = await open(calls);
    await scrollToEnd();
    await waitFor(() => expect(screen.getByTestId("search-count")).toHaveTextContent("400 shown"));

    const sort = screen.getByRole("combobox", { name: "Sort matches" });
    expect(sort).toBe(screen.getByTestId("search-sort"));
    expect([...(sort as HTMLSelectElement).options].map((o) => o.value)).toEqual(["name", "repository", "created", "size", "digest", "platforms"]);
    await user.selectOptions(sort, "size");
    await waitFor(() => expect(searches(calls).at(-1)).toEqual({ profile: "lab", query: "app", sort: "size", limit: 200, offset: 0 }));
    await waitFor(() => expect(screen.getByTestId("search-count")).toHaveTextContent("1,000 matches · 200 shown"));
    // The core's order, as answered, from the top.
    expect(screen.getByTestId("search-list").scrollTop).toBe(0);
    expect(hitTexts()[0]).toContain("app0:t0999");
    expect(within(screen.getByTestId("search-list")).getAllByRole("option")[0]).toHaveAttribute("aria-selected", "true");

    await scrollToEnd();
    await waitFor(() => expect(searches(calls).at(-1)).toEqual({ profile: "lab", query: "app", sort: "size", limit: 200, offset: 200 }));

    await user.type(screen.getByTestId("search-input"), "0");
    await waitFor(() => expect(searches(calls).at(-1)).toEqual({ profile: "lab", query: "app0", sort: "size", limit: 200, offset: 0 }));
  });

  it("drops an older search's first page that arrives after a newer one", async () => {
    const user = userEvent.setup();
    let releaseName: ((v: unknown) => void) | null = null;
    mockSearch((args) => {
      if (args.sort === "name") return new Promise((resolve) => (releaseName = resolve));
      return { total: 1, tags: [tag("app", "newest")] };
    });
    render(SearchDialog, { profile: "lab", onpick: vi.fn(), onclose: vi.fn() });
    await user.type(screen.getByTestId("search-input"), "app");
    await waitFor(() => expect(releaseName).not.toBeNull());
    await user.selectOptions(screen.getByTestId("search-sort"), "created");
    await waitFor(() => expect(screen.getAllByTestId("search-hit")).toHaveLength(1));
    releaseName!({ total: 2, tags: [tag("app", "old1"), tag("app", "old2")] });
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.getAllByTestId("search-hit")).toHaveLength(1);
    expect(screen.getByTestId("search-hit")).toHaveTextContent("app:newest");
    expect(screen.getByTestId("search-total")).toHaveTextContent("1 match");
  });

  it("drops a next page of the old sort that arrives after the sort changed", async () => {
    let releaseOldPage: ((v: unknown) => void) | null = null;
    const calls = mockSearch((args) => {
      if (args.sort === "name" && args.offset === 0) return { total: 1000, tags: BY_NAME.slice(0, 200) };
      if (args.sort === "name") return new Promise((resolve) => (releaseOldPage = resolve));
      return { total: 1000, tags: BY_SIZE.slice(args.offset, args.offset + 200) };
    });
    const { user } = await open(calls);
    await scrollToEnd();
    await waitFor(() => expect(releaseOldPage).not.toBeNull());
    expect(screen.getByTestId("search-loading")).toHaveTextContent("Loading…");

    await user.selectOptions(screen.getByTestId("search-sort"), "size");
    await waitFor(() => expect(hitTexts()[0]).toContain("app0:t0999"));
    expect(screen.queryByTestId("search-loading")).toBeNull();
    releaseOldPage!({ total: 1000, tags: BY_NAME.slice(200, 400) });
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.getByTestId("search-count")).toHaveTextContent("1,000 matches · 200 shown");
    expect(within(screen.getByTestId("search-list")).getAllByRole("option")[0]).toHaveAttribute("aria-setsize", "200");

    // The new sort's own next page still loads (the old page in flight does not block it).
    await scrollToEnd();
    await waitFor(() => expect(searches(calls).at(-1)).toMatchObject({ sort: "size", offset: 200 }));
    await waitFor(() => expect(screen.getByTestId("search-count")).toHaveTextContent("400 shown"));
    expect(hitTexts().some((h) => h.includes("t0799"))).toBe(true);
    expect(hitTexts().some((h) => h.includes("t0200"))).toBe(false);
  });

  it("shows a failed next page with Retry, and does not ask again on each scroll", async () => {
    let fail = true;
    const calls = mockSearch((args) => {
      if (args.offset === 200 && fail) throw apiError("storage", "database is locked", "try again");
      return { total: 1000, tags: BY_NAME.slice(args.offset, args.offset + 200) };
    });
    const { user } = await open(calls);
    await scrollToEnd();
    expect(await screen.findByText("database is locked")).toBeInTheDocument();
    await scrollToEnd();
    await new Promise((r) => setTimeout(r, 20));
    expect(searches(calls).map((s) => s.offset)).toEqual([0, 200]);

    fail = false;
    await user.click(screen.getByRole("button", { name: "Retry" }));
    await waitFor(() => expect(screen.getByTestId("search-count")).toHaveTextContent("400 shown"));
    expect(searches(calls).map((s) => s.offset)).toEqual([0, 200, 200]);
    expect(screen.queryByText("database is locked")).toBeNull();
  });

  it("with a few matches every row is in the DOM and nothing more is asked", async () => {
    const calls = mockSearch(() => ({ total: 3, tags: [tag("team/app", "1"), tag("team/app", "2"), tag("zeta/app", "1")] }));
    render(SearchDialog, { profile: "lab", onpick: vi.fn(), onclose: vi.fn() });
    await userEvent.setup().type(screen.getByTestId("search-input"), "app");
    await waitFor(() => expect(hitTexts()).toEqual([expect.stringContaining("team/app:1"), expect.stringContaining("team/app:2"), expect.stringContaining("zeta/app:1")]));
    expect(screen.getByTestId("search-count")).toHaveTextContent(/^3 matches$/);
    await new Promise((r) => setTimeout(r, 20));
    expect(searches(calls)).toHaveLength(1);
  });
});
