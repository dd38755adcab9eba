// A fixture of the Rust commands' answers, driven through mockIPC. It answers with the generated
// binding types, so a change on the Rust side breaks these tests at type-check time.
//
// THE RULE: this mock keeps no logic of the core. Every answer is data the test supplies, literally
// or from a function the test writes that returns literal data for the request it gets. Nothing here
// sorts, filters, matches, groups, builds a tree, plans a copy or decides what a command would do:
// a test that depends on the core's order, filter, search or plan asserts the request the window
// sent (callsOf) and that the window showed the answer it was given. The core's own logic is tested
// in Rust (crates/*/tests, crates/e2e). The helpers below only build fixture objects.
import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import type { AddProfileRequest } from "../src/bindings/AddProfileRequest";
import type { ApiError } from "../src/bindings/ApiError";
import type { BlobAction } from "../src/bindings/BlobAction";
import type { Capabilities } from "../src/bindings/Capabilities";
import type { ErrorKind } from "../src/bindings/ErrorKind";
import type { ConnectionReport } from "../src/bindings/ConnectionReport";
import type { CopyPlan } from "../src/bindings/CopyPlan";
import type { CopyProgress } from "../src/bindings/CopyProgress";
import type { CopyReport } from "../src/bindings/CopyReport";
import type { CopyRequest } from "../src/bindings/CopyRequest";
import type { EditProfileRequest } from "../src/bindings/EditProfileRequest";
import type { ImageDetail } from "../src/bindings/ImageDetail";
import type { PlannedBlob } from "../src/bindings/PlannedBlob";
import type { PlannedCopy } from "../src/bindings/PlannedCopy";
import type { ProfileStatusView } from "../src/bindings/ProfileStatusView";
import type { ProfileView } from "../src/bindings/ProfileView";
import type { RepoNode } from "../src/bindings/RepoNode";
import type { SearchResult } from "../src/bindings/SearchResult";
import type { SortBy } from "../src/bindings/SortBy";
import type { StorageView } from "../src/bindings/StorageView";
import type { TagView } from "../src/bindings/TagView";

export interface Call {
  cmd: string;
  args: unknown;
}

/** A fixture answer: a value, or a function of the request that returns one (an ApiError rejects). */
type Answer<A, T> = T | ApiError | ((args: A) => T | ApiError | Promise<T>);

/** repository_tree's answer: the tree as the core returns it (see repoNode / namespaceNode). */
export type RepoSource = Answer<number, readonly RepoNode[]>;

/** The arguments of list_tag_names. */
export interface ListTagsArgs {
  profile: string;
  repository: string;
  sort: SortBy;
  filter: string | null;
}

/** The tags list_tag_names answers the names of (and tags_named the rows), as given: a list returned
 *  whatever the sort and filter, or a function of the request. */
export type TagSource = Answer<ListTagsArgs, readonly TagView[]>;

/** The arguments of search_tags. */
export interface SearchArgs {
  profile: string;
  query: string;
  sort: SortBy;
  limit: number;
  offset: number;
}

/** search_tags' answers: per query (whatever the sort and offset), or a function of the request. */
export type SearchSource = Readonly<Record<string, SearchResult | ApiError>> | ((args: SearchArgs) => SearchResult | ApiError | Promise<SearchResult>);

export interface BackendOptions {
  profiles?: ProfileView[];
  /** When given, decides each list_profiles answer (1-based call number); may reject with an ApiError. */
  listProfiles?: (call: number) => ApiError | undefined;
  /** repository_tree's answer per profile (the function gets the 1-based call number); default: no repository. */
  repositories?: Record<string, RepoSource>;
  /** A repository's tags per "profile/repository" (list_tag_names, tags_named); default: no tag. */
  tags?: Record<string, TagSource>;
  /** search_tags' answers; without them search_tags rejects. */
  search?: SearchSource;
  /** add_profile's answer; default: profile(name, url, kind) of the request. */
  addProfile?: (request: AddProfileRequest) => ProfileView | ApiError;
  /** edit_profile's answer; default: the profile as it was. */
  editProfile?: (name: string, request: EditProfileRequest) => ProfileView | ApiError;
  /** Connection test answers per profile; default: OK. */
  test?: Record<string, ConnectionReport | ApiError>;
  statuses?: ProfileStatusView[];
  /** inspect_image answers per "repository@reference". */
  images?: Record<string, ImageDetail | ApiError>;
  storage?: Record<string, StorageView>;
  /** How plan_copy / execute_copy / cancel_copy answer. */
  copy?: CopyOptions;
  /** Any other command: return a value, or undefined for "unknown command". */
  other?: (cmd: string, args: Record<string, unknown>) => unknown;
}

