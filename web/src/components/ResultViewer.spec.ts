import { describe, expect, it } from "vitest";
import { mountWith } from "@/test/mount";
import ResultViewer from "./ResultViewer.vue";

describe("ResultViewer", () => {
  it("shows a list of rows as a table", () => {
    const wrapper = mountWith(ResultViewer, { props: { result: [{ host: "a", ok: true }, { host: "b", ok: false }] } });
    expect(wrapper.attributes("data-kind")).toBe("table");
    expect(wrapper.find('[data-test="result-table"]').exists()).toBe(true);
    expect(wrapper.text()).toContain("2 rows");
  });

  it("shows an object as a JSON tree, as text (never HTML)", () => {
    const wrapper = mountWith(ResultViewer, { props: { result: { message: "<img src=x onerror=alert(1)>" } } });
    expect(wrapper.attributes("data-kind")).toBe("json");
    expect(wrapper.find('[data-test="result-json"]').text()).toContain("<img src=x onerror=alert(1)>");
    expect(wrapper.find("img").exists()).toBe(false);
  });

  it("shows text as text, and offers the result record's download", () => {
    const wrapper = mountWith(ResultViewer, { props: { result: "all good", downloadUrl: "/api/results/3/download/" } });
    expect(wrapper.find('[data-test="result-text"]').text()).toBe("all good");
    expect(wrapper.find('[data-test="result-download"]').attributes("href")).toBe("/api/results/3/download/");
  });

  it("says when there is no result", () => {
    expect(mountWith(ResultViewer, { props: { result: null } }).attributes("data-kind")).toBe("empty");
  });
});
