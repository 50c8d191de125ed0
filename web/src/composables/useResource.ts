import { onScopeDispose, ref, shallowRef, type Ref, type ShallowRef } from "vue";

export interface ResourceOptions {
  /** How long a load runs before `loading` turns true, so quick answers never flash a spinner. */
  delay?: number;
  /** Drop the data when a load fails (a table that must not show rows for other filters). */
  clearOnError?: boolean;
}

export interface Resource<T, A extends unknown[]> {
  /** The answer to the latest load that succeeded (undefined before the first). */
  data: ShallowRef<T | undefined>;
  /** Why the latest load failed; null once one succeeds. */
  error: ShallowRef<Error | null>;
  /** True while the latest load has run longer than `delay`. */
  loading: Ref<boolean>;
  /** Loads again; an earlier load still under way is aborted and its answer ignored. */
  load: (...args: A) => Promise<void>;
  /** Forgets the data and the error, and ignores any load under way. */
  clear: () => void;
}

/**
 * Data read from the server: `load()` fetches, `loading` shows only after `delay` ms, and the
 * latest load wins: the answer to an earlier one never overwrites a later one, whichever
 * arrives last. `fetch` gets an AbortSignal, aborted when a later load starts or the owner goes.
 */
export function useResource<T, A extends unknown[] = []>(
  fetch: (signal: AbortSignal, ...args: A) => Promise<T>,
  { delay = 100, clearOnError = false }: ResourceOptions = {},
): Resource<T, A> {
  const data = shallowRef<T | undefined>();
  const error = shallowRef<Error | null>(null);
  const loading = ref(false);
  let current: AbortController | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;

  function settle(): void {
    clearTimeout(timer);
    timer = undefined;
    loading.value = false;
    current = null;
  }

  async function load(...args: A): Promise<void> {
    current?.abort();
    const controller = new AbortController();
    current = controller;
    if (timer === undefined && !loading.value) timer = setTimeout(() => (loading.value = true), delay);
    try {
      const answer = await fetch(controller.signal, ...args);
      if (current !== controller) return; // a later load answers instead
      data.value = answer;
      error.value = null;
    } catch (caught) {
      if (current !== controller) return;
      error.value = caught instanceof Error ? caught : new Error(String(caught));
      if (clearOnError) data.value = undefined;
    }
    settle();
  }

  function clear(): void {
    current?.abort();
    settle();
    data.value = undefined;
    error.value = null;
  }

  onScopeDispose(() => {
    current?.abort();
    settle();
  });
  return { data, error, loading, load, clear };
}
