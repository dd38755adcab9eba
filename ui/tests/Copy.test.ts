// The copy flow (plan, confirm, progress, report) against the mocked commands (the real ones are
// tested in crates/workflows and crates/e2e/tests/copy.rs).
import { clearMocks } from "@tauri-apps/api/mocks";
import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import CopyDialog from "../src/lib/components/CopyDialog.svelte";
import ImageDetail from "../src/lib/components/ImageDetail.svelte";
import ProfilePane from "../src/lib/components/ProfilePane.svelte";
import type { CopyPlan, CopyReport, CopyRequest } from "../src/lib/ipc";
import type { CopyProgress } from "../src/bindings/CopyProgress";
import {
  apiError,
  CAPABILITIES,
  callsOf,
  copyPlan,
  fixtureDigest,
  mockBackend,
  plannedBlob,
  plannedCopy,
  profile,
  repoNode,
  tag,
} from "./backend";

afterEach(() => {
  clearMocks();
});

const OTHER = "sha256:" + "0f".repeat(32);
const BASE = "sha256:" + "ba".repeat(32);
const MiB = 1_048_576;
/** A digest for a fixture blob. */
const d = (hex: string) => "sha256:" + hex.repeat(64 / hex.length);

const PROFILES = [
  profile("lab", "http://127.0.0.1:5000"),
  profile("prod", "https://registry.prod.example"),
  profile("nx", "https://nexus.example", "nexus"),
  profile("hb", "https://harbor.example", "harbor"),
];

// The core's plans for three tags of lab/app onto prod, which has the base layer and another image
// at app:1.1; app:1.0 is signed. Without overwrite app:1.1 is refused; with it, it moves.
const THREE: CopyRequest = { sources: ["app:1.0", "app:1.1", "app:2.0"], overwrite: false, with_referrers: true };
const SIG = d("5e");
const IMG_10 = plannedCopy("app:1.0", "app:1.0", {
  blobs: [plannedBlob(d("c1"), 1_000), plannedBlob(BASE, 3 * MiB, { kind: "present" }), plannedBlob(d("11"), MiB)],
  referrers: [
    {
      digest: SIG,
      kind: "cosign sig",
      tag: `sha256-${fixtureDigest("app:1.0").slice(7)}.sig`,
      manifests: [{ digest: SIG, media_type: "application/vnd.oci.image.manifest.v1+json", size: 560 }],
      blobs: [plannedBlob(d("5a"), 241)],
    },
  ],
  bytes_to_send: 1_000 + MiB + 241,
});
const IMG_11 = plannedCopy("app:1.1", "app:1.1", {
  tag_action: { kind: "overwrite", previous: OTHER },
  blobs: [plannedBlob(d("c2"), 1_000), plannedBlob(BASE, 3 * MiB, { kind: "present" }), plannedBlob(d("12"), MiB)],
  bytes_to_send: 1_000 + MiB,
});
const IMG_20 = plannedCopy("app:2.0", "app:2.0", {
  blobs: [plannedBlob(d("c3"), 1_000), plannedBlob(BASE, 3 * MiB, { kind: "present" }), plannedBlob(d("13"), MiB)],
  bytes_to_send: 1_000 + MiB,
});
const PLAN_REFUSED: CopyPlan = copyPlan("lab", "prod", THREE, {
  images: [IMG_10, IMG_20],
  refused: [
    {
      reference: "app:1.1",
      reason: `app:1.1 exists on prod and points at another image (${OTHER})`,
      hint: "choose overwrite to move the tag, or give another target tag",
    },
  ],
  bytes_to_send: 2 * 1_000 + 2 * MiB + 241,
  blobs_to_send: 5,
  blobs_present: 2,
});
const PLAN_OVERWRITE: CopyPlan = copyPlan("lab", "prod", { ...THREE, overwrite: true }, {
  images: [IMG_10, IMG_11, IMG_20],
  bytes_to_send: 3 * 1_000 + 3 * MiB + 241,
  blobs_to_send: 7,
  blobs_present: 3,
});
const RUN: CopyProgress = { phase: "blobs", images_done: 0, images_total: 3, blobs_done: 0, blobs_total: 7, bytes_done: 0, bytes_total: PLAN_OVERWRITE.bytes_to_send };
const COPIED: CopyReport = {
  operation: "copy-1",
  results: [
    { source: "lab/app:1.0", target: "app:1.0", digest: IMG_10.digest, result: "copied", message: "copied with 1 referrer(s)" },
    { source: "lab/app:1.1", target: "app:1.1", digest: IMG_11.digest, result: "copied", message: "copied with 0 referrer(s)" },
    { source: "lab/app:2.0", target: "app:2.0", digest: IMG_20.digest, result: "copied", message: "copied with 0 referrer(s)" },
  ],
  blobs_sent: 7,
  bytes_sent: PLAN_OVERWRITE.bytes_to_send,
  blobs_present: 3,
  blobs_mounted: 0,
  verified: true,
  cancelled: false,
};

