import { configure, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { type Call, GROUP_ADMIN, mockApi, renderPage, reply } from '../test/render';
import AdminUsagePage from './AdminUsagePage';
import { EMPTY_SUMMARY, measured, summaryAnswer, timeseriesAnswer, topAnswer } from './testFixtures';

const BY_MODEL = summaryAnswer('model', [
  ['llama-70b', measured(900, 880, 120_000, 40_000, '9.50')],
  ['mistral-7b', measured(334, 320, 20_000, 6_000, '3.00')],
]);

// Role queries skip the visibility check (getComputedStyle up every ancestor): a big page stays fast.
configure({ defaultHidden: true });

function usageRoutes(summary: (call: Call) => unknown = () => BY_MODEL) {
  return {
    'GET /api/v1/usage/summary': summary,
    'GET /api/v1/usage/timeseries': (call: Call) => timeseriesAnswer(call.query.get('by') ?? 'model', ['llama-70b', 'mistral-7b']),
    'GET /api/v1/usage/top': (call: Call) => topAnswer(call.query.get('dimension') ?? 'user', call.query.get('metric') ?? 'requests', ['alice', 'bob']),
    'GET /api/v1/keys': { items: [], next: null },
  };
}

function last(calls: Call[], path: string): Call {
  const found = calls.filter((call) => call.path === path).at(-1);
  if (!found) throw new Error(`no call to ${path}`);
  return found;
}

function params(call: Call): Record<string, string> {
  return Object.fromEntries(call.query.entries());
}

describe('Organization usage', () => {
  it('shows the summary as cards and the breakdown, one row per group-by value', async () => {
    const { calls } = mockApi(usageRoutes());
    renderPage(<AdminUsagePage />, { path: '/admin/usage' });

    expect(await screen.findByRole('heading', { level: 1, name: 'Organization usage' })).toBeInTheDocument();
    const requests = await screen.findByRole('region', { name: 'Requests' });
    expect(within(requests).getByText('1,234')).toBeInTheDocument();
    expect(within(requests).getByText('34 failed')).toBeInTheDocument();
    const tokens = screen.getByRole('region', { name: 'Tokens' });
    expect(within(tokens).getByText('186,000')).toBeInTheDocument();
    expect(within(tokens).getByText('140,000 input · 46,000 output')).toBeInTheDocument();
    expect(within(screen.getByRole('region', { name: 'Cost' })).getByText('$12.50')).toBeInTheDocument();
    expect(within(screen.getByRole('region', { name: 'Success rate' })).getByText('97.2%')).toBeInTheDocument();
    expect(within(screen.getByRole('region', { name: 'p95 latency' })).getByText('850 ms')).toBeInTheDocument();

    const table = screen.getByRole('grid', { name: 'Usage breakdown' });
    const [, first, ...others] = within(table).getAllByRole('row');
    expect(others).toHaveLength(1);
    if (!first) throw new Error('no breakdown row');
    expect(within(first).getAllByRole('cell').map((cell) => cell.textContent).slice(0, 6)).toEqual([
      'llama-70b',
      '900',
      '120,000',
      '40,000',
      '$9.50',
      '20',
    ]);
    expect(params(last(calls, '/api/v1/usage/summary'))).toEqual({ range: '24h', by: 'model' });
    expect(params(last(calls, '/api/v1/usage/timeseries'))).toEqual({ range: '24h', by: 'model' });
    expect(params(last(calls, '/api/v1/usage/top'))).toEqual({ range: '24h', dimension: 'user', metric: 'requests', limit: '10' });
    expect(await screen.findByRole('grid', { name: 'Top users by requests' })).toHaveTextContent('alice');
  });

  it('asks for the chosen range, group-by and filters', async () => {
    const user = userEvent.setup();
    const { calls } = mockApi(usageRoutes((call) => summaryAnswer(call.query.get('by') ?? 'model', [['alice', measured(5, 5, 10, 10, '1.00')]])));
    renderPage(<AdminUsagePage />, { path: '/admin/usage' });
    await screen.findByRole('grid', { name: 'Usage breakdown' });

    await user.click(screen.getByRole('button', { name: '7 days' }));
    await waitFor(() => expect(last(calls, '/api/v1/usage/summary').query.get('range')).toBe('7d'));

    await user.click(screen.getByRole('button', { name: 'Group by: Model' }));
    const options = within(screen.getByRole('listbox', { name: 'Group by' }))
      .getAllByRole('option')
      .map((option) => option.textContent);
    expect(options).toEqual(['Model', 'User', 'Group', 'Service account', 'API key', 'Cost center', 'Policy', 'Provider', 'Deployment']);
    await user.click(within(screen.getByRole('listbox', { name: 'Group by' })).getByRole('option', { name: 'User' }));
    await waitFor(() => expect(params(last(calls, '/api/v1/usage/summary'))).toEqual({ range: '7d', by: 'user' }));
    expect(params(last(calls, '/api/v1/usage/timeseries'))).toEqual({ range: '7d', by: 'user' });

    // a breakdown row's action filters to its value, shown as a removable label
    const table = await screen.findByRole('grid', { name: 'Usage breakdown' });
    await user.click(within(table).getByRole('button', { name: 'Kebab toggle' }));
    await user.click(screen.getByRole('menuitem', { name: 'Filter by this user' }));
    await waitFor(() => expect(params(last(calls, '/api/v1/usage/summary'))).toEqual({ range: '7d', by: 'user', user: 'alice' }));
    expect(last(calls, '/api/v1/usage/top').query.get('user')).toBe('alice');

    // a typed filter: Filter by cost center, then the value
    await user.click(screen.getByRole('button', { name: 'Filter by: Model' }));
    await user.click(within(screen.getByRole('listbox', { name: 'Filter by' })).getByRole('option', { name: 'Cost center' }));
    await user.click(screen.getByRole('textbox', { name: 'Filter by cost center' }));
    await user.paste('CC-4711');
    await user.keyboard('{Enter}');
    await waitFor(() => expect(last(calls, '/api/v1/usage/summary').query.get('costCenter')).toBe('CC-4711'));
    expect(last(calls, '/api/v1/usage/summary').query.get('user')).toBe('alice');

    await user.click(screen.getByRole('button', { name: 'Clear all filters' }));
    await waitFor(() => expect(params(last(calls, '/api/v1/usage/summary'))).toEqual({ range: '7d', by: 'user' }));
  });

  it('asks for a custom range as whole UTC days', async () => {
    const user = userEvent.setup();
    const { calls } = mockApi(usageRoutes());
    renderPage(<AdminUsagePage />, { path: '/admin/usage?range=custom&from=2026-11-01&to=2026-11-07' });
    await screen.findByRole('grid', { name: 'Usage breakdown' });
    expect(params(last(calls, '/api/v1/usage/summary'))).toEqual({
      from: '2026-11-01T00:00:00Z',
      to: '2026-11-08T00:00:00Z',
      by: 'model',
    });
    const first = screen.getByRole('textbox', { name: 'First day' });
    await user.tripleClick(first);
    await user.paste('2026-10-15');
    await waitFor(() => expect(last(calls, '/api/v1/usage/summary').query.get('from')).toBe('2026-10-15T00:00:00Z'));

    await user.click(screen.getByRole('button', { name: '30 days' }));
    await waitFor(() => expect(params(last(calls, '/api/v1/usage/summary'))).toEqual({ range: '30d', by: 'model' }));
    expect(screen.queryByRole('textbox', { name: 'First day' })).not.toBeInTheDocument();
  });

  it('ranks top consumers by the chart metric, cost in the main currency', async () => {
    const user = userEvent.setup();
    const { calls } = mockApi(usageRoutes());
    renderPage(<AdminUsagePage />, { path: '/admin/usage' });
    await screen.findByRole('grid', { name: 'Top users by requests' });

    await user.click(within(screen.getByRole('group', { name: 'Chart metric' })).getByRole('button', { name: 'Cost' }));
    await waitFor(() => expect(last(calls, '/api/v1/usage/top').query.get('metric')).toBe('cost'));
    expect(last(calls, '/api/v1/usage/top').query.get('currency')).toBe('USD');
    expect(await screen.findByRole('heading', { name: 'Cost (USD) per hour' })).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'API keys' }));
    await waitFor(() => expect(last(calls, '/api/v1/usage/top').query.get('dimension')).toBe('key'));
    expect(await screen.findByRole('grid', { name: 'Top API keys by cost (USD)' })).toBeInTheDocument();
  });

  it('sorts the breakdown by a column', async () => {
    const user = userEvent.setup();
    mockApi(
      usageRoutes(() =>
        summaryAnswer('model', [
          ['alpha', measured(50, 50, 10, 10, '9.00')],
          ['beta', measured(40, 30, 10, 10, '1.00')],
          ['gamma', measured(30, 30, 10, 10, '5.00')],
        ]),
      ),
    );
    renderPage(<AdminUsagePage />, { path: '/admin/usage' });
    const table = await screen.findByRole('grid', { name: 'Usage breakdown' });
    const names = () => within(table).getAllByRole('row').slice(1).map((row) => within(row).getAllByRole('cell')[0]?.textContent);
    expect(names()).toEqual(['alpha', 'beta', 'gamma']);
    await user.click(within(table).getByRole('button', { name: 'Errors' }));
    expect(names()).toEqual(['alpha', 'gamma', 'beta']);
    await user.click(within(table).getByRole('button', { name: 'Cost' }));
    expect(names()).toEqual(['beta', 'gamma', 'alpha']);
    await user.click(within(table).getByRole('button', { name: 'Cost' }));
    expect(names()).toEqual(['alpha', 'gamma', 'beta']);
  });

  it('says when there was no usage, and shows the API error otherwise', async () => {
    const user = userEvent.setup();
    let answer: unknown = EMPTY_SUMMARY;
    mockApi(usageRoutes(() => answer));
    renderPage(<AdminUsagePage />, { path: '/admin/usage', me: GROUP_ADMIN });
    expect(await screen.findByRole('heading', { name: 'No usage in this range' })).toBeInTheDocument();
    expect(screen.getByText('The calls of your groups: their members, service accounts and group keys.')).toBeInTheDocument();
    expect(screen.queryByRole('grid', { name: 'Usage breakdown' })).not.toBeInTheDocument();

    answer = reply(422, { detail: [{ loc: ['query', 'from'], msg: 'must be before to', type: 'value_error' }] });
    await user.click(screen.getByRole('button', { name: 'Show the last year' }));
    expect(await screen.findByText('from: must be before to')).toBeInTheDocument();
  });
});
