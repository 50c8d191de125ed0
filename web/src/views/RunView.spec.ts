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
  script: null as unknown,
}));
vi.mock("@/services/scripts", () => ({ scriptService: { get: () => Promise.resolve(api.script ?? SCRIPT) } }));
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
    api.script = null;
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

describe("RunView: where the form comes from", () => {
  const ARGPARSE = {
    id: 1,
    name: "check_port",
    path: "check_port.py",
    my_level: "run",
    schema_source: "argparse",
    schema_origin: "read from argparse in build_parser(), line 12",
    schema_problems: ["line 30: type=parse_ports cannot be read: the value is taken as text"],
    command_line_preview: ["check_port.py", "--host", "<host>"],
    argv: [],
    parameter_schema: {
      properties: {
        host: { type: "string", cli: { kind: "option", flag: "--host" } },
        note: { type: "string", cli: { kind: "option", flag: "--note" } },
      },
      required: ["host"],
    },
  };

  beforeEach(() => {
    api.script = ARGPARSE;
  });

  it("says where the form was read from and what could not be read", async () => {
    const { wrapper } = await open("/scripts/1/run");
    expect(wrapper.find('[data-test="schema-origin"]').text()).toBe("Form read from argparse in build_parser(), line 12.");
    expect(wrapper.find('[data-test="schema-problems"]').text()).toContain("line 30: type=parse_ports cannot be read");
  });

  it("shows the command line, following the form as it is filled in", async () => {
    const { wrapper } = await open("/scripts/1/run");
    const line = () => wrapper.find('[data-test="command-line"] code').text();
    expect(line()).toBe("check_port.py --host <host>");
    await wrapper.find("#param-host").setValue("db 1");
    await wrapper.find("#param-note").setValue("it's");
    expect(line()).toBe("check_port.py --host 'db 1' --note 'it'\\''s'");
  });

  it("names the declaration when the server gives no sentence, in Chinese too", async () => {
    api.script = { ...SCRIPT, schema_source: "declared" };
    const { wrapper } = await open("/scripts/1/run");
    expect(wrapper.find('[data-test="schema-origin"]').text()).toBe("Form read from the script's PARAMETERS.");
    expect(wrapper.find('[data-test="command-line"]').exists()).toBe(false);
    setLocale("zh-CN");
    await flushPromises();
    expect(wrapper.find('[data-test="schema-origin"]').text()).toBe("表单读取自脚本的 PARAMETERS。");
    setLocale("en");
  });
});

