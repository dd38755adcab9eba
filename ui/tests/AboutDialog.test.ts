import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { render, screen, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import App from "../src/App.svelte";
import AboutDialog from "../src/lib/components/AboutDialog.svelte";
import type { AboutView } from "../src/bindings/AboutView";
import type { ApiError } from "../src/bindings/ApiError";

afterEach(() => {
  clearMocks();
});

const ABOUT: AboutView = {
  name: "Berth",
  version: "0.1.0",
  tauri_version: "2.12.5",
  webview_version: "2.50.6",
  data_dir: "/home/ann/.local/share/berth",
  database_file: "/home/ann/.local/share/berth/berth.sqlite",
  log_dir: "/home/ann/.local/state/berth/logs",
  keyring_service: "dev.berth.desktop",
};

/** Answers `about` through the real invoke path: `answers` are used in turn (an ApiError is thrown). */
function mockAbout(...answers: (AboutView | ApiError)[]): string[] {
  const calls: string[] = [];
  mockIPC((cmd) => {
    calls.push(cmd);
    if (cmd !== "about") throw `unknown command ${cmd}`;
    const answer = answers.shift() ?? ABOUT;
    if ("code" in answer) throw answer;
    return answer;
  });
  return calls;
}

describe("AboutDialog", () => {
  it("shows the versions and paths the about command returns", async () => {
    const calls = mockAbout(ABOUT);
    render(AboutDialog, { onclose: () => {} });

    const dialog = await screen.findByRole("dialog", { name: "About Berth" });
    expect(await within(dialog).findByTestId("about-version")).toHaveTextContent("0.1.0");
    expect(dialog).toHaveTextContent("2.12.5");
    expect(dialog).toHaveTextContent("2.50.6");
    expect(dialog).toHaveTextContent("/home/ann/.local/share/berth/berth.sqlite");
    expect(dialog).toHaveTextContent("/home/ann/.local/state/berth/logs");
    expect(dialog).toHaveTextContent("dev.berth.desktop");
    expect(calls).toEqual(["about"]);
  });

  it("says unknown for versions the front end could not get", async () => {
    mockAbout({ ...ABOUT, webview_version: null });
    render(AboutDialog, { onclose: () => {} });
    await screen.findByTestId("about-version");
    expect(screen.getByText("WebKitGTK").nextElementSibling).toHaveTextContent("unknown");
  });

  it("shows the error with its hint, and Retry asks again", async () => {
    const failure: ApiError = {
      code: "internal",
      registry: null,
      message: "cannot find a log directory",
      hint: "set BERTH_LOG_DIR or HOME",
      fix: null,
      unreachable: false,
    };
    const calls = mockAbout(failure, ABOUT);
    render(AboutDialog, { onclose: () => {} });

    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("cannot find a log directory");
    expect(alert).toHaveTextContent("set BERTH_LOG_DIR or HOME");
    await userEvent.click(within(alert).getByRole("button", { name: "Retry" }));
    expect(await screen.findByTestId("about-version")).toHaveTextContent("0.1.0");
    expect(calls).toEqual(["about", "about"]);
  });

  it("closes with the Close button and with Escape", async () => {
    mockAbout();
    const onclose = vi.fn();
    render(AboutDialog, { onclose });
    await screen.findByTestId("about-version");

    await userEvent.click(screen.getByRole("button", { name: "Close" }));
    expect(onclose).toHaveBeenCalledTimes(1);
    await userEvent.keyboard("{Escape}");
    expect(onclose).toHaveBeenCalledTimes(2);
  });
});

describe("App", () => {
  it("opens the About dialog from the sidebar and closes it", async () => {
    mockIPC((cmd) => {
      if (cmd === "list_profiles") return [];
      if (cmd === "about") return ABOUT;
      throw `unknown command ${cmd}`;
    });
    render(App);

    expect(screen.queryByRole("dialog", { name: "About Berth" })).not.toBeInTheDocument();
    await userEvent.click(screen.getByTestId("about-open"));
    const dialog = await screen.findByRole("dialog", { name: "About Berth" });
    expect(await within(dialog).findByTestId("about-version")).toHaveTextContent("0.1.0");
    await userEvent.click(within(dialog).getByRole("button", { name: "Close" }));
    expect(screen.queryByRole("dialog", { name: "About Berth" })).not.toBeInTheDocument();
  });
});
