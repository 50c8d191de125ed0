// ECharts, tree-shaken to what the console draws, and a composable that owns one chart.
import { BarChart, LineChart } from "echarts/charts";
import { DatasetComponent, GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";
import { onBeforeUnmount, onMounted, shallowRef, watch, type Ref, type WatchSource } from "vue";

echarts.use([LineChart, BarChart, GridComponent, TooltipComponent, LegendComponent, DatasetComponent, CanvasRenderer]);

export type ChartOption = echarts.EChartsCoreOption;

/** Draws `option()` into `el`, again whenever `sources` change (at most every `throttle` ms). */
export function useChart(el: Ref<HTMLElement | null>, option: () => ChartOption, sources: WatchSource[], throttle = 250) {
  const chart = shallowRef<echarts.ECharts | null>(null);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let observer: ResizeObserver | undefined;

  function draw(): void {
    timer = undefined;
    chart.value?.setOption(option(), { notMerge: true, lazyUpdate: true });
  }

  onMounted(() => {
    if (!el.value) return;
    chart.value = echarts.init(el.value);
    draw();
    if (typeof ResizeObserver !== "undefined") {
      observer = new ResizeObserver(() => chart.value?.resize());
      observer.observe(el.value);
    }
  });
  watch(sources, () => {
    if (!timer) timer = setTimeout(draw, throttle);
  });
  onBeforeUnmount(() => {
    clearTimeout(timer);
    observer?.disconnect();
    chart.value?.dispose();
  });
  return chart;
}
