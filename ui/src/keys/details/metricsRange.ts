// The Metrics tab's time range: a named range (24 hours, 7 days, 30 days) or custom dates, as the
// usage API's query (range, or from/to with a timezone) and the time series step that suits it.

export type RangeChoice = '24h' | '7d' | '30d' | 'custom';
export type Step = '1h' | '1d';

export interface UsageWindow {
  range?: '24h' | '7d' | '30d';
  from?: string;
  to?: string;
  step: Step;
}

export interface CustomDates {
  /** yyyy-mm-dd, the first day counted */
  from: string;
  /** yyyy-mm-dd, the last day counted */
  to: string;
}

export const CHOICES: { value: RangeChoice; text: string }[] = [
  { value: '24h', text: '24 hours' },
  { value: '7d', text: '7 days' },
  { value: '30d', text: '30 days' },
  { value: 'custom', text: 'Custom' },
];

const DAY_MS = 86_400_000;
const STEP_BY_RANGE: Record<'24h' | '7d' | '30d', Step> = { '24h': '1h', '7d': '1h', '30d': '1d' };

/** A local calendar day (yyyy-mm-dd) as its midnight, or null when it is not one. */
export function parseDay(text: string): Date | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(year, month - 1, day);
  if (date.getFullYear() !== year || date.getMonth() !== month - 1 || date.getDate() !== day) return null;
  return date;
}

export function formatDay(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The last 7 days, today included: what Custom starts from. */
export function defaultCustom(today: Date): CustomDates {
  const start = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 6);
  return { from: formatDay(start), to: formatDay(today) };
}

export type WindowResult = { window: UsageWindow; error?: undefined } | { window?: undefined; error: { from?: string; to?: string } };

/** The API query for a choice; custom dates count whole local days, `to` included. */
export function usageWindow(choice: RangeChoice, custom: CustomDates): WindowResult {
  if (choice !== 'custom') return { window: { range: choice, step: STEP_BY_RANGE[choice] } };
  const from = parseDay(custom.from);
  const to = parseDay(custom.to);
  if (!from || !to) {
    return { error: { ...(from ? {} : { from: 'Enter a date (YYYY-MM-DD).' }), ...(to ? {} : { to: 'Enter a date (YYYY-MM-DD).' }) } };
  }
  if (from > to) return { error: { to: 'The end date must not be before the start date.' } };
  const end = new Date(to.getFullYear(), to.getMonth(), to.getDate() + 1);
  const step: Step = end.getTime() - from.getTime() <= 8 * DAY_MS ? '1h' : '1d';
  return { window: { from: from.toISOString(), to: end.toISOString(), step } };
}

/** The "View dashboard" address: the configured URL with {key_id} filled in, or null when none is set. */
export function dashboardLink(template: string | null | undefined, keyId: string): string | null {
  if (!template) return null;
  return template.split('{key_id}').join(encodeURIComponent(keyId));
}
