import { flushPromises, mount } from "@vue/test-utils";
import ElementPlus from "element-plus";
import { createPinia } from "pinia";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { createMemoryHistory, createRouter } from "vue-router";
import type { Query } from "@/api/client";
import { i18n, setLocale } from "@/i18n";
import { setTimeZone } from "@/composables/timeZone";

const calls = vi.hoisted(() => [] as Query[]);
vi.mock("@/services/executions", () => ({
  executionService: {
    list: (query: Query) => {
      calls.push(query);
      return Promise.resolve({
        count: 60,
        results: [
          { id: 7, script_name: "b", status: "SUCCESS", user: "alice", created_at: "2024-03-01T02:00:00Z", execution_time: 1 },
          { id: 3, script_name: "a", status: "FAILURE", user: "bob", created_at: "2024-03-01T01:00:00Z", execution_time: 9 },
        ],
      });
    },
  },
}));
vi.mock("@/services/scripts", () => ({ scriptService: { all: () => Promise.resolve([]) } }));
vi.mock("@/services/stats", () => ({ statsService: { overview: () => Promise.resolve(null) } }));

const { default: HistoryView } = await import("./HistoryView.vue");

async function open(url: string) {
  setLocale("en");
  const router = createRouter({ history: createMemoryHistory(), routes: [
      { path: "/history", component: HistoryView },
      { path: "/executions/:id", name: "execution", component: { template: "<div />" } },
    ] });
  await router.push(url);
  await router.isReady();
  const wrapper = mount(HistoryView, {
    global: { plugins: [ElementPlus, i18n, createPinia(), router], stubs: { transition: false } },
  });
  await flushPromises();
  return { wrapper, router };
}

const header = (wrapper: Awaited<ReturnType<typeof open>>["wrapper"], label: string) =>
  wrapper.findAll("th").find((th) => th.text() === label)!;

describe("HistoryView", () => {
  beforeEach(() => {
    calls.length = 0;
    setTimeZone("");
  });

  it("asks the server for the URL's sort and shows the rows in the order they came", async () => {
    const { wrapper } = await open("/history?sort=-execution_time&status=SUCCESS&page=2&page_size=10");
    expect(calls.at(-1)).toMatchObject({ ordering: "-execution_time", status: ["SUCCESS"], page: "2", page_size: "10" });
    const ids = wrapper.findAll('[data-test^="history-row-"]').map((a) => a.text());
    expect(ids).toEqual(["#7", "#3"]); // not re-sorted on the page: the server's order
    expect(header(wrapper, "Duration").classes()).toContain("descending");
  });

  it("newest first by default", async () => {
    await open("/history");
    expect(calls.at(-1)?.ordering).toBe("-created_at");
  });

  it("puts a header click in the URL, back on the first page, and asks the server again", async () => {
    const { wrapper, router } = await open("/history?page=3");
    await header(wrapper, "Script").find(".caret-wrapper").trigger("click");
    await flushPromises();
    expect(router.currentRoute.value.query).toEqual({ sort: "-script_name" });
    expect(calls.at(-1)).toMatchObject({ ordering: "-script_name", page: "1" });
    await header(wrapper, "Script").find("button.sort-head").trigger("click"); // a button: Tab + Enter work
    await flushPromises();
    expect(router.currentRoute.value.query).toEqual({ sort: "script_name" });
    expect(calls.at(-1)?.ordering).toBe("script_name");
  });

  it("follows the URL when it changes (Back), header included", async () => {
    const { wrapper, router } = await open("/history?sort=user");
    await router.replace({ query: { sort: "-memory_usage" } });
    await flushPromises();
    expect(calls.at(-1)?.ordering).toBe("-memory_usage");
    expect(header(wrapper, "Peak memory").classes()).toContain("descending");
    expect(header(wrapper, "User").classes()).not.toContain("ascending");
  });

  it("keeps the created range in the URL as instants, picked in the chosen zone", async () => {
    setTimeZone("Asia/Shanghai");
    const { wrapper } = await open("/history?created_after=2024-03-01T02:00:00Z&created_before=2024-03-02T02:00:00Z");
    expect(calls.at(-1)).toMatchObject({ created_after: "2024-03-01T02:00:00Z", created_before: "2024-03-02T02:00:00Z" });
    const inputs = wrapper.findAll(".el-range-input").map((i) => (i.element as HTMLInputElement).value);
    expect(inputs).toEqual(["2024-03-01 10:00:00", "2024-03-02 10:00:00"]);
  });
});
