import { describe, expect, it } from 'vitest';

import { formErrorsOf, formOf, specOf, validate } from './form';
import { STANDARD } from './testData';

describe('the policy form model', () => {
  it('splits a limit counting several metrics into rows and sends them back as equal limits', () => {
    const form = formOf({
      ...STANDARD,
      limits: [{ requests: 5, tokens: 900, window: '30s', scope: 'key' }],
    });
    expect(form.tokenLimits.map(({ kind, amount, every, unit, scope }) => ({ kind, amount, every, unit, scope }))).toEqual([
      { kind: 'tokens', amount: '900', every: '30', unit: 's', scope: 'key' },
    ]);
    expect(form.rateLimits).toHaveLength(1);
    const { spec, limitFields } = specOf(form);
    expect(spec.limits).toEqual([
      { tokens: 900, window: '30s', scope: 'key' },
      { requests: 5, window: '30s', scope: 'key' },
    ]);
    expect(limitFields).toEqual(['tokenLimits.0', 'rateLimits.0']);
    expect(validate(form, false)).toEqual({});
  });

  it('maps the API error locations to the form fields', () => {
    expect(
      formErrorsOf(
        {
          'limits.1': 'a limit needs requests, tokens, inputTokens or outputTokens',
          'assets.models.0': "unknown model 'x'",
          'targets.serviceAccounts.2': "unknown serviceaccount 'y'",
          'schedule.timezone': 'unknown timezone',
          budget: 'weekly budgets renew on a weekday',
          costCenter: 'too long',
        },
        ['tokenLimits.0', 'rateLimits.0'],
      ),
    ).toEqual({
      'rateLimits.0': 'a limit needs requests, tokens, inputTokens or outputTokens',
      models: "unknown model 'x'",
      serviceAccounts: "unknown serviceaccount 'y'",
      'schedule.timezone': 'unknown timezone',
      'budget.renewsOn': 'weekly budgets renew on a weekday',
      costCenter: 'too long',
    });
  });

  it('checks weekly renewal days and priorities as the API does', () => {
    const form = { ...formOf(STANDARD), period: 'weekly' as const, renewsOn: '8', priority: 1001 };
    expect(validate(form, false)).toEqual({
      'budget.renewsOn': 'Choose a weekday from 1 (Monday) to 7 (Sunday).',
      priority: 'Enter a whole number from -1000 to 1000.',
    });
  });
});
