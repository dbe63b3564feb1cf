import { describe, expect, it } from 'vitest';

import { ADMIN, USER } from '../../test/render';
import { fieldErrors, initialForm, type KeyForm, toBody, validate } from './form';

const NOW = new Date(2030, 0, 15, 12, 0, 0);

function form(change: Partial<KeyForm> = {}): KeyForm {
  return { ...initialForm(USER), name: 'laptop', ...change };
}

describe('the Create API key form', () => {
  it('starts with the caller as the owner, when the caller is a user', () => {
    expect(initialForm(USER).ownerName).toBe('alice');
    expect(initialForm(ADMIN).ownerName).toBe(''); // the admin token is nobody in the directory
  });

  it('checks what the API schema checks', () => {
    expect(validate(form({ name: ' ' }), true, NOW).name).toBe('Name is required.');
    expect(validate(form({ name: 'x'.repeat(129) }), true, NOW).name).toBe('Use at most 128 characters.');
    expect(validate(form({ ownerName: '' }), true, NOW).owner).toBeDefined();
    expect(validate(form({ ownerName: '' }), false, NOW).owner).toBeUndefined();
    expect(validate(form({ ownerName: 'no spaces' }), true, NOW).owner).toBeDefined();
    expect(validate(form({ tokensPerMinute: '0' }), true, NOW)['limits.tokens_per_minute']).toBeDefined();
    expect(validate(form({ requestsPerMinute: '1.5' }), true, NOW)['limits.requests_per_minute']).toBe('Enter a whole number.');
    expect(validate(form({ budgetAmount: '1.1234567' }), true, NOW)['limits.budget.amount']).toBeDefined();
    expect(validate(form({ budgetAmount: '0' }), true, NOW)['limits.budget.amount']).toBeDefined();
    expect(validate(form({ budgetAmount: '5', budgetCurrency: 'usd' }), true, NOW)['limits.budget.currency']).toBeDefined();
    expect(validate(form({ expiration: 'custom', expiresOn: '2030-02-30' }), true, NOW).expires_at).toBe('Enter a date as YYYY-MM-DD.');
    expect(validate(form({ expiration: 'custom', expiresOn: '2030-01-14' }), true, NOW).expires_at).toBe('Choose a date in the future.');
    expect(validate(form({ allModels: false }), true, NOW).models).toBeDefined();
    expect(validate(form({ tokensPerMinute: '1000', budgetAmount: '0.000001', expiration: 'custom', expiresOn: '2030-01-15' }), true, NOW)).toEqual({});
  });

  it('sends only what was given', () => {
    expect(toBody(form())).toEqual({ name: 'laptop', description: '', owner: 'user:alice', models: null });
    expect(toBody(form({ ownerName: '' }))).toEqual({ name: 'laptop', description: '', models: null });
    expect(toBody(form({ expiration: '90d', requestsPerMinute: '5', allModels: false, models: ['m1'] }))).toEqual({
      name: 'laptop',
      description: '',
      owner: 'user:alice',
      limits: { requests_per_minute: 5 },
      expires_in: '90d',
      models: ['m1'],
    });
  });

  it("maps the API's 422 locations to fields, the unknown ones to the form", () => {
    expect(
      fieldErrors({ 'models.3': 'unknown model', 'limits.budget': 'too much', 'limits.budget.currency': 'EUR only', expires_in: 'too long', x: 'y' }),
    ).toEqual({
      errors: { models: 'unknown model', 'limits.budget.amount': 'too much', 'limits.budget.currency': 'EUR only', expires_in: 'too long' },
      rest: ['x: y'],
    });
  });
});