/** The copy commands' answers, all given by the test. */
export interface CopyOptions {
  /** plan_copy's answer (without it plan_copy rejects). */
  plan?: Answer<{ source: string; target: string; request: CopyRequest }, CopyPlan>;
  /** The copy-progress events execute_copy emits before it waits for `hold`. */
  progress?: readonly CopyProgress[];
  /** execute_copy waits for this after `progress`, so a test sees the run. */
  hold?: () => Promise<void>;
  /** The copy-progress events execute_copy emits after `hold`. */
  progressAfter?: readonly CopyProgress[];
  /** execute_copy's answer (without it execute_copy rejects). */
  report?: Answer<CopyPlan, CopyReport>;
  /** execute_copy's answer when cancel_copy was called while it ran (default: `report`). */
  cancelledReport?: CopyReport;
  /** cancel_copy's answer (whether it stopped a copy); default: true. */
  cancel?: boolean;
}

/** The digest the fixtures give `repo:tag` (as `tag()` does for the tag table). */
export function fixtureDigest(reference: string): string {
  const name = reference.slice(reference.lastIndexOf(":") + 1);
  return `sha256:${name.padEnd(64, "0").replace(/[^0-9a-f]/g, "a").slice(0, 64)}`;
}

/** A repository of the tree (a leaf unless `children` is given). */
export function repoNode(path: string, over: Partial<RepoNode> = {}): RepoNode {
  return { name: path.slice(path.lastIndexOf("/") + 1), path, is_repository: true, repositories: 1, tags: 0, size: 0, children: [], ...over };
}

/** A namespace of the tree holding `repositories` repositories in `children` (both as given). */
export function namespaceNode(path: string, repositories: number, children: RepoNode[], over: Partial<RepoNode> = {}): RepoNode {
  return { name: path.slice(path.lastIndexOf("/") + 1), path, is_repository: false, repositories, tags: 0, size: 0, children, ...over };
}

/** One blob of a copy plan. */
export function plannedBlob(digest: string, size: number, action: BlobAction = { kind: "send" }): PlannedBlob {
  return { digest, size, action };
}

/** One image of a copy plan, `repo:tag` onto `repo:tag` (a new tag, nothing to send unless `over` says). */
export function plannedCopy(source: string, target: string, over: Partial<PlannedCopy> = {}): PlannedCopy {
  const [sourceRepo, sourceTag] = [source.slice(0, source.lastIndexOf(":")), source.slice(source.lastIndexOf(":") + 1)];
  const [targetRepo, targetTag] = [target.slice(0, target.lastIndexOf(":")), target.slice(target.lastIndexOf(":") + 1)];
  const digest = fixtureDigest(source);
  return {
    source_repository: sourceRepo,
    source_reference: sourceTag,
    digest,
    media_type: "application/vnd.oci.image.manifest.v1+json",
    target_repository: targetRepo,
    target_tag: targetTag,
    tag_action: { kind: "create" },
    manifests: [{ digest, media_type: "application/vnd.oci.image.manifest.v1+json", size: 1_024 }],
    blobs: [],
    referrers: [],
    bytes_to_send: 0,
    ...over,
  };
}

/** A copy plan with the images, refusals and totals `over` gives (nothing is added up here). */
export function copyPlan(source: string, target: string, request: CopyRequest, over: Partial<CopyPlan> = {}): CopyPlan {
  return {
    source_profile: source,
    target_profile: target,
    same_registry: false,
    request,
    images: [],
    refused: [],
    bytes_to_send: 0,
    blobs_to_send: 0,
    blobs_present: 0,
    blobs_to_mount: 0,
    notes: [],
    ...over,
  };
}

/** What berth-backend's Registry2/Harbor/Nexus(Server)::CAPABILITIES say, as fixture answers. */
export const CAPABILITIES: Record<string, Capabilities> = {
  registry: {
    label: "registry:2", browse: true, untag_without_siblings: true, gc_dry_run: true, gc_commands: true,
    gc_server_job: false, gc_time_window: false, gc_lists_blobs: true, projects: false, tag_immutability: false,
    discovers_repositories: false, blob_stores: false,
    gc_parameters: false, gc_server_history: false, artifacts: false, server_retention: false,
  },
  harbor: {
    label: "Harbor", browse: true, untag_without_siblings: true, gc_dry_run: true, gc_commands: false,
    gc_server_job: true, gc_time_window: true, gc_lists_blobs: false, projects: true, tag_immutability: true,
    discovers_repositories: false, blob_stores: false,
    gc_parameters: true, gc_server_history: true, artifacts: true, server_retention: true,
  },
  nexus: {
    label: "Nexus", browse: false, untag_without_siblings: true, gc_dry_run: false, gc_commands: false,
    gc_server_job: true, gc_time_window: false, gc_lists_blobs: false, projects: false, tag_immutability: false,
    discovers_repositories: true, blob_stores: true,
    gc_parameters: false, gc_server_history: false, artifacts: false, server_retention: false,
  },
};

