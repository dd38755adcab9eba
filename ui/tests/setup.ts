import "@testing-library/jest-dom/vitest";

// @tauri-apps/api/mocks registers callbacks with window.crypto.getRandomValues.
if (typeof window.crypto?.getRandomValues !== "function") {
  Object.defineProperty(window, "crypto", { value: globalThis.crypto, configurable: true });
}

// jsdom has no canvas: charts find no 2D context and draw nothing (instead of jsdom logging "not implemented").
HTMLCanvasElement.prototype.getContext = (() => null) as typeof HTMLCanvasElement.prototype.getContext;
