import { configure, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { ADMIN, type Call, GROUP_ADMIN, mockApi, renderPage, reply, USER } from '../test/render';
import MyUsagePage from './MyUsagePage';
import { recentMonths } from './report';
import { measured, summaryAnswer, timeseriesAnswer } from './testFixtures';

// Role queries skip the visibility check (getComputedStyle up every ancestor): a big page stays fast.
configure({ defaultHidden: true });

const KEY_ID = 'k_7f3a9c';

function usageRoutes(report: unknown = { period: null, from: '', to: '', by: ['model'], rows: [], totals: [] }) {
  return {
    'GET /api/v1/usage/summary': (call: Call) =>
      summaryAnswer(call.query.get('by') ?? 'model', [[call.query.get('by') === 'key' ? KEY_ID : 'llama-70b', measured(12, 12, 300, 100, '0.40')]]),
    'GET /api/v1/usage/timeseries': (call: Call) => timeseriesAnswer(call.query.get('by') ?? 'model', ['llama-70b']),
    'GET /api/v1/usage/report': report,
    'GET /api/v1/keys': { items: [{ id: KEY_ID, name: 'laptop' }], next: null },
  };
}

function usageCalls(calls: Call[]): Call[] {
  return calls.filter((call) => call.path.startsWith('/api/v1/usage/'));
}

/** What the page hands the browser to save: the file's name and its content. */
function captureDownloads() {
  const saved: { name: string; blob: Blob }[] = [];
  const blobs = new Map<string, Blob>();
  URL.createObjectURL = vi.fn((blob: Blob) => {
    const url = `blob:test/${blobs.size}`;
    blobs.set(url, blob);
    return url;
  });
  URL.revokeObjectURL = vi.fn();
  vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
    const blob = blobs.get(this.getAttribute('href') ?? '');
    if (blob) saved.push({ name: this.download, blob });
  });
  return saved;
}

