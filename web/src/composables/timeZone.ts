import { computed, ref } from "vue";
import { browserTimeZone, isTimeZone } from "@/helpers/timeZone";

// The time zone every date is shown in: the browser's, unless the person chose another in the
// user menu (kept in localStorage). The Overview's per-day buckets are counted in it too.

const STORAGE_KEY = "scriptdeck.timeZone";

function saved(): string | null {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage refused (a privacy setting): the browser's zone
  }
}

/** The chosen zone (empty: follow the browser), ignoring a saved name this browser does not know. */
export function chosenTimeZone(stored: string | null = saved()): string {
  return stored && isTimeZone(stored) ? stored : "";
}

const chosen = ref(chosenTimeZone());

/** What the person chose in the user menu; "" means the browser's zone. */
export const timeZoneChoice = computed(() => chosen.value);

/** The zone dates are shown in now. */
export const timeZone = computed(() => chosen.value || browserTimeZone());

/** Choose a zone by its name; "" (or a name this browser does not know) follows the browser. */
export function setTimeZone(name: string): void {
  const value = name && isTimeZone(name) ? name : "";
  chosen.value = value;
  try {
    if (value) localStorage.setItem(STORAGE_KEY, value);
    else localStorage.removeItem(STORAGE_KEY);
  } catch {
    /* not kept past this page: still used until it closes */
  }
}

/** Every zone the browser knows, sorted, with UTC (which some browsers leave out of the list). */
export function timeZoneNames(): string[] {
  const listed = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const names = new Set([...listed, "UTC", browserTimeZone()]);
  if (chosen.value) names.add(chosen.value);
  return [...names].sort();
}
