import { describe, expect, it } from "vitest";
import { folderOf, folderTree, inFolder, matches } from "./folders";

describe("folders", () => {
  it("builds the tree of folders with counts", () => {
    const tree = folderTree(["ops/backup", "ops/db/vacuum", "report", "ci/build"]);
    expect(tree.map((n) => [n.path, n.count])).toEqual([
      ["ci", 1],
      ["ops", 2],
    ]);
    expect(tree[1].children.map((n) => n.path)).toEqual(["ops/db"]);
  });

  it("filters by folder and search", () => {
    expect(inFolder("ops/db/vacuum", "ops")).toBe(true);
    expect(inFolder("opsx/a", "ops")).toBe(false);
    expect(folderOf("ops/backup")).toBe("ops");
    expect(matches({ name: "ops/backup", description: "Nightly DB" }, "nightly")).toBe(true);
    expect(matches({ name: "ops/backup" }, "zzz")).toBe(false);
  });
});
