// A small in-memory stand-in for the Rust commands, driven through mockIPC. It answers with the
// generated binding types, so a change on the Rust side breaks these tests at type-check time.
import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import type { AddProfileRequest } from "../src/bindings/AddProfileRequest";
import type { ApiError } from "../src/bindings/ApiError";
import type { Capabilities } from "../src/bindings/Capabilities";
import type { ErrorKind } from "../src/bindings/ErrorKind";
import type { ConnectionReport } from "../src/bindings/ConnectionReport";
import type { BlobAction } from "../src/bindings/BlobAction";
import type { CopyPlan } from "../src/bindings/CopyPlan";
import type { CopyProgress } from "../src/bindings/CopyProgress";
import type { CopyReferrer } from "../src/bindings/CopyReferrer";
import type { CopyReport } from "../src/bindings/CopyReport";
import type { CopyRequest } from "../src/bindings/CopyRequest";
import type { PlannedBlob } from "../src/bindings/PlannedBlob";
import type { TagAction } from "../src/bindings/TagAction";
import type { EditProfileRequest } from "../src/bindings/EditProfileRequest";
import type { ImageDetail } from "../src/bindings/ImageDetail";
import type { ProfileStatusView } from "../src/bindings/ProfileStatusView";
import type { ProfileView } from "../src/bindings/ProfileView";
import type { RepoNode } from "../src/bindings/RepoNode";
import type { SortBy } from "../src/bindings/SortBy";
import type { StorageView } from "../src/bindings/StorageView";
import type { TagView } from "../src/bindings/TagView";

export interface Call {
  cmd: string;
  args: unknown;
}

export type RepoSource =
  | readonly string[]
  | ApiError
  | ((call: number) => readonly string[] | ApiError | Promise<readonly string[]>);

export interface BackendOptions {
  profiles?: ProfileView[];
  /** When given, decides each list_profiles answer (1-based call number); may reject with an ApiError. */
  listProfiles?: (call: number) => ApiError | undefined;
  /** Repository names per profile (the tree is built from them, as the core does). */
  repositories?: Record<string, RepoSource>;
  /** Tags per "profile/repository". */
  tags?: Record<string, TagView[] | ApiError>;
  addProfile?: (request: AddProfileRequest) => ProfileView | ApiError;
  editProfile?: (name: string, request: EditProfileRequest) => ProfileView | ApiError;
  /** Connection test answers per profile; default: OK. */
  test?: Record<string, ConnectionReport | ApiError>;
  statuses?: ProfileStatusView[];
  /** inspect_image answers per "repository@reference". */
  images?: Record<string, ImageDetail | ApiError>;
  storage?: Record<string, StorageView>;
  /** How plan_copy / execute_copy / cancel_copy answer (default: an empty target, every source found). */
  copy?: CopyOptions;
  /** Any other command: return a value, or undefined for "unknown command". */
  other?: (cmd: string, args: Record<string, unknown>) => unknown;
}

/** The copy commands' world: what the target already holds, what the source lacks, how a run goes. */
export interface CopyOptions {
  /** Tags the target already has: "profile/repository:tag" → digest (the source's digest: "already there"). */
  targetTags?: Record<string, string>;
  /** Blobs every repository of the target already has. */
  targetBlobs?: readonly string[];
  /** Source references ("repo:tag") that are not on the source. */
  missing?: readonly string[];
  /** Source images ("repo:tag") with a cosign signature (copied along when asked). */
  signed?: readonly string[];
  /** Replaces the computed plan (an ApiError rejects). */
  plan?: (source: string, target: string, request: CopyRequest) => CopyPlan | ApiError | undefined;
  /** execute_copy waits for this after its first progress events, so a test sees the run. */
  hold?: () => Promise<void>;
  /** Replaces the computed report (an ApiError rejects). */
  report?: (plan: CopyPlan) => CopyReport | ApiError | undefined;
}

