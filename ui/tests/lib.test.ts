import { describe, expect, it } from "vitest";
import { formatCount, kindLabel, plural } from "../src/lib/format";

describe("format", () => {
  it("groups thousands", () => {
    expect(formatCount(1200)).toBe("1,200");
    expect(plural(1200, "repository", "repositories")).toBe("1,200 repositories");
    expect(plural(1, "repository", "repositories")).toBe("1 repository");
    expect(plural(0, "repository", "repositories")).toBe("0 repositories");
  });

  it("labels known kinds and passes unknown ones through", () => {
    expect(kindLabel("harbor")).toBe("Harbor");
    expect(kindLabel("registry")).toBe("registry:2");
    expect(kindLabel("toString")).toBe("toString");
  });
});
