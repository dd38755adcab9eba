// Profile management in the window: duplicate, export, remove (after its preview), import a profile
// file or Docker's configuration, and the client certificate (mTLS) fields of the profile dialog.
import { clearMocks } from "@tauri-apps/api/mocks";
import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import App from "../src/App.svelte";
import ImportDialog from "../src/lib/components/ImportDialog.svelte";
import ProfileActions from "../src/lib/components/ProfileActions.svelte";
import ProfileDialog from "../src/lib/components/ProfileDialog.svelte";
import type { DockerImportReport } from "../src/bindings/DockerImportReport";
import type { ImportReport } from "../src/bindings/ImportReport";
import type { ProfileFile } from "../src/bindings/ProfileFile";
import type { ProfileRemovalView } from "../src/bindings/ProfileRemovalView";
import type { ProfileView } from "../src/lib/ipc";
import { apiError, callsOf, mockBackend, profile } from "./backend";

beforeEach(() => {
  localStorage.clear();
});

afterEach(() => {
  clearMocks();
});

const LAB = profile("lab", "https://registry.lab");

const REMOVAL: ProfileRemovalView = {
  profile: "lab",
  url: "https://registry.lab",
  repositories: 12,
  tags: 340,
  trash_entries: 3,
  retention_policies: 1,
  history_rows: 7,
  keyring_entries: ["password", "client key passphrase"],
  files: ["certs/lab/ca-0123456789abcdef.pem", "certs/lab/client-0123456789abcdef.cert"],
  audit_rows_kept: 42,
  children: ["lab/docker-hosted"],
};

const FILE: ProfileFile = {
  path: "/home/me/lab.berth-profile.json",
  export: {
    format: "berth-profile/1",
    name: "lab",
    url: "https://registry.lab",
    kind: "registry",
    auth: "basic",
    username: "ci",
    tls: { insecure_skip_verify: true, pinned_sha256: [], ca_certificates: ["-----BEGIN CERTIFICATE-----\n…"] },
    gc: { command: "ssh lab docker exec registry registry garbage-collect /etc/docker/registry/config.yml", before: null, after: null, storage_root: null, remote: null },
  },
};

const DOCKER_DEFAULT: DockerImportReport = {
  config: "/home/me/.docker/config.json",
  planned: [
    { server: "registry.lab:5000", name: "registry.lab-5000", url: "https://registry.lab:5000", username: "ci", credentials: "config.json", files: ["/etc/docker/certs.d/registry.lab:5000/ca.crt"] },
    { server: "ghcr.io", name: "ghcr.io", url: "https://ghcr.io", username: null, credentials: null, files: [] },
  ],
  created: [],
  skipped: [{ server: "https://index.docker.io/v1/", message: "Docker Hub: not a private registry" }],
  notes: [],
};

const DOCKER_OTHER: DockerImportReport = {
  config: "/tmp/other/config.json",
  planned: [{ server: "harbor.lab", name: "harbor.lab", url: "https://harbor.lab", username: "robot$ci", credentials: "credential helper (pass)", files: [] }],
  created: [],
  skipped: [],
  notes: [],
};