/** A layer every fixture image shares (a base image). */
export const BASE_LAYER = "sha256:" + "ba".repeat(32);
export const BASE_LAYER_SIZE = 3 * 1048576;

/** The digest the fixtures give `repo:tag` (as `tag()` does for the tag table). */
export function fixtureDigest(reference: string): string {
  const name = reference.slice(reference.lastIndexOf(":") + 1);
  return `sha256:${name.padEnd(64, "0").replace(/[^0-9a-f]/g, "a").slice(0, 64)}`;
}

function hexOf(seed: string, length = 64): string {
  let h = 0x811c9dc5;
  let out = "";
  while (out.length < length) {
    for (const ch of seed + out.length) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    out += h.toString(16).padStart(8, "0");
  }
  return out.slice(0, length);
}

/** What plan_copy answers, as berth_workflows::copy::plan_copy decides it, over the fixtures. */
export function copyPlanFor(source: string, target: string, request: CopyRequest, options: CopyOptions = {}): CopyPlan {
  const sameRegistry = source === target;
  const plan: CopyPlan = {
    source_profile: source,
    target_profile: target,
    same_registry: sameRegistry,
    request,
    images: [],
    refused: [],
    bytes_to_send: 0,
    blobs_to_send: 0,
    blobs_present: 0,
    blobs_to_mount: 0,
    notes: [],
  };
  const render = (template: string, repo: string, tag: string) => template.replaceAll("{repo}", repo).replaceAll("{tag}", tag);
  const decided = new Map<string, BlobAction>();
  const seen = new Set<string>();
  const decide = (sourceRepo: string, targetRepo: string, digest: string, size: number): PlannedBlob => {
    const key = `${targetRepo}@${digest}`;
    if (decided.has(key)) return { digest, size, action: { kind: "present" } };
    let action: BlobAction;
    if ((sameRegistry && sourceRepo === targetRepo) || options.targetBlobs?.includes(digest)) action = { kind: "present" };
    else if (sameRegistry) action = { kind: "mount", from: sourceRepo };
    else {
      const sentTo = [...decided.entries()].find(([k, a]) => k.endsWith(`@${digest}`) && a.kind === "send");
      action = sentTo !== undefined ? { kind: "mount", from: sentTo[0].slice(0, sentTo[0].indexOf("@")) } : { kind: "send" };
    }
    decided.set(key, action);
    return { digest, size, action };
  };
  for (const asked of request.sources) {
    const at = asked.indexOf("@");
    const colon = asked.lastIndexOf(":");
    const byDigest = at >= 0;
    const repo = byDigest ? asked.slice(0, at) : asked.slice(0, colon);
    const reference = byDigest ? asked.slice(at + 1) : asked.slice(colon + 1);
    if (options.missing?.includes(asked)) {
      plan.refused.push({ reference: asked, reason: `not on ${source}`, hint: "check the name, or sync the source profile to see what it has" });
      continue;
    }
    const digest = byDigest ? reference : fixtureDigest(asked);
    const targetRepo = render(request.target_repository ?? "{repo}", repo, byDigest ? "" : reference);
    const targetTag = byDigest
      ? request.target_tag !== undefined && !request.target_tag.includes("{tag}") && request.target_tag.trim() !== ""
        ? request.target_tag
        : undefined
      : render(request.target_tag ?? "{tag}", repo, reference);
    const targetRef = targetTag !== undefined ? `${targetRepo}:${targetTag}` : `${targetRepo}@${digest}`;
    if (seen.has(targetRef)) {
      plan.refused.push({
        reference: asked,
        reason: `${targetRef} is the target of another source in this copy`,
        hint: "use a tag template with {tag} so each source gets its own tag",
      });
      continue;
    }
    seen.add(targetRef);
    const existing = targetTag !== undefined ? options.targetTags?.[`${target}/${targetRepo}:${targetTag}`] : undefined;
    const tagAction: TagAction =
      targetTag === undefined ? { kind: "untagged" } : existing === undefined ? { kind: "create" } : existing === digest ? { kind: "same" } : { kind: "overwrite", previous: existing };
    if (tagAction.kind === "overwrite" && !request.overwrite) {
      plan.refused.push({
        reference: asked,
        reason: `${targetRef} exists on ${target} and points at another image (${tagAction.previous})`,
        hint: "choose overwrite to move the tag, or give another target tag",
      });
      continue;
    }
    const config = `sha256:${hexOf(`${digest}/config`)}`;
    const layer = `sha256:${hexOf(`${digest}/layer`)}`;
    const blobs = [
      decide(repo, targetRepo, config, 1_480),
      decide(repo, targetRepo, BASE_LAYER, BASE_LAYER_SIZE),
      decide(repo, targetRepo, layer, 1048576 + (reference.length % 7) * 65536),
    ];
    const referrers: CopyReferrer[] = [];
    if (request.with_referrers && options.signed?.includes(asked)) {
      const sig = `sha256:${hexOf(`${digest}/sig`)}`;
      referrers.push({
        digest: sig,
        kind: "cosign sig",
        tag: `sha256-${digest.slice("sha256:".length)}.sig`,
        manifests: [{ digest: sig, media_type: "application/vnd.oci.image.manifest.v1+json", size: 560 }],
        blobs: [decide(repo, targetRepo, `sha256:${hexOf(`${sig}/payload`)}`, 241)],
      });
    }
    const all = [...blobs, ...referrers.flatMap((r) => r.blobs)];
    plan.images.push({
      source_repository: repo,
      source_reference: reference,
      digest,
      media_type: "application/vnd.oci.image.manifest.v1+json",
      target_repository: targetRepo,
      ...(targetTag !== undefined ? { target_tag: targetTag } : {}),
      tag_action: tagAction,
      manifests: [{ digest, media_type: "application/vnd.oci.image.manifest.v1+json", size: 1_024 }],
      blobs,
      referrers,
      bytes_to_send: all.filter((b) => b.action.kind === "send").reduce((n, b) => n + b.size, 0),
    });
    for (const b of all) {
      if (b.action.kind === "send") {
        plan.blobs_to_send += 1;
        plan.bytes_to_send += b.size;
      } else if (b.action.kind === "present") plan.blobs_present += 1;
      else plan.blobs_to_mount += 1;
    }
  }
  if (sameRegistry && plan.bytes_to_send === 0 && plan.images.length > 0) plan.notes.push("source and target are the same registry: no blob is sent");
  return plan;
}

