// The message catalogue: both languages hold the same keys with the same placeholders, every key the
// window uses exists, the system language picks the locale, and the switch in the window changes it.
import { clearMocks } from "@tauri-apps/api/mocks";
import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { getMessageFormatter } from "svelte-i18n";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import App from "../src/App.svelte";
import CopyDialog from "../src/lib/components/CopyDialog.svelte";
import GcView from "../src/lib/components/GcView.svelte";
import SearchDialog from "../src/lib/components/SearchDialog.svelte";
import TrashView from "../src/lib/components/TrashView.svelte";
import type { GcPrediction, TrashView as TrashEntry } from "../src/lib/ipc";
import { formatBytes, formatCount, formatDate, relativeTime } from "../src/lib/format";
import { en } from "../src/lib/i18n/en";
import { detectLocale, followSystemLocale, getLocale, localeFromTag, resetLocale, setLocale, t } from "../src/lib/i18n/index.svelte";
import { zhCN } from "../src/lib/i18n/zh-CN";
import { callsOf, copyPlan, mockBackend, plannedBlob, plannedCopy, profile, repoNode, tag } from "./backend";

const CATALOGUES: Record<string, Record<string, string>> = { en, "zh-CN": zhCN };

/** Argument names of an ICU message ("{count, plural, …}" → count). */
function argumentsOf(message: string): string[] {
  return [...new Set([...message.matchAll(/(?<!\b(?:zero|one|two|few|many|other|=\d+)\s*)\{\s*([A-Za-z_]\w*)\s*[,}]/g)].map((m) => m[1] ?? ""))].sort();
}

/** Plain "{name}" placeholders (not plural selectors, not the text of plural branches). */
function simpleArgumentsOf(message: string): string[] {
  return [...new Set([...message.matchAll(/(?<!\b(?:zero|one|two|few|many|other|=\d+)\s*)\{\s*([A-Za-z_]\w*)\s*\}/g)].map((m) => m[1] ?? ""))].sort();
}

beforeEach(() => {
  localStorage.clear();
  resetLocale();
});

afterEach(() => {
  clearMocks();
  resetLocale();
});

describe("catalogue", () => {
  it("has every key in both English and Simplified Chinese, none empty", () => {
    const enKeys = Object.keys(en).sort();
    const zhKeys = Object.keys(zhCN).sort();
    expect(zhKeys.filter((k) => !enKeys.includes(k)), "keys only in zh-CN").toEqual([]);
    expect(enKeys.filter((k) => !zhKeys.includes(k)), "keys missing from zh-CN").toEqual([]);
    for (const [lang, messages] of Object.entries(CATALOGUES)) {
      for (const [key, message] of Object.entries(messages)) {
        expect(message.trim(), `${lang} ${key}`).not.toBe("");
      }
    }
  });

  it("parses every message and uses the same placeholders in both languages", () => {
    for (const [lang, messages] of Object.entries(CATALOGUES)) {
      for (const [key, message] of Object.entries(messages)) {
        expect(() => getMessageFormatter(message, lang), `${lang} ${key}`).not.toThrow();
      }
    }
    // Chinese needs no plural selector, but shows every value English shows and takes no other.
    for (const [key, message] of Object.entries(en)) {
      const zh = argumentsOf(zhCN[key as keyof typeof zhCN] ?? "");
      const all = argumentsOf(message);
      expect(zh.filter((a) => !all.includes(a)), `${key}: placeholders only in zh-CN`).toEqual([]);
      expect(simpleArgumentsOf(message).filter((a) => !zh.includes(a)), `${key}: placeholders missing from zh-CN`).toEqual([]);
    }
  });

  it("holds every key the window's sources use", () => {
    const sources = import.meta.glob(["../src/**/*.svelte", "../src/**/*.ts"], {
      query: "?raw",
      import: "default",
      eager: true,
    }) as Record<string, string>;
    const namespaces = new Set(Object.keys(en).map((k) => k.split(".")[0]));
    const missing: string[] = [];
    let used = 0;
    for (const [file, text] of Object.entries(sources)) {
      if (file.includes("/i18n/")) continue;
      for (const m of text.matchAll(/"([a-z][A-Za-z]*)\.([A-Za-z][A-Za-z0-9]*)"/g)) {
        if (!namespaces.has(m[1] ?? "")) continue;
        used++;
        const key = `${m[1]}.${m[2]}`;
        if (!Object.hasOwn(en, key)) missing.push(`${file}: ${key}`);
      }
    }
    expect(used).toBeGreaterThan(100);
    expect(missing).toEqual([]);
  });
});