describe("profile actions", () => {
  it("duplicates the profile under a new name, reloads the list and opens the copy", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({
      profiles: [LAB],
      other: (cmd, args) => (cmd === "duplicate_profile" ? profile(args["newName"] as string, LAB.url) : undefined),
    });
    const onprofileschanged = vi.fn();
    const onopen = vi.fn();
    render(ProfileActions, { profile: LAB, onprofileschanged, onopen });

    await user.click(screen.getByTestId("profile-manage"));
    await user.click(screen.getByTestId("duplicate-profile"));
    const name = screen.getByTestId("duplicate-name");
    expect(name).toHaveValue("lab-copy");
    await user.clear(name);
    await user.click(screen.getByTestId("duplicate-confirm"));
    expect(await screen.findByTestId("error")).toHaveTextContent("Enter a name for the copy.");
    expect(callsOf(calls, "duplicate_profile")).toHaveLength(0);

    await user.type(name, "lab-staging");
    await user.click(screen.getByTestId("duplicate-confirm"));
    expect(await screen.findByTestId("duplicate-result")).toHaveTextContent("Created lab-staging");
    expect(callsOf(calls, "duplicate_profile")[0]?.args).toEqual({ profile: "lab", newName: "lab-staging" });
    expect(onprofileschanged).toHaveBeenCalledTimes(1);

    await user.click(screen.getByTestId("duplicate-open"));
    expect(onopen).toHaveBeenCalledWith("lab-staging");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  });

  it("exports to the path chosen in the save dialog, or says it was cancelled", async () => {
    const user = userEvent.setup();
    let answer: string | null = null;
    const calls = mockBackend({ profiles: [LAB], other: (cmd) => (cmd === "export_profile" ? answer : undefined) });
    render(ProfileActions, { profile: LAB, onprofileschanged: vi.fn() });

    await user.click(screen.getByTestId("profile-manage"));
    await user.click(screen.getByTestId("export-profile"));
    expect(await screen.findByTestId("export-cancelled")).toHaveTextContent("no file was written");
    expect(screen.queryByTestId("export-result")).not.toBeInTheDocument();

    answer = "/home/me/lab.berth-profile.json";
    await user.click(screen.getByTestId("export-again"));
    expect(await screen.findByTestId("export-result")).toHaveTextContent("/home/me/lab.berth-profile.json");
    expect(screen.getByTestId("manage-export")).toHaveTextContent("No password and no client key");
    expect(callsOf(calls, "export_profile").map((c) => c.args)).toEqual([{ profile: "lab" }, { profile: "lab" }]);
  });

  it("shows everything a removal deletes, removes after the confirm, and reloads the list when closed", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({
      profiles: [LAB],
      other: (cmd) => (cmd === "profile_removal" ? REMOVAL : cmd === "delete_profile" ? LAB : undefined),
    });
    const onprofileschanged = vi.fn();
    render(ProfileActions, { profile: LAB, onprofileschanged });

    await user.click(screen.getByTestId("profile-manage"));
    await user.click(screen.getByTestId("remove-profile"));
    const preview = await screen.findByTestId("profile-removal");
    expect(within(preview).getByTestId("removal-cache")).toHaveTextContent("12 repositories, 340 tags");
    expect(within(preview).getByTestId("removal-trash")).toHaveTextContent("3 trash entries: they can no longer be restored");
    expect(within(preview).getByTestId("removal-policies")).toHaveTextContent("1 saved retention policy");
    expect(within(preview).getByTestId("removal-history")).toHaveTextContent("7 GC and sync history rows");
    expect(within(preview).getByTestId("removal-keyring")).toHaveTextContent("password, client key passphrase");
    expect(within(preview).getByTestId("removal-files")).toHaveTextContent("certs/lab/client-0123456789abcdef.cert");
    expect(within(preview).getByTestId("removal-children")).toHaveTextContent("lab/docker-hosted");
    expect(within(preview).getByTestId("removal-audit")).toHaveTextContent("Kept: 42 audit rows");
    expect(screen.getByTestId("manage-remove")).toHaveTextContent("https://registry.lab is not touched");
    expect(callsOf(calls, "delete_profile")).toHaveLength(0);

    await user.click(screen.getByTestId("remove-confirm"));
    expect(await screen.findByTestId("remove-result")).toHaveTextContent("Removed lab.");
    expect(callsOf(calls, "delete_profile")[0]?.args).toEqual({ profile: "lab" });
    // The pane closes with the profile: the list reloads once the result was read.
    expect(onprofileschanged).not.toHaveBeenCalled();
    await user.click(screen.getByTestId("remove-done"));
    expect(onprofileschanged).toHaveBeenCalledTimes(1);
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  });

  it("keeps the profile when the removal fails, with the error", async () => {
    const user = userEvent.setup();
    mockBackend({
      profiles: [LAB],
      other: (cmd) => {
        if (cmd === "profile_removal") return { ...REMOVAL, trash_entries: 0, keyring_entries: [], files: [], children: [] };
        if (cmd === "delete_profile") throw apiError("keyring", "the keyring is locked", "unlock it and try again");
        return undefined;
      },
    });
    const onprofileschanged = vi.fn();
    render(ProfileActions, { profile: LAB, onprofileschanged });

    await user.click(screen.getByTestId("profile-manage"));
    await user.click(screen.getByTestId("remove-profile"));
    expect(await screen.findByTestId("removal-trash")).toHaveTextContent("No trash entries");
    expect(screen.getByTestId("removal-keyring")).toHaveTextContent("Nothing in the OS keyring");
    expect(screen.queryByTestId("removal-children")).not.toBeInTheDocument();
    await user.click(screen.getByTestId("remove-confirm"));
    expect(await screen.findByTestId("error")).toHaveTextContent("the keyring is locked");
    expect(screen.queryByTestId("remove-result")).not.toBeInTheDocument();
    await user.keyboard("{Escape}");
    expect(onprofileschanged).not.toHaveBeenCalled();
  });

  it("closes the menu on Escape and on a click elsewhere", async () => {
    const user = userEvent.setup();
    mockBackend({ profiles: [LAB] });
    render(ProfileActions, { profile: LAB, onprofileschanged: vi.fn() });

    const toggle = screen.getByTestId("profile-manage");
    await user.click(toggle);
    expect(screen.getByTestId("duplicate-profile")).toHaveFocus();
    await user.keyboard("{ArrowDown}");
    expect(screen.getByTestId("export-profile")).toHaveFocus();
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("menu")).not.toBeInTheDocument();
    expect(toggle).toHaveFocus();
    await user.click(toggle);
    await user.click(document.body);
    expect(screen.queryByRole("menu")).not.toBeInTheDocument();
  });
});

