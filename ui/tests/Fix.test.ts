// An error's fix is an action in the window (a button that opens the field, syncs, tests again…),
// never the CLI's command.
import { clearMocks } from "@tauri-apps/api/mocks";
import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import App from "../src/App.svelte";
import type { ApiError } from "../src/bindings/ApiError";
import type { FixAction } from "../src/bindings/FixAction";
import ConnectionResult from "../src/lib/components/ConnectionResult.svelte";
import ErrorBox from "../src/lib/components/ErrorBox.svelte";
import { fixLabel } from "../src/lib/fix";
import { resetLocale, setLocale } from "../src/lib/i18n/index.svelte";
import type { CertificateDetail, ConnectionReport, SyncSummaryView } from "../src/lib/ipc";
import { apiError, callsOf, failedReport, mockBackend, okReport, profile, repoNode } from "./backend";
import FixHarness from "./FixHarness.svelte";

beforeEach(() => {
  localStorage.clear();
});

afterEach(() => {
  clearMocks();
  resetLocale();
});

/** What the CLI prints for a fix: the window must never show it. */
const COMMAND = "berth profile edit lab --password-stdin";

function failing(action: FixAction, command: string | null = COMMAND, code: ApiError["code"] = "registry"): ApiError {
  return { ...apiError(code, "the registry refused the request", "the profile needs attention"), fix: { action, command } };
}

/** Every kind the window acts on, with the button it shows. */
const ACTIONABLE: [FixAction, string][] = [
  [{ kind: "edit_profile", profile: "lab", field: "password" }, "Edit lab: credentials…"],
  [{ kind: "edit_profile", profile: "lab", field: "url" }, "Edit lab: endpoint…"],
  [{ kind: "edit_profile", profile: "lab", field: "client_certificate" }, "Edit lab: client certificate…"],
  [{ kind: "sync", profile: "lab" }, "Sync lab now"],
  [{ kind: "test_connection", profile: "lab" }, "Test the connection again"],
  [{ kind: "trust_server", profile: "lab" }, "View the server's certificate…"],
  [{ kind: "trust_token_service", profile: "lab", origin: "https://auth.lab" }, "Trust https://auth.lab…"],
  [{ kind: "add_profile" }, "Add a registry…"],
];

describe("fix labels", () => {
  it("names every kind and field in both languages, and nothing for a command", () => {
    for (const [action, label] of ACTIONABLE) expect(fixLabel(action)).toBe(label);
    expect(fixLabel({ kind: "command" })).toBeNull();
    const fields = { kind: "registry kind", username: "user", ca_file: "CA certificate", key_passphrase: "key passphrase", gc_command: "GC command" } as const;
    for (const [field, name] of Object.entries(fields)) {
      expect(fixLabel({ kind: "edit_profile", profile: "lab", field: field as keyof typeof fields })).toBe(`Edit lab: ${name}…`);
    }
    setLocale("zh-CN");
    expect(fixLabel({ kind: "edit_profile", profile: "lab", field: "password" })).toBe("编辑 lab：凭据…");
    expect(fixLabel({ kind: "sync", profile: "lab" })).toBe("立即同步 lab");
    expect(fixLabel({ kind: "trust_token_service", profile: "lab", origin: "https://auth.lab" })).toBe("信任 https://auth.lab…");
  });
});

