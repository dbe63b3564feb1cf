// The chargeback export's periods (a UTC month, ISO week or day, as GET /usage/report takes them),
// the downloaded file's name, and saving a file the browser fetched.
import { addDays, isDay, utcDay } from './view';

export type PeriodKind = 'month' | 'week' | 'day';
export type ReportFormat = 'csv' | 'json';

export const PERIOD_KINDS: { value: PeriodKind; label: string }[] = [
  { value: 'month', label: 'Month' },
  { value: 'week', label: 'Week' },
  { value: 'day', label: 'Day' },
];

const monthName = new Intl.DateTimeFormat('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });
const shortDay = new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric', year: 'numeric', timeZone: 'UTC' });

/** This month and the `count - 1` before it, newest first: {value: "2026-11", label: "November 2026"}. */
export function recentMonths(now: Date, count = 25): { value: string; label: string }[] {
  const months = [];
  for (let back = 0; back < count; back += 1) {
    const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1));
    months.push({ value: utcDay(first).slice(0, 7), label: monthName.format(first) });
  }
  return months;
}

/** The ISO week (Monday to Sunday) a day is in, e.g. "2026-W47". */
export function isoWeek(day: string): string {
  const date = new Date(`${day}T00:00:00Z`);
  const weekday = (date.getUTCDay() + 6) % 7; // Monday 0
  const thursday = new Date(date.getTime() + (3 - weekday) * 86_400_000);
  const year = thursday.getUTCFullYear();
  const firstThursday = new Date(Date.UTC(year, 0, 4));
  firstThursday.setUTCDate(firstThursday.getUTCDate() + 3 - ((firstThursday.getUTCDay() + 6) % 7));
  const week = 1 + Math.round((thursday.getTime() - firstThursday.getTime()) / (7 * 86_400_000));
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** "Nov 16, 2026 – Nov 22, 2026": the days of the week a day is in. */
export function weekDays(day: string): string {
  const date = new Date(`${day}T00:00:00Z`);
  const monday = addDays(day, -((date.getUTCDay() + 6) % 7));
  const sunday = addDays(monday, 6);
  return `${shortDay.format(new Date(`${monday}T00:00:00Z`))} – ${shortDay.format(new Date(`${sunday}T00:00:00Z`))}`;
}

/** The `period` to ask for, or null while the chosen day is not a valid one. */
export function periodOf(kind: PeriodKind, month: string, day: string): string | null {
  if (kind === 'month') return /^\d{4}-\d{2}$/.test(month) ? month : null;
  if (!isDay(day)) return null;
  return kind === 'week' ? isoWeek(day) : day;
}

/** The server's file name (Content-Disposition) when it sends one, else usage-<period>-<by>.<ext>. */
export function reportFilename(disposition: string | null, period: string, by: string, format: ReportFormat): string {
  const named = disposition ? /filename="?([^";]+)"?/.exec(disposition)?.[1] : undefined;
  if (named) return named;
  return `usage-${period}-${by}.${format}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** Hands a fetched file to the browser as a download. */
export function saveFile(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
