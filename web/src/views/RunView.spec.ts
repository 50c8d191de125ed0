import { flushPromises, mount } from "@vue/test-utils";
import ElementPlus from "element-plus";
import { createPinia } from "pinia";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { createMemoryHistory, createRouter } from "vue-router";
import { i18n, setLocale } from "@/i18n";

const SCRIPT = {
  id: 1,
  name: "ops/deploy",
  my_level: "run",
  parameter_schema: {
    properties: { host: { type: "string" }, password: { type: "string", secret: true } },
    required: ["host"],
  },
};
const api = vi.hoisted(() => ({
  executions: {} as Record<string, unknown>,
  submitted: [] as unknown[],
}));
vi.mock("@/services/scripts", () => ({ scriptService: { get: () => Promise.resolve(SCRIPT) } }));
vi.mock("@/services/executions", () => ({
  executionService: {
    get: (id: string) => (id in api.executions ? Promise.resolve(api.executions[id]) : Promise.reject(new Error("Not found."))),
    submit: (body: unknown) => {
      api.submitted.push(body);
      return Promise.resolve({ id: 99 });
    },
  },
}));

const { default: RunView } = await import("./RunView.vue");

async function open(url: string) {
  setLocale("en");
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: "/scripts/:id/run", name: "run", component: RunView, props: true },
      { path: "/executions/:id", name: "execution", component: { template: "<div />" } },
    ],
  });
  await router.push(url);
  await router.isReady();
  const wrapper = mount(RunView, {
    props: { id: "1" },
    global: { plugins: [ElementPlus, i18n, createPinia(), router], stubs: { transition: false } },
  });
  await flushPromises();
  return { wrapper, router };
}

describe("RunView: edit & re-run", () => {
  beforeEach(() => {
    api.submitted.length = 0;
    api.executions = {
      "5": { id: 5, script: 1, parameters: { host: "db5", password: "••••" }, page_context: "page-5" },
      "6": { id: 6, script: 2, parameters: { other: 1 }, page_context: "" },
    };
  });

  it("fills the form from ?from=, secrets left to type again, and runs what it shows", async () => {
    const { wrapper, router } = await open("/scripts/1/run?from=5");
    expect(wrapper.find('[data-test="run-from"]').text()).toContain("Filled in from execution #5");
    expect(wrapper.find('[data-test="run-from"] a').attributes("href")).toBe("/executions/5");
    expect((wrapper.find("#param-host").element as HTMLInputElement).value).toBe("db5");
    expect((wrapper.find("#param-password").element as HTMLInputElement).value).toBe("");
    expect(wrapper.find('[data-test="note-password"]').exists()).toBe(true);
    expect((wrapper.find("#page-context").element as HTMLInputElement).value).toBe("page-5");
    await wrapper.find("#param-host").setValue("db6");
    await wrapper.find("#param-password").setValue("pw");
    await wrapper.find("form").trigger("submit");
    await flushPromises();
    expect(api.submitted).toEqual([{ script: 1, parameters: { host: "db6", password: "pw" }, page_context: "page-5" }]);
    expect(router.currentRoute.value.fullPath).toBe("/executions/99");
  });

  it("starts empty, saying why, from a run of another script or one it cannot load", async () => {
    let { wrapper } = await open("/scripts/1/run?from=6");
    expect(wrapper.find('[data-test="run-from"]').text()).toContain("ran another script");
    expect((wrapper.find("#param-host").element as HTMLInputElement).value).toBe("");
    ({ wrapper } = await open("/scripts/1/run?from=404"));
    expect(wrapper.find('[data-test="run-from"]').text()).toContain("could not be loaded (Not found.)");
    expect((wrapper.find("#param-host").element as HTMLInputElement).value).toBe("");
  });

  it("is the plain run form without ?from=", async () => {
    const { wrapper } = await open("/scripts/1/run?page_context=p");
    expect(wrapper.find('[data-test="run-from"]').exists()).toBe(false);
    expect((wrapper.find("#page-context").element as HTMLInputElement).value).toBe("p");
  });
});
