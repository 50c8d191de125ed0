import { onScopeDispose, ref, type Ref } from "vue";

/**
 * `loading` turns true only when work has lasted `delay` ms, so quick answers never flash a
 * spinner. `run(promise)` tracks one piece of work.
 */
export function useDelayedLoading(delay = 100): {
  loading: Ref<boolean>;
  run: <T>(work: Promise<T>) => Promise<T>;
} {
  const loading = ref(false);
  let pending = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  function settle(): void {
    pending -= 1;
    if (pending === 0) {
      clearTimeout(timer);
      timer = undefined;
      loading.value = false;
    }
  }

  async function run<T>(work: Promise<T>): Promise<T> {
    pending += 1;
    if (pending === 1) timer = setTimeout(() => (loading.value = true), delay);
    try {
      return await work;
    } finally {
      settle();
    }
  }

  onScopeDispose(() => clearTimeout(timer));
  return { loading, run };
}
