import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { mockApi, renderPage } from '../../test/render';
import { PoliciesTab } from './PoliciesTab';
import type { QuotaItem } from './quota';
import { aKey, KEY_ID, KEY_PATH } from './test-fixtures';

function counter(fields: Partial<QuotaItem>): QuotaItem {
  return {
    counter: 'p:devs-standard:u:user:alice:requests:60',
    description: '60 requests per 1m per user (policy devs-standard)',
    source: 'policy',
    policy: 'devs-standard',
    metric: 'requests',
    soft: false,
    limit: 60,
    used: 3,
    remaining: 57,
    currency: null,
    window_s: 60,
    period: null,
    period_start: null,
    resets_at: '2099-01-01T00:00:57Z',
    empty_at: '2099-01-01T00:00:57Z',
    models: ['granite-3.1-8b'],
    keys: [KEY_ID],
    token: true,
    ...fields,
  };
}

const QUOTA = {
  principal: 'user:alice',
  key_id: KEY_ID,
  checked_at: '2026-03-01T12:00:00Z',
  degraded: false,
  items: [
    counter({}),
    counter({
      counter: 'p:devs-standard:g:devs:cost',
      description: 'budget of 50.00 USD monthly per group (devs) (policy devs-standard)',
      metric: 'cost',
      limit: '50',
      used: '50',
      remaining: '0',
      currency: 'USD',
      window_s: null,
      period: 'monthly',
      resets_at: '2099-02-01T00:00:00Z',
    }),
    counter({
      counter: `k:${KEY_ID}:tokens:60`,
      description: `1000 tokens per minute (key ${KEY_ID})`,
      source: 'key',
      policy: null,
      metric: 'tokens',
      limit: 1000,
      used: 0,
      remaining: 1000,
      resets_at: null,
    }),
    counter({
      counter: 'm:granite-3.1-8b:requests:60',
      description: '600 requests per 1m for everyone (model granite-3.1-8b capacity)',
      source: 'model',
      policy: null,
      limit: 600,
      used: 3,
      remaining: 597,
    }),
  ],
};

describe('PoliciesTab', () => {
  it('lists every limit of the key with its type, what is used and what is left', async () => {
    mockApi({ [`GET ${KEY_PATH}/quota`]: QUOTA });
    renderPage(<PoliciesTab apiKey={aKey()} />);

    const table = await screen.findByRole('grid', { name: 'Policies' });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(4);

    const [rate, budget, own, capacity] = rows as [HTMLElement, HTMLElement, HTMLElement, HTMLElement];
    expect(within(rate).getByRole('link', { name: 'devs-standard' })).toHaveAttribute('href', '/settings/policies/devs-standard');
    expect(rate).toHaveTextContent('p:devs-standard:u:user:alice:requests:60');
    expect(rate).toHaveTextContent('Rate limit');
    expect(rate).toHaveTextContent('60 requests per 1m per user (policy devs-standard)');
    expect(rate).toHaveTextContent('1 minute rolling window');
    expect(within(rate).getByRole('progressbar')).toHaveAttribute('aria-valuenow', '5');
    expect(rate).toHaveTextContent('3 / 60');

    expect(budget).toHaveTextContent('Budget');
    expect(budget).toHaveTextContent('$50.00 / $50.00');
    expect(budget).toHaveTextContent('monthly period');
    expect(within(budget).getByRole('progressbar')).toHaveAttribute('aria-valuenow', '100');

    expect(own).toHaveTextContent('This key’s own limits');
    expect(own).toHaveTextContent('Token limit');
    expect(own).toHaveTextContent('Nothing counted');

    expect(capacity).toHaveTextContent('Capacity of granite-3.1-8b');
    expect(capacity).toHaveTextContent('Model capacity');
    expect(screen.getByText('user:alice')).toBeInTheDocument();
  });

  it('says so when nothing limits the key', async () => {
    mockApi({ [`GET ${KEY_PATH}/quota`]: { ...QUOTA, items: [] } });
    renderPage(<PoliciesTab apiKey={aKey()} />);
    expect(await screen.findByRole('heading', { name: 'Nothing limits this key' })).toBeInTheDocument();
    expect(screen.queryByRole('grid')).not.toBeInTheDocument();
  });

  it('warns when the counters are one process’s fallback', async () => {
    mockApi({ [`GET ${KEY_PATH}/quota`]: { ...QUOTA, degraded: true } });
    renderPage(<PoliciesTab apiKey={aKey()} />);
    expect(await screen.findByText(/The shared limiter is unreachable/)).toBeInTheDocument();
  });
});
