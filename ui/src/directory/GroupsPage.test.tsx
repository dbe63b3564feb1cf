import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { AUDITOR, GROUP_ADMIN, mockApi, renderPage, reply } from '../test/render';
import GroupsPage from './GroupsPage';
import { fill, group, page, user } from './testData';

const ML = group('ml', { admins: ['gina'], cost_center: 'CC-1', description: 'Machine learning', source: 'oidc' });
const OPS = group('ops');
const USERS = page([
  user('alice', { groups: ['ml'] }),
  user('gina', { groups: ['ml', 'ops'] }),
  user('bob', { groups: [] }),
]);

function open(options: Parameters<typeof renderPage>[1] = {}) {
  return renderPage(<GroupsPage />, { path: '/settings/groups', ...options });
}

describe('GroupsPage', () => {
  it('lists groups with source, member count, admins and cost center', async () => {
    mockApi({ 'GET /api/v1/groups': page([ML, OPS]), 'GET /api/v1/users': USERS });
    open();
    expect(screen.getByRole('heading', { level: 1, name: 'Groups' })).toBeInTheDocument();
    const table = await screen.findByRole('grid', { name: 'Groups' });
    const headers = within(table).getAllByRole('columnheader').map((cell) => cell.textContent);
    expect(headers).toEqual(expect.arrayContaining(['Name', 'Source', 'Members', 'Admins', 'Cost center']));
    const ml = within(table).getByRole('row', { name: /^Details ml/ });
    expect(within(ml).getByText('OIDC')).toBeInTheDocument();
    await waitFor(() => expect(within(ml).getByText('2')).toBeInTheDocument());
    expect(within(ml).getByText('gina')).toBeInTheDocument();
    expect(within(ml).getByText('CC-1')).toBeInTheDocument();
    expect(within(within(table).getByRole('row', { name: /^Details ops/ })).getByText('Local')).toBeInTheDocument();

    await userEvent.click(within(ml).getByRole('button', { name: 'Details' }));
    const members = await screen.findByRole('list', { name: 'Members of ml' });
    expect(within(members).getByText('alice')).toBeInTheDocument();
    expect(within(members).getByText('gina')).toBeInTheDocument();
    expect(screen.getByText('Machine learning')).toBeInTheDocument();
  });

  it('creates a group, then adds its members', async () => {
    const api = mockApi({
      'GET /api/v1/groups': page([OPS]),
      'GET /api/v1/users': USERS,
      'POST /api/v1/groups': group('research'),
      'PUT /api/v1/users/bob': user('bob', { groups: ['research'] }),
    });
    open();
    await userEvent.click(await screen.findByRole('button', { name: 'Create group' }));
    const dialog = screen.getByRole('dialog', { name: 'Create group' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create group' }));
    expect(within(dialog).getByText('Enter a name.')).toBeInTheDocument();
    await fill(within(dialog).getByRole('textbox', { name: /^Name/ }), 'research');
    await fill(within(dialog).getByRole('textbox', { name: 'Cost center' }), 'CC-2');
    await fill(within(dialog).getByRole('combobox', { name: 'Members' }), 'bo');
    await userEvent.click(await screen.findByRole('option', { name: 'bob' }));
    await fill(within(dialog).getByRole('combobox', { name: 'Admins' }), 'gi');
    await userEvent.click(await screen.findByRole('option', { name: 'gina' }));
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create group' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    const writes = api.calls.filter((call) => call.method !== 'GET');
    expect(writes.map((call) => `${call.method} ${call.path}`)).toEqual(['POST /api/v1/groups', 'PUT /api/v1/users/bob']);
    expect(writes[0]?.body).toEqual({ name: 'research', description: '', cost_center: 'CC-2', admins: ['gina'] });
    expect(writes[1]?.body).toMatchObject({ groups: ['research'], email: 'bob@example.com', status: 'active' });
  });

  it('edits a group: its fields, then who joins and who leaves', async () => {
    const api = mockApi({
      'GET /api/v1/groups': page([ML]),
      'GET /api/v1/users': USERS,
      'PUT /api/v1/groups/ml': ML,
      'PUT /api/v1/users/alice': user('alice'),
      'PUT /api/v1/users/bob': user('bob', { groups: ['ml'] }),
    });
    open();
    await userEvent.click(await screen.findByRole('button', { name: 'Actions for ml' }));
    await userEvent.click(screen.getByRole('menuitem', { name: 'Edit' }));
    const dialog = screen.getByRole('dialog', { name: 'Edit group ml' });
    expect(within(dialog).queryByRole('textbox', { name: /^Name/ })).not.toBeInTheDocument();
    await userEvent.click(within(dialog).getByRole('button', { name: 'Remove alice' }));
    await fill(within(dialog).getByRole('combobox', { name: 'Members' }), 'bo');
    await userEvent.click(await screen.findByRole('option', { name: 'bob' }));
    await userEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    const writes = api.calls.filter((call) => call.method === 'PUT');
    expect(writes[0]?.path).toBe('/api/v1/groups/ml');
    expect(writes[0]?.body).toEqual({ description: 'Machine learning', cost_center: 'CC-1', admins: ['gina'] });
    expect(writes.find((call) => call.path === '/api/v1/users/alice')?.body).toMatchObject({ groups: [] });
    expect(writes.find((call) => call.path === '/api/v1/users/bob')?.body).toMatchObject({ groups: ['ml'] });
    expect(writes.some((call) => call.path === '/api/v1/users/gina')).toBe(false);
  });

  it("names the user a membership change failed for", async () => {
    mockApi({
      'GET /api/v1/groups': page([OPS]),
      'GET /api/v1/users': USERS,
      'PUT /api/v1/groups/ops': OPS,
      'PUT /api/v1/users/bob': reply(409, { detail: 'conflict' }),
    });
    open();
    await userEvent.click(await screen.findByRole('button', { name: 'Actions for ops' }));
    await userEvent.click(screen.getByRole('menuitem', { name: 'Edit' }));
    const dialog = screen.getByRole('dialog');
    await fill(within(dialog).getByRole('combobox', { name: 'Members' }), 'bo');
    await userEvent.click(await screen.findByRole('option', { name: 'bob' }));
    await userEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    expect(await within(dialog).findByText('Could not add bob to ops: conflict')).toBeInTheDocument();
  });

  it('deletes a group by typing its name and shows why the API refused', async () => {
    const api = mockApi({
      'GET /api/v1/groups': page([ML]),
      'GET /api/v1/users': USERS,
      'DELETE /api/v1/groups/ml': reply(409, { detail: 'group ml still has service accounts; delete or move them first' }),
    });
    open();
    await userEvent.click(await screen.findByRole('button', { name: 'Actions for ml' }));
    await userEvent.click(screen.getByRole('menuitem', { name: 'Delete group' }));
    const dialog = screen.getByRole('dialog');
    await fill(within(dialog).getByRole('textbox'), 'ml');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Delete group' }));
    expect(await within(dialog).findByText('group ml still has service accounts; delete or move them first')).toBeInTheDocument();
    expect(api.calls.some((call) => call.method === 'DELETE')).toBe(true);
  });

  it('is read-only for an auditor', async () => {
    mockApi({ 'GET /api/v1/groups': page([ML]), 'GET /api/v1/users': USERS });
    open({ me: AUDITOR });
    await screen.findByRole('grid', { name: 'Groups' });
    expect(screen.queryByRole('button', { name: 'Create group' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /Actions for/ })).not.toBeInTheDocument();
  });

  it("shows a group admin the members of their own groups only", async () => {
    mockApi({ 'GET /api/v1/groups': page([ML, OPS]), 'GET /api/v1/users': USERS });
    open({ me: GROUP_ADMIN });
    const table = await screen.findByRole('grid', { name: 'Groups' });
    expect(screen.queryByRole('button', { name: /Actions for/ })).not.toBeInTheDocument();
    const ops = within(table).getByRole('row', { name: /^Details ops/ });
    await waitFor(() => expect(within(within(table).getByRole('row', { name: /^Details ml/ })).getByText('2')).toBeInTheDocument());
    await userEvent.click(within(ops).getByRole('button', { name: 'Details' }));
    expect(await screen.findByText(/Only the group's admins/)).toBeInTheDocument();
  });

  it('offers creating the first group', async () => {
    mockApi({ 'GET /api/v1/groups': page([]), 'GET /api/v1/users': USERS });
    open();
    expect(await screen.findByText('No groups yet')).toBeInTheDocument();
    await waitFor(() => expect(screen.getByRole('button', { name: 'Create group' })).toBeEnabled());
  });
});
