// The Create/Edit policy form: its state, the policy it starts from, the checks the API schema makes
// (so mistakes are shown before sending) and the exact body sent (PolicyCreate / PolicySpec).
import type { components } from '../api/schema';
import type { Day, Policy, Scope, WindowUnit } from './rules';
import { DAYS, parseWindow } from './rules';

export type PolicyCreate = components['schemas']['PolicyCreate'];
export type PolicySpec = components['schemas']['PolicySpec'];
type LimitSpec = components['schemas']['LimitSpec'];
type Period = components['schemas']['BudgetSpec-Input']['period'];

export type TokenKind = 'tokens' | 'inputTokens' | 'outputTokens';
export type LimitKind = TokenKind | 'requests';

export interface LimitRow {
  /** Stable React key of the row. */
  key: number;
  kind: LimitKind;
  amount: string;
  every: string;
  unit: WindowUnit;
  scope: Scope;
}

export interface PolicyForm {
  name: string;
  displayName: string;
  description: string;
  status: Policy['status'];
  allModels: boolean;
  models: string[];
  tokenLimits: LimitRow[];
  rateLimits: LimitRow[];
  hasSchedule: boolean;
  days: Day[];
  start: string;
  end: string;
  scheduleZone: string;
  budgetAmount: string;
  currency: string;
  period: Period;
  renewsOn: string;
  budgetScope: Scope;
  budgetZone: string;
  groups: string[];
  users: string[];
  serviceAccounts: string[];
  overLimit: Policy['overLimit'];
  priority: number | '';
  costCenter: string;
}

/** Field ids of the form → the message to show under that field. */
export type FormErrors = Record<string, string>;

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
const CLOCK = /^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$/;
const AMOUNT = /^\d{1,10}(\.\d{1,6})?$/;
const WHOLE = /^\d+$/;
const MAX_COUNT = 1e12;

let nextKey = 1;
export function newRow(kind: LimitKind): LimitRow {
  nextKey += 1;
  return { key: nextKey, kind, amount: '', every: '1', unit: 'm', scope: 'user' };
}

function rowsOf(limits: LimitSpec[], kinds: readonly LimitKind[]): LimitRow[] {
  const rows: LimitRow[] = [];
  for (const limit of limits) {
    const { every, unit } = parseWindow(limit.window);
    for (const kind of kinds) {
      const amount = limit[kind];
      if (typeof amount === 'number') {
        rows.push({ ...newRow(kind), amount: String(amount), every: String(every), unit, scope: limit.scope });
      }
    }
  }
  return rows;
}

export function emptyForm(): PolicyForm {
  return {
    name: '',
    displayName: '',
    description: '',
    status: 'active',
    allModels: true,
    models: [],
    tokenLimits: [],
    rateLimits: [],
    hasSchedule: false,
    days: ['mon', 'tue', 'wed', 'thu', 'fri'],
    start: '08:00',
    end: '18:00',
    scheduleZone: 'UTC',
    budgetAmount: '',
    currency: 'USD',
    period: 'monthly',
    renewsOn: '1',
    budgetScope: 'user',
    budgetZone: 'UTC',
    groups: [],
    users: [],
    serviceAccounts: [],
    overLimit: 'hard',
    priority: 0,
    costCenter: '',
  };
}

