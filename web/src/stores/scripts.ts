import { defineStore } from "pinia";
import { computed, ref } from "vue";
import type { OverviewScript, Script } from "@/api/types";
import { timeZone } from "@/composables/timeZone";
import { scriptService } from "@/services/scripts";
import { statsService } from "@/services/stats";

/** The catalogue: every script the user may see, with its last status and typical duration. */
export const useScriptsStore = defineStore("scripts", () => {
  const scripts = ref<Script[]>([]);
  const stats = ref<Record<number, OverviewScript>>({});
  const loaded = ref(false);

  async function load(): Promise<void> {
    const [all, overview] = await Promise.all([
      scriptService.all(),
      statsService.overview(30, timeZone.value).catch(() => null),
    ]);
    scripts.value = all;
    const byId: Record<number, OverviewScript> = {};
    for (const row of overview?.scripts ?? []) if (row.script_id !== null) byId[row.script_id] = row;
    stats.value = byId;
    loaded.value = true;
  }

  async function ensure(): Promise<void> {
    if (!loaded.value) await load();
  }

  const byId = computed(() => new Map(scripts.value.map((s) => [s.id, s])));

  return { scripts, stats, loaded, load, ensure, byId };
});
