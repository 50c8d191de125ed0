// The execution page's data: the record, its live output, samples and connection state.
import { computed, ref, shallowRef, watch, type Ref } from "vue";
import type { Execution, SampleEvent, StatusEvent } from "@/api/types";
import { executionService } from "@/services/executions";
import { useResource } from "./useResource";
import { liveExecution, type LiveEvent, type LiveState } from "./liveExecution";
import { OutputBuffer } from "./outputBuffer";

/** How far along a status is: an answer that arrives late never moves the page back. */
export function statusRank(status: string | undefined): number {
  if (status === "PENDING") return 0;
  if (status === "STARTED") return 1;
  return status ? 2 : -1;
}

export function useExecution(id: Ref<number>) {
  const execution = ref<Execution | null>(null);
  const record = useResource((_signal, wanted: number) => executionService.get(wanted));
  const loadError = computed(() => record.error.value?.message ?? "");
  const output = new OutputBuffer();
  const samples = shallowRef<SampleEvent[]>([]);
  const state = ref<LiveState>("connecting");
  // what the live events said, for a record that arrives after them
  let latest: Partial<StatusEvent> | null = null;
  let final: Execution | null = null;

  // Samples arrive in bursts (a replay brings thousands): one new array per tick, as the
  // chart compares by identity.
  let incoming: SampleEvent[] = [];
  function queueSample(sample: SampleEvent): void {
    if (incoming.length === 0) {
      queueMicrotask(() => {
        samples.value = samples.value.concat(incoming);
        incoming = [];
      });
    }
    incoming.push(sample);
  }

  function onEvent(event: LiveEvent): void {
    switch (event.type) {
      case "state":
        state.value = event.state;
        break;
      case "output":
        output.append(event.data.stream, event.data.text);
        break;
      case "sample":
        queueSample(event.data);
        break;
      case "status":
        latest = { ...latest, ...event.data };
        if (execution.value && statusRank(event.data.status) >= statusRank(execution.value.status)) {
          execution.value = { ...execution.value, ...event.data } as Execution;
        }
        break;
      case "end":
        if ("script_name" in event.data) final = event.data;
        else latest = { ...latest, status: event.data.status };
        if (final) execution.value = final;
        else if (execution.value) execution.value = { ...execution.value, ...latest } as Execution;
        break;
    }
  }

  // The record as read (the latest read of the current id), merged with what the live events
  // said meanwhile; read synchronously so no event can slip in between.
  watch(
    record.data,
    (fresh) => {
      if (!fresh) return;
      if (final && statusRank(final.status) >= statusRank(fresh.status)) return;
      execution.value =
        latest && statusRank(latest.status) > statusRank(fresh.status) ? ({ ...fresh, ...latest } as Execution) : fresh;
    },
    { flush: "sync" },
  );

  async function reload(): Promise<void> {
    await record.load(id.value);
  }

  watch(
    id,
    (value, _old, onCleanup) => {
      execution.value = null;
      latest = final = null;
      output.clear();
      samples.value = [];
      incoming = [];
      void reload();
      onCleanup(liveExecution(value).subscribe(onEvent));
    },
    { immediate: true },
  );

  return { execution, loadError, output, samples, state, reload };
}
