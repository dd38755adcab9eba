import "@testing-library/jest-dom/vitest";

// @tauri-apps/api/mocks registers callbacks with window.crypto.getRandomValues.
if (typeof window.crypto?.getRandomValues !== "function") {
  Object.defineProperty(window, "crypto", { value: globalThis.crypto, configurable: true });
}
