import { afterEach, describe, expect, it } from "vitest";
import { browserTimeZone, isTimeZone } from "@/helpers/timeZone";
import { chosenTimeZone, setTimeZone, timeZone, timeZoneChoice, timeZoneNames } from "./timeZone";

// A zone no test machine runs in: 12:45 ahead of UTC, 13:45 in its summer.
const FAR = "Pacific/Chatham";

describe("time zone choice", () => {
  afterEach(() => setTimeZone(""));

  it("follows the browser until a zone is chosen, and keeps the choice", () => {
    expect(browserTimeZone()).not.toBe(FAR);
    expect(timeZone.value).toBe(browserTimeZone());
    setTimeZone(FAR);
    expect(timeZone.value).toBe(FAR);
    expect(timeZoneChoice.value).toBe(FAR);
    expect(localStorage.getItem("scriptdeck.timeZone")).toBe(FAR);
    expect(chosenTimeZone()).toBe(FAR); // what the next page load starts with
    setTimeZone("");
    expect(timeZone.value).toBe(browserTimeZone());
    expect(localStorage.getItem("scriptdeck.timeZone")).toBeNull();
  });

  it("ignores a zone this browser does not know", () => {
    expect(isTimeZone("Mars/Olympus_Mons")).toBe(false);
    expect(chosenTimeZone("Mars/Olympus_Mons")).toBe("");
    setTimeZone("Mars/Olympus_Mons");
    expect(timeZone.value).toBe(browserTimeZone());
  });

  it("lists every zone, UTC and the browser's included", () => {
    const names = timeZoneNames();
    expect(names).toContain("UTC");
    expect(names).toContain("Asia/Shanghai");
    expect(names).toContain(browserTimeZone());
    expect(names).toEqual([...names].sort());
  });
});