describe("ErrorBox", () => {
  it.each(ACTIONABLE)("offers a %o fix as a button that calls the window's handler", async (action, label) => {
    const handler = vi.fn();
    const { container } = render(FixHarness, { handler, error: failing(action) });
    const button = screen.getByTestId("error-fix");
    expect(button).toHaveTextContent(label);
    expect(button).toHaveClass("btn");
    await userEvent.click(button);
    expect(handler).toHaveBeenCalledExactlyOnceWith(action);
    expect(container.textContent).not.toContain("berth ");
  });

  it("offers nothing for a command fix: the hint explains, the command is not shown", () => {
    const handler = vi.fn();
    const { container } = render(FixHarness, { handler, error: failing({ kind: "command" }, "berth gc lab --confirm") });
    expect(screen.getByTestId("error")).toHaveTextContent("the profile needs attention");
    expect(screen.queryByTestId("error-fix")).not.toBeInTheDocument();
    expect(container.textContent).not.toContain("berth");
  });

  it("offers nothing without a handler, and never shows the command", () => {
    const { container } = render(ErrorBox, { error: failing({ kind: "sync", profile: "lab" }, "berth sync lab") });
    expect(screen.getByTestId("error")).toHaveTextContent("the registry refused the request");
    expect(screen.queryByTestId("error-fix")).not.toBeInTheDocument();
    expect(container.textContent).not.toContain("berth");
  });

  it("takes an onfix prop over the window's handler, and keeps Retry", async () => {
    const handler = vi.fn();
    const errorfix = vi.fn();
    const action: FixAction = { kind: "sync", profile: "lab" };
    render(FixHarness, { handler, errorfix, error: failing(action) });
    await userEvent.click(screen.getByTestId("error-fix"));
    expect(errorfix).toHaveBeenCalledWith(action);
    expect(handler).not.toHaveBeenCalled();

    const onretry = vi.fn();
    const onfix = vi.fn();
    render(ErrorBox, { error: failing(action), onretry, onfix });
    const box = screen.getAllByTestId("error")[1] as HTMLElement;
    await userEvent.click(within(box).getByRole("button", { name: "Retry" }));
    expect(onretry).toHaveBeenCalled();
    await userEvent.click(within(box).getByTestId("error-fix"));
    expect(onfix).toHaveBeenCalledWith(action);
  });
});

describe("ConnectionResult", () => {
  function report(): ConnectionReport {
    return {
      ...failedReport("lab", "https://registry.lab", failing({ kind: "edit_profile", profile: "lab", field: "url" }, "berth profile edit lab --url URL")),
      checks: [
        { name: "ping", ok: true, detail: "answers", hint: null, fix: null, fatal: false },
        {
          name: "credentials",
          ok: false,
          detail: "401 Unauthorized",
          hint: "store the right password",
          fix: { action: { kind: "edit_profile", profile: "lab", field: "password" }, command: COMMAND },
          fatal: true,
        },
        {
          name: "cache",
          ok: false,
          detail: "never synced",
          hint: "sync it",
          fix: { action: { kind: "sync", profile: "lab" }, command: "berth sync lab" },
          fatal: false,
        },
        {
          name: "gc",
          ok: false,
          detail: "registry answers 405 to deletes",
          hint: "set REGISTRY_STORAGE_DELETE_ENABLED=true on the server",
          fix: { action: { kind: "command" }, command: "berth doctor lab" },
          fatal: false,
        },
      ],
    };
  }

  it("never shows a fix's command", () => {
    const { container } = render(ConnectionResult, { report: report(), onfix: vi.fn() });
    expect(screen.getAllByTestId("check")).toHaveLength(4);
    expect(container.textContent).not.toContain("berth");
    expect(container.querySelector("code")).toBeNull();
  });

  it("gives every actionable check fix a button: edit_profile through onfix, the others through the window's handler", async () => {
    const handler = vi.fn();
    const onfix = vi.fn();
    const { container } = render(FixHarness, { handler, report: report(), onfix });
    const buttons = screen.getAllByTestId("check-fix");
    expect(buttons.map((b) => b.textContent)).toEqual(["Edit lab: credentials…", "Sync lab now"]);
    await userEvent.click(buttons[0] as HTMLElement);
    expect(onfix).toHaveBeenCalledWith("lab", "password");
    await userEvent.click(buttons[1] as HTMLElement);
    expect(handler).toHaveBeenCalledWith({ kind: "sync", profile: "lab" });
    // The report's own error offers its fix too.
    await userEvent.click(screen.getByTestId("error-fix"));
    expect(handler).toHaveBeenCalledWith({ kind: "edit_profile", profile: "lab", field: "url" });
    expect(container.textContent).not.toContain("berth");
  });
});