describe("import a profile file", () => {
  it("shows the file first and drops GC commands and skipped verification unless kept", async () => {
    const user = userEvent.setup();
    const report: ImportReport = {
      profile: profile("lab", "https://registry.lab"),
      dropped: ["the GC commands (they would run on this machine)", "insecure_skip_verify (certificate verification stays on)"],
    };
    const calls = mockBackend({
      other: (cmd) => (cmd === "pick_profile_file" ? FILE : cmd === "import_profile" ? report : undefined),
    });
    const onimported = vi.fn();
    render(ImportDialog, { onimported, onclose: vi.fn() });

    await user.click(screen.getByTestId("import-profile-file"));
    const shown = await screen.findByTestId("import-file");
    expect(shown).toHaveTextContent("/home/me/lab.berth-profile.json");
    expect(shown).toHaveTextContent("https://registry.lab");
    expect(shown).toHaveTextContent("registry:2");
    expect(shown).toHaveTextContent("basic · ci");
    const holds = screen.getByTestId("import-holds");
    expect(holds).toHaveTextContent("1 CA certificate");
    expect(holds).toHaveTextContent("Certificate verification off");
    expect(holds).toHaveTextContent("ssh lab docker exec registry");
    expect(holds).toHaveTextContent("No password, no client key");

    const gc = screen.getByTestId("import-trust-gc");
    const insecure = screen.getByTestId("import-trust-insecure");
    expect(gc).not.toBeChecked();
    expect(insecure).not.toBeChecked();
    expect(gc.closest("label")).toHaveTextContent("through sh -c");
    expect(insecure.closest("label")).toHaveTextContent("impersonate the registry");
    expect(screen.getByTestId("import-name")).toHaveAttribute("placeholder", "lab");

    await user.click(screen.getByTestId("import-confirm"));
    const done = await screen.findByTestId("import-report");
    expect(done).toHaveTextContent("Imported lab.");
    expect(within(done).getAllByTestId("import-dropped").map((li) => li.textContent)).toEqual(report.dropped);
    expect(callsOf(calls, "import_profile")[0]?.args).toEqual({
      path: "/home/me/lab.berth-profile.json",
      name: null,
      trust: { gc_commands: false, insecure_tls: false },
    });
    expect(onimported).toHaveBeenCalledWith([report.profile]);
  });

  it("imports under another name, keeping what the user chose to keep", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({
      other: (cmd, args) =>
        cmd === "pick_profile_file"
          ? FILE
          : cmd === "import_profile"
            ? ({ profile: profile(args["name"] as string, FILE.export.url), dropped: [] } satisfies ImportReport)
            : undefined,
    });
    render(ImportDialog, { onimported: vi.fn(), onclose: vi.fn() });

    await user.click(screen.getByTestId("import-profile-file"));
    await user.type(await screen.findByTestId("import-name"), "lab-b");
    await user.click(screen.getByTestId("import-trust-gc"));
    expect(screen.getByTestId("import-confirm")).toHaveTextContent("Import lab-b");
    await user.click(screen.getByTestId("import-confirm"));
    expect(await screen.findByTestId("import-report")).toHaveTextContent("Nothing was left out.");
    expect(callsOf(calls, "import_profile")[0]?.args).toEqual({
      path: FILE.path,
      name: "lab-b",
      trust: { gc_commands: true, insecure_tls: false },
    });
  });

  it("disables what a file does not hold, and stays on the choice when the pick is cancelled", async () => {
    const user = userEvent.setup();
    let picked: ProfileFile | null = null;
    mockBackend({ other: (cmd) => (cmd === "pick_profile_file" ? picked : undefined) });
    render(ImportDialog, { onimported: vi.fn(), onclose: vi.fn() });

    await user.click(screen.getByTestId("import-profile-file"));
    expect(await screen.findByTestId("import-pick-cancelled")).toHaveTextContent("No file chosen.");
    picked = { ...FILE, export: { ...FILE.export, tls: { ...FILE.export.tls, insecure_skip_verify: false }, gc: { command: null, before: null, after: null, storage_root: null, remote: null } } };
    await user.click(screen.getByTestId("import-profile-file"));
    expect(await screen.findByTestId("import-trust-gc")).toBeDisabled();
    expect(screen.getByTestId("import-trust-insecure")).toBeDisabled();
    expect(screen.getByTestId("import-holds")).not.toHaveTextContent("verification off");
  });

  it("opens from the sidebar and reloads the profile list after the import", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({
      profiles: [profile("local", "http://127.0.0.1:5000")],
      other: (cmd) =>
        cmd === "pick_profile_file"
          ? FILE
          : cmd === "import_profile"
            ? ({ profile: profile("lab", FILE.export.url), dropped: [] } satisfies ImportReport)
            : undefined,
    });
    render(App);
    await screen.findAllByTestId("profile-item");
    expect(callsOf(calls, "list_profiles")).toHaveLength(1);

    await user.click(screen.getByTestId("import-menu"));
    expect(screen.getByRole("dialog", { name: "Import registries" })).toBeInTheDocument();
    await user.click(screen.getByTestId("import-profile-file"));
    await user.click(await screen.findByTestId("import-confirm"));
    await screen.findByTestId("import-report");
    await waitFor(() => expect(callsOf(calls, "list_profiles")).toHaveLength(2));
    await user.click(screen.getByTestId("import-done"));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  });
});

