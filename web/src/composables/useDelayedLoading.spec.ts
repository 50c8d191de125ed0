import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { effectScope } from "vue";
import { useDelayedLoading } from "./useDelayedLoading";

describe("useDelayedLoading", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("shows nothing for quick work and the indicator after 100 ms", async () => {
    const scope = effectScope();
    const { loading, run } = scope.run(() => useDelayedLoading())!;
    let finish: () => void = () => {};
    const quick = run(Promise.resolve(1));
    await quick;
    expect(loading.value).toBe(false);
    const slow = run(new Promise<void>((resolve) => (finish = resolve)));
    vi.advanceTimersByTime(99);
    expect(loading.value).toBe(false);
    vi.advanceTimersByTime(1);
    expect(loading.value).toBe(true);
    finish();
    await slow;
    expect(loading.value).toBe(false);
    scope.stop();
  });
});