describe("through the window", () => {
  const LAB = profile("lab", "https://registry.lab");
  const OTHER = profile("other", "https://other.lab");

  function cert(subject: string): CertificateDetail {
    return {
      subject,
      issuer: subject,
      not_before: "2024-01-01T00:00:00Z",
      not_after: "2034-01-01T00:00:00Z",
      sha256_fingerprint: "33".repeat(32),
      is_ca: true,
      self_signed: true,
      expired: false,
      names: [],
    };
  }

  async function openRepository(name = "app"): Promise<void> {
    const item = await screen.findByTestId("repo-item");
    expect(item).toHaveTextContent(name);
    await userEvent.click(item);
  }

  it("a tag list failing with a credentials fix opens the profile dialog at the password", async () => {
    const user = userEvent.setup();
    mockBackend({
      profiles: [LAB],
      repositories: { lab: [repoNode("app")] },
      tags: { "lab/app": failing({ kind: "edit_profile", profile: "lab", field: "password" }, COMMAND, "keyring") },
    });
    const { container } = render(App);
    await openRepository();

    const fix = await screen.findByTestId("error-fix");
    expect(fix).toHaveTextContent("Edit lab: credentials…");
    expect(container.textContent).not.toContain("berth profile");
    await user.click(fix);
    const dialog = await screen.findByRole("dialog", { name: "Edit lab" });
    await waitFor(() => expect(document.getElementById("profile-password")).toHaveFocus());
    expect(dialog.textContent).not.toContain("berth");
  });

  it("a failed connection test's credentials fix shows in the banner and opens the field", async () => {
    const user = userEvent.setup();
    const denied = failing({ kind: "edit_profile", profile: "lab", field: "username" }, "berth profile edit lab --username U");
    mockBackend({ profiles: [LAB], repositories: { lab: [repoNode("app")] }, test: { lab: failedReport("lab", LAB.url, denied) } });
    const { container } = render(App);

    const fix = await screen.findByTestId("banner-fix");
    expect(fix).toHaveTextContent("Edit lab: user…");
    expect(container.textContent).not.toContain("berth profile");
    await user.click(fix);
    expect(await screen.findByRole("dialog", { name: "Edit lab" })).toBeInTheDocument();
    await waitFor(() => expect(document.getElementById("profile-username")).toHaveFocus());
  });

  it("a sync fix selects the profile and starts its sync (one button, not two)", async () => {
    const user = userEvent.setup();
    const summary: SyncSummaryView = {
      profile: "lab",
      status: "ok",
      repositories: 1,
      tags: 0,
      manifests_fetched: 0,
      requests: 2,
      errors: 0,
      seconds: 0.1,
      repositories_removed: 0,
      error_samples: [],
    };
    const calls = mockBackend({
      profiles: [LAB],
      repositories: { lab: [repoNode("app")] },
      tags: { "lab/app": failing({ kind: "sync", profile: "lab" }, "berth sync lab", "not_found") },
      other: (cmd) => (cmd === "sync_profile" ? summary : undefined),
    });
    render(App);
    await openRepository();

    const fix = await screen.findByTestId("error-fix");
    expect(fix).toHaveTextContent("Sync lab now");
    expect(screen.queryByRole("button", { name: "Sync now" })).not.toBeInTheDocument();
    await user.click(fix);
    await waitFor(() => expect(callsOf(calls, "sync_profile")).toEqual([{ cmd: "sync_profile", args: { profile: "lab" } }]));
    expect(await screen.findByTestId("sync-summary")).toBeInTheDocument();
  });

  it("a trust_server fix inside the profile dialog replaces it with the certificate dialog", async () => {
    const user = userEvent.setup();
    const tls = {
      ...failing({ kind: "trust_server", profile: "lab" }, "berth cert trust lab"),
      message: "certificate signed by an unknown authority",
      registry: "tls_unknown_ca" as const,
    };
    const calls = mockBackend({
      profiles: [LAB],
      repositories: { lab: [repoNode("app")] },
      test: { lab: failedReport("lab", LAB.url, tls) },
      other: (cmd) => (cmd === "server_certificates" ? [cert("CN=Lab CA")] : undefined),
    });
    render(App);
    await screen.findByTestId("banner-fix");

    await user.click(screen.getByTestId("edit-profile"));
    const dialog = await screen.findByTestId("profile-dialog");
    await user.click(within(dialog).getByTestId("profile-test"));
    const fix = await within(dialog).findByTestId("error-fix");
    expect(fix).toHaveTextContent("View the server's certificate…");
    // The dialog's own certificate button would say the same: only the fix shows.
    expect(within(dialog).queryByTestId("open-certificates")).not.toBeInTheDocument();
    expect(dialog.textContent).not.toContain("berth");
    await user.click(fix);

    expect(await screen.findByTestId("certificate-dialog")).toBeInTheDocument();
    expect(screen.queryByTestId("profile-dialog")).not.toBeInTheDocument();
    expect(await screen.findAllByTestId("chain-cert")).toHaveLength(1);
    expect(callsOf(calls, "server_certificates")[0]?.args).toEqual({ profile: "lab" });
  });

  it("a trust_server fix in the window opens the certificate dialog", async () => {
    const user = userEvent.setup();
    mockBackend({
      profiles: [LAB],
      repositories: { lab: [repoNode("app")] },
      tags: { "lab/app": failing({ kind: "trust_server", profile: "lab" }, "berth cert trust lab") },
      other: (cmd) => (cmd === "server_certificates" ? [cert("CN=Lab CA")] : undefined),
    });
    render(App);
    await openRepository();
    await user.click(await screen.findByTestId("error-fix"));
    expect(await screen.findByRole("dialog", { name: /lab/ })).toHaveAttribute("data-testid", "certificate-dialog");
  });

  it("a fix inside another dialog closes it and opens what the fix leads to", async () => {
    const user = userEvent.setup();
    mockBackend({
      profiles: [LAB],
      repositories: { lab: [repoNode("app")] },
      other: (cmd) => {
        if (cmd === "server_certificates") throw failing({ kind: "edit_profile", profile: "lab", field: "url" }, "berth profile edit lab --url URL");
        return undefined;
      },
    });
    render(App);
    await screen.findByTestId("repo-item");
    await user.click(screen.getByTestId("certificates"));
    const certificates = await screen.findByTestId("certificate-dialog");
    const fix = await within(certificates).findByTestId("error-fix");
    expect(fix).toHaveTextContent("Edit lab: endpoint…");
    expect(certificates.textContent).not.toContain("berth");
    await user.click(fix);

    expect(await screen.findByRole("dialog", { name: "Edit lab" })).toBeInTheDocument();
    expect(screen.queryByTestId("certificate-dialog")).not.toBeInTheDocument();
    await waitFor(() => expect(document.getElementById("profile-url")).toHaveFocus());
  });

  it("a test_connection fix opens the profile dialog and tests again", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({
      profiles: [LAB],
      repositories: { lab: [repoNode("app")] },
      tags: { "lab/app": failing({ kind: "test_connection", profile: "lab" }, "berth test lab") },
    });
    render(App);
    await openRepository();
    await waitFor(() => expect(callsOf(calls, "test_profile")).toHaveLength(1));
    await user.click(await screen.findByTestId("error-fix"));

    const dialog = await screen.findByRole("dialog", { name: "Edit lab" });
    await waitFor(() => expect(callsOf(calls, "test_profile")).toHaveLength(2));
    expect(await within(dialog).findByTestId("connection-result")).toHaveTextContent("Connected");
    expect(callsOf(calls, "edit_profile")).toHaveLength(0);
  });

  it("a check's fix for another profile replaces the dialog with that profile's", async () => {
    const user = userEvent.setup();
    const report: ConnectionReport = {
      ...okReport("lab", LAB.url),
      checks: [
        {
          name: "mirror",
          ok: false,
          detail: "other's password is missing",
          hint: "store it",
          fix: { action: { kind: "edit_profile", profile: "other", field: "password" }, command: "berth profile edit other --password-stdin" },
          fatal: false,
        },
      ],
    };
    mockBackend({ profiles: [LAB, OTHER], repositories: { lab: [repoNode("app")] }, test: { lab: report } });
    render(App);
    await screen.findByTestId("repo-item");

    await user.click(screen.getByTestId("edit-profile"));
    const dialog = await screen.findByRole("dialog", { name: "Edit lab" });
    await user.click(within(dialog).getByTestId("profile-test"));
    const fix = await within(dialog).findByTestId("check-fix");
    expect(fix).toHaveTextContent("Edit other: credentials…");
    expect(dialog.textContent).not.toContain("berth");
    await user.click(fix);

    expect(await screen.findByRole("dialog", { name: "Edit other" })).toBeInTheDocument();
    expect(screen.queryByRole("dialog", { name: "Edit lab" })).not.toBeInTheDocument();
    expect(document.getElementById("profile-url")).toHaveValue("https://other.lab");
    await waitFor(() => expect(document.getElementById("profile-password")).toHaveFocus());
  });

  it("an add_profile fix opens the add dialog", async () => {
    const user = userEvent.setup();
    mockBackend({
      profiles: [LAB],
      repositories: { lab: [repoNode("app")] },
      tags: { "lab/app": failing({ kind: "add_profile" }, "berth profile add NAME URL", "not_found") },
    });
    render(App);
    await openRepository();
    await user.click(await screen.findByTestId("error-fix"));
    expect(await screen.findByRole("dialog", { name: "Add registry" })).toBeInTheDocument();
  });
});
