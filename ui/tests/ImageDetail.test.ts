import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import ImageDetail from "../src/lib/components/ImageDetail.svelte";
import { apiError, callsOf, image, mockBackend, type Call } from "./backend";

afterEach(() => {
  clearMocks();
});

const XSS = "<img src=x onerror=alert(1)>";
const AMD = "sha256:" + "a1".repeat(32);
const ARM = "sha256:" + "b2".repeat(32);

const INDEX = image("multi", "1.0", {
  media_type: "application/vnd.oci.image.index.v1+json",
  platforms: [
    { os: "linux", architecture: "amd64", variant: null, digest: AMD, size: 1111, created: null, pull: `docker pull 127.0.0.1:5000/multi@${AMD}` },
    { os: "linux", architecture: "arm64", variant: "v8", digest: ARM, size: 2222, created: "2024-02-02T00:00:00Z", pull: `docker pull 127.0.0.1:5000/multi@${ARM}` },
  ],
  resolved_platform: "linux/amd64",
  sibling_tags: ["latest"],
  referrers: [
    { digest: "sha256:" + "cc".repeat(32), media_type: "application/vnd.oci.image.manifest.v1+json", artifact_type: "application/vnd.dev.cosign.artifact.sig.v1+json", size: 700, source: "api", tag: null },
  ],
});
const ARM_IMAGE = image("multi", ARM, {
  digest: ARM,
  layers: [{ digest: "sha256:" + "99".repeat(32), media_type: "application/vnd.oci.image.layer.v1.tar+gzip", size: 5555 }],
  config: { ...image("multi", ARM).config!, architecture: "arm64", variant: "v8", labels: { "org.example.note": XSS } },
});