/** The form filled with a stored policy (a limit counting several metrics becomes one row each). */
export function formOf(policy: Policy): PolicyForm {
  const empty = emptyForm();
  const models = policy.assets?.models ?? 'all';
  const limits = policy.limits ?? [];
  return {
    ...empty,
    name: policy.name,
    displayName: policy.displayName ?? '',
    description: policy.description,
    status: policy.status,
    allModels: models === 'all',
    models: models === 'all' ? [] : models,
    tokenLimits: rowsOf(limits, ['tokens', 'inputTokens', 'outputTokens']),
    rateLimits: rowsOf(limits, ['requests']),
    hasSchedule: Boolean(policy.schedule),
    days: policy.schedule ? DAYS.filter((day) => (policy.schedule?.days ?? DAYS).includes(day)) : empty.days,
    start: policy.schedule?.start ?? empty.start,
    end: policy.schedule?.end ?? empty.end,
    scheduleZone: policy.schedule?.timezone ?? empty.scheduleZone,
    budgetAmount: policy.budget?.amount ?? '',
    currency: policy.budget?.currency ?? empty.currency,
    period: policy.budget?.period ?? empty.period,
    renewsOn: String(policy.budget?.renewsOn ?? 1),
    budgetScope: policy.budget?.scope ?? empty.budgetScope,
    budgetZone: policy.budget?.timezone ?? empty.budgetZone,
    groups: policy.targets?.groups ?? [],
    users: policy.targets?.users ?? [],
    serviceAccounts: policy.targets?.serviceAccounts ?? [],
    overLimit: policy.overLimit,
    priority: policy.priority,
    costCenter: policy.costCenter ?? '',
  };
}

function knownZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function checkRow(row: LimitRow, what: string): string | null {
  const amount = row.amount.trim();
  const every = row.every.trim();
  if (!WHOLE.test(amount) || Number(amount) < 1 || Number(amount) > MAX_COUNT) {
    return `Enter a whole number of ${what} from 1 to 1,000,000,000,000.`;
  }
  if (!WHOLE.test(every) || Number(every) < 1 || Number(every) > 999_999) {
    return 'Enter a whole number of time units from 1 to 999,999.';
  }
  return null;
}

function checkBudget(form: PolicyForm, errors: FormErrors): void {
  const amount = form.budgetAmount.trim();
  if (!amount) return;
  if (!AMOUNT.test(amount) || Number(amount) <= 0 || Number(amount) > 1e9) {
    errors['budget.amount'] = 'Enter an amount above 0 and at most 1,000,000,000, with up to 6 decimals.';
  }
  if (!/^[A-Z]{3}$/.test(form.currency.trim())) errors['budget.currency'] = 'Use a 3-letter currency code, e.g. USD.';
  if (form.period !== 'daily') {
    const most = form.period === 'weekly' ? 7 : 28;
    const day = form.renewsOn.trim();
    if (!WHOLE.test(day) || Number(day) < 1 || Number(day) > most) {
      errors['budget.renewsOn'] =
        form.period === 'weekly' ? 'Choose a weekday from 1 (Monday) to 7 (Sunday).' : 'Choose a day from 1 to 28.';
    }
  }
  if (!knownZone(form.budgetZone.trim())) errors['budget.timezone'] = 'Use an IANA time zone, e.g. Europe/Berlin.';
}

function checkSchedule(form: PolicyForm, errors: FormErrors): void {
  if (!form.hasSchedule) return;
  if (form.days.length === 0) errors['schedule.days'] = 'Choose at least one day.';
  if (!CLOCK.test(form.start)) errors['schedule.start'] = 'Use HH:MM, e.g. 08:00.';
  if (!CLOCK.test(form.end)) errors['schedule.end'] = 'Use HH:MM, e.g. 18:00 (24:00 for the end of the day).';
  else if (form.start === form.end) errors['schedule.end'] = 'The end must differ from the start.';
  if (!knownZone(form.scheduleZone.trim())) errors['schedule.timezone'] = 'Use an IANA time zone, e.g. Europe/Berlin.';
}

