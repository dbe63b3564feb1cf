// What limits a key, from its quota (GET /api/v1/keys/{id}/quota), in the words of the Policies tab.
import type { components } from '../../api/schema';
import { formatMoney, formatNumber } from '../../components/format';

export type QuotaItem = components['schemas']['QuotaItem'];

/** The kind of limit a counter is: its type column. */
export function limitType(item: QuotaItem): string {
  if (item.source === 'model') return 'Model capacity';
  if (item.metric === 'cost') return 'Budget';
  if (item.metric === 'requests') return 'Rate limit';
  return 'Token limit';
}

/** Where the limit comes from: the policy's name, the key itself, or the model. */
export function limitName(item: QuotaItem): string {
  if (item.source === 'policy') return item.policy ?? 'Policy';
  if (item.source === 'key') return 'This key’s own limits';
  const models = item.models.join(', ');
  return models ? `Capacity of ${models}` : 'Model capacity';
}

const WINDOWS: [number, string][] = [
  [86_400, 'day'],
  [3_600, 'hour'],
  [60, 'minute'],
  [1, 'second'],
];

/** A rolling window (60 → "1 minute") or a budget's period ("monthly"). */
export function windowText(item: QuotaItem): string {
  if (item.period) return `${item.period} period`;
  if (item.window_s === null) return '';
  for (const [size, unit] of WINDOWS) {
    if (item.window_s % size === 0) {
      const count = item.window_s / size;
      return `${count} ${unit}${count === 1 ? '' : 's'} rolling window`;
    }
  }
  return `${item.window_s} seconds rolling window`;
}

export function amountText(item: QuotaItem, value: number | string): string {
  return item.metric === 'cost' ? formatMoney(value, item.currency ?? 'USD') : formatNumber(Number(value));
}

/** How much of the limit is used, 0..100. */
export function usedPercent(item: QuotaItem): number {
  const limit = Number(item.limit);
  const used = Number(item.used);
  if (!Number.isFinite(limit) || limit <= 0 || !Number.isFinite(used)) return 0;
  return Math.min(100, Math.max(0, (used / limit) * 100));
}
