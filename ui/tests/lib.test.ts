import { describe, expect, it } from "vitest";
import { formatCount, kindLabel } from "../src/lib/format";
import { t } from "../src/lib/i18n/index.svelte";

describe("format", () => {
  it("groups thousands", () => {
    expect(formatCount(1200)).toBe("1,200");
    const repos = (count: number) => t("pane.repoCount", { count, n: formatCount(count) });
    expect(repos(1200)).toBe("1,200 repositories");
    expect(repos(1)).toBe("1 repository");
    expect(repos(0)).toBe("0 repositories");
  });

  it("labels known kinds and passes unknown ones through", () => {
    expect(kindLabel("harbor")).toBe("Harbor");
    expect(kindLabel("registry")).toBe("registry:2");
    expect(kindLabel("toString")).toBe("toString");
  });
});
