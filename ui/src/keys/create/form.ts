// The Create API key form: its state, the checks the API schema makes (KeyCreate), and the body sent.
import type { components } from '../../api/schema';
import type { Me } from '../../app/roles';

export type KeyCreate = components['schemas']['KeyCreate'];
export type KeyCreated = components['schemas']['KeyCreated'];
type KeyBudget = components['schemas']['KeyBudget-Input'];

export type OwnerType = 'user' | 'group' | 'serviceaccount';
export type BudgetPeriod = KeyBudget['period'];
export type Expiration = 'never' | '7d' | '30d' | '90d' | 'custom';

export const OWNER_TYPES: { value: OwnerType; label: string }[] = [
  { value: 'user', label: 'User' },
  { value: 'group', label: 'Group' },
  { value: 'serviceaccount', label: 'Service account' },
];

export const PERIODS: { value: BudgetPeriod; label: string }[] = [
  { value: 'daily', label: 'Per day' },
  { value: 'weekly', label: 'Per week' },
  { value: 'monthly', label: 'Per month' },
];

export const EXPIRATIONS: { value: Expiration; label: string }[] = [
  { value: 'never', label: 'Never' },
  { value: '7d', label: '7 days' },
  { value: '30d', label: '30 days' },
  { value: '90d', label: '90 days' },
  { value: 'custom', label: 'Custom date' },
];

export interface KeyForm {
  name: string;
  description: string;
  ownerType: OwnerType;
  ownerName: string;
  tokensPerMinute: string;
  requestsPerMinute: string;
  budgetAmount: string;
  budgetCurrency: string;
  budgetPeriod: BudgetPeriod;
  expiration: Expiration;
  /** YYYY-MM-DD, for a custom expiration. */
  expiresOn: string;
  allModels: boolean;
  models: string[];
}

/** The form's fields, named as the API names them in a 422 (`body.` removed). */
export type Field =
  | 'name'
  | 'description'
  | 'owner'
  | 'limits.tokens_per_minute'
  | 'limits.requests_per_minute'
  | 'limits.budget.amount'
  | 'limits.budget.currency'
  | 'limits.budget.period'
  | 'expires_in'
  | 'expires_at'
  | 'models';

export type Errors = Partial<Record<Field, string>>;

export const LIMIT_FIELDS: Field[] = [
  'limits.tokens_per_minute',
  'limits.requests_per_minute',
  'limits.budget.amount',
  'limits.budget.currency',
  'limits.budget.period',
  'expires_in',
  'expires_at',
];

/** The API fields each input of the form feeds (an edit clears their errors). */
export const FIELDS_OF: Record<keyof KeyForm, Field[]> = {
  name: ['name'],
  description: ['description'],
  ownerType: ['owner'],
  ownerName: ['owner'],
  tokensPerMinute: ['limits.tokens_per_minute'],
  requestsPerMinute: ['limits.requests_per_minute'],
  budgetAmount: ['limits.budget.amount'],
  budgetCurrency: ['limits.budget.currency'],
  budgetPeriod: ['limits.budget.period'],
  expiration: ['expires_in', 'expires_at'],
  expiresOn: ['expires_in', 'expires_at'],
  allModels: ['models'],
  models: ['models'],
};

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
const MAX_RATE = 1e12;
const MAX_BUDGET = 1e9;

/** Whether the caller is a user of the directory (an admin signed in with the admin token is not). */
export function isDirectoryUser(me: Me): boolean {
  return me.actor.startsWith('user:');
}

export function initialForm(me: Me): KeyForm {
  return {
    name: '',
    description: '',
    ownerType: 'user',
    ownerName: isDirectoryUser(me) ? me.name : '',
    tokensPerMinute: '',
    requestsPerMinute: '',
    budgetAmount: '',
    budgetCurrency: 'USD',
    budgetPeriod: 'monthly',
    expiration: 'never',
    expiresOn: '',
    allModels: true,
    models: [],
  };
}

function checkRate(value: string): string | undefined {
  if (value.trim() === '') return undefined;
  if (!/^\d+$/.test(value.trim())) return 'Enter a whole number.';
  const number = Number(value);
  if (number < 1 || number > MAX_RATE) return 'Enter a number from 1 to 1,000,000,000,000.';
  return undefined;
}

function checkAmount(value: string): string | undefined {
  if (value.trim() === '') return undefined;
  if (!/^\d+(\.\d{1,6})?$/.test(value.trim())) return 'Enter an amount with at most 6 decimals.';
  const number = Number(value);
  if (number <= 0 || number > MAX_BUDGET) return 'Enter an amount above 0 and at most 1,000,000,000.';
  return undefined;
}