/** One image's part of a plan: a config and a layer to send. */
const SEND_TWO = { blobs: [plannedBlob(d("c9"), 1_000), plannedBlob(d("19"), MiB)], bytes_to_send: 1_000 + MiB };

describe("copy from the window", () => {
  it("opens from a selection, previews, drops the preview on an edit, copies with progress and reports", async () => {
    const { default: App } = await import("../src/App.svelte");
    const user = userEvent.setup();
    let release: (() => void) | null = null;
    const calls = mockBackend({
      profiles: PROFILES,
      repositories: { lab: [repoNode("app")] },
      tags: { "lab/app": [tag("app", "1.0"), tag("app", "1.1"), tag("app", "2.0")] },
      copy: {
        plan: ({ request }) => (request.overwrite ? PLAN_OVERWRITE : PLAN_REFUSED),
        progress: [RUN, { ...RUN, blobs_done: 4, bytes_done: 1_600_000 }],
        hold: () => new Promise<void>((resolve) => (release = resolve)),
        progressAfter: [{ ...RUN, phase: "verify", blobs_done: 7, bytes_done: RUN.bytes_total, images_done: 3 }],
        report: COPIED,
      },
    });
    render(App);
    await user.click(await screen.findByTestId("repo-item"));
    await waitFor(() => expect(screen.getAllByTestId("tag-row")).toHaveLength(3));
    await user.click(screen.getByTestId("select-all"));
    expect(screen.getByTestId("selection-bar")).toHaveTextContent("3 selected");
    await user.click(screen.getByTestId("copy-open"));

    const dialog = await screen.findByTestId("copy-dialog");
    expect(dialog).toHaveTextContent("Copy 3 images from lab");
    // Only profiles that browse can be targets; the source is one of them, as a retag.
    const select = within(dialog).getByTestId("copy-target") as HTMLSelectElement;
    expect([...select.options].map((o) => o.value)).toEqual(["lab", "prod", "hb"]);
    expect(select.options[0]).toHaveTextContent("lab (same registry: retag)");
    expect(select.value).toBe("prod");
    expect(within(dialog).getByTestId("copy-repo")).toHaveAttribute("placeholder", "{repo}");
    expect(within(dialog).getByTestId("copy-tag")).toHaveAttribute("placeholder", "{tag}");
    expect(within(dialog).queryByTestId("copy-plan-view")).toBeNull();

    await user.click(within(dialog).getByTestId("copy-plan"));
    const view = await within(dialog).findByTestId("copy-plan-view");
    expect(callsOf(calls, "plan_copy")[0]?.args).toEqual({
      source: "lab",
      target: "prod",
      request: { sources: ["app:1.0", "app:1.1", "app:2.0"], overwrite: false, with_referrers: true },
    });
    const rows = within(view).getAllByTestId("copy-plan-image");
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent("app:1.0 → app:1.0");
    expect(rows[0]).toHaveTextContent("new tag");
    expect(rows[0]).toHaveTextContent("3 to send, 1 already there, 0 mounted");
    expect(rows[0]).toHaveTextContent("0 mounted · 1.0 MB to send");
    expect(within(rows[0]!).getByTestId("copy-plan-referrer")).toHaveTextContent(`cosign sig sha256-${fixtureDigest("app:1.0").slice(7)}.sig`);
    expect(rows[1]).toHaveTextContent("app:2.0 → app:2.0");
    // The shared base layer: already on the target.
    expect(rows[1]).toHaveTextContent("2 to send, 1 already there, 0 mounted");
    const refusal = within(view).getByTestId("copy-refusal");
    expect(refusal).toHaveTextContent(`app:1.1: app:1.1 exists on prod and points at another image (${OTHER})`);
    expect(refusal).toHaveTextContent("choose overwrite to move the tag, or give another target tag");
    expect(within(view).getByTestId("copy-totals")).toHaveTextContent("2 images, 5 blobs to send (2.0 MB), 2 already there, 0 mounted.");
    expect(within(dialog).getByTestId("copy-confirm")).toHaveTextContent("Copy 2 images");

    // Any edit drops the preview: what would be confirmed must be what is shown.
    await user.type(within(dialog).getByTestId("copy-tag"), "{{tag}-rc");
    await waitFor(() => expect(within(dialog).queryByTestId("copy-plan-view")).toBeNull());
    expect(within(dialog).queryByTestId("copy-confirm")).toBeNull();
    await user.clear(within(dialog).getByTestId("copy-tag"));
    await user.click(within(dialog).getByTestId("copy-plan"));
    await within(dialog).findByTestId("copy-plan-view");
    await user.click(within(dialog).getByTestId("copy-overwrite"));
    await waitFor(() => expect(within(dialog).queryByTestId("copy-plan-view")).toBeNull());

    await user.click(within(dialog).getByTestId("copy-plan"));
    const again = await within(dialog).findByTestId("copy-plan-view");
    expect(callsOf(calls, "plan_copy").at(-1)?.args).toMatchObject({ request: { overwrite: true, with_referrers: true } });
    const rows2 = within(again).getAllByTestId("copy-plan-image");
    expect(rows2).toHaveLength(3);
    expect(rows2[1]).toHaveTextContent("app:1.1 → app:1.1");
    expect(rows2[1]).toHaveTextContent("replaces 0f0f0f0f0f0f");
    expect(within(again).queryByTestId("copy-refusal")).toBeNull();
    expect(within(again).getByTestId("copy-totals")).toHaveTextContent("3 images, 7 blobs to send (3.0 MB), 3 already there, 0 mounted.");

    const confirm = within(dialog).getByTestId("copy-confirm");
    expect(confirm).toHaveTextContent("Copy 3 images");
    await user.click(confirm);
    await waitFor(() => expect(callsOf(calls, "execute_copy")).toHaveLength(1));
    // What runs is the plan shown, as the core gave it.
    expect(callsOf(calls, "execute_copy")[0]?.args).toEqual({ plan: PLAN_OVERWRITE });
    const progress = await within(dialog).findByTestId("copy-progress");
    await waitFor(() => expect(progress).toHaveTextContent("blobs 4 / 7"));
    expect(progress).toHaveTextContent("Sending blobs");
    expect(progress).toHaveTextContent("1.5 MB / 3.0 MB");
    expect(progress).toHaveTextContent("images 0 / 3");
    expect(progress.querySelector("progress")).toHaveAttribute("max", String(3 * 1_000 + 3 * MiB + 241));
    expect(progress.querySelector("progress")).toHaveAttribute("value", "1600000");
    expect(within(dialog).getByTestId("copy-overwrite")).toBeDisabled();
    expect(within(dialog).getByTestId("copy-confirm")).toBeDisabled();
    expect(within(dialog).getByTestId("copy-cancel")).toBeInTheDocument();
    release!();

    const rep = await within(dialog).findByTestId("copy-report");
    const results = within(rep).getAllByTestId("copy-result");
    expect(results).toHaveLength(3);
    expect(results[0]).toHaveTextContent("copied");
    expect(results[0]).toHaveTextContent("lab/app:1.0");
    expect(results[0]).toHaveTextContent("→ app:1.0");
    expect(results[0]).toHaveTextContent("copied with 1 referrer(s)");
    expect(within(rep).getByTestId("copy-verified")).toHaveTextContent("Verified: every copied tag points at the source digest on the target.");
    expect(results[1]).toHaveTextContent("copied with 0 referrer(s)");
    expect(within(rep).getByTestId("copy-sent")).toHaveTextContent("3.0 MB sent; blobs: 7 sent, 3 already there, 0 mounted.");
    expect(within(dialog).queryByTestId("copy-plan-view")).toBeNull();
    await user.click(within(rep).getByTestId("copy-close"));
    expect(screen.queryByTestId("copy-dialog")).toBeNull();
  }, 30_000);

  it("opens from the image detail for the image shown", async () => {
    const { default: App } = await import("../src/App.svelte");
    const user = userEvent.setup();
    const calls = mockBackend({
      profiles: PROFILES,
      repositories: { lab: [repoNode("app")] },
      tags: { "lab/app": [tag("app", "1.0"), tag("app", "2.0")] },
      copy: {
        plan: ({ request }) =>
          copyPlan("lab", "hb", request, { images: [plannedCopy("app:2.0", "app:2.0", SEND_TWO)], bytes_to_send: 1_000 + MiB, blobs_to_send: 2 }),
      },
    });
    render(App);
    await user.click(await screen.findByTestId("repo-item"));
    await waitFor(() => expect(screen.getAllByTestId("tag-row")).toHaveLength(2));
    await user.click(screen.getAllByTestId("tag-row")[1] as HTMLElement);
    expect(await screen.findByTestId("detail-title")).toHaveTextContent("app:2.0");
    await user.click(screen.getByTestId("detail-copy-open"));
    const dialog = await screen.findByTestId("copy-dialog");
    expect(dialog).toHaveTextContent("Copy 1 image from lab");
    await user.selectOptions(within(dialog).getByTestId("copy-target"), "hb");
    await user.click(within(dialog).getByTestId("copy-referrers"));
    await user.click(within(dialog).getByTestId("copy-plan"));
    await within(dialog).findByTestId("copy-plan-view");
    expect(callsOf(calls, "plan_copy")[0]?.args).toEqual({
      source: "lab",
      target: "hb",
      request: { sources: ["app:2.0"], overwrite: false, with_referrers: false },
    });
  });
});