describe("image detail", () => {
  it("answers from the cache, says when the registry confirmed it, and Check the registry asks it again", async () => {
    const user = userEvent.setup();
    const cachedAt = new Date(Date.now() - 5 * 60_000).toISOString();
    const cached = {
      ...INDEX,
      source: "cache" as const,
      checked_at: cachedAt,
      pull_tag: "docker pull 127.0.0.1:5000/multi:1.0",
      notes: ["The registry did not answer (connection refused): this is the cache's copy."],
    };
    const calls: Call[] = [];
    mockIPC((cmd, raw) => {
      calls.push({ cmd, args: raw });
      if (cmd !== "inspect_image") throw `unknown command ${cmd}`;
      return (raw as { fresh: boolean }).fresh ? INDEX : cached;
    });
    render(ImageDetail, { profile: "lab", repository: "multi", reference: "1.0", onclose: vi.fn() });
    expect(await screen.findByTestId("detail-source")).toHaveTextContent("From the cache · the registry confirmed it 5 min ago");
    expect(screen.getByTestId("detail-notes")).toHaveTextContent("did not answer");
    expect(screen.getByTestId("pull-tag-line")).toHaveTextContent("docker pull 127.0.0.1:5000/multi:1.0");
    expect(screen.getAllByTestId("platform-created")).toHaveLength(1);
    expect(screen.getAllByRole("button", { name: "Copy the docker pull command of linux/arm64/v8" })).toHaveLength(1);

    await user.click(screen.getByTestId("detail-refresh"));
    await waitFor(() => expect(screen.getByTestId("detail-source")).toHaveTextContent("Checked against the registry just now"));
    expect(screen.queryByTestId("detail-notes")).toBeNull();
    expect(screen.queryByTestId("pull-tag-line")).toBeNull();
    expect(callsOf(calls, "inspect_image").map((c) => (c.args as { fresh: boolean }).fresh)).toEqual([false, true]);
  });

  it("shows the pull line, digest, siblings and each platform; a platform click loads its layers", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({ images: { "multi@1.0": INDEX, [`multi@${ARM}`]: ARM_IMAGE } });
    render(ImageDetail, { profile: "lab", repository: "multi", reference: "1.0", onclose: vi.fn() });

    expect(await screen.findByTestId("pull-line")).toHaveTextContent(`docker pull 127.0.0.1:5000/multi@sha256:${"ab".repeat(32)}`);
    expect(screen.getByTestId("detail-title")).toHaveTextContent("multi:1.0");
    expect(screen.getByTestId("detail-digest")).toHaveTextContent(INDEX.digest);
    expect(screen.getByTestId("sibling-tags")).toHaveTextContent("latest");
    const platforms = screen.getAllByTestId("platform").map((p) => p.textContent);
    expect(platforms[0]).toContain("linux/amd64");
    expect(platforms[1]).toContain("linux/arm64/v8");

    await user.click(screen.getAllByTestId("platform")[1] as HTMLElement);
    expect(await screen.findByTestId("shown-platform")).toHaveTextContent("linux/arm64/v8");
    await waitFor(() => expect(screen.getByTestId("layers")).toHaveTextContent("5.4 KB"));
    expect(callsOf(calls, "inspect_image").map((c) => c.args)).toEqual([
      { profile: "lab", repository: "multi", reference: "1.0", fresh: false },
      { profile: "lab", repository: "multi", reference: ARM, fresh: false },
    ]);

    // The arm64 config: its hostile label is text, and nothing runs.
    await user.click(screen.getByTestId("detail-tab-config"));
    expect(screen.getByTestId("label-value").textContent).toBe(XSS);
    expect(document.querySelector("img")).toBeNull();
    expect(screen.getByText('["/bin/app"]')).toBeInTheDocument();
    expect(screen.getByText("PATH=/usr/bin")).toBeInTheDocument();
  });

  it("shows history, referrers and the raw manifest; copy buttons write the clipboard", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({ images: { "multi@1.0": INDEX } });
    render(ImageDetail, { profile: "lab", repository: "multi", reference: "1.0", onclose: vi.fn() });
    await screen.findByTestId("pull-line");

    await user.click(screen.getByTestId("detail-tab-history"));
    expect(screen.getByText("COPY app /bin/app")).toBeInTheDocument();
    await user.click(screen.getByTestId("detail-tab-referrers"));
    expect(screen.getByTestId("referrers")).toHaveTextContent("cosign");
    await user.click(screen.getByTestId("detail-tab-manifest"));
    expect(screen.getByTestId("raw-manifest").textContent).toContain('"schemaVersion": 2');

    await user.click(screen.getByRole("button", { name: "Copy the docker pull command" }));
    await waitFor(() =>
      expect(callsOf(calls, "plugin:clipboard-manager|write_text").map((c) => (c.args as { text: string }).text)).toEqual([
        `docker pull 127.0.0.1:5000/multi@sha256:${"ab".repeat(32)}`,
      ]),
    );
    expect(screen.getByRole("button", { name: "Copy the docker pull command" })).toHaveTextContent("Copied");
  });

  it("renders every registry-controlled string of a hostile image as text", async () => {
    const hostile = image("evil", "x", {
      config: {
        ...image("evil", "x").config!,
        labels: { [XSS]: XSS },
        env: [XSS],
        history: [{ created: null, created_by: XSS, comment: XSS, empty_layer: true }],
      },
      raw_manifest: `{"annotations":{"a":"${XSS.replace(/"/g, '\\"')}"}}`,
    });
    const user = userEvent.setup();
    mockBackend({ images: { "evil@x": hostile } });
    const { container } = render(ImageDetail, { profile: "lab", repository: "evil", reference: "x", onclose: vi.fn() });
    await screen.findByTestId("pull-line");
    for (const t of ["config", "history", "manifest"]) {
      await user.click(screen.getByTestId(`detail-tab-${t}`));
      expect(container.textContent).toContain(XSS);
      expect(container.querySelector("img")).toBeNull();
    }
  });

  it("shows an inspect failure with its hint and retries", async () => {
    const user = userEvent.setup();
    let fail = true;
    const calls = mockBackend({
      images: {
        get "app@1"() {
          return fail ? apiError("registry", "connection refused", "is the registry running?", "connection_refused", true) : image("app", "1");
        },
      },
    });
    render(ImageDetail, { profile: "lab", repository: "app", reference: "1", onclose: vi.fn() });
    const err = await screen.findByTestId("error");
    expect(err).toHaveTextContent("is the registry running?");
    fail = false;
    await user.click(within(err).getByRole("button", { name: "Retry" }));
    expect(await screen.findByTestId("pull-line")).toBeInTheDocument();
    expect(callsOf(calls, "inspect_image")).toHaveLength(2);
  });

  it("reads the image again after a sync or delete, and says so when the tag is gone", async () => {
    const user = userEvent.setup();
    let gone = false;
    const calls = mockBackend({
      images: {
        get "app@1"() {
          return gone ? apiError("not_found", "app:1 not found", "list the tags") : image("app", "1");
        },
      },
    });
    const onclose = vi.fn();
    const { rerender } = render(ImageDetail, { profile: "lab", repository: "app", reference: "1", reloadKey: 0, onclose });
    expect(await screen.findByTestId("pull-line")).toBeInTheDocument();
    // Deleted elsewhere in the window: the pane bumps reloadKey.
    gone = true;
    await rerender({ profile: "lab", repository: "app", reference: "1", reloadKey: 1, onclose });
    const notice = await screen.findByTestId("detail-gone");
    expect(notice).toHaveTextContent("app:1 is not in the registry any more");
    expect(screen.queryByTestId("pull-line")).toBeNull();
    expect(screen.queryByTestId("error")).toBeNull();
    expect(callsOf(calls, "inspect_image")).toHaveLength(2);
    await user.click(within(notice).getByRole("button", { name: "Close" }));
    expect(onclose).toHaveBeenCalledOnce();
  });
});
