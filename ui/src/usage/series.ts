// A time series answer turned into the chart's stacked series: one per group-by value, the largest
// first; beyond the first few, the rest are summed into "Other" so that the chart stays readable.
import type { components } from '../api/schema';
import type { Dimension } from './dimensions';
import { metricValue } from './measures';
import { type KeyNames, valueLabel } from './names';
import type { Metric } from './view';

export type Timeseries = components['schemas']['Timeseries'];

export interface ChartPoint {
  name: string;
  x: Date;
  y: number;
}

export interface ChartSeries {
  name: string;
  total: number;
  points: ChartPoint[];
}

export const MAX_SERIES = 8;

export function chartSeries(
  answer: Timeseries,
  by: Dimension,
  metric: Metric,
  currency: string | null,
  keyNames: KeyNames,
): ChartSeries[] {
  const all = answer.series.map((series) => {
    const name = valueLabel(by, series.dimensions[by], keyNames);
    const points = series.points.map((point) => ({ name, x: new Date(point.time), y: metricValue(point, metric, currency) }));
    return { name, total: points.reduce((sum, point) => sum + point.y, 0), points };
  });
  all.sort((a, b) => b.total - a.total || a.name.localeCompare(b.name));
  if (all.length <= MAX_SERIES) return all;
  const kept = all.slice(0, MAX_SERIES - 1);
  const rest = all.slice(MAX_SERIES - 1);
  const sums = new Map<number, number>();
  for (const series of rest) {
    for (const point of series.points) sums.set(point.x.getTime(), (sums.get(point.x.getTime()) ?? 0) + point.y);
  }
  const name = `Other (${rest.length})`;
  const points = [...sums.entries()]
    .sort(([a], [b]) => a - b)
    .map(([time, y]) => ({ name, x: new Date(time), y }));
  return [...kept, { name, total: rest.reduce((sum, series) => sum + series.total, 0), points }];
}

const DAY_MS = 86_400_000;

/** How a time tick reads for the answer's step and span. */
export function timeTick(time: Date, step: string, spanMs: number): string {
  if (step === '1d') return time.toLocaleDateString('en-US', { month: 'short', day: 'numeric' });
  if (spanMs <= DAY_MS) return time.toLocaleTimeString('en-US', { hour: '2-digit', minute: '2-digit' });
  return time.toLocaleString('en-US', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}
