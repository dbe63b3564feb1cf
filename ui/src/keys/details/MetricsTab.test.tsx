import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { INFO, mockApi, renderPage, USER } from '../../test/render';
import { MetricsTab } from './MetricsTab';
import { usageWindow } from './metricsRange';
import { aKey, aSummary, aTimeseries, KEY_ID } from './test-fixtures';

function card(title: string) {
  return screen.getByRole('heading', { level: 2, name: title }).closest('.pf-v6-c-card');
}

describe('MetricsTab', () => {
  it('shows the four cards and the requests chart for the last 24 hours, then asks for 7 days', async () => {
    const user = userEvent.setup();
    const api = mockApi({
      'GET /api/v1/usage/summary': aSummary({
        requests: 1234,
        successes: 1212,
        success_rate: 0.982,
        total_tokens: 56789,
        costs: [{ amount: '12.5', currency: 'USD' }],
      }),
      'GET /api/v1/usage/timeseries': aTimeseries([3, 0, 7]),
    });
    renderPage(<MetricsTab apiKey={aKey()} />, { me: USER });

    expect(await screen.findByText('1,234')).toBeInTheDocument();
    expect(card('Total requests')).toHaveTextContent('1,234');
    expect(card('Success rate')).toHaveTextContent('98.2%');
    expect(card('Total tokens')).toHaveTextContent('56,789');
    expect(card('Total cost')).toHaveTextContent('$12.50');
    expect(await screen.findByRole('img', { name: /Requests over time/ }, { timeout: 5000 })).toBeInTheDocument();

    const summary = api.calls.find((call) => call.path === '/api/v1/usage/summary');
    expect(summary?.query.get('key')).toBe(KEY_ID);
    expect(summary?.query.get('range')).toBe('24h');
    const series = api.calls.find((call) => call.path === '/api/v1/usage/timeseries');
    expect(series?.query.get('key')).toBe(KEY_ID);
    expect(series?.query.get('step')).toBe('1h');

    await user.click(screen.getByRole('button', { name: '7 days' }));
    await waitFor(() =>
      expect(api.calls.some((call) => call.path === '/api/v1/usage/summary' && call.query.get('range') === '7d')).toBe(true),
    );
    expect(screen.getByRole('button', { name: '7 days' })).toHaveAttribute('aria-pressed', 'true');
  });

  it('asks for a custom range of whole days', async () => {
    const user = userEvent.setup();
    const api = mockApi({
      'GET /api/v1/usage/summary': aSummary(),
      'GET /api/v1/usage/timeseries': aTimeseries([]),
    });
    renderPage(<MetricsTab apiKey={aKey()} />);
    await screen.findByText('No calls in this range');

    await user.click(screen.getByRole('button', { name: 'Custom' }));
    const start = screen.getByRole('textbox', { name: 'Start date' });
    const end = screen.getByRole('textbox', { name: 'End date' });
    await user.clear(start);
    await user.paste('2026-03-10');
    await user.clear(end);
    await user.paste('2026-03-01');
    expect(await screen.findByText('The end date must not be before the start date.')).toBeInTheDocument();

    await user.clear(end);
    await user.paste('2026-03-12');
    const expected = usageWindow('custom', { from: '2026-03-10', to: '2026-03-12' }).window;
    expect(expected?.from).toBe(new Date(2026, 2, 10).toISOString());
    expect(expected?.to).toBe(new Date(2026, 2, 13).toISOString());
    await waitFor(() =>
      expect(
        api.calls.some(
          (call) =>
            call.path === '/api/v1/usage/summary' &&
            call.query.get('from') === expected?.from &&
            call.query.get('to') === expected.to &&
            !call.query.has('range'),
        ),
      ).toBe(true),
    );
  });

  it('shows an empty state when the key made no calls', async () => {
    mockApi({ 'GET /api/v1/usage/summary': aSummary(), 'GET /api/v1/usage/timeseries': aTimeseries([]) });
    renderPage(<MetricsTab apiKey={aKey()} />);
    expect(await screen.findByRole('heading', { name: 'No calls in this range' })).toBeInTheDocument();
    expect(card('Total requests')).toHaveTextContent('0');
    expect(card('Success rate')).toHaveTextContent('—');
  });

  it('links to the dashboard only when one is configured', async () => {
    mockApi({ 'GET /api/v1/usage/summary': aSummary(), 'GET /api/v1/usage/timeseries': aTimeseries([]) });
    const { unmount } = renderPage(<MetricsTab apiKey={aKey()} />);
    await screen.findByText('No calls in this range');
    expect(screen.queryByRole('link', { name: /View dashboard/ })).not.toBeInTheDocument();
    unmount();

    renderPage(<MetricsTab apiKey={aKey()} />, {
      info: { ...INFO, dashboard_url: 'https://grafana.test/d/keys?var-key={key_id}' },
    });
    const link = await screen.findByRole('link', { name: /View dashboard/ });
    expect(link).toHaveAttribute('href', `https://grafana.test/d/keys?var-key=${KEY_ID}`);
    expect(link).toHaveAttribute('target', '_blank');
    expect(link.getAttribute('rel')).toContain('noopener');
  });
});