describe("import Docker's configuration", () => {
  function dockerBackend() {
    return mockBackend({
      other: (cmd, args) => {
        if (cmd !== "import_docker_config") return undefined;
        const path = args["path"] as string | null;
        if (args["dryRun"] === true) return args["pick"] === true ? DOCKER_OTHER : path === null ? DOCKER_DEFAULT : undefined;
        const source = path === DOCKER_OTHER.config ? DOCKER_OTHER : DOCKER_DEFAULT;
        const created: ProfileView[] = source.planned.map((p) => profile(p.name, p.url));
        return {
          ...source,
          planned: [],
          created,
          notes: [{ server: source.planned[0]?.server ?? "", message: "no password found: anonymous until you enter one" }],
        } satisfies DockerImportReport;
      },
    });
  }

  it("previews the default files, then creates the profiles", async () => {
    const user = userEvent.setup();
    const calls = dockerBackend();
    const onimported = vi.fn();
    render(ImportDialog, { onimported, onclose: vi.fn() });

    await user.click(screen.getByTestId("import-docker"));
    const rows = await screen.findAllByTestId("docker-planned-row");
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent("registry.lab-5000");
    expect(rows[0]).toHaveTextContent("config.json");
    expect(rows[0]).toHaveTextContent("/etc/docker/certs.d/registry.lab:5000/ca.crt");
    expect(rows[1]).toHaveTextContent("anonymous");
    expect(screen.getByTestId("docker-config")).toHaveTextContent("/home/me/.docker/config.json");
    expect(screen.getByTestId("docker-skipped")).toHaveTextContent("Docker Hub: not a private registry");
    expect(callsOf(calls, "import_docker_config")[0]?.args).toEqual({ path: null, pick: false, dryRun: true });
    expect(onimported).not.toHaveBeenCalled();

    const confirm = screen.getByTestId("docker-confirm");
    expect(confirm).toHaveTextContent("Create 2 profiles");
    await user.click(confirm);
    const created = await screen.findByTestId("docker-created");
    expect(within(created).getAllByTestId("docker-created-row").map((r) => r.textContent)).toEqual([
      "registry.lab-5000 https://registry.lab:5000",
      "ghcr.io https://ghcr.io",
    ]);
    expect(screen.getByTestId("docker-notes")).toHaveTextContent("no password found");
    expect(callsOf(calls, "import_docker_config")[1]?.args).toEqual({ path: "/home/me/.docker/config.json", pick: false, dryRun: false });
    expect(onimported).toHaveBeenCalledWith([expect.objectContaining({ name: "registry.lab-5000" }), expect.objectContaining({ name: "ghcr.io" })]);
  });

  it("previews another file chosen in the file dialog and imports that one", async () => {
    const user = userEvent.setup();
    const calls = dockerBackend();
    render(ImportDialog, { onimported: vi.fn(), onclose: vi.fn() });

    await user.click(screen.getByTestId("import-docker"));
    expect(await screen.findAllByTestId("docker-planned-row")).toHaveLength(2);
    await user.click(screen.getByTestId("import-docker-pick"));
    await waitFor(() => expect(screen.getAllByTestId("docker-planned-row")).toHaveLength(1));
    expect(screen.getByTestId("docker-planned-row")).toHaveTextContent("credential helper (pass)");
    expect(screen.getByTestId("docker-config")).toHaveTextContent("/tmp/other/config.json");
    expect(callsOf(calls, "import_docker_config")[1]?.args).toEqual({ path: null, pick: true, dryRun: true });

    await user.click(screen.getByTestId("docker-confirm"));
    expect(await screen.findByTestId("docker-created")).toHaveTextContent("harbor.lab");
    expect(callsOf(calls, "import_docker_config")[2]?.args).toEqual({ path: "/tmp/other/config.json", pick: false, dryRun: false });
  });

  it("shows why the default file cannot be read, and still offers another file", async () => {
    const user = userEvent.setup();
    mockBackend({
      other: (cmd, args) => {
        if (cmd !== "import_docker_config") return undefined;
        if (args["pick"] === true) return null;
        throw apiError("not_found", "/home/me/.docker/config.json: no such file", "log in with docker login first, or choose the file");
      },
    });
    render(ImportDialog, { onimported: vi.fn(), onclose: vi.fn() });

    await user.click(screen.getByTestId("import-docker"));
    expect(await screen.findByTestId("error")).toHaveTextContent("no such file");
    expect(screen.getByTestId("docker-confirm")).toBeDisabled();
    await user.click(screen.getByTestId("import-docker-pick"));
    expect(await screen.findByTestId("import-pick-cancelled")).toBeInTheDocument();
    expect(screen.getByTestId("docker-confirm")).toBeDisabled();
  });
});

