// A small in-memory stand-in for the Rust commands, driven through mockIPC.
import { mockIPC } from "@tauri-apps/api/mocks";
import type { AddProfileRequest } from "../src/bindings/AddProfileRequest";
import type { ApiError } from "../src/bindings/ApiError";
import type { ProfileView } from "../src/bindings/ProfileView";

export interface Call {
  cmd: string;
  args: unknown;
}

export type RepoSource = readonly string[] | ApiError | ((call: number) => readonly string[] | ApiError | Promise<readonly string[]>);

export interface BackendOptions {
  profiles?: ProfileView[];
  /** When given, decides each list_profiles answer (1-based call number); may reject with an ApiError. */
  listProfiles?: (call: number) => ApiError | undefined;
  repositories?: Record<string, RepoSource>;
  addProfile?: (request: AddProfileRequest) => ProfileView | ApiError;
}

export function profile(name: string, url: string, kind = "registry"): ProfileView {
  return {
    name,
    url,
    kind,
    auth: "none",
    username: null,
    has_password: false,
    tls: { system_roots: true, cas: [], client_cert: null, has_key_passphrase: false, pinned_sha256: [], insecure_skip_verify: false },
    gc: { command: null, before: null, after: null },
    warnings: [],
    created_at: "2025-01-01T00:00:00Z",
    updated_at: "2025-01-01T00:00:00Z",
  };
}

export function apiError(code: ApiError["code"], message: string, hint: string): ApiError {
  return { code, registry: null, message, hint };
}

function isApiError(value: unknown): value is ApiError {
  return typeof value === "object" && value !== null && "code" in value && "message" in value;
}

export function mockBackend(options: BackendOptions = {}): Call[] {
  const calls: Call[] = [];
  const profiles = [...(options.profiles ?? [])];
  const repoCalls = new Map<string, number>();
  let profileCalls = 0;

  mockIPC(async (cmd, args) => {
    calls.push({ cmd, args });
    switch (cmd) {
      case "list_profiles": {
        const failure = options.listProfiles?.(++profileCalls);
        if (failure !== undefined) throw failure;
        return [...profiles];
      }
      case "add_profile": {
        const { request } = args as { request: AddProfileRequest };
        const result = options.addProfile
          ? options.addProfile(request)
          : profile(request.name, request.url, "registry");
        if (isApiError(result)) throw result;
        profiles.push(result);
        return result;
      }
      case "list_repositories": {
        const { profile: name } = args as { profile: string };
        const n = (repoCalls.get(name) ?? 0) + 1;
        repoCalls.set(name, n);
        let source = options.repositories?.[name] ?? [];
        if (typeof source === "function") source = await source(n);
        if (isApiError(source)) throw source;
        return (source as readonly string[]).map((repo) => ({ name: repo }));
      }
      default:
        throw `unknown command ${cmd}`;
    }
  });

  return calls;
}

export function callsOf(calls: readonly Call[], cmd: string): Call[] {
  return calls.filter((c) => c.cmd === cmd);
}
