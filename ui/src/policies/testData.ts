// Policies and directory entries as the admin API answers them, for this folder's component tests.
import type { Policy } from './rules';
import userEvent, { PointerEventsCheckLevel } from '@testing-library/user-event';


const TIME = '2025-05-01T10:00:00Z';

export const STANDARD: Policy = {
  name: 'devs-rate-limit-standard',
  displayName: 'Developers (standard)',
  description: 'Standard developer tier',
  status: 'active',
  assets: { models: ['granite-3.1-8b'] },
  targets: { groups: ['devs', 'ml'], users: ['alice'], serviceAccounts: [] },
  limits: [
    { tokens: 10_000, window: '1m', scope: 'user' },
    { requests: 60, window: '1m', scope: 'user' },
  ],
  budget: { amount: '100', currency: 'USD', period: 'monthly', renewsOn: 1, scope: 'group', timezone: 'UTC' },
  schedule: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', end: '18:00', timezone: 'UTC' },
  overLimit: 'hard',
  priority: 10,
  costCenter: 'cc-100',
  nextRenewal: '2025-06-01T00:00:00Z',
  created_at: TIME,
  updated_at: TIME,
};

export const PAUSED: Policy = {
  name: 'ci-budget',
  displayName: null,
  description: '',
  status: 'inactive',
  assets: { models: 'all' },
  targets: { groups: [], users: [], serviceAccounts: ['ci-bot'] },
  limits: [],
  budget: null,
  schedule: null,
  overLimit: 'soft',
  priority: 0,
  costCenter: null,
  nextRenewal: null,
  created_at: TIME,
  updated_at: TIME,
};

function page<T>(items: T[]) {
  return { items, next: null };
}

/** GET answers for the lists the policy form offers. */
export const CHOICES = {
  'GET /api/v1/models': page([
    { name: 'granite-3.1-8b', access: 'open', deployments: [], created_at: TIME, updated_at: TIME },
    { name: 'gpt-oss-20b', access: 'restricted', deployments: [], created_at: TIME, updated_at: TIME },
  ]),
  'GET /api/v1/groups': page([
    { name: 'devs', source: 'local', description: 'Developers', admins: [], created_at: TIME, updated_at: TIME },
    { name: 'ml', source: 'local', description: '', admins: [], created_at: TIME, updated_at: TIME },
  ]),
  'GET /api/v1/users': page([
    { name: 'alice', role: 'user', email: 'alice@example.com', created_at: TIME, updated_at: TIME },
    { name: 'bob', role: 'user', created_at: TIME, updated_at: TIME },
  ]),
  'GET /api/v1/service-accounts': page([
    { name: 'ci-bot', group: 'devs', created_at: TIME, updated_at: TIME },
  ]),
};

export { page };

/** A fast user-event: no delay between keystrokes, no pointer-events style walk on every click. */
export function fastUser() {
  return userEvent.setup({ delay: null, pointerEventsCheck: PointerEventsCheckLevel.Never });
}
