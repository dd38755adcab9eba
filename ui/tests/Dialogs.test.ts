import { clearMocks } from "@tauri-apps/api/mocks";
import { render, screen, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import CertificateDialog from "../src/lib/components/CertificateDialog.svelte";
import ProfileDialog from "../src/lib/components/ProfileDialog.svelte";
import SnippetsDialog from "../src/lib/components/SnippetsDialog.svelte";
import type { CertificateDetail } from "../src/lib/ipc";
import { apiError, callsOf, failedReport, mockBackend, profile } from "./backend";

afterEach(() => {
  clearMocks();
});

function cert(subject: string, issuer: string, is_ca: boolean, fp: string): CertificateDetail {
  return {
    subject,
    issuer,
    not_before: "2024-01-01T00:00:00Z",
    not_after: "2034-01-01T00:00:00Z",
    sha256_fingerprint: fp,
    is_ca,
    self_signed: subject === issuer,
    expired: false,
    names: is_ca ? [] : ["registry.lab"],
  };
}

const LEAF = cert("CN=registry.lab", "CN=Lab CA", false, "11".repeat(32));
const CA = cert("CN=Lab CA", "CN=Lab CA", true, "22".repeat(32));

describe("profile dialog", () => {
  it("adds a Harbor profile with credentials and an imported CA file, then tests it", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({
      other: (cmd) => {
        if (cmd === "pick_certificate_file") return "/tmp/lab-ca.pem";
        if (cmd === "show_certificate_file") return [CA];
        return undefined;
      },
    });
    const onsaved = vi.fn();
    const onclose = vi.fn();
    render(ProfileDialog, { onsaved, onclose });

    await user.click(screen.getByTestId("kind-harbor"));
    expect(screen.getByPlaceholderText("https://harbor.example.com")).toBeInTheDocument();
    await user.type(document.getElementById("profile-name") as HTMLInputElement, "harbor");
    await user.type(document.getElementById("profile-url") as HTMLInputElement, "https://harbor.lab");
    await user.type(document.getElementById("profile-username") as HTMLInputElement, "robot$ci");
    await user.type(document.getElementById("profile-password") as HTMLInputElement, "s3cret");
    await user.click(screen.getByTestId("import-ca"));
    expect(await screen.findByTestId("picked-ca")).toHaveTextContent("CN=Lab CA");
    expect(screen.getByTestId("picked-ca")).toHaveTextContent("/tmp/lab-ca.pem");
    await user.click(screen.getByTestId("add-profile-submit"));

    await waitFor(() => expect(onclose).toHaveBeenCalled());
    expect(callsOf(calls, "add_profile")[0]?.args).toEqual({
      request: {
        name: "harbor",
        url: "https://harbor.lab",
        kind: "harbor",
        auth: "basic",
        username: "robot$ci",
        password: "s3cret",
        ca_files: ["/tmp/lab-ca.pem"],
      },
    });
    expect(callsOf(calls, "test_profile")[0]?.args).toEqual({ profile: "harbor" });
    expect(onsaved).toHaveBeenCalledWith(expect.objectContaining({ name: "harbor" }), expect.objectContaining({ ok: true }));
  });

  it("keeps a new profile whose test fails open with the diagnosis, its fix and the certificate button", async () => {
    const user = userEvent.setup();
    const tlsError = apiError("registry", "certificate signed by an unknown authority", "import the registry's CA (Certificates…)", "tls_unknown_ca");
    mockBackend({ test: { lab: failedReport("lab", "https://registry.lab", tlsError) } });
    const oncertificates = vi.fn();
    const onclose = vi.fn();
    render(ProfileDialog, { onsaved: vi.fn(), onclose, oncertificates });

    await user.type(document.getElementById("profile-name") as HTMLInputElement, "lab");
    await user.type(document.getElementById("profile-url") as HTMLInputElement, "https://registry.lab");
    await user.click(screen.getByTestId("add-profile-submit"));

    const error = await screen.findByTestId("error");
    expect(error).toHaveTextContent("unknown authority");
    expect(error).toHaveTextContent("import the registry's CA");
    expect(onclose).not.toHaveBeenCalled();
    await user.click(screen.getByTestId("open-certificates"));
    expect(oncertificates).toHaveBeenCalledWith("lab");
  });

  it("edits only what changed, and Test connection reports", async () => {
    const user = userEvent.setup();
    const lab = profile("lab", "http://127.0.0.1:5000");
    const calls = mockBackend({ profiles: [lab] });
    render(ProfileDialog, { profile: lab, onsaved: vi.fn(), onclose: vi.fn() });

    expect(document.getElementById("profile-name")).toBeNull();
    const url = document.getElementById("profile-url") as HTMLInputElement;
    await user.clear(url);
    await user.type(url, "http://127.0.0.1:5001");
    await user.click(screen.getByTestId("profile-test"));
    expect(await screen.findByTestId("connection-result")).toHaveTextContent("Connected");
    expect(callsOf(calls, "edit_profile")[0]?.args).toEqual({ profile: "lab", request: { url: "http://127.0.0.1:5001" } });
  });

  it("closes on Escape", async () => {
    const user = userEvent.setup();
    mockBackend();
    const onclose = vi.fn();
    render(ProfileDialog, { onsaved: vi.fn(), onclose });
    await user.keyboard("{Escape}");
    expect(onclose).toHaveBeenCalled();
  });
});

