// A range query's series drawn by uPlot (a small canvas chart library), sized to its container and
// redrawn when the data or the width changes. uPlot's legend is a table of the series and the values
// under the cursor, so the chart has a text form; the canvas itself is labelled as an image.
import { type JSX, createEffect, onCleanup, onMount } from 'solid-js';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { ChartData } from './rows';

// Distinguishable in light and dark themes (and by colour-blind readers, as far as eight can be).
const palette = ['#1f77b4', '#e6550d', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function cssVariable(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

function options(chart: ChartData, width: number): uPlot.Options {
  const axisColour = cssVariable('--fg-muted', '#555e6b');
  const gridColour = cssVariable('--border', '#d0d5dd');
  const axis = { stroke: axisColour, grid: { stroke: gridColour, width: 1 }, ticks: { stroke: gridColour, width: 1 } };
  return {
    width,
    height: 280,
    series: [
      {},
      ...chart.labels.map((label, index) => ({
        label,
        stroke: palette[index % palette.length],
        width: 1.5,
        spanGaps: false,
        // Every fourth series onwards is dashed as well, so colour is not the only difference.
        dash: index >= palette.length ? [6, 3] : undefined,
      })),
    ],
    axes: [axis, axis],
    legend: { live: true },
  };
}

export function MetricsChart(props: { chart: ChartData; label: string }): JSX.Element {
  let container!: HTMLElement;
  let plot: uPlot | undefined;
  const width = () => Math.max(280, container.clientWidth || 600);

  onMount(() => {
    const observer = new ResizeObserver(() => plot?.setSize({ width: width(), height: 280 }));
    observer.observe(container);
    onCleanup(() => observer.disconnect());
  });
  createEffect(() => {
    const chart = props.chart;
    plot?.destroy();
    plot = new uPlot(options(chart, width()), chart.data, container);
    plot.root.querySelector('canvas')?.setAttribute('aria-hidden', 'true');
  });
  onCleanup(() => plot?.destroy());

  return <figure class="metrics-chart" aria-label={props.label} ref={container} />;
}
