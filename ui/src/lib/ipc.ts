// The only module that talks to the Rust side. Components call these typed
// wrappers; every rejection is normalised into an `ApiError` so callers can
// rely on `message` and `hint` being present.
import { invoke } from "@tauri-apps/api/core";
import type { AboutView } from "../bindings/AboutView";
import type { AddProfileRequest } from "../bindings/AddProfileRequest";
import type { ApiError } from "../bindings/ApiError";
import type { ErrorCode } from "../bindings/ErrorCode";
import type { ProfileView } from "../bindings/ProfileView";
import type { RepositoryView } from "../bindings/RepositoryView";

const ERROR_CODES: readonly ErrorCode[] = [
  "invalid_input",
  "not_found",
  "already_exists",
  "registry",
  "storage",
  "internal",
];

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}

function internal(message: string): ApiError {
  return {
    code: "internal",
    registry: null,
    message: message.length > 0 ? message : "Unexpected error",
    hint: "This looks like a bug in Berth. Try again; if it keeps happening, restart the app.",
  };
}

/** Turns whatever an `invoke` promise rejected with into an `ApiError`. */
export function toApiError(value: unknown): ApiError {
  if (typeof value === "string") return internal(value);
  if (value instanceof Error) return internal(value.message);
  if (typeof value === "object" && value !== null) {
    const v = value as Record<string, unknown>;
    if (typeof v["message"] === "string") {
      return {
        code: isErrorCode(v["code"]) ? v["code"] : "internal",
        registry: typeof v["registry"] === "string" ? v["registry"] : null,
        message: v["message"],
        hint: typeof v["hint"] === "string" ? v["hint"] : "",
      };
    }
  }
  return internal(String(value));
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (err) {
    throw toApiError(err);
  }
}

export function listProfiles(): Promise<ProfileView[]> {
  return call<ProfileView[]>("list_profiles");
}

export function addProfile(request: AddProfileRequest): Promise<ProfileView> {
  return call<ProfileView>("add_profile", { request });
}

export function listRepositories(profile: string): Promise<RepositoryView[]> {
  return call<RepositoryView[]>("list_repositories", { profile });
}

export type { AddProfileRequest, ApiError, ErrorCode, ProfileView, RepositoryView };

export function about(): Promise<AboutView> {
  return call<AboutView>("about");
}

export type { AboutView };
