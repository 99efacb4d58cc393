/**
 * A time-series chart drawn by uPlot (loaded in its own chunk on first use). Drag to zoom,
 * double-click to zoom out: uPlot's own cursor selection. Series with different time stamps
 * are aligned on the union of their x values.
 */
import { useEffect, useRef } from 'preact/hooks';
import type uPlotType from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { t } from '../i18n.js';
import { fmtAxisTime, fmtNumber, fmtTime } from '../format.js';

export interface ChartSeries {
  readonly label: string;
  readonly color: string;
  /** [ms since the epoch, value]. */
  readonly points: readonly (readonly [number, number])[];
  readonly dash?: boolean;
  /** Draw straight across missing x values (a constant limit line given by its two ends). */
  readonly joinGaps?: boolean;
}

export interface ChartProps {
  readonly series: readonly ChartSeries[];
  readonly unit: string;
  readonly height?: number;
  /** Test hook and accessibility label. */
  readonly name: string;
  /** The x window to show, ms since the epoch; without it, the data's own extent. */
  readonly xRange?: readonly [number, number];
}

export function Chart({ series, unit, height = 260, name, xRange }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlotType | null>(null);
  const latest = useRef(series);
  latest.current = series;
  // Set while the operator has zoomed in: a data refresh must not throw the zoom away.
  const zoomed = useRef(false);
  const shape = `${series.map((s) => s.label).join('|')}:${unit}:${height}:${xRange?.[0] ?? ''}:${xRange?.[1] ?? ''}`;

  useEffect(() => {
    const el = box.current;
    if (el === null) return undefined;
    let cancelled = false;
    const observer = new ResizeObserver(() => { plot.current?.setSize({ width: el.clientWidth, height }); });
    const unzoom = () => { zoomed.current = false; };
    el.addEventListener('dblclick', unzoom);
    void import('uplot').then(({ default: UPlot }) => {
      if (cancelled) return;
      zoomed.current = false;
      // Times and numbers in the dashboard's one locale (src/web/format.ts), not uPlot's own US formats.
      const ticks = (u: uPlotType, vals: number[]) => {
        const [min = 0, max = 0] = [u.scales.x?.min, u.scales.x?.max];
        return vals.map((v) => fmtAxisTime(v * 1000, (max - min) * 1000));
      };
      plot.current = new UPlot({
        width: el.clientWidth, height,
        tzDate: (ts) => new Date(ts * 1000),
        scales: { x: { time: true, ...(xRange === undefined ? {} : { range: (): [number, number] => [xRange[0] / 1000, xRange[1] / 1000] }) } },
        axes: [
          { stroke: '#9aa4b2', grid: { stroke: '#2a3340' }, values: ticks },
          { stroke: '#9aa4b2', grid: { stroke: '#2a3340' }, label: unit, size: 60, values: (_u, vals) => vals.map((v) => fmtNumber(v, Number.isInteger(v) ? 0 : 2)) },
        ],
        series: [
          { label: t('common.time'), value: (_u: uPlotType, v: number | null) => (v === null ? '—' : fmtTime(v * 1000)) },
          ...latest.current.map((s) => ({
            label: s.label, stroke: s.color, width: 2, ...(s.dash === true ? { dash: [6, 4] } : {}), spanGaps: s.joinGaps === true,
            value: (_u: uPlotType, v: number | null) => (v === null ? '—' : `${fmtNumber(v, 2)} ${unit}`),
          })),
        ],
        hooks: { setSelect: [(u) => { if (u.select.width > 0) zoomed.current = true; }] },
      }, align(latest.current), el);
      observer.observe(el);
    });
    return () => {
      cancelled = true;
      observer.disconnect();
      el.removeEventListener('dblclick', unzoom);
      plot.current?.destroy();
      plot.current = null;
    };
  }, [shape]);

  useEffect(() => { plot.current?.setData(align(series), !zoomed.current); }, [series]);
  return <div class="chart" ref={box} role="img" aria-label={name} data-chart={name} data-points={series.reduce((n, s) => n + s.points.length, 0)} />;
}

/** uPlot wants one x array (seconds) and, per series, a y array of the same length. */
function align(series: readonly ChartSeries[]): uPlotType.AlignedData {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const y: (number | null)[] = new Array<number | null>(xs.length).fill(null);
    for (const [x, v] of s.points) {
      const i = index.get(x);
      if (i !== undefined) y[i] = v;
    }
    return y;
  });
  return [xs.map((x) => x / 1000), ...ys];
}
