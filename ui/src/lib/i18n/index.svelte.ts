// The window's one message catalogue (svelte-i18n): English and Simplified Chinese.
// `t("key")` is typed against the English catalogue, so a key missing from it fails `svelte-check`;
// the Chinese catalogue is typed against the same keys, so a missing translation fails too
// (and `tests/i18n.test.ts` checks both at run time). Backend errors (ApiError) stay English.
import { addMessages, init, locale as localeStore, unwrapFunctionStore, format } from "svelte-i18n";
import { en, type MessageKey } from "./en";
import { zhCN } from "./zh-CN";

export type { MessageKey };
export type Locale = "en" | "zh-CN";
export const LOCALES: readonly Locale[] = ["en", "zh-CN"];
/** Each locale's own name, for the switch. */
export const LOCALE_NAMES: Record<Locale, string> = { en: "English", "zh-CN": "简体中文" };

const STORAGE_KEY = "berth.locale";

/** zh, zh-CN, zh-Hans, zh-Hans-CN, zh_CN.UTF-8 → zh-CN; anything else → en. */
export function localeFromTag(tag: string | null | undefined): Locale | null {
  if (tag === null || tag === undefined || tag === "") return null;
  const t = tag.toLowerCase().replace(/_/g, "-").split(".")[0] ?? "";
  if (t === "zh" || t.startsWith("zh-")) return "zh-CN";
  return null;
}

/** The webview's preferred language (WebKitGTK derives it from LANG): Chinese → zh-CN, else English. */
export function detectLocale(nav: { languages?: readonly string[]; language?: string } | undefined = globalThis.navigator): Locale {
  const first = nav?.languages?.[0] ?? nav?.language;
  return localeFromTag(first) ?? "en";
}

function stored(): Locale | null {
  try {
    const v = globalThis.localStorage?.getItem(STORAGE_KEY);
    return v === "en" || v === "zh-CN" ? v : null;
  } catch {
    return null;
  }
}

addMessages("en", en);
addMessages("zh-CN", zhCN);

const state = $state<{ locale: Locale }>({ locale: stored() ?? detectLocale() });
init({ fallbackLocale: "en", initialLocale: state.locale, ignoreTag: true });
setDocumentLang(state.locale);

const formatMessage = unwrapFunctionStore(format);

function setDocumentLang(l: Locale): void {
  if (typeof document !== "undefined") document.documentElement.lang = l;
}

/** The current locale; reading it inside a template or `$derived` re-renders on a switch. */
export function getLocale(): Locale {
  return state.locale;
}

/** Switches the window's language and remembers the choice. */
export function setLocale(l: Locale): void {
  state.locale = l;
  void localeStore.set(l);
  setDocumentLang(l);
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, l);
  } catch {
    // Not remembered; the window still switches.
  }
}

/** Follows the system's language (the shell reads LANG and friends) unless the user chose one here. */
export function followSystemLocale(tag: string | null | undefined): void {
  if (stored() !== null) return;
  const l = localeFromTag(tag) ?? "en";
  if (l === state.locale) return;
  state.locale = l;
  void localeStore.set(l);
  setDocumentLang(l);
}

/** Forgets a remembered choice and follows the system again (tests). */
export function resetLocale(): void {
  try {
    globalThis.localStorage?.removeItem(STORAGE_KEY);
  } catch {
    // Nothing remembered.
  }
  const l = detectLocale();
  state.locale = l;
  void localeStore.set(l);
  setDocumentLang(l);
}

/** A message in the current locale; ICU placeholders ("{count}", plurals) take `values`. */
export function t(key: MessageKey, values?: Record<string, string | number>): string {
  const l = state.locale;
  return values === undefined ? formatMessage(key, { locale: l }) : formatMessage(key, { locale: l, values });
}
