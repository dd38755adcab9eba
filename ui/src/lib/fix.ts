// An error's fix as an action in the window: the app provides one handler (open the profile at a
// field, sync, test again, show the certificate…), every ErrorBox below it offers the fix as a
// button. The fix's CLI command (`Fix.command`) is for the CLI only: the window never shows it.
import { getContext, setContext } from "svelte";
import type { FixAction } from "../bindings/FixAction";
import type { ProfileField } from "../bindings/ProfileField";
import { t, type MessageKey } from "./i18n/index.svelte";

export type { FixAction };
export type FixHandler = (action: FixAction) => void;

const KEY = Symbol("berth.fix-handler");

/** Makes `handler` the one that applies fixes for every component below (call during init). */
export function provideFixHandler(handler: FixHandler): void {
  setContext(KEY, handler);
}

/** The handler provided above this component (during init); undefined without a provider. */
export function fixHandler(): FixHandler | undefined {
  return getContext<FixHandler | undefined>(KEY);
}

const FIELD_LABEL: Record<ProfileField, MessageKey> = {
  kind: "fix.fieldKind",
  url: "conn.fieldUrl",
  username: "conn.fieldUsername",
  password: "conn.fieldPassword",
  ca_file: "fix.fieldCaFile",
  client_certificate: "fix.fieldClientCertificate",
  key_passphrase: "fix.fieldKeyPassphrase",
  gc_command: "fix.fieldGcCommand",
  gc_storage_root: "fix.fieldGcStorageRoot",
};

/** A profile field as the fix buttons name it ("credentials", "endpoint"…). */
export function fieldLabel(field: ProfileField): string {
  return Object.hasOwn(FIELD_LABEL, field) ? t(FIELD_LABEL[field]) : field;
}

/** The button that applies a fix; null when the window cannot act on it (`command`: the hint explains). */
export function fixLabel(action: FixAction): string | null {
  switch (action.kind) {
    case "edit_profile":
      return t("conn.fix", { profile: action.profile, field: fieldLabel(action.field) });
    case "sync":
      return t("fix.sync", { profile: action.profile });
    case "test_connection":
      return t("fix.testConnection");
    case "trust_server":
      return t("fix.trustServer");
    case "trust_token_service":
      return t("fix.trustTokenService", { origin: action.origin });
    case "add_profile":
      return t("fix.addProfile");
    case "command":
      return null;
    default:
      // A kind this window does not know yet (a newer core): nothing to offer.
      return null;
  }
}