describe("locale", () => {
  it("follows the system language: Chinese → zh-CN, anything else → English", () => {
    expect(detectLocale({ language: "zh-CN" })).toBe("zh-CN");
    expect(detectLocale({ languages: ["zh-CN", "en-US"], language: "zh-CN" })).toBe("zh-CN");
    expect(detectLocale({ languages: ["zh-Hans-CN"] })).toBe("zh-CN");
    expect(detectLocale({ language: "zh" })).toBe("zh-CN");
    expect(localeFromTag("zh_CN.UTF-8")).toBe("zh-CN");
    expect(detectLocale({ language: "en-US" })).toBe("en");
    expect(detectLocale({ languages: ["de-DE", "zh-CN"] })).toBe("en");
    expect(detectLocale({ language: "fr" })).toBe("en");
    expect(detectLocale({})).toBe("en");
    expect(detectLocale(undefined)).toBe("en");
    // jsdom reports en-US.
    expect(getLocale()).toBe("en");
  });

  it("follows the system locale the shell reads (LANG) unless the user chose one in the window", () => {
    resetLocale();
    followSystemLocale("zh_CN.UTF-8");
    expect(getLocale()).toBe("zh-CN");
    expect(document.documentElement.lang).toBe("zh-CN");
    followSystemLocale(null);
    expect(getLocale()).toBe("en");
    setLocale("zh-CN");
    followSystemLocale("en_US.UTF-8");
    expect(getLocale(), "a choice made in the window wins").toBe("zh-CN");
    resetLocale();
  });

  it("formats messages, counts, sizes and dates per locale", () => {
    expect(t("tags.count", { count: 1, n: formatCount(1) })).toBe("1 tag");
    expect(t("tags.count", { count: 1200, n: formatCount(1200) })).toBe("1,200 tags");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatDate("2024-05-01T13:45:10Z")).toBe("2024-05-01 13:45");
    expect(relativeTime(new Date(Date.now() - 2 * 86_400_000).toISOString())).toBe("2 days ago");

    setLocale("zh-CN");
    expect(t("tags.count", { count: 1200, n: formatCount(1200) })).toBe("1,200 个标签");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatDate("2024-05-01T13:45:10Z")).toBe("2024/05/01 13:45");
    expect(relativeTime(new Date(Date.now() - 2 * 86_400_000).toISOString())).toBe("2 天前");
    expect(relativeTime(null)).toBe("从未");
  });

  it("switches the window's language from the sidebar, remembers it, and switches back", async () => {
    const user = userEvent.setup();
    mockBackend({ profiles: [profile("local", "http://127.0.0.1:5000", "registry")], repositories: { local: [repoNode("alpine")] } });
    render(App);

    const add = screen.getByTestId("add-profile-open");
    expect(add).toHaveTextContent("Add registry");
    const sw = screen.getByTestId("locale-switch");
    expect(sw).toHaveValue("en");

    await user.selectOptions(sw, "zh-CN");
    await waitFor(() => expect(add).toHaveTextContent("添加镜像仓库"));
    expect(screen.getByTestId("about-open")).toHaveTextContent("关于 Berth");
    expect(localStorage.getItem("berth.locale")).toBe("zh-CN");
    expect(document.documentElement.lang).toBe("zh-CN");

    await user.selectOptions(sw, "en");
    await waitFor(() => expect(add).toHaveTextContent("Add registry"));
    expect(add).not.toHaveTextContent("添加镜像仓库");
    expect(localStorage.getItem("berth.locale")).toBe("en");
  });
});

