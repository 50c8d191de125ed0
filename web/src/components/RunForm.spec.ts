import { flushPromises } from "@vue/test-utils";
import { describe, expect, it } from "vitest";
import type { Script } from "@/api/types";
import { EVERY_TYPE } from "@/test/schemas";
import { mountWith, settle } from "@/test/mount";
import RunForm from "./RunForm.vue";

const script = (schema: object) => ({ id: 1, name: "ops/check", parameter_schema: schema, my_level: "run" }) as unknown as Script;

describe("RunForm", () => {
  it("renders the right widget for every parameter type", async () => {
    const wrapper = mountWith(RunForm, { props: { script: script(EVERY_TYPE) } });
    await flushPromises();
    const widget = (name: string) => wrapper.find(`[data-param="${name}"]`);
    expect(widget("host").find("input[type=text]").exists()).toBe(true);
    expect(widget("notes").find("textarea").exists()).toBe(true);
    expect(widget("password").find("input[type=password]").exists()).toBe(true);
    expect(widget("retries").find(".el-input-number").exists()).toBe(true);
    expect(widget("ratio").find(".el-input-number").exists()).toBe(true);
    expect(widget("dry_run").find(".el-switch").exists()).toBe(true);
    expect(widget("mode").find(".el-select").exists()).toBe(true);
    expect(widget("regions").find(".el-select").exists()).toBe(true);
    expect(widget("tags").find(".el-select").exists()).toBe(true);
    expect(widget("day").find(".el-date-editor").exists()).toBe(true);
    expect(widget("at").find(".el-date-editor").exists()).toBe(true);
    expect(widget("upload").find("input[type=file]").exists()).toBe(true);
    expect(widget("anything").find("textarea").exists()).toBe(true);
    expect(widget("host").classes()).toContain("is-required");
    expect((widget("retries").find("input").element as HTMLInputElement).value).toBe("3");
  });

  it("checks on the client before sending, and sends typed parameters", async () => {
    const wrapper = mountWith(RunForm, {
      props: { script: script({ properties: { n: { type: "integer", maximum: 5 }, name: { type: "string" } }, required: ["name"] }) },
    });
    await flushPromises();
    await wrapper.find("form").trigger("submit");
    await settle();
    expect(wrapper.emitted("submit")).toBeUndefined();
    expect(wrapper.find('[data-param="name"]').text()).toContain("this field is required");
    await wrapper.find('[data-param="name"] input').setValue("db1");
    await wrapper.find('[data-param="n"] input').setValue("4");
    await wrapper.find('[data-param="n"] input').trigger("change");
    await wrapper.find("#page-context").setValue("page-1");
    await wrapper.find("form").trigger("submit");
    expect(wrapper.emitted("submit")?.[0]).toEqual([{ n: 4, name: "db1" }, "page-1"]);
  });

  it("shows the server's field errors on their fields", async () => {
    const wrapper = mountWith(RunForm, {
      props: {
        script: script({ properties: { host: { type: "string" } } }),
        serverErrors: { host: ["unknown host"], other: ["unknown parameter"] },
      },
    });
    await settle();
    expect(wrapper.find('[data-param="host"]').text()).toContain("unknown host");
    expect(wrapper.text()).toContain("other: unknown parameter");
  });

  it("takes a JSON object for free-form parameters", async () => {
    const wrapper = mountWith(RunForm, { props: { script: script({}) } });
    await flushPromises(); // Element Plus sets ids and messages after mounting
    await wrapper.find("#param-free-form").setValue('{"target": "all"}');
    await wrapper.find("form").trigger("submit");
    expect(wrapper.emitted("submit")?.[0]).toEqual([{ target: "all" }, ""]);
  });

  it("starts from an earlier run's parameters, asking for its secrets again", async () => {
    const schema = {
      properties: {
        host: { type: "string" },
        token: { type: "string", secret: true },
        n: { type: "integer", default: 1 },
      },
      required: ["host"],
    };
    const wrapper = mountWith(RunForm, {
      props: { script: script(schema), initial: { host: "db7", token: "••••", n: 4, old: true } },
    });
    await flushPromises();
    expect((wrapper.find("#param-host").element as HTMLInputElement).value).toBe("db7");
    expect((wrapper.find("#param-token").element as HTMLInputElement).value).toBe("");
    expect(wrapper.find('[data-test="note-token"]').text()).toContain("type it again");
    expect(wrapper.find('[data-test="note-host"]').exists()).toBe(false);
    expect(wrapper.find('[data-test="run-dropped"]').text()).toContain("old");
    await wrapper.find("form").trigger("submit");
    expect(wrapper.emitted("submit")?.[0]).toEqual([{ host: "db7", n: 4 }, ""]); // never the mask
    await wrapper.find("#param-token").setValue("s3cret");
    await wrapper.find("form").trigger("submit");
    expect(wrapper.emitted("submit")?.[1]).toEqual([{ host: "db7", token: "s3cret", n: 4 }, ""]);
  });

  it("starts free-form parameters from an earlier run's", async () => {
    const wrapper = mountWith(RunForm, { props: { script: script({}), initial: { target: "all" } } });
    await flushPromises();
    expect(JSON.parse((wrapper.find("#param-free-form").element as HTMLTextAreaElement).value)).toEqual({ target: "all" });
  });
});
