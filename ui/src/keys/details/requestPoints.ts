// The requests of a key's time series, one point per step, for the requests chart.
import type { components } from '../../api/schema';

type Timeseries = components['schemas']['Timeseries'];

export interface RequestPoint {
  time: Date;
  requests: number;
}

/** Requests per step, summed over the answer's series (one when nothing splits it). */
export function requestPoints(timeseries: Timeseries): RequestPoint[] {
  const byTime = new Map<string, number>();
  for (const series of timeseries.series) {
    for (const point of series.points) byTime.set(point.time, (byTime.get(point.time) ?? 0) + point.requests);
  }
  return [...byTime.entries()]
    .map(([time, requests]) => ({ time: new Date(time), requests }))
    .sort((a, b) => a.time.getTime() - b.time.getTime());
}
