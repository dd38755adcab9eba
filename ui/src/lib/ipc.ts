// The only module that talks to the Rust side. Components call these typed
// wrappers; every rejection is normalised into an `ApiError` so callers can
// rely on `message` and `hint` being present.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import { writeText } from "@tauri-apps/plugin-clipboard-manager";
import type { AboutView } from "../bindings/AboutView";
import type { DockerImportReport } from "../bindings/DockerImportReport";
import type { ImportReport } from "../bindings/ImportReport";
import type { ImportTrust } from "../bindings/ImportTrust";
import type { ProfileFile } from "../bindings/ProfileFile";
import type { ProfileRemovalView } from "../bindings/ProfileRemovalView";
import type { UntaggedView } from "../bindings/UntaggedView";
import type { EmptyRepositories } from "../bindings/EmptyRepositories";
import type { StorageScanView } from "../bindings/StorageScanView";
import type { AuditView } from "../bindings/AuditView";
import type { CopyPlan } from "../bindings/CopyPlan";
import type { CopyProgress } from "../bindings/CopyProgress";
import type { CopyReport } from "../bindings/CopyReport";
import type { CopyRequest } from "../bindings/CopyRequest";
import type { DeletePlan } from "../bindings/DeletePlan";
import type { DeleteProgress } from "../bindings/DeleteProgress";
import type { GcRequest } from "../bindings/GcRequest";
import type { DeleteReport } from "../bindings/DeleteReport";
import type { GcLogLine } from "../bindings/GcLogLine";
import type { GcPrediction } from "../bindings/GcPrediction";
import type { GcReport } from "../bindings/GcReport";
import type { GcRunView } from "../bindings/GcRunView";
import type { HarborProjectView } from "../bindings/HarborProjectView";
import type { HarborArtifactView } from "../bindings/HarborArtifactView";
import type { HarborPolicyView } from "../bindings/HarborPolicyView";
import type { ServerGcView } from "../bindings/ServerGcView";
import type { BlobStoreView } from "../bindings/BlobStoreView";
import type { NexusCleanupView } from "../bindings/NexusCleanupView";
import type { NexusComponentPage } from "../bindings/NexusComponentPage";
import type { NexusDiscoveryView } from "../bindings/NexusDiscoveryView";
import type { NexusTaskView } from "../bindings/NexusTaskView";
import type { PlanOptions } from "../bindings/PlanOptions";
import type { RestoreReport } from "../bindings/RestoreReport";
import type { RetentionPlan } from "../bindings/RetentionPlan";
import type { RetentionPolicy } from "../bindings/RetentionPolicy";
import type { Selection } from "../bindings/Selection";
import type { TrashView } from "../bindings/TrashView";
import type { AddProfileRequest } from "../bindings/AddProfileRequest";
import type { ApiError } from "../bindings/ApiError";
import type { CertificateDetail } from "../bindings/CertificateDetail";
import type { ConnectionReport } from "../bindings/ConnectionReport";
import type { EditProfileRequest } from "../bindings/EditProfileRequest";
import type { ErrorCode } from "../bindings/ErrorCode";
import type { ImageDetail } from "../bindings/ImageDetail";
import type { ProfileStatusView } from "../bindings/ProfileStatusView";
import type { ProfileView } from "../bindings/ProfileView";
import type { RepoNode } from "../bindings/RepoNode";
import type { RepositoryView } from "../bindings/RepositoryView";
import type { SearchResult } from "../bindings/SearchResult";
import type { Snippet } from "../bindings/Snippet";
import type { SortBy } from "../bindings/SortBy";
import type { StorageView } from "../bindings/StorageView";
import type { SyncProgressView } from "../bindings/SyncProgressView";
import type { SyncSummaryView } from "../bindings/SyncSummaryView";
import type { TagView } from "../bindings/TagView";
import type { TrustResult } from "../bindings/TrustResult";
import { t } from "./i18n/index.svelte";

