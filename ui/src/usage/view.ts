// What a usage page shows (range, group-by, chart metric, filters), kept in the page's URL so that a
// view can be linked and survives a reload, and the query parameters the usage API takes for it.
import { type Dimension, isDimension } from './dimensions';

export type RangeChoice = '24h' | '7d' | '30d' | '1y' | 'custom';
export type Metric = 'requests' | 'tokens' | 'cost';
export type Filters = Partial<Record<Dimension, string>>;

export const RANGES: { value: RangeChoice; label: string }[] = [
  { value: '24h', label: '24 hours' },
  { value: '7d', label: '7 days' },
  { value: '30d', label: '30 days' },
  { value: '1y', label: '1 year' },
  { value: 'custom', label: 'Custom' },
];

export const METRICS: { value: Metric; label: string }[] = [
  { value: 'requests', label: 'Requests' },
  { value: 'tokens', label: 'Tokens' },
  { value: 'cost', label: 'Cost' },
];

export interface UsageView {
  range: RangeChoice;
  /** Custom range: the first and the last day shown (YYYY-MM-DD, UTC days), both included. */
  from: string;
  to: string;
  by: Dimension;
  metric: Metric;
  filters: Filters;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A UTC day as YYYY-MM-DD. */
export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function addDays(day: string, days: number): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return utcDay(date);
}

/** A real calendar day written YYYY-MM-DD (not 2026-02-30). */
export function isDay(value: string): boolean {
  if (!DAY.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && utcDay(date) === value;
}

/** Why a custom range cannot be asked for, or null. */
export function customRangeError(from: string, to: string): string | null {
  if (!isDay(from)) return 'Enter the first day as YYYY-MM-DD.';
  if (!isDay(to)) return 'Enter the last day as YYYY-MM-DD.';
  if (from > to) return 'The first day must not be after the last day.';
  return null;
}

export function defaultCustom(now: Date = new Date()): { from: string; to: string } {
  const to = utcDay(now);
  return { from: addDays(to, -6), to };
}

function oneOf<T extends string>(value: string | null, options: { value: T }[], fallback: T): T {
  return options.find((option) => option.value === value)?.value ?? fallback;
}

/** The view a URL's query holds; anything unknown or not offered on this page reads as the default. */
export function readView(search: URLSearchParams, dimensions: readonly Dimension[], now: Date = new Date()): UsageView {
  const byParam = search.get('by');
  const by = isDimension(byParam, dimensions) ? byParam : (dimensions[0] ?? 'model');
  const filters: Filters = {};
  for (const dimension of dimensions) {
    const value = search.get(dimension);
    if (value) filters[dimension] = value;
  }
  const range = oneOf(search.get('range'), RANGES, '24h');
  let from = '';
  let to = '';
  if (range === 'custom') {
    from = search.get('from') ?? '';
    to = search.get('to') ?? '';
    if (customRangeError(from, to) !== null) ({ from, to } = defaultCustom(now));
  }
  return { range, from, to, by, metric: oneOf(search.get('metric'), METRICS, 'requests'), filters };
}

/** The URL query of a view; defaults are left out. */
export function writeView(view: UsageView, dimensions: readonly Dimension[]): URLSearchParams {
  const search = new URLSearchParams();
  if (view.range !== '24h') search.set('range', view.range);
  if (view.range === 'custom') {
    search.set('from', view.from);
    search.set('to', view.to);
  }
  if (view.by !== dimensions[0]) search.set('by', view.by);
  if (view.metric !== 'requests') search.set('metric', view.metric);
  for (const dimension of dimensions) {
    const value = view.filters[dimension];
    if (value) search.set(dimension, value);
  }
  return search;
}

export type WindowParams = { range: Exclude<RangeChoice, 'custom'> } | { from: string; to: string };

/** The API's range: a named one, or from the first day's start to the end of the last day (UTC). */
export function windowParams(view: UsageView): WindowParams {
  if (view.range !== 'custom') return { range: view.range };
  return { from: `${view.from}T00:00:00Z`, to: `${addDays(view.to, 1)}T00:00:00Z` };
}

/**
 * The filters the API is asked for: the ones chosen, then the page's fixed ones (a user's own page
 * always sends `user=<name>`), which nothing chosen can override.
 */
export function filterParams(view: UsageView, fixed: Filters): Filters {
  return { ...view.filters, ...fixed };
}
