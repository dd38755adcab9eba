import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineConfig } from "vite";

// Served to the Tauri webview: devUrl http://localhost:1420, frontendDist ui/dist.
export default defineConfig({
  plugins: [svelte()],
  // Relative asset URLs so the bundle works from the custom protocol Tauri serves it on.
  base: "./",
  // Keep the Rust/Tauri output visible when both share a terminal (`tauri dev`).
  clearScreen: false,
  server: {
    port: 1420,
    strictPort: true,
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Linux webview is WebKitGTK 2.50 (Safari 16+ feature level).
    target: "safari16",
  },
});