// A record, not a list: a code added on the Rust side fails the type check until it is listed here
// (else its errors would arrive as "internal").
const ERROR_CODES: Record<ErrorCode, true> = {
  invalid_input: true,
  not_found: true,
  already_exists: true,
  registry: true,
  storage: true,
  keyring: true,
  cancelled: true,
  /** Another run of the same profile holds it; the message says which. */
  busy: true,
  internal: true,
};

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CODES, value);
}

function internal(message: string): ApiError {
  return {
    code: "internal",
    registry: null,
    // The message is the error's own (English, like the backend's); what Berth adds is translated.
    message: message.length > 0 ? message : t("error.unexpected"),
    hint: t("error.internalHint"),
    fix: null,
    unreachable: false,
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
        // The registry kind and the fix come from Rust's own types (ts-rs): passed through as sent.
        registry: typeof v["registry"] === "string" ? (v["registry"] as ApiError["registry"]) : null,
        message: v["message"],
        hint: typeof v["hint"] === "string" ? v["hint"] : "",
        fix: typeof v["fix"] === "object" && v["fix"] !== null ? (v["fix"] as ApiError["fix"]) : null,
        unreachable: v["unreachable"] === true,
      };
    }
  }
  return internal(String(value));
}

/** Calls made in the first seconds after the page loaded are measured ("ipc COMMAND") on the page's
 * performance timeline, where the window benchmark reads where a cold start's time went. */