export function profile(name: string, url: string, kind: ProfileView["kind"] = "registry"): ProfileView {
  return {
    name,
    url,
    kind,
    capabilities: CAPABILITIES[kind] ?? CAPABILITIES.registry!,
    auth: "none",
    username: null,
    has_password: false,
    tls: { system_roots: true, cas: [], client_cert: null, has_key_passphrase: false, pinned_sha256: [], insecure_skip_verify: false, trusted_token_services: [] },
    gc: { command: null, before: null, after: null, storage_root: null, remote: null },
    warnings: [],
    link: null,
    created_at: "2025-01-01T00:00:00Z",
    updated_at: "2025-01-01T00:00:00Z",
  };
}

/** An ApiError as the core sends it; whether the server was unreachable is given, not derived from the kind. */
export function apiError(code: ApiError["code"], message: string, hint: string, registry: ErrorKind | null = null, unreachable = false): ApiError {
  return { code, registry, message, hint, fix: null, unreachable };
}

export function okReport(name: string, url: string): ConnectionReport {
  return {
    profile: name,
    url,
    ok: true,
    status: 200,
    api_version: "registry/2.0",
    auth: null,
    certificates: [],
    catalog_accessible: true,
    repositories: 1,
    delete: "enabled",
    delete_explained: null,
    token_service: null,
    error: null,
    checks: [],
  };
}

export function failedReport(name: string, url: string, error: ApiError): ConnectionReport {
  return { ...okReport(name, url), ok: false, status: null, catalog_accessible: null, repositories: null, delete: null, error };
}

export function tag(repository: string, name: string, over: Partial<TagView> = {}): TagView {
  return {
    repository,
    name,
    digest: `sha256:${name.padEnd(64, "0").replace(/[^0-9a-f]/g, "a").slice(0, 64)}`,
    media_type: "application/vnd.oci.image.manifest.v1+json",
    created: "2024-01-01T00:00:00Z",
    size: 1000,
    platforms: ["linux/amd64"],
    ...over,
  };
}

export function image(repository: string, reference: string, over: Partial<ImageDetail> = {}): ImageDetail {
  return {
    repository,
    reference,
    digest: "sha256:" + "ab".repeat(32),
    media_type: "application/vnd.oci.image.manifest.v1+json",
    size: 4096,
    platforms: [],
    resolved_platform: null,
    layers: [{ digest: "sha256:" + "11".repeat(32), media_type: "application/vnd.oci.image.layer.v1.tar+gzip", size: 3000 }],
    config: {
      created: "2024-01-01T00:00:00Z",
      os: "linux",
      architecture: "amd64",
      variant: null,
      labels: {},
      env: ["PATH=/usr/bin"],
      entrypoint: ["/bin/app"],
      cmd: ["--serve"],
      working_dir: "/srv",
      user: "app",
      history: [{ created: "2024-01-01T00:00:00Z", created_by: "COPY app /bin/app", comment: null, empty_layer: false }],
    },
    artifact_type: null,
    subject: null,
    referrers: [],
    sibling_tags: [],
    pull_tag: null,
    source: "registry",
    checked_at: null,
    notes: [],
    raw_manifest: '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}',
    pull: `docker pull 127.0.0.1:5000/${repository}@sha256:${"ab".repeat(32)}`,
    ...over,
  };
}

function isApiError(value: unknown): value is ApiError {
  return typeof value === "object" && value !== null && "code" in value && "message" in value && "hint" in value;
}

/** The fixture's answer to `args`: the value, or what the test's function returns; an ApiError rejects. */
async function answer<A, T>(source: Answer<A, T>, args: A): Promise<T> {
  const value = typeof source === "function" ? await (source as (args: A) => T | ApiError | Promise<T>)(args) : source;
  if (isApiError(value)) throw value;
  return value as T;
}

