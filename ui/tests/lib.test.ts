import { describe, expect, it } from "vitest";
import { filterByName } from "../src/lib/filter";
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

describe("filterByName", () => {
  const names = ["library/Alpine", "team/api", "team/web"];
  const lower = names.map((n) => n.toLowerCase());

  it("matches substrings case-insensitively", () => {
    expect(filterByName(names, lower, "ALP")).toEqual(["library/Alpine"]);
    expect(filterByName(names, lower, "team/")).toEqual(["team/api", "team/web"]);
  });

  it("returns the input for an empty query", () => {
    expect(filterByName(names, lower, "  ")).toBe(names);
  });
});
