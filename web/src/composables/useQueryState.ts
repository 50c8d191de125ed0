import { computed, type WritableComputedRef } from "vue";
import { useRoute, useRouter, type LocationQueryRaw } from "vue-router";

/**
 * One piece of a list's state (a filter, the sort, the page) kept in the URL query, so the
 * list can be shared, bookmarked and restored with Back. Changing one filter resets `page`.
 */
export function useQueryParam(name: string, fallback = ""): WritableComputedRef<string> {
  const route = useRoute();
  const router = useRouter();
  return computed({
    get: () => {
      const raw = route.query[name];
      const value = Array.isArray(raw) ? raw[0] : raw;
      return value ?? fallback;
    },
    set: (value: string) => {
      const query: LocationQueryRaw = { ...route.query, [name]: value || undefined };
      if (name !== "page") delete query.page;
      void router.replace({ query });
    },
  });
}

export function useQueryList(name: string): WritableComputedRef<string[]> {
  const route = useRoute();
  const router = useRouter();
  return computed({
    get: () => {
      const raw = route.query[name];
      if (raw === undefined || raw === null) return [];
      return (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => !!v);
    },
    set: (values: string[]) => {
      const query: LocationQueryRaw = { ...route.query, [name]: values.length ? values : undefined };
      delete query.page;
      void router.replace({ query });
    },
  });
}