describe("certificate dialog", () => {
  it("shows the chain and trusts its CA with the fingerprint the user saw", async () => {
    const user = userEvent.setup();
    const lab = profile("lab", "https://registry.lab");
    const calls = mockBackend({
      profiles: [lab],
      other: (cmd) => {
        if (cmd === "server_certificates") return [LEAF, CA];
        if (cmd === "trust_server") return { profile: lab, certificate: CA, mode: "ca" };
        return undefined;
      },
    });
    const onchanged = vi.fn();
    render(CertificateDialog, { profile: lab, onchanged, onclose: vi.fn() });

    const certs = await screen.findAllByTestId("chain-cert");
    expect(certs).toHaveLength(2);
    expect(certs[0]).toHaveTextContent("CN=registry.lab");
    expect(certs[0]).toHaveTextContent("11".repeat(32));
    await user.click(screen.getByTestId("trust-ca"));
    expect(await screen.findByText(/Trusted as a CA: CN=Lab CA/)).toBeInTheDocument();
    expect(callsOf(calls, "trust_server")[0]?.args).toEqual({ profile: "lab", pin: false, sha256: "22".repeat(32) });
    expect(onchanged).toHaveBeenCalled();
  });

  it("imports a CA file picked in the file dialog into the profile", async () => {
    const user = userEvent.setup();
    const lab = profile("lab", "https://registry.lab");
    const calls = mockBackend({
      profiles: [lab],
      other: (cmd) => {
        if (cmd === "server_certificates") throw apiError("registry", "connection refused", "is it running?");
        if (cmd === "pick_certificate_file") return "/home/me/ca.crt";
        if (cmd === "show_certificate_file") return [CA];
        return undefined;
      },
    });
    render(CertificateDialog, { profile: lab, onchanged: vi.fn(), onclose: vi.fn() });
    expect(await screen.findByTestId("error")).toHaveTextContent("connection refused");
    await user.click(screen.getByTestId("cert-import-file"));
    expect(await screen.findByText("/home/me/ca.crt")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Import into lab" }));
    expect(await screen.findByText(/Imported CN=Lab CA/)).toBeInTheDocument();
    expect(callsOf(calls, "edit_profile")[0]?.args).toEqual({ profile: "lab", request: { ca_files: ["/home/me/ca.crt"] } });
  });
});

describe("snippets dialog", () => {
  it("lists client set-up snippets with copy buttons", async () => {
    const user = userEvent.setup();
    const lab = profile("lab", "http://127.0.0.1:5000");
    const calls = mockBackend({
      other: (cmd) =>
        cmd === "snippets"
          ? [
              { title: "Docker daemon.json", language: "json", text: '{"insecure-registries":["127.0.0.1:5000"]}' },
              { title: "Log in", language: "shell", text: "docker login 127.0.0.1:5000" },
            ]
          : undefined,
    });
    render(SnippetsDialog, { profile: lab, onclose: vi.fn() });
    expect(await screen.findAllByTestId("snippet")).toHaveLength(2);
    await user.click(screen.getByRole("button", { name: "Copy: Log in" }));
    await waitFor(() =>
      expect(callsOf(calls, "plugin:clipboard-manager|write_text")[0]?.args).toMatchObject({ text: "docker login 127.0.0.1:5000" }),
    );
  });
});