/** The end of the chosen day, local time, as an instant with a timezone. */
export function endOfDay(day: string): Date | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) return null;
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]), 23, 59, 59);
  return Number.isNaN(date.getTime()) || date.getDate() !== Number(match[3]) ? null : date;
}

/** What the API would refuse, checked before sending. `ownerRequired`: the caller must name an owner. */
export function validate(form: KeyForm, ownerRequired: boolean, now: Date = new Date()): Errors {
  const errors: Errors = {};
  const name = form.name.trim();
  if (name === '') errors.name = 'Name is required.';
  else if (name.length > 128) errors.name = 'Use at most 128 characters.';
  if (form.description.length > 2000) errors.description = 'Use at most 2,000 characters.';
  const owner = form.ownerName.trim();
  if (owner === '' && ownerRequired) errors.owner = 'Choose who owns the key.';
  else if (owner !== '' && !NAME_PATTERN.test(owner)) {
    errors.owner = 'A name starts with a letter or digit and holds letters, digits, ".", "_", "@" and "-".';
  }
  const tokens = checkRate(form.tokensPerMinute);
  if (tokens) errors['limits.tokens_per_minute'] = tokens;
  const requests = checkRate(form.requestsPerMinute);
  if (requests) errors['limits.requests_per_minute'] = requests;
  const amount = checkAmount(form.budgetAmount);
  if (amount) errors['limits.budget.amount'] = amount;
  if (form.budgetAmount.trim() !== '' && !/^[A-Z]{3}$/.test(form.budgetCurrency.trim())) {
    errors['limits.budget.currency'] = 'Enter a three-letter currency code, e.g. USD.';
  }
  if (form.expiration === 'custom') {
    const date = endOfDay(form.expiresOn);
    if (date === null) errors.expires_at = 'Enter a date as YYYY-MM-DD.';
    else if (date.getTime() <= now.getTime()) errors.expires_at = 'Choose a date in the future.';
  }
  if (!form.allModels && form.models.length === 0) errors.models = 'Choose at least one model, or allow all models.';
  return errors;
}

function limitsOf(form: KeyForm): KeyCreate['limits'] {
  const limits: NonNullable<KeyCreate['limits']> = {};
  if (form.tokensPerMinute.trim()) limits.tokens_per_minute = Number(form.tokensPerMinute);
  if (form.requestsPerMinute.trim()) limits.requests_per_minute = Number(form.requestsPerMinute);
  if (form.budgetAmount.trim()) {
    limits.budget = {
      amount: form.budgetAmount.trim(),
      currency: form.budgetCurrency.trim(),
      period: form.budgetPeriod,
    };
  }
  return Object.keys(limits).length > 0 ? limits : null;
}

/** The POST /api/v1/keys body for a valid form. */
export function toBody(form: KeyForm): KeyCreate {
  const body: KeyCreate = { name: form.name.trim(), description: form.description };
  const owner = form.ownerName.trim();
  if (owner) body.owner = `${form.ownerType}:${owner}`;
  const limits = limitsOf(form);
  if (limits) body.limits = limits;
  if (form.expiration === 'custom') body.expires_at = endOfDay(form.expiresOn)?.toISOString() ?? null;
  else if (form.expiration !== 'never') body.expires_in = form.expiration;
  body.models = form.allModels ? null : [...form.models];
  return body;
}

/** The form field an API 422 location names (`models.2` → models), or null for another one. */
export function fieldOf(apiField: string): Field | null {
  if (apiField === 'models' || apiField.startsWith('models.')) return 'models';
  if (apiField === 'limits.budget') return 'limits.budget.amount';
  const known: Field[] = ['name', 'description', 'owner', 'expires_in', 'expires_at', ...LIMIT_FIELDS];
  const match = known.find((field) => apiField === field || apiField.startsWith(`${field}.`));
  return match ?? null;
}

/** The API's 422 field messages, on the form's fields; the rest stays for a form-level alert. */
export function fieldErrors(fields: Record<string, string>): { errors: Errors; rest: string[] } {
  const errors: Errors = {};
  const rest: string[] = [];
  for (const [apiField, message] of Object.entries(fields)) {
    const field = fieldOf(apiField);
    if (field) errors[field] = errors[field] ?? message;
    else rest.push(`${apiField}: ${message}`);
  }
  return { errors, rest };
}
