import { describe, expect, it } from 'vitest';

import { describeDays, describeRules, describeTargets, describeWindow, shortCount, type Policy } from './rules';

const base: Policy = {
  name: 'p',
  description: '',
  status: 'active',
  overLimit: 'hard',
  priority: 0,
  created_at: '2025-01-01T00:00:00Z',
  updated_at: '2025-01-01T00:00:00Z',
};

describe('policy rules as short text', () => {
  it('abbreviates counts and windows', () => {
    expect(shortCount(60)).toBe('60');
    expect(shortCount(10_000)).toBe('10k');
    expect(shortCount(1_500_000)).toBe('1.5M');
    expect(describeWindow('1m')).toBe('1 min');
    expect(describeWindow('2h')).toBe('2 hours');
    expect(describeWindow('1d')).toBe('1 day');
    expect(describeWindow('30s')).toBe('30 sec');
  });

  it('collapses consecutive days into ranges', () => {
    expect(describeDays(['mon', 'tue', 'wed', 'thu', 'fri'])).toBe('Mon–Fri');
    expect(describeDays(['sat', 'sun'])).toBe('Sat, Sun');
    expect(describeDays(['fri', 'mon', 'wed'])).toBe('Mon, Wed, Fri');
    expect(describeDays(undefined)).toBe('Every day');
  });

  it('lists token limits, then rate limits, budget and hours', () => {
    const policy: Policy = {
      ...base,
      limits: [
        { requests: 60, tokens: 10_000, window: '1m', scope: 'user' },
        { outputTokens: 2_000_000, window: '1d', scope: 'policy' },
      ],
      budget: { amount: '100', currency: 'USD', period: 'monthly', renewsOn: 1, scope: 'user', timezone: 'UTC' },
      schedule: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', end: '18:00', timezone: 'Europe/Berlin' },
    };
    expect(describeRules(policy)).toEqual([
      '10k tokens / 1 min',
      '2M output tokens / 1 day (shared by everyone)',
      '60 requests / 1 min',
      '$100 / month',
      'Mon–Fri 08:00–18:00 Europe/Berlin',
    ]);
  });

  it('counts targets', () => {
    expect(describeTargets({ ...base, targets: { groups: ['a', 'b'], users: ['c'], serviceAccounts: [] } })).toBe(
      '2 groups, 1 user',
    );
    expect(describeTargets({ ...base, targets: { serviceAccounts: ['ci'] } })).toBe('1 service account');
    expect(describeTargets(base)).toBe('None');
  });
});
