import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { defineComponent, h } from "vue";
import { mountWith } from "@/test/mount";
import { useResource, type Resource, type ResourceOptions } from "./useResource";

/** An answer the test gives when it wants to, and the signal its load was given. */
interface Pending {
  signal: AbortSignal;
  resolve: (value: string) => void;
  reject: (reason: unknown) => void;
}

function harness(options: ResourceOptions = {}) {
  const asked: Pending[] = [];
  let resource!: Resource<string, [string]>;
  const Shown = defineComponent({
    setup() {
      resource = useResource(
        (signal, name: string) =>
          new Promise<string>((resolve, reject) => asked.push({ signal, resolve: (v) => resolve(`${name}:${v}`), reject })),
        options,
      );
      return () => h("span", resource.loading.value ? "loading" : (resource.data.value ?? resource.error.value?.message ?? "—"));
    },
  });
  const wrapper = mountWith(Shown);
  return { asked, resource, wrapper };
}

const turns = async () => {
  for (let i = 0; i < 5; i += 1) await Promise.resolve();
};

describe("useResource", () => {
  // only the timers: the promise queue and Vue's scheduler run as usual
  beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] }));
  afterEach(() => vi.useRealTimers());

  it("shows nothing for a quick answer and the indicator after 100 ms", async () => {
    const { asked, resource, wrapper } = harness();
    const quick = resource.load("a");
    asked[0].resolve("1");
    await quick;
    expect(resource.loading.value).toBe(false);
    expect(resource.data.value).toBe("a:1");

    const slow = resource.load("b");
    vi.advanceTimersByTime(99);
    expect(resource.loading.value).toBe(false);
    vi.advanceTimersByTime(1);
    expect(resource.loading.value).toBe(true);
    await wrapper.vm.$nextTick();
    expect(wrapper.text()).toBe("loading");
    asked[1].resolve("2");
    await slow;
    expect(resource.loading.value).toBe(false);
    await wrapper.vm.$nextTick();
    expect(wrapper.text()).toBe("b:2");
    wrapper.unmount();
  });

  it("keeps the latest load's answer when an earlier one arrives after it", async () => {
    const { asked, resource, wrapper } = harness();
    const first = resource.load("first");
    const second = resource.load("second");
    expect(asked[0].signal.aborted).toBe(true); // the earlier request is called off
    expect(asked[1].signal.aborted).toBe(false);
    asked[1].resolve("new");
    await second;
    asked[0].resolve("old"); // answers anyway, last
    await first;
    expect(resource.data.value).toBe("second:new");
    expect(resource.error.value).toBeNull();
    wrapper.unmount();
  });

  it("ignores an earlier load's failure, and stays loading until the latest answers", async () => {
    const { asked, resource, wrapper } = harness();
    void resource.load("first");
    void resource.load("second");
    asked[0].reject(new Error("aborted"));
    await turns();
    vi.advanceTimersByTime(100);
    expect(resource.error.value).toBeNull();
    expect(resource.loading.value).toBe(true);
    asked[1].resolve("ok");
    await turns();
    expect(resource.loading.value).toBe(false);
    expect(resource.data.value).toBe("second:ok");
    wrapper.unmount();
  });

  it("keeps the error as state, with the last data, until a load succeeds", async () => {
    const { asked, resource, wrapper } = harness();
    void resource.load("a");
    asked[0].resolve("1");
    await turns();
    void resource.load("b");
    asked[1].reject(new Error("HTTP 500"));
    await turns();
    expect(resource.error.value?.message).toBe("HTTP 500");
    expect(resource.data.value).toBe("a:1");
    expect(resource.loading.value).toBe(false);
    void resource.load("c");
    asked[2].resolve("3");
    await turns();
    expect(resource.error.value).toBeNull();
    expect(resource.data.value).toBe("c:3");
    wrapper.unmount();
  });

  it("drops the data on a failure when asked to, and reads a thrown non-error as its text", async () => {
    const { asked, resource, wrapper } = harness({ clearOnError: true });
    void resource.load("a");
    asked[0].resolve("1");
    await turns();
    void resource.load("b");
    asked[1].reject("offline");
    await turns();
    expect(resource.data.value).toBeUndefined();
    expect(resource.error.value?.message).toBe("offline");
    wrapper.unmount();
  });

  it("ignores what arrives after clear() and after its component is gone", async () => {
    const { asked, resource, wrapper } = harness();
    void resource.load("a");
    resource.clear();
    expect(asked[0].signal.aborted).toBe(true);
    asked[0].resolve("1");
    await turns();
    expect(resource.data.value).toBeUndefined();
    void resource.load("b");
    wrapper.unmount();
    expect(asked[1].signal.aborted).toBe(true);
    asked[1].resolve("2");
    await turns();
    vi.advanceTimersByTime(100);
    expect(resource.data.value).toBeUndefined();
    expect(resource.loading.value).toBe(false);
  });
});
