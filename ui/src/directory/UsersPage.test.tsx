import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { AUDITOR, GROUP_ADMIN, mockApi, renderPage, reply } from '../test/render';
import { fill, group, page, user } from './testData';
import UsersPage from './UsersPage';

const ALICE = user('alice', { groups: ['ml'], cost_center: 'CC-7', display_name: 'Alice Liddell' });
const BOB = user('bob', { status: 'disabled', role: 'auditor', email: null });
const GROUPS = page([group('ml'), group('research')]);

function open(options: Parameters<typeof renderPage>[1] = {}) {
  return renderPage(<UsersPage />, { path: '/settings/users', ...options });
}

describe('UsersPage', () => {
  it('lists users with their columns', async () => {
    mockApi({ 'GET /api/v1/users': page([ALICE, BOB]), 'GET /api/v1/groups': GROUPS });
    open();
    expect(screen.getByRole('heading', { level: 1, name: 'Users' })).toBeInTheDocument();
    const table = await screen.findByRole('grid', { name: 'Users' });
    const headers = within(table).getAllByRole('columnheader').map((cell) => cell.textContent);
    expect(headers).toEqual(expect.arrayContaining(['Name', 'Email', 'Role', 'Groups', 'Cost center', 'Status']));
    const alice = within(table).getByRole('row', { name: /alice/ });
    expect(within(alice).getByText('alice@example.com')).toBeInTheDocument();
    expect(within(alice).getByText('ml')).toBeInTheDocument();
    expect(within(alice).getByText('CC-7')).toBeInTheDocument();
    expect(within(alice).getByText('Active')).toBeInTheDocument();
    const bob = within(table).getByRole('row', { name: /bob/ });
    expect(within(bob).getByText('Auditor')).toBeInTheDocument();
    expect(within(bob).getByText('Disabled')).toBeInTheDocument();
  });

  it('searches by name, email or group', async () => {
    mockApi({ 'GET /api/v1/users': page([ALICE, BOB]), 'GET /api/v1/groups': GROUPS });
    open();
    await screen.findByRole('grid', { name: 'Users' });
    await fill(screen.getByRole('textbox', { name: 'Search users' }), 'ml');
    expect(screen.queryByRole('row', { name: /bob/ })).not.toBeInTheDocument();
    expect(screen.getByRole('row', { name: /alice/ })).toBeInTheDocument();
    await fill(screen.getByRole('textbox', { name: 'Search users' }), 'zzz');
    expect(screen.getByText('No results found')).toBeInTheDocument();
  });

  it('adds a user: validates, then sends the fields', async () => {
    const api = mockApi({
      'GET /api/v1/users': page([ALICE]),
      'GET /api/v1/groups': GROUPS,
      'POST /api/v1/users': user('carol'),
    });
    open();
    await userEvent.click(await screen.findByRole('button', { name: 'Add user' }));
    const dialog = screen.getByRole('dialog');
    await fill(within(dialog).getByRole('textbox', { name: 'Email' }), 'not-an-email');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Add user' }));
    expect(within(dialog).getByText('Enter a name.')).toBeInTheDocument();
    expect(within(dialog).getByText(/Enter an email address/)).toBeInTheDocument();
    expect(api.calls.some((call) => call.method === 'POST')).toBe(false);

    await fill(within(dialog).getByRole('textbox', { name: /Name/ }), 'carol');
    await userEvent.clear(within(dialog).getByRole('textbox', { name: 'Email' }));
    await fill(within(dialog).getByRole('textbox', { name: 'Email' }), 'carol@example.com');
    await fill(within(dialog).getByRole('textbox', { name: 'Display name' }), 'Carol C');
    await fill(within(dialog).getByRole('combobox', { name: 'Groups' }), 'resea');
    await userEvent.click(await screen.findByRole('option', { name: /research/ }));
    await fill(within(dialog).getByRole('textbox', { name: 'Cost center' }), 'CC-9');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Add user' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    const post = api.calls.find((call) => call.method === 'POST');
    expect(post?.body).toEqual({
      name: 'carol',
      email: 'carol@example.com',
      display_name: 'Carol C',
      groups: ['research'],
      cost_center: 'CC-9',
      status: 'active',
    });
  });

  it("shows the API's 422 on the field it names", async () => {
    mockApi({
      'GET /api/v1/users': page([ALICE]),
      'GET /api/v1/groups': GROUPS,
      'POST /api/v1/users': reply(422, { detail: [{ loc: ['body', 'groups', 0], msg: "group 'x' does not exist" }] }),
    });
    open();
    await userEvent.click(await screen.findByRole('button', { name: 'Add user' }));
    const dialog = screen.getByRole('dialog');
    await fill(within(dialog).getByRole('textbox', { name: /Name/ }), 'dave');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Add user' }));
    expect(await within(dialog).findByText("group 'x' does not exist")).toBeInTheDocument();
  });

  it('edits a user, keeping what the form does not show', async () => {
    const api = mockApi({ 'GET /api/v1/users': page([ALICE]), 'GET /api/v1/groups': GROUPS, 'PUT /api/v1/users/alice': ALICE });
    open();
    await userEvent.click(await screen.findByRole('button', { name: 'Actions for alice' }));
    await userEvent.click(screen.getByRole('menuitem', { name: 'Edit' }));
    const dialog = screen.getByRole('dialog', { name: 'Edit user alice' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Remove ml' }));
    const cost = within(dialog).getByRole('textbox', { name: 'Cost center' });
    await userEvent.clear(cost);
    await userEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(api.calls.some((call) => call.method === 'PUT')).toBe(true));
    expect(api.calls.find((call) => call.method === 'PUT')?.body).toEqual({
      email: 'alice@example.com',
      display_name: 'Alice Liddell',
      groups: [],
      status: 'active',
      cost_center: null,
    });
  });

  it('disables, enables and deletes by typing the name', async () => {
    const api = mockApi({
      'GET /api/v1/users': page([ALICE, BOB]),
      'GET /api/v1/groups': GROUPS,
      'PUT /api/v1/users/alice': ALICE,
      'PUT /api/v1/users/bob': BOB,
      'DELETE /api/v1/users/bob': null,
    });
    open();
    await userEvent.click(await screen.findByRole('button', { name: 'Actions for alice' }));
    await userEvent.click(screen.getByRole('menuitem', { name: 'Disable' }));
    await waitFor(() => expect(api.calls.find((c) => c.path === '/api/v1/users/alice')?.body).toMatchObject({ status: 'disabled' }));
    await userEvent.click(screen.getByRole('button', { name: 'Actions for bob' }));
    await userEvent.click(screen.getByRole('menuitem', { name: 'Enable' }));
    await waitFor(() => expect(api.calls.find((c) => c.method === 'PUT' && c.path === '/api/v1/users/bob')?.body).toMatchObject({ status: 'active' }));

    await userEvent.click(screen.getByRole('button', { name: 'Actions for bob' }));
    await userEvent.click(screen.getByRole('menuitem', { name: 'Delete user' }));
    const dialog = screen.getByRole('dialog');
    const confirm = within(dialog).getByRole('button', { name: 'Delete user' });
    expect(confirm).toBeDisabled();
    await fill(within(dialog).getByRole('textbox'), 'bob');
    await userEvent.click(confirm);
    await waitFor(() => expect(api.calls.some((c) => c.method === 'DELETE' && c.path === '/api/v1/users/bob')).toBe(true));
  });

  it('shows a user their limits when the row is expanded', async () => {
    mockApi({
      'GET /api/v1/users': page([ALICE]),
      'GET /api/v1/groups': GROUPS,
      'GET /api/v1/users/alice/quota': {
        principal: 'user:alice',
        key_id: null,
        degraded: false,
        checked_at: '2026-01-05T10:00:00Z',
        items: [
          {
            counter: 'c1', description: '1,000 tokens per minute', metric: 'tokens', limit: 1000, used: 250, remaining: 750,
            currency: null, empty_at: null, keys: [], models: [], period: null, period_start: null, policy: 'gold',
            resets_at: null, soft: false, source: 'policy', token: true, window_s: 60,
          },
        ],
      },
    });
    open();
    await userEvent.click(await screen.findByRole('button', { name: 'Details' }));
    const limits = await screen.findByRole('grid', { name: 'Limits of alice' });
    expect(within(limits).getByText('1,000 tokens per minute')).toBeInTheDocument();
    expect(within(limits).getByText('750')).toBeInTheDocument();
    expect(within(limits).getByText('Policy gold')).toBeInTheDocument();
  });

  it.each([
    ['auditor', AUDITOR],
    ['group admin', GROUP_ADMIN],
  ])('is read-only for an %s', async (_role, me) => {
    const api = mockApi({ 'GET /api/v1/users': page([ALICE]) });
    open({ me });
    await screen.findByRole('grid', { name: 'Users' });
    expect(screen.queryByRole('button', { name: 'Add user' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /Actions for/ })).not.toBeInTheDocument();
    expect(api.unanswered).toEqual([]);
  });

  it('offers adding the first user in the empty state', async () => {
    mockApi({ 'GET /api/v1/users': page([]), 'GET /api/v1/groups': GROUPS });
    open();
    expect(await screen.findByText('No users yet')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Add user' })).toBeInTheDocument();
  });

  it('shows the API error', async () => {
    mockApi({ 'GET /api/v1/users': reply(500, { detail: 'database unavailable' }) });
    open({ me: AUDITOR });
    expect(await screen.findByText('database unavailable')).toBeInTheDocument();
  });
});
