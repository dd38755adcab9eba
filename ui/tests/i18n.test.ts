// The message catalogue: both languages hold the same keys with the same placeholders, every key the
// window uses exists, the system language picks the locale, and the switch in the window changes it.
import { clearMocks } from "@tauri-apps/api/mocks";
import { render, screen, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { getMessageFormatter } from "svelte-i18n";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import App from "../src/App.svelte";
import { formatBytes, formatCount, formatDate, relativeTime } from "../src/lib/format";
import { en } from "../src/lib/i18n/en";
import { detectLocale, getLocale, localeFromTag, resetLocale, setLocale, t } from "../src/lib/i18n/index.svelte";
import { zhCN } from "../src/lib/i18n/zh-CN";
import { mockBackend, profile } from "./backend";

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
    mockBackend({ profiles: [profile("local", "http://127.0.0.1:5000", "registry")], repositories: { local: ["alpine"] } });
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
