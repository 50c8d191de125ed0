import { describe, expect, it } from "vitest";
import { dayIn, instantIn, isoInZone, lastDays, offsetMinutes, wallTimeIn } from "./timeZone";

// A zone no test machine runs in: 12:45 ahead of UTC, 13:45 in its summer.
const FAR = "Pacific/Chatham";

describe("days and wall times in a zone", () => {
  it("puts an instant on the zone's calendar day", () => {
    const instant = new Date("2024-03-01T20:30:00Z");
    expect(dayIn(instant, "UTC")).toBe("2024-03-01");
    expect(dayIn(instant, "Asia/Shanghai")).toBe("2024-03-02");
    expect(dayIn(instant, "America/Los_Angeles")).toBe("2024-03-01");
  });

  it("lists the last days ending with today in the zone", () => {
    const now = new Date("2024-03-01T20:30:00Z");
    expect(lastDays(3, "Asia/Shanghai", now)).toEqual(["2024-02-29", "2024-03-01", "2024-03-02"]);
    expect(lastDays(2, "America/Los_Angeles", now)).toEqual(["2024-02-29", "2024-03-01"]);
  });

  it("reads offsets, summer time included", () => {
    expect(offsetMinutes(new Date("2024-01-15T00:00:00Z"), FAR)).toBe(13 * 60 + 45);
    expect(offsetMinutes(new Date("2024-07-15T00:00:00Z"), FAR)).toBe(12 * 60 + 45);
    expect(offsetMinutes(new Date("2024-07-15T00:00:00Z"), "America/New_York")).toBe(-4 * 60);
  });

  it("turns instants into wall times and back", () => {
    expect(wallTimeIn("2024-03-01T02:00:00Z", "Asia/Shanghai")).toBe("2024-03-01T10:00:00");
    expect(wallTimeIn("not a date", "UTC")).toBe("");
    expect(instantIn("2024-03-01T10:00:00", "Asia/Shanghai")?.toISOString()).toBe("2024-03-01T02:00:00.000Z");
    expect(instantIn("2024-03-01 10:00", "America/New_York")?.toISOString()).toBe("2024-03-01T15:00:00.000Z");
    expect(instantIn("yesterday", "UTC")).toBeNull();
    expect(isoInZone("2024-07-15T09:30:00", FAR)).toBe("2024-07-15T09:30:00+12:45");
    expect(isoInZone("2024-07-15T09:30:00", "America/New_York")).toBe("2024-07-15T09:30:00-04:00");
  });

  it("reads a time shown twice as the first, and a skipped one past the change", () => {
    // New York set its clocks back at 02:00 on 2024-11-03 (01:30 came twice), forward at
    // 02:00 on 2024-03-10 (02:30 never came).
    expect(instantIn("2024-11-03T01:30:00", "America/New_York")?.toISOString()).toBe("2024-11-03T05:30:00.000Z");
    expect(instantIn("2024-03-10T02:30:00", "America/New_York")?.toISOString()).toBe("2024-03-10T07:30:00.000Z");
    expect(wallTimeIn("2024-03-10T07:30:00Z", "America/New_York")).toBe("2024-03-10T03:30:00");
  });
});
