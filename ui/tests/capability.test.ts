// The window may call exactly the commands it uses: every command src/lib/ipc.ts invokes is granted by
// the capability in tauri.conf.json and declared in src-tauri/command_list.rs (the one list that
// lib.rs registers and build.rs generates permissions from), and nothing else is granted or declared.
import { describe, expect, it } from "vitest";
import tauriConf from "../../tauri.conf.json?raw";
import commandList from "../../src-tauri/command_list.rs?raw";
import ipcSource from "../src/lib/ipc.ts?raw";

function invoked(): string[] {
  const src = ipcSource;
  return [...src.matchAll(/call<[^(]*>\("([a-z_]+)"/g)].map((m) => m[1] as string).sort();
}

describe("capability", () => {
  const conf = JSON.parse(tauriConf) as {
    app: { security: { capabilities: { identifier: string; permissions: string[] }[]; csp: Record<string, string> } };
  };
  const main = conf.app.security.capabilities.find((c) => c.identifier === "main");

  it("grants the app commands the UI invokes, and no others", () => {
    const granted = (main?.permissions ?? [])
      .filter((p) => p.startsWith("allow-"))
      .map((p) => p.slice("allow-".length).replace(/-/g, "_"))
      .sort();
    expect(invoked().length).toBeGreaterThan(10);
    expect(granted).toEqual([...new Set(invoked())].sort());
  });

  it("declares every granted command once in command_list.rs (registered and given a permission from there)", () => {
    const listed = [...commandList.matchAll(/^\s+[a-z_]+::([a-z_]+),$/gm)].map((m) => m[1]).sort();
    expect(listed.length).toBeGreaterThan(10);
    expect(new Set(listed).size).toBe(listed.length);
    expect(listed).toEqual([...new Set(invoked())].sort());
  });

  it("grants no plugin beyond event listening and writing the clipboard", () => {
    const plugins = (main?.permissions ?? []).filter((p) => p.includes(":"));
    expect(plugins.sort()).toEqual(["clipboard-manager:allow-write-text", "core:event:allow-listen", "core:event:allow-unlisten"]);
  });

  it("keeps the CSP strict: scripts from the app only, no remote origins", () => {
    const csp = conf.app.security.csp;
    expect(csp["script-src"]).toBe("'self'");
    expect(csp["default-src"]).toBe("'self'");
    expect(Object.values(csp).join(" ")).not.toMatch(/https?:\/\/(?!ipc\.localhost)|unsafe-eval/);
  });
});
