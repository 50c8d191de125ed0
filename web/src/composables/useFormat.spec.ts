import { afterEach, describe, expect, it } from "vitest";
import { defineComponent, h, nextTick } from "vue";
import { setLocale } from "@/i18n";
import { mountWith } from "@/test/mount";
import { formatDateTime, useFormat } from "./useFormat";
import { browserTimeZone } from "@/helpers/timeZone";
import { setTimeZone } from "./timeZone";

const STAMP = "2024-07-15T00:30:05Z";

describe("formatDateTime", () => {
  afterEach(() => setTimeZone(""));

  it("shows an instant in the zone it is given", () => {
    expect(formatDateTime(STAMP, "en-GB", "UTC")).toBe("15/07/2024, 00:30:05");
    expect(formatDateTime(STAMP, "en-GB", "America/New_York")).toBe("14/07/2024, 20:30:05");
    expect(formatDateTime(STAMP, "en-GB", "Pacific/Chatham")).toBe("15/07/2024, 13:15:05");
  });

  it("uses the chosen zone, not the browser's, by default", () => {
    const zone = browserTimeZone() === "Asia/Kathmandu" ? "Pacific/Chatham" : "Asia/Kathmandu";
    setTimeZone(zone);
    expect(formatDateTime(STAMP, "en-GB")).toBe(formatDateTime(STAMP, "en-GB", zone));
    expect(formatDateTime(STAMP, "en-GB")).not.toBe(formatDateTime(STAMP, "en-GB", browserTimeZone()));
  });

  it("redraws what it formatted when the zone or the language changes", async () => {
    const Shown = defineComponent({
      setup() {
        const fmt = useFormat();
        return () => h("span", fmt.dateTime(STAMP));
      },
    });
    const wrapper = mountWith(Shown);
    setTimeZone("Asia/Kathmandu"); // +05:45
    await nextTick();
    expect(wrapper.text()).toBe("07/15/2024, 06:15:05");
    setTimeZone("America/New_York");
    await nextTick();
    expect(wrapper.text()).toBe("07/14/2024, 20:30:05");
    setLocale("zh-CN");
    await nextTick();
    expect(wrapper.text()).toBe("2024/07/14 20:30:05");
    setLocale("en");
  });

  it("writes the hour after midnight as 00, not 24", () => {
    expect(formatDateTime("2024-07-15T00:30:05Z", "en-US", "UTC")).toBe("07/15/2024, 00:30:05");
    expect(formatDateTime("2024-07-14T16:30:05Z", "en-US", "Asia/Shanghai")).toBe("07/15/2024, 00:30:05");
  });

  it("leaves what is not a date alone", () => {
    expect(formatDateTime(null, "en")).toBe("—");
    expect(formatDateTime("soon", "en")).toBe("soon");
  });
});
