import { describe, expect, it } from "vitest";
import type { Execution } from "@/api/types";
import { mountWith } from "@/test/mount";
import ExecutionSummary from "./ExecutionSummary.vue";

const links = { global: { stubs: { RouterLink: true } } };

function execution(details: unknown): Execution {
  return { id: 7, status: "SUCCESS", script: 1, script_name: "check_port", details } as unknown as Execution;
}

describe("ExecutionSummary", () => {
  it("shows the command line the worker recorded, one readable line", () => {
    const wrapper = mountWith(ExecutionSummary, {
      props: { execution: execution({ command_line: ["check_port.py", "--host", "db 1", "--password", "••••"] }) },
      ...links,
    });
    expect(wrapper.find('[data-test="recorded-command-line"]').text()).toBe("check_port.py --host 'db 1' --password ••••");
  });

  it("shows no command line for a run that recorded none", () => {
    const wrapper = mountWith(ExecutionSummary, { props: { execution: execution({ start: "cold" }) }, ...links });
    expect(wrapper.find('[data-test="recorded-command-line"]').exists()).toBe(false);
  });
});