export function mockBackend(options: BackendOptions = {}): Call[] {
  const calls: Call[] = [];
  const profiles = [...(options.profiles ?? [])];
  const repoCalls = new Map<string, number>();
  let profileCalls = 0;
  /** cancel_copy was called while execute_copy ran: it answers the cancelled report. */
  let running = false;
  let cancelled = false;
  /** The tags list_tag_names last answered per "profile/repository": tags_named reads its rows from them. */
  const listed = new Map<string, readonly TagView[]>();

  mockIPC(
    async (cmd, rawArgs) => {
      const args = (rawArgs ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: rawArgs });
      switch (cmd) {
        case "list_profiles": {
          const failure = options.listProfiles?.(++profileCalls);
          if (failure !== undefined) throw failure;
          return [...profiles];
        }
        case "profile_statuses":
          return options.statuses ?? profiles.map((p) => ({ profile: p.name, last_sync: null, cached: false }));
        case "add_profile": {
          const request = args["request"] as AddProfileRequest;
          const result = options.addProfile ? options.addProfile(request) : profile(request.name, request.url, (request.kind as ProfileView["kind"] | null | undefined) ?? "registry");
          if (isApiError(result)) throw result;
          profiles.push(result);
          return result;
        }
        case "edit_profile": {
          const name = args["profile"] as string;
          const current = profiles.find((p) => p.name === name);
          const result = options.editProfile ? options.editProfile(name, args["request"] as EditProfileRequest) : current;
          if (result === undefined) throw apiError("not_found", `no profile ${name}`, "");
          if (isApiError(result)) throw result;
          if (current !== undefined) profiles.splice(profiles.indexOf(current), 1, result);
          return result;
        }
        case "test_profile": {
          const name = args["profile"] as string;
          const p = profiles.find((x) => x.name === name);
          const report = options.test?.[name] ?? okReport(name, p?.url ?? "");
          if (isApiError(report)) throw report;
          return report;
        }
        case "repository_tree": {
          const name = args["profile"] as string;
          const n = (repoCalls.get(name) ?? 0) + 1;
          repoCalls.set(name, n);
          return answer(options.repositories?.[name] ?? [], n);
        }
        case "list_tag_names": {
          const key = `${args["profile"] as string}/${args["repository"] as string}`;
          const list = await answer(options.tags?.[key] ?? [], rawArgs as unknown as ListTagsArgs);
          listed.set(key, list);
          return list.map((t) => t.name);
        }
        case "tags_named": {
          const key = `${args["profile"] as string}/${args["repository"] as string}`;
          const names = args["names"] as string[];
          if (names.length > 1000) throw apiError("invalid_input", `${names.length} tag names asked for at once`, "ask for at most 1000");
          const list =
            listed.get(key) ??
            (await answer(options.tags?.[key] ?? [], { profile: args["profile"], repository: args["repository"], sort: "name", filter: null } as ListTagsArgs));
          const byName = new Map(list.map((t) => [t.name, t]));
          return names.flatMap((n) => byName.get(n) ?? []);
        }
        case "search_tags": {
          const search = options.search;
          const request = rawArgs as unknown as SearchArgs;
          if (search === undefined) throw `no search_tags fixture (query ${request.query})`;
          if (typeof search === "function") return answer(search, request);
          const found = Object.hasOwn(search, request.query) ? search[request.query] : undefined;
          if (found === undefined) throw `no search_tags fixture for the query ${JSON.stringify(request.query)}`;
          return answer(found, request);
        }
        case "inspect_image": {
          const key = `${args["repository"] as string}@${args["reference"] as string}`;
          const detail = options.images?.[key] ?? image(args["repository"] as string, args["reference"] as string);
          if (isApiError(detail)) throw detail;
          return detail;
        }
        case "storage": {
          const s = options.storage?.[args["profile"] as string];
          if (s === undefined) throw apiError("not_found", "not synced", "sync first");
          return s;
        }
        case "plan_copy": {
          const plan = options.copy?.plan;
          if (plan === undefined) throw "no plan_copy fixture";
          return answer(plan, { source: args["source"] as string, target: args["target"] as string, request: args["request"] as CopyRequest });
        }
        case "execute_copy": {
          const report = options.copy?.report;
          if (report === undefined) throw "no execute_copy fixture";
          running = true;
          cancelled = false;
          try {
            for (const p of options.copy?.progress ?? []) await emit("copy-progress", p);
            await options.copy?.hold?.();
            for (const p of options.copy?.progressAfter ?? []) await emit("copy-progress", p);
          } finally {
            running = false;
          }
          if (cancelled && options.copy?.cancelledReport !== undefined) return options.copy.cancelledReport;
          return answer(report, args["plan"] as CopyPlan);
        }
        case "cancel_copy":
          if (running) cancelled = true;
          return options.copy?.cancel ?? true;
        case "plugin:clipboard-manager|write_text":
          return null;
        default: {
          const v = options.other?.(cmd, args);
          if (v === undefined) throw `unknown command ${cmd}`;
          return v;
        }
      }
    },
    { shouldMockEvents: true },
  );

  return calls;
}

export function callsOf(calls: readonly Call[], cmd: string): Call[] {
  return calls.filter((c) => c.cmd === cmd);
}
