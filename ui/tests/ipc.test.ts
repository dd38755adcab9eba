import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import {
  addProfile,
  cancelSync,
  copyText,
  editProfile,
  inspectImage,
  listProfiles,
  listRepositories,
  listTagNames,
  pickCertificateFile,
  searchTags,
  tagsNamed,
  storage,
  syncProfile,
  toApiError,
  trustServer,
} from "../src/lib/ipc";

afterEach(() => {
  clearMocks();
});

describe("toApiError", () => {
  it("keeps a well-formed ApiError", () => {
    const err = {
      code: "registry",
      registry: "connection_refused",
      message: "connection refused",
      hint: "is it running?",
      fix: null,
      unreachable: true,
    };
    expect(toApiError(err)).toEqual(err);
  });

  it("wraps a string as an internal error", () => {
    expect(toApiError("boom")).toMatchObject({ code: "internal", registry: null, message: "boom" });
  });

  it("wraps an Error and unknown values as internal errors", () => {
    expect(toApiError(new Error("bad"))).toMatchObject({ code: "internal", message: "bad" });
    expect(toApiError(42)).toMatchObject({ code: "internal", message: "42" });
    expect(toApiError(undefined)).toMatchObject({ code: "internal", message: "undefined" });
  });

  it("keeps every code the Rust side sends, busy included", () => {
    const err = {
      code: "busy",
      registry: null,
      message: "A GC of lab is running",
      hint: "Wait for it to end, or cancel it.",
      fix: null,
      unreachable: false,
    };
    expect(toApiError(err)).toEqual(err);
  });

  it("fills in missing fields and rejects unknown codes", () => {
    expect(toApiError({ code: "weird", message: "m" })).toEqual({
      code: "internal",
      registry: null,
      message: "m",
      hint: "",
      fix: null,
      unreachable: false,
    });
  });
});

describe("command wrappers", () => {
  it("invoke the commands with the documented argument objects", async () => {
    const seen: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, args]);
      if (cmd === "list_profiles") return [];
      if (cmd === "add_profile") return { name: "a", url: "http://a", kind: "registry", username: null, created_at: "" };
      if (cmd === "list_repositories") return [{ name: "x" }];
      return null;
    });

    await expect(listProfiles()).resolves.toEqual([]);
    await expect(addProfile({ name: "a", url: "http://a" })).resolves.toMatchObject({ name: "a" });
    await expect(listRepositories("a")).resolves.toEqual([{ name: "x" }]);

    expect(seen[0]?.[0]).toBe("list_profiles");
    expect(seen[1]).toEqual(["add_profile", { request: { name: "a", url: "http://a" } }]);
    expect(seen[2]).toEqual(["list_repositories", { profile: "a" }]);
  });

  it("normalise a rejected string into an ApiError", async () => {
    mockIPC(() => {
      throw "plain failure";
    });
    await expect(listProfiles()).rejects.toMatchObject({ code: "internal", message: "plain failure" });
  });

  it("pass a structured ApiError through", async () => {
    const err = {
      code: "registry",
      registry: "connection_refused",
      message: "connection refused",
      hint: "is the registry running?",
      fix: null,
      unreachable: true,
    };
    mockIPC(() => {
      throw err;
    });
    await expect(listRepositories("r")).rejects.toEqual(err);
  });

  it("pass the argument names the Rust commands declare", async () => {
    const seen: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, args]);
      return cmd === "search_tags" ? { total: 0, tags: [] } : null;
    });
    await listTagNames("p", "team/app", "created", "(?i)v1");
    await tagsNamed("p", "team/app", ["v1", "v2"]);
    await searchTags("p", "app:", "size", 50);
    await inspectImage("p", "team/app", "1.0");
    await editProfile("p", { url: "http://x" });
    await trustServer("p", false, "ab");
    await pickCertificateFile();
    await storage("p");
    await syncProfile("p");
    await cancelSync("p");
    await copyText("hello");
    expect(seen).toEqual([
      ["list_tag_names", { profile: "p", repository: "team/app", sort: "created", filter: "(?i)v1" }],
      ["tags_named", { profile: "p", repository: "team/app", names: ["v1", "v2"] }],
      ["search_tags", { profile: "p", query: "app:", sort: "size", limit: 50, offset: 0 }],
      ["inspect_image", { profile: "p", repository: "team/app", reference: "1.0", fresh: false }],
      ["edit_profile", { profile: "p", request: { url: "http://x" } }],
      ["trust_server", { profile: "p", pin: false, sha256: "ab" }],
      ["pick_certificate_file", {}],
      ["storage", { profile: "p" }],
      ["sync_profile", { profile: "p" }],
      ["cancel_sync", { profile: "p" }],
      ["plugin:clipboard-manager|write_text", expect.objectContaining({ text: "hello" })],
    ]);
  });
});

describe("structured errors", () => {
  it("passes the fix and the unreachable flag through, and the window shows no CLI command", async () => {
    const { render } = await import("@testing-library/svelte");
    const ErrorBox = (await import("../src/lib/components/ErrorBox.svelte")).default;
    const fix = {
      action: { kind: "edit_profile" as const, profile: "lab", field: "password" as const },
      command: "berth profile edit lab --password-stdin",
    };
    const e = toApiError({
      code: "keyring",
      registry: null,
      message: 'the OS keyring has no password for profile "lab"',
      hint: "store it again in the profile",
      fix,
      unreachable: false,
    });
    expect(e.fix).toEqual(fix);
    expect(toApiError({ code: "registry", registry: "connection_refused", message: "m", unreachable: true }).unreachable).toBe(true);
    const { container } = render(ErrorBox, { props: { error: e } });
    expect(container.textContent).toContain("store it again in the profile");
    expect(container.textContent).not.toContain("berth profile");
  });
});