describe('My usage', () => {
  beforeEach(() => vi.restoreAllMocks());
  afterEach(() => vi.unstubAllGlobals());

  it('is narrowed to the signed-in user, whatever the URL says', async () => {
    const { calls } = mockApi(usageRoutes());
    renderPage(<MyUsagePage />, { path: '/usage?user=bob&group=ml', me: USER });
    expect(await screen.findByRole('heading', { level: 1, name: 'My usage' })).toBeInTheDocument();
    await screen.findByRole('grid', { name: 'Usage breakdown' });
    const sent = usageCalls(calls);
    expect(sent.map((call) => call.path).sort()).toEqual(['/api/v1/usage/summary', '/api/v1/usage/timeseries']);
    for (const call of sent) {
      expect(Object.fromEntries(call.query.entries())).toEqual({ range: '24h', by: 'model', user: 'alice' });
    }
    expect(screen.queryByRole('heading', { name: 'Top consumers' })).not.toBeInTheDocument();
  });

  it("shows a group admin's own calls too, by model or API key only", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi(usageRoutes());
    renderPage(<MyUsagePage />, { path: '/usage', me: GROUP_ADMIN });
    await screen.findByRole('grid', { name: 'Usage breakdown' });
    await user.click(screen.getByRole('button', { name: 'Group by: Model' }));
    const listbox = screen.getByRole('listbox', { name: 'Group by' });
    expect(within(listbox).getAllByRole('option').map((option) => option.textContent)).toEqual(['Model', 'API key']);
    await user.click(within(listbox).getByRole('option', { name: 'API key' }));
    await waitFor(() => expect(usageCalls(calls).at(-1)?.query.get('by')).toBe('key'));
    expect(usageCalls(calls).at(-1)?.query.get('user')).toBe('gina');
    // the key's id reads as its name, linking to the key
    const table = await screen.findByRole('grid', { name: 'Usage breakdown' });
    expect(await within(table).findByRole('link', { name: 'laptop' })).toHaveAttribute('href', `/settings/api-keys/${KEY_ID}`);
  });

  it('explains that the admin token has no usage of its own', async () => {
    const { calls } = mockApi({});
    renderPage(<MyUsagePage />, { path: '/usage', me: ADMIN });
    expect(await screen.findByRole('heading', { name: 'No personal usage' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Organization usage' })).toHaveAttribute('href', '/admin/usage');
    expect(calls).toHaveLength(0);
  });

  it('downloads the chargeback report as CSV, named as the server names it', async () => {
    const user = userEvent.setup();
    const saved = captureDownloads();
    const { calls, fetchMock } = mockApi(usageRoutes());
    const csv = 'model,requests,prompt_tokens,completion_tokens,total_tokens,cost,currency\r\nllama-70b,12,300,100,400,0.4,USD\r\n';
    const reports: Request[] = [];
    vi.stubGlobal('fetch', async (input: Request) => {
      if (new URL(input.url).pathname !== '/api/v1/usage/report') return fetchMock(input);
      reports.push(input);
      return new Response(csv, {
        headers: { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="usage-2026-11-model.csv"' },
      });
    });
    renderPage(<MyUsagePage />, { path: '/usage?model=llama-70b', me: USER });
    await screen.findByRole('grid', { name: 'Usage breakdown' });
    expect(usageCalls(calls).at(-1)?.query.get('model')).toBe('llama-70b');

    await user.click(screen.getByRole('button', { name: 'Download report' }));
    expect(await screen.findByText('Saved usage-2026-11-model.csv.')).toBeInTheDocument();
    expect(reports).toHaveLength(1);
    const [request] = reports;
    if (!request) throw new Error('no report request');
    expect(request.headers.get('Accept')).toBe('text/csv');
    const month = recentMonths(new Date())[0]?.value;
    expect(Object.fromEntries(new URL(request.url).searchParams.entries())).toEqual({
      period: month,
      by: 'model',
      model: 'llama-70b',
      user: 'alice',
    });
    expect(saved.map((file) => file.name)).toEqual(['usage-2026-11-model.csv']);
    expect(await saved[0]?.blob.text()).toBe(csv);
  });

  it('downloads a week as JSON by API key, and says why a report is refused', async () => {
    const user = userEvent.setup();
    const saved = captureDownloads();
    let answer: unknown = { period: '2026-W47', from: '', to: '', by: ['key'], rows: [], totals: [] };
    const { calls } = mockApi(usageRoutes(() => answer));
    renderPage(<MyUsagePage />, { path: '/usage', me: USER });
    await screen.findByRole('grid', { name: 'Usage breakdown' });

    await user.selectOptions(screen.getByRole('combobox', { name: 'Period' }), 'week');
    const day = screen.getByRole('textbox', { name: 'Week of' });
    await user.tripleClick(day);
    await user.paste('2026-11-18');
    expect(await screen.findByText(/2026-W47: Nov 16, 2026 – Nov 22, 2026/)).toBeInTheDocument();
    await user.selectOptions(screen.getByRole('combobox', { name: 'Report by' }), 'key');
    await user.click(screen.getByRole('radio', { name: 'JSON' }));
    await user.click(screen.getByRole('button', { name: 'Download report' }));

    expect(await screen.findByText('Saved usage-2026-W47-key.json.')).toBeInTheDocument();
    const request = calls.filter((call) => call.path === '/api/v1/usage/report').at(-1);
    expect(request?.headers.get('Accept')).toBe('application/json');
    expect(Object.fromEntries(request?.query.entries() ?? [])).toEqual({ period: '2026-W47', by: 'key', user: 'alice' });
    expect(JSON.parse((await saved[0]?.blob.text()) ?? '')).toEqual(answer);

    answer = reply(422, { detail: [{ loc: ['query', 'period'], msg: 'is beyond the retention', type: 'value_error' }] });
    await user.click(screen.getByRole('button', { name: 'Download report' }));
    expect(await screen.findByText('period: is beyond the retention')).toBeInTheDocument();
    expect(saved).toHaveLength(1);
  });
});
