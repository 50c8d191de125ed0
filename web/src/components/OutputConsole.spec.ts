import { flushPromises } from "@vue/test-utils";
import { describe, expect, it } from "vitest";
import { OutputBuffer } from "@/composables/outputBuffer";
import { mountWith } from "@/test/mount";
import OutputConsole from "./OutputConsole.vue";

describe("OutputConsole", () => {
  it("renders only the lines in view of 100,000", async () => {
    const buffer = new OutputBuffer();
    buffer.append("stdout", Array.from({ length: 100_000 }, (_, i) => `line ${i}`).join("\n") + "\n");
    const wrapper = mountWith(OutputConsole, { props: { buffer } });
    await flushPromises();
    expect(wrapper.find('[data-test="line-count"]').text()).toContain("100000");
    expect(wrapper.findAll(".line").length).toBeLessThan(200);
  });

  it("tells stderr apart and renders colours as text", async () => {
    const buffer = new OutputBuffer();
    buffer.append("stdout", "\x1b[31m<b>red</b>\x1b[0m\n");
    buffer.append("stderr", "oops\n");
    const wrapper = mountWith(OutputConsole, { props: { buffer } });
    await flushPromises();
    const lines = wrapper.findAll(".line");
    expect(lines[0].text()).toContain("<b>red</b>");
    expect(lines[0].find("b").exists()).toBe(false);
    expect(lines[0].find("span[style]").attributes("style")).toContain("--ansi-red");
    expect(lines[1].attributes("data-stream")).toBe("stderr");
  });

  it("finds text in the output", async () => {
    const buffer = new OutputBuffer();
    buffer.append("stdout", "alpha\nbeta\nalphabet\n");
    const wrapper = mountWith(OutputConsole, { props: { buffer } });
    await wrapper.find('[data-test="console-search"]').setValue("alpha");
    await flushPromises();
    expect(wrapper.text()).toContain("1 of 2");
    expect(wrapper.findAll(".line.match")).toHaveLength(2);
  });
});