describe("copy dialog", () => {
  it("retags within the same registry: nothing sent, the tag template applied", async () => {
    const user = userEvent.setup();
    // The core's answers: the tag is already there; under the templates, three mounts from app.
    const present = [plannedBlob(d("c1"), 1_000, { kind: "present" }), plannedBlob(BASE, 3 * MiB, { kind: "present" }), plannedBlob(d("11"), MiB, { kind: "present" })];
    const mounted = present.map((b) => ({ ...b, action: { kind: "mount" as const, from: "app" } }));
    const calls = mockBackend({
      copy: {
        plan: ({ request }) =>
          request.target_tag === undefined
            ? copyPlan("lab", "lab", request, {
                same_registry: true,
                images: [plannedCopy("app:1.0", "app:1.0", { tag_action: { kind: "same" }, blobs: present })],
                blobs_present: 3,
                notes: ["source and target are the same registry: no blob is sent"],
              })
            : copyPlan("lab", "lab", request, {
                same_registry: true,
                images: [plannedCopy("app:1.0", "release/app:1.0-rc", { blobs: mounted })],
                blobs_to_mount: 3,
              }),
      },
    });
    render(CopyDialog, { source: "lab", references: ["app:1.0"], profiles: PROFILES, onclose: vi.fn() });
    await user.selectOptions(screen.getByTestId("copy-target"), "lab");
    await user.click(screen.getByTestId("copy-plan"));
    let view = await screen.findByTestId("copy-plan-view");
    expect(within(view).getByTestId("copy-plan-image")).toHaveTextContent("app:1.0 → app:1.0");
    expect(callsOf(calls, "plan_copy")[0]?.args).toEqual({ source: "lab", target: "lab", request: { sources: ["app:1.0"], overwrite: false, with_referrers: true } });
    expect(within(view).getByTestId("copy-plan-image")).toHaveTextContent("already there");
    expect(within(view).getByTestId("copy-plan-image")).toHaveTextContent("0 to send, 3 already there, 0 mounted");
    expect(view).toHaveTextContent("source and target are the same registry: no blob is sent");

    await user.type(screen.getByTestId("copy-repo"), "release/{{repo}");
    await user.type(screen.getByTestId("copy-tag"), "{{tag}-rc");
    await user.click(screen.getByTestId("copy-plan"));
    view = await screen.findByTestId("copy-plan-view");
    expect(callsOf(calls, "plan_copy").at(-1)?.args).toEqual({
      source: "lab",
      target: "lab",
      request: { sources: ["app:1.0"], target_repository: "release/{repo}", target_tag: "{tag}-rc", overwrite: false, with_referrers: true },
    });
    const row = within(view).getByTestId("copy-plan-image");
    expect(row).toHaveTextContent("app:1.0 → release/app:1.0-rc");
    expect(row).toHaveTextContent("new tag");
    expect(row).toHaveTextContent("0 to send, 0 already there, 3 mounted");
    expect(within(view).getByTestId("copy-totals")).toHaveTextContent("1 image, 0 blobs to send (0 B), 0 already there, 3 mounted.");
  });

  it("refuses two sources onto one target tag, and what the source lacks, with their hints", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({
      copy: {
        plan: ({ request }) =>
          copyPlan("lab", "prod", request, {
            images: [plannedCopy("app:1.0", "app:stable", { blobs: [plannedBlob(d("c1"), 1_000)], bytes_to_send: 1_000 })],
            refused: [
              { reference: "app:gone", reason: "not on lab", hint: "check the name, or sync the source profile to see what it has" },
              {
                reference: "app:2.0",
                reason: "app:stable is the target of another source in this copy",
                hint: "use a tag template with {tag} so each source gets its own tag",
              },
            ],
            bytes_to_send: 1_000,
            blobs_to_send: 1,
          }),
      },
    });
    render(CopyDialog, { source: "lab", references: ["app:gone", "app:1.0", "app:2.0"], profiles: PROFILES, onclose: vi.fn() });
    await user.type(screen.getByTestId("copy-tag"), "stable");
    await user.click(screen.getByTestId("copy-plan"));
    const view = await screen.findByTestId("copy-plan-view");
    expect(callsOf(calls, "plan_copy")[0]?.args).toEqual({
      source: "lab",
      target: "prod",
      request: { sources: ["app:gone", "app:1.0", "app:2.0"], target_tag: "stable", overwrite: false, with_referrers: true },
    });
    expect(within(view).getByTestId("copy-plan-image")).toHaveTextContent("app:1.0 → app:stable");
    const refusals = within(view).getAllByTestId("copy-refusal");
    expect(refusals).toHaveLength(2);
    expect(refusals[0]).toHaveTextContent("app:gone: not on lab check the name, or sync the source profile to see what it has");
    expect(refusals[1]).toHaveTextContent("app:2.0: app:stable is the target of another source in this copy");
    expect(refusals[1]).toHaveTextContent("use a tag template with {tag} so each source gets its own tag");
    expect(screen.getByTestId("copy-confirm")).toHaveTextContent("Copy 1 image");
    expect(screen.getByTestId("copy-confirm")).toBeEnabled();
  });

  it("disables Copy for a plan with only refusals", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({
      copy: {
        plan: ({ request }) =>
          copyPlan("lab", "prod", request, {
            refused: ["app:gone", "app:old"].map((reference) => ({ reference, reason: "not on lab", hint: "check the name, or sync the source profile to see what it has" })),
          }),
        report: COPIED,
      },
    });
    render(CopyDialog, { source: "lab", references: ["app:gone", "app:old"], profiles: PROFILES, onclose: vi.fn() });
    await user.click(screen.getByTestId("copy-plan"));
    const view = await screen.findByTestId("copy-plan-view");
    expect(within(view).getAllByTestId("copy-refusal")).toHaveLength(2);
    expect(within(view).queryAllByTestId("copy-plan-image")).toHaveLength(0);
    expect(within(view).getByTestId("copy-nothing")).toHaveTextContent("Nothing to copy.");
    expect(within(view).getByTestId("copy-totals")).toHaveTextContent("0 images, 0 blobs to send (0 B), 0 already there, 0 mounted.");
    const confirm = screen.getByTestId("copy-confirm");
    expect(confirm).toHaveTextContent("Copy 0 images");
    expect(confirm).toBeDisabled();
    await user.click(confirm);
    expect(callsOf(calls, "execute_copy")).toHaveLength(0);
  });

  it("shows a planning error with its hint", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({
      copy: { plan: apiError("invalid_input", 'target repository "Mirror/app": invalid repository name', "use lowercase letters, digits and . _ - /") },
    });
    render(CopyDialog, { source: "lab", references: ["app:1.0"], profiles: PROFILES, onclose: vi.fn() });
    await user.type(screen.getByTestId("copy-repo"), "Mirror/{{repo}");
    await user.click(screen.getByTestId("copy-plan"));
    const error = await screen.findByTestId("error");
    expect(error).toHaveTextContent('target repository "Mirror/app": invalid repository name');
    expect(error).toHaveTextContent("use lowercase letters, digits and . _ - /");
    expect(callsOf(calls, "plan_copy")[0]?.args).toMatchObject({ request: { target_repository: "Mirror/{repo}" } });
    expect(screen.queryByTestId("copy-confirm")).toBeNull();
  });

  it("cancels a running copy on the target profile and reports what was skipped", async () => {
    const user = userEvent.setup();
    let release: (() => void) | null = null;
    const [one, two] = [plannedCopy("app:1.0", "app:1.0", SEND_TWO), plannedCopy("app:2.0", "app:2.0", SEND_TWO)];
    const plan = copyPlan("lab", "prod", { sources: ["app:1.0", "app:2.0"], overwrite: false, with_referrers: true }, {
      images: [one, two],
      bytes_to_send: 2 * (1_000 + MiB),
      blobs_to_send: 4,
    });
    const report = (cancelled: boolean): CopyReport => ({
      operation: "copy-1",
      results: [
        { source: "lab/app:1.0", target: "app:1.0", digest: one.digest, result: "copied", message: "copied with 0 referrer(s)" },
        cancelled
          ? { source: "lab/app:2.0", target: "app:2.0", digest: two.digest, result: "skipped", message: "cancelled before this image: run the copy again to finish it (sent blobs are not sent again)" }
          : { source: "lab/app:2.0", target: "app:2.0", digest: two.digest, result: "copied", message: "copied with 0 referrer(s)" },
      ],
      blobs_sent: cancelled ? 2 : 4,
      bytes_sent: cancelled ? 1_000 + MiB : plan.bytes_to_send,
      blobs_present: 0,
      blobs_mounted: 0,
      verified: !cancelled,
      cancelled,
    });
    const calls = mockBackend({
      copy: {
        plan,
        progress: [{ phase: "blobs", images_done: 0, images_total: 2, blobs_done: 1, blobs_total: 4, bytes_done: 1_000, bytes_total: plan.bytes_to_send }],
        hold: () => new Promise<void>((resolve) => (release = resolve)),
        report: report(false),
        cancelledReport: report(true),
      },
    });
    const ondone = vi.fn();
    render(CopyDialog, { source: "lab", references: ["app:1.0", "app:2.0"], profiles: PROFILES, ondone, onclose: vi.fn() });
    await user.click(screen.getByTestId("copy-plan"));
    await screen.findByTestId("copy-plan-view");
    await user.click(screen.getByTestId("copy-confirm"));
    await screen.findByTestId("copy-progress");
    await user.click(screen.getByTestId("copy-cancel"));
    expect(callsOf(calls, "cancel_copy")[0]?.args).toEqual({ profile: "prod" });
    release!();

    const rep = await screen.findByTestId("copy-report");
    expect(rep).toHaveTextContent("Cancelled.");
    const results = within(rep).getAllByTestId("copy-result");
    expect(results[0]).toHaveAttribute("data-result", "copied");
    expect(results[1]).toHaveAttribute("data-result", "skipped");
    expect(results[1]).toHaveTextContent("cancelled before this image");
    expect(within(rep).getByTestId("copy-verified")).toHaveTextContent("Not verified");
    expect(ondone).toHaveBeenCalledWith("prod", report(true));
  });

  it("shows an execute error and keeps the plan to try again", async () => {
    const user = userEvent.setup();
    mockBackend({
      copy: {
        plan: ({ request }) =>
          copyPlan("lab", "prod", request, { images: [plannedCopy("app:1.0", "app:1.0", SEND_TWO)], bytes_to_send: 1_000 + MiB, blobs_to_send: 2 }),
        report: apiError("busy", "A sync of prod is running", "Wait for it to end, or cancel it, then copy again."),
      },
    });
    render(CopyDialog, { source: "lab", references: ["app:1.0"], profiles: PROFILES, onclose: vi.fn() });
    await user.click(screen.getByTestId("copy-plan"));
    await screen.findByTestId("copy-plan-view");
    await user.click(screen.getByTestId("copy-confirm"));
    const error = await screen.findByTestId("error");
    expect(error).toHaveTextContent("A sync of prod is running");
    expect(error).toHaveTextContent("Wait for it to end, or cancel it, then copy again.");
    expect(screen.getByTestId("copy-plan-view")).toBeInTheDocument();
    expect(screen.getByTestId("copy-confirm")).toBeEnabled();
  });
});

