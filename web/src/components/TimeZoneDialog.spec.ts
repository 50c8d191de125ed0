import { flushPromises } from "@vue/test-utils";
import { afterEach, describe, expect, it } from "vitest";
import { setTimeZone, timeZone } from "@/composables/timeZone";
import { browserTimeZone } from "@/helpers/timeZone";
import { mountWith } from "@/test/mount";
import TimeZoneDialog from "./TimeZoneDialog.vue";

async function open() {
  const wrapper = mountWith(TimeZoneDialog, {
    props: { modelValue: true },
    attachTo: document.body, // the dialog is moved to <body>
  });
  await flushPromises();
  return wrapper;
}

const selected = () =>
  document.querySelector('[data-test="time-zone"] .el-select__placeholder')?.textContent?.trim();

describe("TimeZoneDialog", () => {
  afterEach(() => setTimeZone(""));

  it("shows the browser's zone as the choice until another is picked", async () => {
    const wrapper = await open();
    expect(selected()).toBe(`The browser's (${browserTimeZone()})`);
    const select = wrapper.findComponent({ name: "ElSelect" });
    select.vm.$emit("update:modelValue", "Asia/Kathmandu");
    await flushPromises();
    expect(timeZone.value).toBe("Asia/Kathmandu");
    expect(selected()).toBe("Asia/Kathmandu");
    expect(document.querySelector('[data-test="time-zone-now"]')?.textContent).toMatch(/\d{2}:\d{2}:\d{2}/);
    select.vm.$emit("update:modelValue", "browser");
    await flushPromises();
    expect(timeZone.value).toBe(browserTimeZone());
    expect(localStorage.getItem("scriptdeck.timeZone")).toBeNull();
    wrapper.unmount();
  });
});