/** The checks of the API schema, on the form's fields. Empty when the form may be sent. */
export function validate(form: PolicyForm, creating: boolean): FormErrors {
  const errors: FormErrors = {};
  if (creating) {
    if (!form.name.trim()) errors.name = 'Enter a name.';
    else if (!NAME_PATTERN.test(form.name.trim())) {
      errors.name = 'Start with a letter or digit; then letters, digits, ".", "_", "@" or "-" (at most 128).';
    }
  }
  if (form.displayName.length > 200) errors.displayName = 'At most 200 characters.';
  if (form.description.length > 2000) errors.description = 'At most 2,000 characters.';
  if (!form.allModels && form.models.length === 0) errors.models = 'Choose at least one model, or All models.';
  form.tokenLimits.forEach((row, index) => {
    const problem = checkRow(row, 'tokens');
    if (problem) errors[`tokenLimits.${String(index)}`] = problem;
  });
  form.rateLimits.forEach((row, index) => {
    const problem = checkRow(row, 'requests');
    if (problem) errors[`rateLimits.${String(index)}`] = problem;
  });
  if (form.tokenLimits.length + form.rateLimits.length > 32) errors.limits = 'At most 32 limits in all.';
  checkSchedule(form, errors);
  checkBudget(form, errors);
  if (form.priority === '' || !Number.isInteger(form.priority) || form.priority < -1000 || form.priority > 1000) {
    errors.priority = 'Enter a whole number from -1000 to 1000.';
  }
  if (form.costCenter.length > 128) errors.costCenter = 'At most 128 characters.';
  return errors;
}

function limitOf(row: LimitRow): LimitSpec {
  return { [row.kind]: Number(row.amount.trim()), window: `${row.every.trim()}${row.unit}`, scope: row.scope };
}

/** The body of PUT (PolicySpec), and which form row each entry of `limits` came from. */
export function specOf(form: PolicyForm): { spec: PolicySpec; limitFields: string[] } {
  const rows: [LimitRow, string][] = [
    ...form.tokenLimits.map((row, index): [LimitRow, string] => [row, `tokenLimits.${String(index)}`]),
    ...form.rateLimits.map((row, index): [LimitRow, string] => [row, `rateLimits.${String(index)}`]),
  ];
  const amount = form.budgetAmount.trim();
  const spec: PolicySpec = {
    displayName: form.displayName.trim() || null,
    description: form.description.trim(),
    status: form.status,
    assets: { models: form.allModels ? 'all' : form.models },
    targets: { groups: form.groups, users: form.users, serviceAccounts: form.serviceAccounts },
    limits: rows.map(([row]) => limitOf(row)),
    budget: amount
      ? {
          amount,
          currency: form.currency.trim(),
          period: form.period,
          renewsOn: form.period === 'daily' ? 1 : Number(form.renewsOn.trim()),
          scope: form.budgetScope,
          timezone: form.budgetZone.trim(),
        }
      : null,
    schedule: form.hasSchedule
      ? {
          days: DAYS.filter((day) => form.days.includes(day)),
          start: form.start,
          end: form.end,
          timezone: form.scheduleZone.trim(),
        }
      : null,
    overLimit: form.overLimit,
    priority: Number(form.priority),
    costCenter: form.costCenter.trim() || null,
  };
  return { spec, limitFields: rows.map(([, field]) => field) };
}

const TARGETS: Record<string, string> = { groups: 'groups', users: 'users', serviceAccounts: 'serviceAccounts' };

/** The API's 422 fields (e.g. "limits.1.tokens", "targets.groups.0") → the form's field ids. */
export function formErrorsOf(apiFields: Record<string, string>, limitFields: string[]): FormErrors {
  const errors: FormErrors = {};
  for (const [field, message] of Object.entries(apiFields)) {
    const parts = field.split('.');
    let target: string | undefined;
    if (parts[0] === 'assets') target = 'models';
    else if (parts[0] === 'targets') target = TARGETS[parts[1] ?? ''];
    else if (parts[0] === 'limits') target = parts[1] !== undefined ? limitFields[Number(parts[1])] : 'limits';
    else if (parts[0] === 'schedule') target = parts[1] ? `schedule.${parts[1]}` : 'schedule.end';
    else if (parts[0] === 'budget') target = parts[1] ? `budget.${parts[1]}` : 'budget.renewsOn';
    else target = parts[0];
    if (target && !(target in errors)) errors[target] = message;
  }
  return errors;
}
