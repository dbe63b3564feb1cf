// The measures every usage answer carries (requests, tokens, costs per currency, latency), read the
// same way by the cards, the chart, the top consumers and the breakdown. Costs are never summed
// across currencies: a chart or a ranking by cost is in one currency, named next to it.
import type { components } from '../api/schema';
import { formatCompact, formatMoney, formatNumber } from '../components/format';
import type { Metric } from './view';

export type Cost = components['schemas']['Cost'];
export type Measured = components['schemas']['Measured'];

/** The currency with the most cost (what the API ranks `top` by), or null when nothing cost anything. */
export function mainCurrency(costs: readonly Cost[]): string | null {
  let best: Cost | null = null;
  for (const cost of costs) {
    if (best === null || Number(cost.amount) > Number(best.amount)) best = cost;
  }
  return best?.currency ?? null;
}

export function amountIn(costs: readonly Cost[], currency: string | null): number {
  if (currency === null) return 0;
  const cost = costs.find((item) => item.currency === currency);
  return cost ? Number(cost.amount) : 0;
}

/** "$12.40", or one amount per currency ("$12.40 · €3.10"); "—" when nothing was charged. */
export function formatCosts(costs: readonly Cost[]): string {
  if (costs.length === 0) return '—';
  return costs.map((cost) => formatMoney(cost.amount, cost.currency)).join(' · ');
}

export function errorsOf(measured: Pick<Measured, 'requests' | 'successes'>): number {
  return measured.requests - measured.successes;
}

export function metricValue(
  measured: Pick<Measured, 'requests' | 'total_tokens' | 'costs'>,
  metric: Metric,
  currency: string | null,
): number {
  if (metric === 'requests') return measured.requests;
  if (metric === 'tokens') return measured.total_tokens;
  return amountIn(measured.costs, currency);
}

/** A value of the metric for a tooltip or a table. */
export function formatMetric(value: number, metric: Metric, currency: string | null): string {
  if (metric === 'cost') return currency === null ? formatNumber(value) : formatMoney(value, currency);
  return formatNumber(value);
}

/** A value of the metric for an axis tick: short. */
export function formatTick(value: number, metric: Metric, currency: string | null): string {
  if (metric === 'cost' && currency !== null) {
    return value !== 0 && Math.abs(value) < 1 ? formatMoney(value, currency) : `${formatCompact(value)} ${currency}`;
  }
  return formatCompact(value);
}

export function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.round(ms)} ms`;
}

export const METRIC_NOUNS: Record<Metric, string> = { requests: 'requests', tokens: 'tokens', cost: 'cost' };