/** What execute_copy answers when every image copies and checks out on the target. */
export function copyReportFor(plan: CopyPlan, cancelled = false): CopyReport {
  const work = plan.images.flatMap((img) => [...img.blobs, ...img.referrers.flatMap((r) => r.blobs)]);
  const results = plan.images.map((img, i) => {
    const sourceRef = img.source_reference.startsWith("sha256:")
      ? `${plan.source_profile}/${img.source_repository}@${img.source_reference}`
      : `${plan.source_profile}/${img.source_repository}:${img.source_reference}`;
    const targetRef = img.target_tag !== undefined ? `${img.target_repository}:${img.target_tag}` : `${img.target_repository}@${img.digest}`;
    if (cancelled && i > 0)
      return { source: sourceRef, target: targetRef, digest: img.digest, result: "skipped", message: "cancelled before this image: run the copy again to finish it (sent blobs are not sent again)" };
    const message =
      img.tag_action.kind === "same"
        ? "the tag already points at this image"
        : plan.same_registry
          ? `tagged with ${img.referrers.length} referrer(s) (no blob moved)`
          : `copied with ${img.referrers.length} referrer(s)`;
    return { source: sourceRef, target: targetRef, digest: img.digest, result: "copied", message };
  });
  return {
    operation: "copy-1",
    results,
    blobs_sent: work.filter((b) => b.action.kind === "send").length,
    bytes_sent: plan.bytes_to_send,
    blobs_present: 0,
    blobs_mounted: work.filter((b) => b.action.kind === "mount").length,
    verified: !cancelled && results.length > 0 && results.every((r) => r.result === "copied"),
    cancelled,
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

/** Registry kinds the core reports as unreachable (berth_registry::Error::is_unreachable), as fixture data. */
const UNREACHABLE: readonly string[] = ["dns", "connection_refused", "connection_lost", "timeout", "connect"];

export function apiError(code: ApiError["code"], message: string, hint: string, registry: ErrorKind | null = null): ApiError {
  return { code, registry, message, hint, fix: null, unreachable: registry !== null && UNREACHABLE.includes(registry) };
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

/** The namespace tree of repository names, as berth_core::repository_tree builds it. */
export function treeOf(names: readonly string[], tagsPerRepo = 0, sizePerRepo = 0): RepoNode[] {
  const roots: RepoNode[] = [];
  for (const name of names) {
    const parts = name.split("/");
    let level = roots;
    let path = "";
    parts.forEach((part, i) => {
      path = path === "" ? part : `${path}/${part}`;
      let node = level.find((n) => n.name === part);
      if (node === undefined) {
        node = { name: part, path, is_repository: false, repositories: 0, tags: 0, size: 0, children: [] };
        level.push(node);
      }
      node.repositories += 1;
      node.tags += tagsPerRepo;
      node.size += sizePerRepo;
      if (i === parts.length - 1) node.is_repository = true;
      level = node.children;
    });
  }
  const sort = (nodes: RepoNode[]) => {
    nodes.sort((a, b) => a.name.localeCompare(b.name));
    nodes.forEach((n) => sort(n.children));
  };
  sort(roots);
  return roots;
}

/** The store's orders: name and digest and platforms ascending, created newest first, size largest first. */
export function sortTags(tags: readonly TagView[], sort: SortBy): TagView[] {
  const byName = (a: TagView, b: TagView) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const list = [...tags];
  switch (sort) {
    case "name":
      return list.sort(byName);
    case "digest":
      return list.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : byName(a, b)));
    case "platforms":
      return list.sort((a, b) => {
        const x = a.platforms.join(", ");
        const y = b.platforms.join(", ");
        return x < y ? -1 : x > y ? 1 : byName(a, b);
      });
    case "size":
      return list.sort((a, b) => b.size - a.size || byName(a, b));
    case "created":
      return list.sort((a, b) => {
        if (a.created === b.created) return byName(a, b);
        if (a.created === null) return 1;
        if (b.created === null) return -1;
        return a.created < b.created ? 1 : -1;
      });
    case "repository":
      return list.sort((a, b) => (a.repository < b.repository ? -1 : a.repository > b.repository ? 1 : byName(a, b)));
  }
}

export function mockBackend(options: BackendOptions = {}): Call[] {
  const calls: Call[] = [];
  const profiles = [...(options.profiles ?? [])];
  const repoCalls = new Map<string, number>();
  let profileCalls = 0;
  /** A copy is running (cancel_copy answers whether it stopped one), and whether it was cancelled. */
  let copying = false;
  let cancelled = false;

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
          const request = args["request"] as EditProfileRequest;
          const current = profiles.find((p) => p.name === name);
          if (current === undefined) throw apiError("not_found", `no profile ${name}`, "");
          const result = options.editProfile
            ? options.editProfile(name, request)
            : {
                ...current,
                url: request.url ?? current.url,
                kind: (request.kind as ProfileView["kind"] | null | undefined) ?? current.kind,
                // The core answers with the new backend's capabilities when the kind changes.
                capabilities: request.kind !== undefined ? (CAPABILITIES[request.kind] ?? current.capabilities) : current.capabilities,
              };
          if (isApiError(result)) throw result;
          profiles.splice(profiles.indexOf(current), 1, result);
          return result;
        }
        case "test_profile": {
          const name = args["profile"] as string;
          const p = profiles.find((x) => x.name === name);
          const answer = options.test?.[name] ?? okReport(name, p?.url ?? "");
          if (isApiError(answer)) throw answer;
          return answer;
        }
        case "list_repositories":
        case "repository_tree": {
          const name = args["profile"] as string;
          const n = (repoCalls.get(name) ?? 0) + 1;
          repoCalls.set(name, n);
          let source = options.repositories?.[name] ?? [];
          if (typeof source === "function") source = await source(n);
          if (isApiError(source)) throw source;
          const names = source as readonly string[];
          if (cmd === "list_repositories") return names.map((repo) => ({ name: repo, tags: null, size: null }));
          return treeOf(names);
        }
        case "list_tags": {
          const key = `${args["profile"] as string}/${args["repository"] as string}`;
          const source = options.tags?.[key] ?? [];
          if (isApiError(source)) throw source;
          const filter = args["filter"] as string | null;
          let list = sortTags(source, args["sort"] as SortBy);
          if (filter !== null && filter !== undefined) {
            // Rust's (?i) prefix becomes the JavaScript i flag.
            const re = filter.startsWith("(?i)") ? new RegExp(filter.slice(4), "i") : new RegExp(filter);
            list = list.filter((t) => re.test(t.name));
          }
          return list;
        }
        case "search_tags": {
          const q = (args["query"] as string).toLowerCase();
          const all = Object.values(options.tags ?? {}).flatMap((v) => (isApiError(v) ? [] : v));
          const hits = all.filter((t) => `${t.repository}:${t.name}`.toLowerCase().includes(q) || t.digest.includes(q));
          return { total: hits.length, tags: sortTags(hits, "name").slice(0, args["limit"] as number) };
        }
        case "inspect_image": {
          const key = `${args["repository"] as string}@${args["reference"] as string}`;
          const answer = options.images?.[key] ?? image(args["repository"] as string, args["reference"] as string);
          if (isApiError(answer)) throw answer;
          return answer;
        }
        case "storage": {
          const s = options.storage?.[args["profile"] as string];
          if (s === undefined) throw apiError("not_found", "not synced", "sync first");
          return s;
        }
        case "plan_copy": {
          const [source, target, request] = [args["source"] as string, args["target"] as string, args["request"] as CopyRequest];
          const answer = options.copy?.plan?.(source, target, request) ?? copyPlanFor(source, target, request, options.copy);
          if (isApiError(answer)) throw answer;
          return answer;
        }
        case "execute_copy": {
          const plan = args["plan"] as CopyPlan;
          const blobs = plan.blobs_to_send + plan.blobs_to_mount;
          const state: CopyProgress = {
            phase: "blobs",
            images_done: 0,
            images_total: plan.images.length,
            blobs_done: 0,
            blobs_total: blobs,
            bytes_done: 0,
            bytes_total: plan.bytes_to_send,
          };
          copying = true;
          cancelled = false;
          await emit("copy-progress", state);
          await emit("copy-progress", { ...state, blobs_done: Math.ceil(blobs / 2), bytes_done: Math.floor(plan.bytes_to_send / 2) });
          try {
            await options.copy?.hold?.();
          } finally {
            copying = false;
          }
          await emit("copy-progress", { ...state, phase: "manifests", blobs_done: blobs, bytes_done: plan.bytes_to_send });
          await emit("copy-progress", { ...state, phase: "verify", blobs_done: blobs, bytes_done: plan.bytes_to_send, images_done: plan.images.length });
          const answer = options.copy?.report?.(plan) ?? copyReportFor(plan, cancelled);
          if (isApiError(answer)) throw answer;
          return answer;
        }
        case "cancel_copy":
          // The running copy ends early: its report says cancelled, the images after the first skipped.
          if (!copying) return false;
          cancelled = true;
          return true;
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