// Views converted after the first pass, rendered in Chinese: their texts come from the catalogue, and
// the English they showed before is gone (registry data and technical tokens stay as they are).
describe("views in Simplified Chinese", () => {
  beforeEach(() => setLocale("zh-CN"));

  it("shows the trash in Chinese", async () => {
    const entries: TrashEntry[] = [
      {
        id: 7,
        repository: "app",
        tags: ["latest"],
        digest: "sha256:" + "a1".repeat(32),
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
        digest: "sha256:" + "b2".repeat(32),
        media_type: "application/vnd.oci.image.manifest.v1+json",
        kind: "delete",
        deleted_at: "2025-01-01T10:00:00Z",
        state: "collected",
        reclaimable_bytes: 1_000_000,
        manifests: 1,
      },
    ];
    mockBackend({ other: (cmd) => (cmd === "list_trash" ? entries : undefined) });
    render(TrashView, { profile: "lab" });

    const rows = await screen.findAllByTestId("trash-row");
    const view = screen.getByTestId("trash-view");
    expect(view).toHaveTextContent("只有在垃圾回收删除 blob 之前才能恢复");
    expect(view).toHaveTextContent("显示已恢复和已回收的条目");
    expect(within(view).getByRole("columnheader", { name: "仓库" })).toBeInTheDocument();
    expect(rows[0]).toHaveTextContent("移除标签");
    expect(rows[0]).toHaveTextContent("在回收站中");
    expect(within(rows[0]!).getByTestId("trash-restore")).toHaveTextContent("恢复");
    expect(rows[1]).toHaveTextContent("已回收");
    expect(rows[1]).toHaveTextContent("无法恢复");
    expect(rows[0]).toHaveTextContent("2025/03/01 10:00");
    // Registry data stays as it is.
    expect(rows[0]).toHaveTextContent("latest");
    for (const english of ["Restore works only", "Show restored", "Repository", "untag", "trashed", "not restorable", "Restore"]) {
      expect(view).not.toHaveTextContent(english);
    }
  });

  it("shows garbage collection in Chinese, counts included", async () => {
    const pending: GcPrediction = {
      predicted_bytes: 3 * 1048576,
      blobs: [{ digest: "sha256:" + "b1".repeat(32), size: 3 * 1048576 }] as GcPrediction["blobs"],
      trash_entries: [7, 8],
      notes: [],
    };
    mockBackend({ other: (cmd) => (cmd === "gc_pending" ? pending : cmd === "gc_history" ? [] : undefined) });
    render(GcView, { profile: profile("lab", "http://127.0.0.1:5000"), onedit: vi.fn() });

    const view = screen.getByTestId("gc-view");
    expect(await screen.findByTestId("gc-pending-bytes")).toHaveTextContent("3.0 MB");
    expect(await screen.findByTestId("gc-history-empty")).toHaveTextContent("尚未运行过垃圾回收。");
    expect(screen.getByTestId("gc-pending")).toHaveTextContent("待回收");
    expect(screen.getByTestId("gc-pending")).toHaveTextContent("1 个 blob 已不再被任何内容引用；垃圾回收运行后，回收站中的 2 个条目将无法再恢复。");
    expect(screen.getByTestId("gc-set-command")).toHaveTextContent("设置垃圾回收命令…");
    expect(screen.getByTestId("gc-dry-run")).toHaveTextContent("模拟运行");
    expect(screen.getByTestId("gc-run")).toHaveTextContent("运行垃圾回收…");
    // Commands and flags are not translated.
    expect(view).toHaveTextContent("--delete-untagged");
    expect(view).toHaveTextContent("registry garbage-collect");
    for (const english of ["Pending", "nothing references", "trash entries", "Set the GC command", "Dry run", "Run GC", "No GC run yet", "History", "never adds"]) {
      expect(view).not.toHaveTextContent(english);
    }
  });

  it("searches in Chinese", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({ search: { "web:": { total: 2, tags: [tag("web", "1.0"), tag("web", "2.0")] } } });
    render(SearchDialog, { profile: "local", onpick: vi.fn(), onclose: vi.fn() });

    const dialog = screen.getByTestId("search-dialog");
    expect(dialog).toHaveTextContent("搜索 local");
    expect(dialog).toHaveTextContent("搜索所有仓库的本地缓存（请先同步）。按 Enter 打开镜像。");
    const input = screen.getByRole("searchbox", { name: "搜索标签" });
    expect(input).toHaveAttribute("placeholder", "仓库:标签，或摘要（sha256:… 或几位十六进制数字）");
    await user.type(input, "web:");
    await waitFor(() => expect(screen.getAllByTestId("search-hit")).toHaveLength(2));
    expect(screen.getByTestId("search-count")).toHaveTextContent("2 个匹配");
    expect(screen.getByRole("listbox", { name: "匹配结果" })).toBeInTheDocument();
    expect(callsOf(calls, "search_tags").at(-1)?.args).toEqual({ profile: "local", query: "web:", sort: "name", limit: 200, offset: 0 });
    for (const english of ["Search local", "matches", "local cache"]) expect(dialog).not.toHaveTextContent(english);
  });

  it("previews a copy in Chinese, plurals without English forms", async () => {
    const user = userEvent.setup();
    mockBackend({
      copy: {
        plan: ({ request }) =>
          copyPlan("lab", "prod", request, {
            images: ["app:1.0", "app:2.0"].map((ref) =>
              plannedCopy(ref, ref, { blobs: [plannedBlob("sha256:" + "c1".repeat(32), 1_000), plannedBlob("sha256:" + "11".repeat(32), 1_048_576)], bytes_to_send: 1_049_576 }),
            ),
            bytes_to_send: 2 * 1_049_576,
            blobs_to_send: 4,
          }),
      },
    });
    const profiles = [profile("lab", "http://127.0.0.1:5000"), profile("prod", "https://registry.prod.example")];
    render(CopyDialog, { source: "lab", references: ["app:1.0", "app:2.0"], profiles, onclose: vi.fn() });

    const dialog = screen.getByTestId("copy-dialog");
    expect(dialog).toHaveTextContent("从 lab 复制 2 个镜像");
    expect(dialog).toHaveTextContent("目标镜像仓库");
    expect(within(dialog).getByTestId("copy-target").querySelector("option[value=lab]")).toHaveTextContent("lab（同一镜像仓库：重新打标签）");
    expect(dialog).toHaveTextContent("{repo} 为源仓库，{tag} 为源标签，例如 mirror/{repo}、{tag}-rc。");
    expect(within(dialog).getByTestId("copy-plan")).toHaveTextContent("预览");

    await user.click(within(dialog).getByTestId("copy-plan"));
    const view = await within(dialog).findByTestId("copy-plan-view");
    const rows = within(view).getAllByTestId("copy-plan-image");
    expect(rows[0]).toHaveTextContent("新标签");
    expect(rows[0]).toHaveTextContent(/待发送 \d+ 个，已存在 \d+ 个，已挂载 \d+ 个 · 待发送 /);
    expect(within(view).getByTestId("copy-totals")).toHaveTextContent(/^2 个镜像，待发送 \d+ 个 blob（[\d.]+ [KMG]?B），已存在 \d+ 个，已挂载 \d+ 个。$/);
    expect(within(dialog).getByTestId("copy-confirm")).toHaveTextContent("复制 2 个镜像");
    for (const english of ["Copy 2 images", "Target registry", "Preview", "images", "to send", "already there", "new tag"]) {
      expect(dialog).not.toHaveTextContent(english);
    }
  });
});
