// A policy's rules and targets as short text: "10k tokens / 1 min", "$100 / month", "Mon–Fri 08:00–18:00".
import type { components } from '../api/schema';

export type Policy = components['schemas']['PolicyRead'];
export type Limit = components['schemas']['LimitSpec'];
export type Budget = components['schemas']['BudgetSpec-Output'];
export type Schedule = components['schemas']['ScheduleSpec'];
export type Scope = Limit['scope'];
export type Day = NonNullable<Schedule['days']>[number];

export const DAYS: readonly Day[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
export const DAY_NAMES: Record<Day, string> = {
  mon: 'Mon',
  tue: 'Tue',
  wed: 'Wed',
  thu: 'Thu',
  fri: 'Fri',
  sat: 'Sat',
  sun: 'Sun',
};

export const SCOPE_NAMES: Record<Scope, string> = {
  user: 'Each user',
  key: 'Each key',
  group: 'Each group',
  policy: 'Shared by everyone',
};

export const OVER_LIMIT: Record<Policy['overLimit'], { title: string; description: string }> = {
  hard: {
    title: 'Hard',
    description: 'Refuse calls over a limit or budget (429, with Retry-After) and outside the time limit (403).',
  },
  soft: {
    title: 'Soft',
    description:
      'Let calls over a limit or budget through with an "x-headwater-limit-warning" header; usage keeps counting.',
  },
};

export type WindowUnit = 's' | 'm' | 'h' | 'd';
export const UNIT_NAMES: Record<WindowUnit, [string, string]> = {
  s: ['second', 'seconds'],
  m: ['minute', 'minutes'],
  h: ['hour', 'hours'],
  d: ['day', 'days'],
};
const UNIT_SHORT: Record<WindowUnit, string> = { s: 'sec', m: 'min', h: 'hour', d: 'day' };

/** "1m" → {every: 1, unit: 'm'}; the API's pattern is ^[1-9][0-9]{0,5}[smhd]$. */
export function parseWindow(window: string): { every: number; unit: WindowUnit } {
  const match = /^(\d+)([smhd])$/.exec(window);
  if (!match) return { every: 1, unit: 'm' };
  return { every: Number(match[1]), unit: match[2] as WindowUnit };
}

/** "1m" → "1 min", "2h" → "2 hours". */
export function describeWindow(window: string): string {
  const { every, unit } = parseWindow(window);
  const short = UNIT_SHORT[unit];
  const plural = unit === 'h' || unit === 'd' ? `${short}s` : short;
  return `${every} ${every === 1 ? short : plural}`;
}

/** 10000 → "10k", 1500000 → "1.5M", 60 → "60". */
export function shortCount(value: number): string {
  const steps: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, suffix] of steps) {
    if (Math.abs(value) >= size) {
      const scaled = Math.round((value / size) * 10) / 10;
      return `${String(scaled)}${suffix}`;
    }
  }
  return String(value);
}

/** One line per counted metric of a limit: "10k tokens / 1 min (each key)". */
export function describeLimit(limit: Limit): string[] {
  const every = describeWindow(limit.window);
  const who = limit.scope === 'user' ? '' : ` (${SCOPE_NAMES[limit.scope].toLowerCase()})`;
  const parts: [number | null | undefined, string][] = [
    [limit.tokens, 'tokens'],
    [limit.inputTokens, 'input tokens'],
    [limit.outputTokens, 'output tokens'],
    [limit.requests, 'requests'],
  ];
  return parts
    .filter((part): part is [number, string] => typeof part[0] === 'number')
    .map(([count, what]) => `${shortCount(count)} ${what} / ${every}${who}`);
}

const PERIOD_NAMES: Record<Budget['period'], string> = { daily: 'day', weekly: 'week', monthly: 'month' };

/** "$100", "€12.50", "1,000 CHF" — whole amounts without cents. */
export function formatAmount(amount: string | number, currency: string): string {
  const value = Number(amount);
  if (!Number.isFinite(value)) return `${String(amount)} ${currency}`;
  const whole = Number.isInteger(value);
  try {
    return new Intl.NumberFormat('en-US', {
      style: 'currency',
      currency,
      minimumFractionDigits: whole ? 0 : 2,
      maximumFractionDigits: 6,
    }).format(value);
  } catch {
    return `${String(amount)} ${currency}`;
  }
}

export function describeBudget(budget: Budget): string {
  return `${formatAmount(budget.amount, budget.currency)} / ${PERIOD_NAMES[budget.period]}`;
}

/** Consecutive days as a range: mon..fri → "Mon–Fri"; mon, wed → "Mon, Wed"; all → "Every day". */
export function describeDays(days: readonly Day[] | undefined): string {
  const chosen = DAYS.filter((day) => (days ?? DAYS).includes(day));
  if (chosen.length === DAYS.length) return 'Every day';
  const runs: Day[][] = [];
  for (const day of chosen) {
    const run = runs.at(-1);
    const last = run?.at(-1);
    if (run && last !== undefined && DAYS.indexOf(last) + 1 === DAYS.indexOf(day)) run.push(day);
    else runs.push([day]);
  }
  return runs
    .flatMap((run) => {
      const first = run[0];
      const last = run.at(-1);
      return run.length >= 3 && first && last ? [`${DAY_NAMES[first]}–${DAY_NAMES[last]}`] : run.map((day) => DAY_NAMES[day]);
    })
    .join(', ');
}

export function describeSchedule(schedule: Schedule): string {
  const zone = schedule.timezone === 'UTC' ? '' : ` ${schedule.timezone}`;
  return `${describeDays(schedule.days)} ${schedule.start}–${schedule.end}${zone}`;
}

/** Every rule of a policy, in the order the form shows them: tokens, requests, budget, time. */
export function describeRules(policy: Policy): string[] {
  const limits = policy.limits ?? [];
  const rules = [
    ...limits.flatMap((limit) => describeLimit({ ...limit, requests: null })),
    ...limits.flatMap((limit) => describeLimit({ ...limit, tokens: null, inputTokens: null, outputTokens: null })),
  ];
  if (policy.budget) rules.push(describeBudget(policy.budget));
  if (policy.schedule) rules.push(describeSchedule(policy.schedule));
  return rules;
}

function count(n: number, one: string, many: string): string {
  return `${String(n)} ${n === 1 ? one : many}`;
}

/** "2 groups, 1 user"; "None" when the policy targets nobody. */
export function describeTargets(policy: Policy): string {
  const targets = policy.targets ?? {};
  const parts: string[] = [];
  const groups = targets.groups?.length ?? 0;
  const users = targets.users?.length ?? 0;
  const accounts = targets.serviceAccounts?.length ?? 0;
  if (groups) parts.push(count(groups, 'group', 'groups'));
  if (users) parts.push(count(users, 'user', 'users'));
  if (accounts) parts.push(count(accounts, 'service account', 'service accounts'));
  return parts.length ? parts.join(', ') : 'None';
}

export function describeAssets(policy: Policy): string {
  const models = policy.assets?.models ?? 'all';
  if (models === 'all') return 'All models';
  return models.length ? models.join(', ') : 'No models';
}