describe("copy entry points", () => {
  it("the image detail offers Copy to… only when given a handler", async () => {
    const user = userEvent.setup();
    mockBackend({});
    const oncopy = vi.fn();
    const { unmount } = render(ImageDetail, { profile: "lab", repository: "app", reference: "1.0", onclose: vi.fn(), oncopy });
    await user.click(screen.getByTestId("detail-copy-open"));
    expect(oncopy).toHaveBeenCalled();
    unmount();
    render(ImageDetail, { profile: "lab", repository: "app", reference: "1.0", onclose: vi.fn() });
    expect(screen.queryByTestId("detail-copy-open")).toBeNull();
  });

  it("hides Copy to… where the profile cannot browse, and passes digests as repo@digest", async () => {
    const user = userEvent.setup();
    const D = "sha256:" + "d1".repeat(32);
    mockBackend({ repositories: { lab: [repoNode("app")], nb: [repoNode("app")] }, tags: { "lab/app": [tag("app", "1.0")], "nb/app": [tag("app", "1.0")] } });
    const props = (p: ReturnType<typeof profile>, oncopy: (refs: string[]) => void) => ({
      profile: p,
      status: undefined,
      sync: undefined,
      reloadKey: 0,
      onsync: vi.fn(),
      oncancelsync: vi.fn(),
      ontested: vi.fn(),
      onedit: vi.fn(),
      oncertificates: vi.fn(),
      onsnippets: vi.fn(),
      ondelete: vi.fn(),
      oncopy,
      open: { repository: "app", reference: D, seq: 1 },
    });
    const oncopy = vi.fn();
    const { unmount } = render(ProfilePane, props(profile("lab", "http://127.0.0.1:5000"), oncopy));
    await user.click(await screen.findByTestId("detail-copy-open"));
    expect(oncopy).toHaveBeenCalledWith([`app@${D}`]);
    unmount();

    // A backend that cannot browse (a profile of a kind whose capabilities say so): no copy button anywhere.
    const blind = { ...profile("nb", "http://127.0.0.1:5001"), capabilities: { ...CAPABILITIES.registry!, browse: false } };
    render(ProfilePane, props(blind, vi.fn()));
    expect(screen.queryByTestId("detail-copy-open")).toBeNull();
    expect(screen.queryByTestId("copy-open")).toBeNull();
  });
});
