import { svelteTesting } from "@testing-library/svelte/vite";
import { defineConfig, mergeConfig } from "vitest/config";
import viteConfig from "./vite.config.ts";

export default mergeConfig(
  viteConfig,
  defineConfig({
    // Resolves Svelte's browser entry points and registers automatic cleanup.
    plugins: [svelteTesting()],
    test: {
      environment: "jsdom",
      include: ["src/**/*.test.ts", "tests/**/*.test.ts"],
      setupFiles: ["./tests/setup.ts"],
      restoreMocks: true,
      // Generous: CI machines have 2 cores and run Rust builds beside the UI tests.
      testTimeout: 20_000,
    },
  }),
);
