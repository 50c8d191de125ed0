import { describe, expect, it } from "vitest";
import { DEFAULT_SORT, orderingOf, SORT_KEYS, sortOf, tableSortOf } from "./historySort";

describe("the History's sort", () => {
  it("sends the URL's sort as the API's ordering", () => {
    expect(orderingOf("-execution_time")).toEqual(["-execution_time"]);
    expect(orderingOf("user")).toEqual(["user"]);
    expect(orderingOf("status, -created_at")).toEqual(["status", "-created_at"]);
    for (const key of SORT_KEYS) expect(orderingOf(`-${key}`)).toEqual([`-${key}`]);
  });

  it("falls back to newest first for no sort or one the API would refuse", () => {
    expect(orderingOf("")).toEqual([DEFAULT_SORT]);
    expect(orderingOf("bogus")).toEqual([DEFAULT_SORT]);
    expect(orderingOf("status,user__username")).toEqual([DEFAULT_SORT]);
    expect(orderingOf("--id")).toEqual([DEFAULT_SORT]);
  });

  it("shows the first key on the table's header", () => {
    expect(tableSortOf("")).toEqual({ prop: "created_at", order: "descending" });
    expect(tableSortOf("script_name,-id")).toEqual({ prop: "script_name", order: "ascending" });
    expect(tableSortOf("-memory_usage")).toEqual({ prop: "memory_usage", order: "descending" });
  });

  it("turns a header click into the URL's sort, the default left out", () => {
    expect(sortOf("execution_time", "descending")).toBe("-execution_time");
    expect(sortOf("user", "ascending")).toBe("user");
    expect(sortOf("created_at", "descending")).toBe("");
    expect(sortOf("created_at", null)).toBe("");
    expect(sortOf("page_context", "ascending")).toBe(""); // not a key the API sorts by
  });
});
