import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { AUDITOR, mockApi, renderPage } from '../test/render';
import { fill } from '../directory/testData';
import AuditPage from './AuditPage';
import type { AuditEvent } from './filters';

function event(seq: number, fields: Partial<AuditEvent> = {}): AuditEvent {
  return {
    seq,
    ts: '2026-01-05T10:00:00.000001Z',
    actor: 'user:alice',
    action: 'key.update',
    target_type: 'key',
    target_id: `k${seq}`,
    outcome: 'success',
    request_id: `req-${seq}`,
    source_ip: '10.0.0.1',
    detail: null,
    before: null,
    after: null,
    hash: 'a'.repeat(64),
    prev_hash: 'b'.repeat(64),
    ...fields,
  };
}

const UPDATE = event(7, {
  before: { name: 'ci', rpm: 10, models: ['gpt'] },
  after: { name: 'ci', rpm: 20, models: ['gpt'], note: 'x' },
});

function open(path = '/settings/audit') {
  return renderPage(<AuditPage />, { path, route: '/settings/audit', me: AUDITOR });
}

afterEach(() => vi.unstubAllGlobals());

describe('AuditPage', () => {
  it('lists events with their columns and shows a before/after', async () => {
    mockApi({ 'GET /api/v1/audit/events': { items: [UPDATE, event(6, { outcome: 'denied', action: 'model.create' })], next: null } });
    open();
    expect(screen.getByRole('heading', { level: 1, name: 'Audit log' })).toBeInTheDocument();
    const table = await screen.findByRole('grid', { name: 'Audit events' });
    const headers = within(table).getAllByRole('columnheader').map((cell) => cell.textContent);
    expect(headers).toEqual(expect.arrayContaining(['Time', 'Actor', 'Action', 'Target', 'Outcome', 'Request ID']));
    const row = within(table).getByRole('row', { name: /req-7/ });
    expect(within(row).getByText('key.update')).toBeInTheDocument();
    expect(within(row).getByText('key k7')).toBeInTheDocument();
    expect(within(row).getByText('Success')).toBeInTheDocument();
    expect(within(within(table).getByRole('row', { name: /req-6/ })).getByText('Denied')).toBeInTheDocument();

    await userEvent.click(within(row).getByRole('button', { name: 'Details' }));
    const diff = await screen.findByRole('grid', { name: 'Before and after of event 7' });
    expect(screen.getByText('2 of 4 fields changed.')).toBeInTheDocument();
    const rpm = within(diff).getByRole('row', { name: /rpm/ });
    expect(within(rpm).getByText('Changed')).toBeInTheDocument();
    expect(within(rpm).getByText('10')).toBeInTheDocument();
    expect(within(rpm).getByText('20')).toBeInTheDocument();
    expect(within(within(diff).getByRole('row', { name: /note/ })).getByText('Added')).toBeInTheDocument();
    expect(within(within(diff).getByRole('row', { name: /^name/ })).queryByText('Changed')).not.toBeInTheDocument();
    expect(screen.getByText('10.0.0.1')).toBeInTheDocument();
  });

  it('sends the filters as query parameters, from the URL and as they change', async () => {
    const api = mockApi({ 'GET /api/v1/audit/events': { items: [event(1)], next: null } });
    open('/settings/audit?actor=user:alice&outcome=denied');
    await screen.findByRole('grid', { name: 'Audit events' });
    const firstQuery = api.calls[0]?.query;
    expect(firstQuery?.get('actor')).toBe('user:alice');
    expect(firstQuery?.get('outcome')).toBe('denied');
    expect(firstQuery?.get('order')).toBe('desc');
    expect(screen.getByRole('searchbox', { name: 'Actor' })).toHaveValue('user:alice');

    await fill(screen.getByRole('searchbox', { name: 'Action' }), 'key.');
    await waitFor(() => expect(api.calls.at(-1)?.query.get('action')).toBe('key.'));
    await fill(screen.getByRole('searchbox', { name: 'Target' }), 'k1');
    await waitFor(() => expect(api.calls.at(-1)?.query.get('target')).toBe('k1'));

    await fill(screen.getByRole('textbox', { name: 'From' }), '2026-01-02');
    await waitFor(() => expect(api.calls.at(-1)?.query.get('from')).toBe(new Date('2026-01-02T00:00:00').toISOString()));
    await fill(screen.getByRole('textbox', { name: 'To' }), '2026-01-03');
    // "To" takes the whole day: the API's bound is exclusive.
    await waitFor(() => expect(api.calls.at(-1)?.query.get('to')).toBe(new Date('2026-01-04T00:00:00').toISOString()));

    await userEvent.click(screen.getByRole('button', { name: 'Outcome: Denied' }));
    await userEvent.click(screen.getByRole('option', { name: 'Failure' }));
    await waitFor(() => expect(api.calls.at(-1)?.query.get('outcome')).toBe('failure'));

    await userEvent.click(screen.getByRole('button', { name: 'Clear filters' }));
    await waitFor(() => expect(screen.getByRole('searchbox', { name: 'Actor' })).toHaveValue(''));
    const last = api.calls.at(-1)?.query;
    expect([...(last?.keys() ?? [])].sort()).toEqual(['limit', 'order']);
  });

  it('refuses a range whose From is after its To', async () => {
    const api = mockApi({ 'GET /api/v1/audit/events': { items: [event(1)], next: null } });
    open('/settings/audit?from=2026-02-01&to=2026-01-01');
    expect(await screen.findByText('The "From" day must not be after the "To" day.')).toBeInTheDocument();
    expect(api.calls).toEqual([]);
  });

  it('pages by cursor, forward and back', async () => {
    const api = mockApi({
      'GET /api/v1/audit/events': (call: { query: URLSearchParams }) =>
        call.query.get('cursor') === 'c2'
          ? { items: [event(1)], next: null }
          : { items: [event(3), event(2)], next: 'c2' },
    });
    open();
    await screen.findByRole('row', { name: /req-3/ });
    const [next] = screen.getAllByRole('button', { name: 'Go to next page' });
    await userEvent.click(next as HTMLElement);
    expect(await screen.findByRole('row', { name: /req-1/ })).toBeInTheDocument();
    expect(api.calls.at(-1)?.query.get('cursor')).toBe('c2');
    const [previous] = screen.getAllByRole('button', { name: 'Go to previous page' });
    await userEvent.click(previous as HTMLElement);
    expect(await screen.findByRole('row', { name: /req-3/ })).toBeInTheDocument();
  });

  it('verifies the chain: intact', async () => {
    mockApi({
      'GET /api/v1/audit/events': { items: [event(1)], next: null },
      'GET /api/v1/audit/verify': { ok: true, checked: 1234, first_broken_seq: null, reason: null, head_seq: 1234, head_hash: 'f'.repeat(64) },
    });
    open();
    await userEvent.click(await screen.findByRole('button', { name: 'Verify chain' }));
    expect(await screen.findByText('The chain is intact: 1,234 entries verified')).toBeInTheDocument();
  });

  it('verifies the chain: broken, naming the first broken entry', async () => {
    mockApi({
      'GET /api/v1/audit/events': { items: [event(1)], next: null },
      'GET /api/v1/audit/verify': {
        ok: false,
        checked: 811,
        first_broken_seq: 812,
        reason: "its content was changed: the recomputed hash is not the stored one",
        head_seq: 900,
        head_hash: 'f'.repeat(64),
      },
    });
    open();
    await userEvent.click(await screen.findByRole('button', { name: 'Verify chain' }));
    expect(await screen.findByText('The chain is broken at entry 812')).toBeInTheDocument();
    expect(screen.getByText(/its content was changed/)).toBeInTheDocument();
  });

  it('exports CSV with the current filters', async () => {
    const createObjectURL = vi.fn(() => 'blob:audit');
    vi.stubGlobal('URL', Object.assign(URL, { createObjectURL, revokeObjectURL: vi.fn() }));
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => undefined);
    const api = mockApi({
      'GET /api/v1/audit/events': { items: [event(1)], next: null },
      'GET /api/v1/audit/events.csv': 'seq,ts\n1,2026',
    });
    open('/settings/audit?action=key.&outcome=success');
    await userEvent.click(await screen.findByRole('button', { name: 'Export CSV' }));
    await waitFor(() => expect(click).toHaveBeenCalled());
    const csv = api.calls.find((call) => call.path === '/api/v1/audit/events.csv');
    expect(csv?.query.get('action')).toBe('key.');
    expect(csv?.query.get('outcome')).toBe('success');
    expect(csv?.query.has('limit')).toBe(false);
    expect(createObjectURL).toHaveBeenCalled();
    click.mockRestore();
  });

  it('says when nothing matches, offering to clear the filters', async () => {
    mockApi({ 'GET /api/v1/audit/events': { items: [], next: null } });
    open('/settings/audit?actor=user:nobody');
    expect(await screen.findByText('No matching events')).toBeInTheDocument();
    expect(screen.getAllByRole('button', { name: 'Clear filters' }).length).toBeGreaterThan(0);
  });
});