const MEASURE_UNTIL_MS = 10_000;

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  const start = typeof performance !== "undefined" ? performance.now() : MEASURE_UNTIL_MS;
  try {
    return await invoke<T>(command, args);
  } catch (err) {
    throw toApiError(err);
  } finally {
    if (start < MEASURE_UNTIL_MS) performance.measure(`ipc ${command}`, { start });
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

export function about(): Promise<AboutView> {
  return call<AboutView>("about");
}

/** The system's message language (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), e.g. "zh_CN.UTF-8"; null: none set. */
export function systemLocale(): Promise<string | null> {
  return call<string | null>("system_locale");
}

export function profileStatuses(): Promise<ProfileStatusView[]> {
  return call<ProfileStatusView[]>("profile_statuses");
}

export function editProfile(profile: string, request: EditProfileRequest): Promise<ProfileView> {
  return call<ProfileView>("edit_profile", { profile, request });
}

export function testProfile(profile: string): Promise<ConnectionReport> {
  return call<ConnectionReport>("test_profile", { profile });
}

export function serverCertificates(profile: string): Promise<CertificateDetail[]> {
  return call<CertificateDetail[]>("server_certificates", { profile });
}

/** Trusts the server's chain (its topmost certificate as a CA), or pins the leaf. */
export function trustServer(profile: string, pin: boolean, sha256: string | null): Promise<TrustResult> {
  return call<TrustResult>("trust_server", { profile, pin, sha256 });
}

/** Trusts the token service on another host (its origin, as the connection test showed it) with the profile's password. */
export function trustTokenService(profile: string, origin: string): Promise<ProfileView> {
  return call<ProfileView>("trust_token_service", { profile, origin });
}

export function snippets(profile: string): Promise<Snippet[]> {
  return call<Snippet[]>("snippets", { profile });
}

export function showCertificateFile(path: string): Promise<CertificateDetail[]> {
  return call<CertificateDetail[]>("show_certificate_file", { path });
}

/** The native file dialog (run by the Rust side); null when cancelled. */
export function pickCertificateFile(): Promise<string | null> {
  return call<string | null>("pick_certificate_file");
}

export function repositoryTree(profile: string): Promise<RepoNode[]> {
  return call<RepoNode[]>("repository_tree", { profile });
}

/** The names of a repository's cached tags, sorted (and filtered) by the store; their rows come from tagsNamed. */
export function listTagNames(profile: string, repository: string, sort: SortBy, filter: string | null): Promise<string[]> {
  return call<string[]>("list_tag_names", { profile, repository, sort, filter });
}

/** The cached rows of the named tags, in that order (names the repository no longer holds are left
 *  out); at most 1,000 names at once (the core's defaults::TAG_ROWS_MAX). */
export function tagsNamed(profile: string, repository: string, names: string[]): Promise<TagView[]> {
  return call<TagView[]>("tags_named", { profile, repository, names });
}

/** One page of a search: hits offset..offset+limit of `total` (no cap: load further pages). */
export function searchTags(profile: string, query: string, sort: SortBy, limit: number, offset = 0): Promise<SearchResult> {
  return call<SearchResult>("search_tags", { profile, query, sort, limit, offset });
}

/** What removing a profile deletes (cache rows, trash, keyring entries, files): shown before confirming. */
export function profileRemoval(profile: string): Promise<ProfileRemovalView> {
  return call<ProfileRemovalView>("profile_removal", { profile });
}

export function deleteProfile(profile: string): Promise<ProfileView> {
  return call<ProfileView>("delete_profile", { profile });
}

export function duplicateProfile(profile: string, newName: string): Promise<ProfileView> {
  return call<ProfileView>("duplicate_profile", { profile, newName });
}

/** Asks where to save (native dialog) and writes the profile file; the path, or null when cancelled. */
export function exportProfile(profile: string): Promise<string | null> {
  return call<string | null>("export_profile", { profile });
}

/** Asks for a profile file (native dialog) and reads it, to show before importing; null when cancelled. */
export function pickProfileFile(): Promise<ProfileFile | null> {
  return call<ProfileFile | null>("pick_profile_file");
}

export function importProfile(path: string, name: string | null, trust: ImportTrust): Promise<ImportReport> {
  return call<ImportReport>("import_profile", { path, name, trust });
}

/** Docker's config.json and certs.d: the default file, or one picked (`pick`); `dryRun` previews. */
export function importDockerConfig(pick: boolean, dryRun: boolean, path: string | null = null): Promise<DockerImportReport | null> {
  return call<DockerImportReport | null>("import_docker_config", { path, pick, dryRun });
}

/** The native file dialog for a client certificate or key; null when cancelled. */
export function pickClientFile(what: "certificate" | "key"): Promise<string | null> {
  return call<string | null>("pick_client_file", { what });
}

/** Untagged manifests of a repository (or all); `check` HEADs each on the registry first. */
export function untaggedManifests(profile: string, repository: string | null, check: boolean): Promise<UntaggedView> {
  return call<UntaggedView>("untagged_manifests", { profile, repository, check });
}

/** The plan that deletes a whole repository (every tag and untagged manifest). */
export function planDeleteRepository(profile: string, repository: string): Promise<DeletePlan> {
  return call<DeletePlan>("plan_delete_repository", { profile, repository });
}

/** From the cache as the last sync saw it (instant, offline); `fresh` asks the registry. */
export function inspectImage(profile: string, repository: string, reference: string, fresh = false): Promise<ImageDetail> {
  return call<ImageDetail>("inspect_image", { profile, repository, reference, fresh });
}

export function harborProjects(profile: string): Promise<HarborProjectView[]> {
  return call<HarborProjectView[]>("harbor_projects", { profile });
}

/** Discovers a Nexus server profile's docker repositories (creates, updates, removes the profiles beneath it). */
export function nexusDiscover(profile: string): Promise<NexusDiscoveryView> {
  return call<NexusDiscoveryView>("nexus_discover", { profile });
}

export function nexusBlobStores(profile: string): Promise<BlobStoreView[]> {
  return call<BlobStoreView[]>("nexus_blob_stores", { profile });
}

/** One page of a Nexus repository profile's components; `token` from the previous page. */
export function nexusComponents(profile: string, token: string | null): Promise<NexusComponentPage> {
  return call<NexusComponentPage>("nexus_components", { profile, token });
}

export function nexusTasks(profile: string): Promise<NexusTaskView[]> {
  return call<NexusTaskView[]>("nexus_tasks", { profile });
}

export function nexusCleanupPolicies(profile: string): Promise<NexusCleanupView> {
  return call<NexusCleanupView>("nexus_cleanup_policies", { profile });
}

export function storage(profile: string): Promise<StorageView> {
  return call<StorageView>("storage", { profile });
}

export function syncProfile(profile: string): Promise<SyncSummaryView> {
  return call<SyncSummaryView>("sync_profile", { profile });
}

export function cancelSync(profile: string): Promise<boolean> {
  return call<boolean>("cancel_sync", { profile });
}

/** Subscribes to sync progress events; resolves to the unsubscribe function. */
export function onSyncProgress(handler: (p: SyncProgressView) => void): Promise<UnlistenFn> {
  return listen<SyncProgressView>("sync-progress", (event) => handler(event.payload));
}

/** Copies text to the system clipboard (clipboard-manager plugin: write only). */
export async function copyText(text: string): Promise<void> {
  try {
    await writeText(text);
  } catch (err) {
    throw toApiError(err);
  }
}

/** What deleting these tags would do; deletes nothing (the registry is asked what it holds now). */
export function planDelete(profile: string, selections: Selection[], options: PlanOptions): Promise<DeletePlan> {
  return call<DeletePlan>("plan_delete", { profile, selections, options });
}

/** Executes a confirmed plan (each action re-checked first); progress comes as `delete-progress` events. */
/** `typed`: what the user typed to confirm a plan whose `confirm_phrase` asks for it (core checks it). */
export function executeDelete(profile: string, plan: DeletePlan, typed: string | null = null): Promise<DeleteReport> {
  return call<DeleteReport>("execute_delete", { profile, plan, typed });
}

export function cancelDelete(profile: string): Promise<boolean> {
  return call<boolean>("cancel_delete", { profile });
}

export function onDeleteProgress(handler: (p: DeleteProgress) => void): Promise<UnlistenFn> {
  return listen<DeleteProgress>("delete-progress", (event) => handler(event.payload));
}

/** What copying these images from `source` to `target` would do; sends nothing (both registries are asked what they hold now). */
export function planCopy(source: string, target: string, request: CopyRequest): Promise<CopyPlan> {
  return call<CopyPlan>("plan_copy", { source, target, request });
}

/** Executes a confirmed copy plan (blobs, then manifests and tags, then a check on the target); progress comes as `copy-progress` events. */
export function executeCopy(plan: CopyPlan): Promise<CopyReport> {
  return call<CopyReport>("execute_copy", { plan });
}

/** Cancels the running copy: `profile` is the copy's target profile. */
export function cancelCopy(profile: string): Promise<boolean> {
  return call<boolean>("cancel_copy", { profile });
}

export function onCopyProgress(handler: (p: CopyProgress) => void): Promise<UnlistenFn> {
  return listen<CopyProgress>("copy-progress", (event) => handler(event.payload));
}

/** A retention policy's dry run: the plan and the tags kept, with why. */
export function planRetention(profile: string, policy: RetentionPolicy): Promise<RetentionPlan> {
  return call<RetentionPlan>("plan_retention", { profile, policy });
}

export function listTrash(profile: string, all: boolean): Promise<TrashView[]> {
  return call<TrashView[]>("list_trash", { profile, all });
}

export function restoreTrash(profile: string, id: number): Promise<RestoreReport> {
  return call<RestoreReport>("restore_trash", { profile, id });
}

export function auditLog(profile: string, limit: number): Promise<AuditView[]> {
  return call<AuditView[]>("audit_log", { profile, limit });
}

/** Bytes GC would free now, from the cache (offline). */
export function gcPending(profile: string): Promise<GcPrediction> {
  return call<GcPrediction>("gc_pending", { profile });
}

export function gcHistory(profile: string): Promise<GcRunView[]> {
  return call<GcRunView[]>("gc_history", { profile });
}

/** Runs the after command an interrupted GC run owes: `null` none owed, else whether it succeeded. */
export function gcRunAfter(profile: string): Promise<boolean | null> {
  return call<boolean | null>("gc_run_after", { profile });
}

/** The server's own GC history and schedule (Harbor), runs started outside Berth included. */
export function serverGc(profile: string): Promise<ServerGcView> {
  return call<ServerGcView>("server_gc", { profile });
}

/** Parameters of a GC run where the backend takes them (`capabilities.gc_parameters`: Harbor). */
export interface GcParameters {
  deleteUntagged: boolean;
  /** 1–10; `null`: the server's default. */
  workers: number | null;
}

/** `dryRun`: the registry's dry run beside Berth's prediction; else GC and the check after it. */
/** `registryStopped`: the user confirms the registry is stopped or read-only (no before command set). */
export function runGc(
  profile: string,
  dryRun: boolean,
  registryStopped = false,
  params: GcParameters | null = null,
): Promise<GcReport> {
  if (!registryStopped && params === null) return call<GcReport>("run_gc", { profile, dryRun });
  const request: GcRequest = {
    dry_run: dryRun,
    delete_untagged: params?.deleteUntagged ?? false,
    workers: params?.workers ?? null,
    registry_stopped: registryStopped,
  };
  return call<GcReport>("run_gc", { profile, dryRun, request });
}

/** Every artifact of a Harbor repository, tagged or not, with labels, scans and accessories. */
export function harborArtifacts(profile: string, repository: string): Promise<HarborArtifactView[]> {
  return call<HarborArtifactView[]>("harbor_artifacts", { profile, repository });
}

/** Each Harbor project's own tag immutability rules and tag retention policy. */
export function harborPolicies(profile: string): Promise<HarborPolicyView[]> {
  return call<HarborPolicyView[]>("harbor_policies", { profile });
}

/** Lists the storage's manifest revisions and caches untagged manifests no sync saw tagged. */
export function scanStorageUntagged(profile: string): Promise<StorageScanView> {
  return call<StorageScanView>("scan_storage_untagged", { profile });
}

/** Repositories with no tag left and the commands that remove their folders (nothing runs). */
export function emptyRepositories(profile: string): Promise<EmptyRepositories> {
  return call<EmptyRepositories>("empty_repositories", { profile });
}

/** Removes those folders between the GC before and after commands (log lines as `gc-log`). */
export function removeEmptyRepositories(profile: string): Promise<string[]> {
  return call<string[]>("remove_empty_repositories", { profile });
}

export function cancelGc(profile: string): Promise<boolean> {
  return call<boolean>("cancel_gc", { profile });
}

/** The GC log as it is written (`gc-log` events). */
export function onGcLog(handler: (l: GcLogLine) => void): Promise<UnlistenFn> {
  return listen<GcLogLine>("gc-log", (event) => handler(event.payload));
}

export type {
  AboutView,
  EmptyRepositories,
  StorageScanView,
  BlobStoreView,
  NexusCleanupView,
  NexusComponentPage,
  NexusDiscoveryView,
  NexusTaskView,
  AuditView,
  CopyPlan,
  CopyProgress,
  CopyReport,
  CopyRequest,
  DeletePlan,
  DeleteProgress,
  DeleteReport,
  GcLogLine,
  GcPrediction,
  GcReport,
  GcRunView,
  HarborProjectView,
  HarborArtifactView,
  HarborPolicyView,
  ServerGcView,
  PlanOptions,
  RestoreReport,
  RetentionPlan,
  RetentionPolicy,
  Selection,
  TrashView,
  AddProfileRequest,
  ApiError,
  CertificateDetail,
  ConnectionReport,
  EditProfileRequest,
  ErrorCode,
  ImageDetail,
  ProfileStatusView,
  ProfileView,
  RepoNode,
  RepositoryView,
  SearchResult,
  Snippet,
  SortBy,
  StorageView,
  SyncProgressView,
  SyncSummaryView,
  TagView,
  TrustResult,
};