describe("client certificate (mTLS)", () => {
  it("sends the certificate, key and passphrase of a new profile", async () => {
    const user = userEvent.setup();
    const calls = mockBackend({
      other: (cmd, args) => (cmd === "pick_client_file" ? (args["what"] === "certificate" ? "/home/me/client.crt" : "/home/me/client.key") : undefined),
    });
    render(ProfileDialog, { onsaved: vi.fn(), onclose: vi.fn() });

    await user.type(document.getElementById("profile-name") as HTMLInputElement, "mtls");
    await user.type(document.getElementById("profile-url") as HTMLInputElement, "https://mtls.lab");
    expect(screen.getByTestId("client-cert-section")).toHaveTextContent("Client certificate (mTLS)");
    expect(screen.getByTestId("client-cert-section")).toHaveTextContent("OS keyring");
    await user.click(screen.getByTestId("client-cert-pick"));
    await waitFor(() => expect(screen.getByTestId("client-cert")).toHaveValue("/home/me/client.crt"));
    await user.click(screen.getByTestId("client-key-pick"));
    await waitFor(() => expect(screen.getByTestId("client-key")).toHaveValue("/home/me/client.key"));
    expect(screen.getByTestId("client-key-passphrase")).toHaveAttribute("type", "password");
    await user.type(screen.getByTestId("client-key-passphrase"), "p4ss");
    await user.click(screen.getByTestId("add-profile-submit"));

    await waitFor(() => expect(callsOf(calls, "add_profile")).toHaveLength(1));
    expect(callsOf(calls, "add_profile")[0]?.args).toEqual({
      request: {
        name: "mtls",
        url: "https://mtls.lab",
        kind: "registry",
        client_cert: "/home/me/client.crt",
        client_key: "/home/me/client.key",
        key_passphrase: "p4ss",
      },
    });
    expect(callsOf(calls, "pick_client_file").map((c) => c.args)).toEqual([{ what: "certificate" }, { what: "key" }]);
  });

  it("refuses a certificate without its key (and a key without its certificate)", async () => {
    const user = userEvent.setup();
    const calls = mockBackend();
    render(ProfileDialog, { onsaved: vi.fn(), onclose: vi.fn() });

    await user.type(document.getElementById("profile-name") as HTMLInputElement, "mtls");
    await user.type(document.getElementById("profile-url") as HTMLInputElement, "https://mtls.lab");
    await user.type(screen.getByTestId("client-cert"), "/home/me/client.crt");
    await user.click(screen.getByTestId("add-profile-submit"));
    expect(await screen.findByTestId("error")).toHaveTextContent("The client certificate needs its key file.");
    expect(screen.getByTestId("error")).toHaveTextContent("or neither");

    await user.clear(screen.getByTestId("client-cert"));
    await user.type(screen.getByTestId("client-key"), "/home/me/client.key");
    await user.click(screen.getByTestId("add-profile-submit"));
    await waitFor(() => expect(screen.getByTestId("error")).toHaveTextContent("The client key needs its certificate file."));

    await user.clear(screen.getByTestId("client-key"));
    await user.type(screen.getByTestId("client-key-passphrase"), "p4ss");
    await user.click(screen.getByTestId("add-profile-submit"));
    await waitFor(() => expect(screen.getByTestId("error")).toHaveTextContent("A key passphrase needs a client key."));
    expect(callsOf(calls, "add_profile")).toHaveLength(0);
  });

  it("shows the saved certificate when editing, and removes or replaces it", async () => {
    const user = userEvent.setup();
    const withCert: ProfileView = {
      ...LAB,
      tls: {
        ...LAB.tls,
        has_key_passphrase: true,
        client_cert: {
          subject: "CN=ci-runner",
          not_after: "2027-03-01T00:00:00Z",
          sha256_fingerprint: "ab".repeat(32),
          cert_file: "certs/lab/client-abababababababab.cert",
          key_file: "certs/lab/client-abababababababab.key",
        },
      },
    };
    const calls = mockBackend({ profiles: [withCert] });
    const { unmount } = render(ProfileDialog, { profile: withCert, onsaved: vi.fn(), onclose: vi.fn() });

    const current = screen.getByTestId("client-cert-current");
    expect(current).toHaveTextContent("CN=ci-runner");
    expect(current).toHaveTextContent("until 2027-03-01");
    expect(current).toHaveTextContent("passphrase in the keyring");
    await user.click(screen.getByTestId("client-cert-clear"));
    expect(screen.getByTestId("client-cert")).toBeDisabled();
    expect(screen.getByTestId("client-key-passphrase")).toBeDisabled();
    await user.click(screen.getByTestId("add-profile-submit"));
    await waitFor(() => expect(callsOf(calls, "edit_profile")).toHaveLength(1));
    expect(callsOf(calls, "edit_profile")[0]?.args).toEqual({ profile: "lab", request: { clear_client_cert: true } });
    unmount();

    render(ProfileDialog, { profile: withCert, onsaved: vi.fn(), onclose: vi.fn() });
    await user.type(screen.getByTestId("client-cert"), "/home/me/new.crt");
    await user.click(screen.getByTestId("add-profile-submit"));
    expect(await screen.findByTestId("error")).toHaveTextContent("needs its key file");
    await user.type(screen.getByTestId("client-key"), "/home/me/new.key");
    await user.click(screen.getByTestId("add-profile-submit"));
    await waitFor(() => expect(callsOf(calls, "edit_profile")).toHaveLength(2));
    expect(callsOf(calls, "edit_profile")[1]?.args).toEqual({
      profile: "lab",
      request: { client_cert: "/home/me/new.crt", client_key: "/home/me/new.key" },
    });
  });

  it("sends a new passphrase alone for the saved key", async () => {
    const user = userEvent.setup();
    const withCert: ProfileView = {
      ...LAB,
      tls: { ...LAB.tls, client_cert: { subject: "CN=ci", not_after: "2027-03-01T00:00:00Z", sha256_fingerprint: "cd".repeat(32), cert_file: "c", key_file: "k" } },
    };
    const calls = mockBackend({ profiles: [withCert] });
    render(ProfileDialog, { profile: withCert, onsaved: vi.fn(), onclose: vi.fn() });

    await user.type(screen.getByTestId("client-key-passphrase"), "n3w");
    await user.click(screen.getByTestId("add-profile-submit"));
    await waitFor(() => expect(callsOf(calls, "edit_profile")).toHaveLength(1));
    expect(callsOf(calls, "edit_profile")[0]?.args).toEqual({ profile: "lab", request: { key_passphrase: "n3w" } });
  });
});
