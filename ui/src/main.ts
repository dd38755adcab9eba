import { mount } from "svelte";
import App from "./App.svelte";
import { followSystemLocale } from "./lib/i18n/index.svelte";
import { listProfiles, systemLocale } from "./lib/ipc";
import "./app.css";

const target = document.getElementById("app");
if (target === null) throw new Error("Berth: #app element missing from index.html");

// The window speaks the system's language (LANG=zh_CN.UTF-8 → Simplified Chinese) unless the user
// picked one: the shell reads the environment, which WebKitGTK's navigator.language may not reflect.
// The profile list is asked for meanwhile (one IPC round trip less before the sidebar and the tree).
const initialProfiles = listProfiles();
initialProfiles.catch(() => undefined); // App awaits it and shows the error
void systemLocale()
  .then(followSystemLocale, () => undefined)
  .finally(() => mount(App, { target, props: { initialProfiles } }));
