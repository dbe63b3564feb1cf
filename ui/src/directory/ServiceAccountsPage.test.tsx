import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { ADMIN, AUDITOR, GROUP_ADMIN, mockApi, renderPage, reply } from '../test/render';
import ServiceAccountsPage from './ServiceAccountsPage';
import { account, fill, group, page } from './testData';

const CI = account('ci-bot', { group: 'ml', description: 'Nightly evals', cost_center: 'CC-3' });
const OTHER = account('etl', { group: 'data', status: 'disabled' });

function open(options: Parameters<typeof renderPage>[1] = {}) {
  return renderPage(<ServiceAccountsPage />, { path: '/settings/service-accounts', ...options });
}

describe('ServiceAccountsPage', () => {
  it('lists accounts with a link to their keys', async () => {
    mockApi({ 'GET /api/v1/service-accounts': page([CI, OTHER]), 'GET /api/v1/groups': page([group('ml'), group('data')]) });
    open();
    expect(screen.getByRole('heading', { level: 1, name: 'Service accounts' })).toBeInTheDocument();
    const table = await screen.findByRole('grid', { name: 'Service accounts' });
    const headers = within(table).getAllByRole('columnheader').map((cell) => cell.textContent);
    expect(headers).toEqual(expect.arrayContaining(['Name', 'Group', 'Description', 'Status', 'Cost center']));
    const row = within(table).getByRole('row', { name: /ci-bot/ });
    expect(within(row).getByText('Nightly evals')).toBeInTheDocument();
    expect(within(row).getByText('CC-3')).toBeInTheDocument();
    expect(within(row).getByText('Active')).toBeInTheDocument();
    expect(within(row).getByRole('link', { name: 'API keys' })).toHaveAttribute(
      'href',
      '/settings/api-keys?owner=serviceaccount%3Aci-bot',
    );
    expect(within(within(table).getByRole('row', { name: /etl/ })).getByText('Disabled')).toBeInTheDocument();
  });

  it('creates one for an admin in any group, after validating', async () => {
    const api = mockApi({
      'GET /api/v1/service-accounts': page([]),
      'GET /api/v1/groups': page([group('ml'), group('data')]),
      'POST /api/v1/service-accounts': CI,
    });
    open({ me: ADMIN });
    const create = await screen.findByRole('button', { name: 'Create service account' });
    await waitFor(() => expect(create).toBeEnabled());
    await userEvent.click(create);
    const dialog = screen.getByRole('dialog');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create service account' }));
    expect(within(dialog).getByText('Enter a name.')).toBeInTheDocument();
    expect(within(dialog).getByText('Choose the group that owns the service account.')).toBeInTheDocument();
    const choices = within(within(dialog).getByRole('combobox', { name: /Group/ })).getAllByRole('option');
    expect(choices.map((option) => option.textContent)).toEqual(['Choose a group', 'ml', 'data']);
    await fill(within(dialog).getByRole('textbox', { name: /^Name/ }), 'ci-bot');
    await userEvent.selectOptions(within(dialog).getByRole('combobox', { name: /Group/ }), 'data');
    await fill(within(dialog).getByRole('textbox', { name: 'Description' }), 'Nightly evals');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create service account' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(api.calls.find((call) => call.method === 'POST')?.body).toEqual({
      name: 'ci-bot',
      group: 'data',
      description: 'Nightly evals',
      cost_center: null,
      status: 'active',
    });
  });

  it('lets a group admin create only in the groups they administer, and manage only those', async () => {
    const api = mockApi({
      'GET /api/v1/service-accounts': page([CI, OTHER]),
      'POST /api/v1/service-accounts': account('new-bot'),
    });
    open({ me: GROUP_ADMIN });
    await screen.findByRole('grid', { name: 'Service accounts' });
    expect(screen.getByRole('button', { name: 'Actions for ci-bot' })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Actions for etl' })).not.toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: 'Create service account' }));
    const dialog = screen.getByRole('dialog');
    const select = within(dialog).getByRole('combobox', { name: /Group/ });
    expect(within(select).getAllByRole('option').map((option) => option.textContent)).toEqual(['Choose a group', 'ml']);
    expect(select).toHaveValue('ml');
    await fill(within(dialog).getByRole('textbox', { name: /^Name/ }), 'new-bot');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create service account' }));
    await waitFor(() => expect(api.calls.find((call) => call.method === 'POST')?.body).toMatchObject({ name: 'new-bot', group: 'ml' }));
    expect(api.unanswered).toEqual([]);
  });

  it('edits, disables and deletes', async () => {
    const api = mockApi({
      'GET /api/v1/service-accounts': page([CI]),
      'GET /api/v1/groups': page([group('ml'), group('data')]),
      'PUT /api/v1/service-accounts/ci-bot': CI,
      'DELETE /api/v1/service-accounts/ci-bot': null,
    });
    open();
    await userEvent.click(await screen.findByRole('button', { name: 'Actions for ci-bot' }));
    await userEvent.click(screen.getByRole('menuitem', { name: 'Edit' }));
    const dialog = screen.getByRole('dialog', { name: /Edit service account ci-bot/ });
    await userEvent.clear(within(dialog).getByRole('textbox', { name: 'Cost center' }));
    await fill(within(dialog).getByRole('textbox', { name: 'Cost center' }), 'CC-4');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(api.calls.find((call) => call.method === 'PUT')?.body).toEqual({
      group: 'ml',
      description: 'Nightly evals',
      status: 'active',
      cost_center: 'CC-4',
    });

    await userEvent.click(screen.getByRole('button', { name: 'Actions for ci-bot' }));
    await userEvent.click(screen.getByRole('menuitem', { name: 'Disable' }));
    await waitFor(() => expect(api.calls.filter((call) => call.method === 'PUT')[1]?.body).toMatchObject({ status: 'disabled' }));

    await userEvent.click(screen.getByRole('button', { name: 'Actions for ci-bot' }));
    await userEvent.click(screen.getByRole('menuitem', { name: 'Delete service account' }));
    const confirm = screen.getByRole('dialog');
    await fill(within(confirm).getByRole('textbox'), 'ci-bot');
    await userEvent.click(within(confirm).getByRole('button', { name: 'Delete service account' }));
    await waitFor(() => expect(api.calls.some((call) => call.method === 'DELETE')).toBe(true));
  });

  it("shows the API's refusal to enable an account an admin disabled", async () => {
    mockApi({
      'GET /api/v1/service-accounts': page([account('etl', { group: 'ml', status: 'disabled' })]),
      'PUT /api/v1/service-accounts/etl': reply(403, { detail: 'An admin disabled service account etl: only an admin can enable it.' }),
    });
    open({ me: GROUP_ADMIN });
    await userEvent.click(await screen.findByRole('button', { name: 'Actions for etl' }));
    await userEvent.click(screen.getByRole('menuitem', { name: 'Enable' }));
    expect(await screen.findByText(/only an admin can enable it/)).toBeInTheDocument();
  });

  it('is read-only for an auditor', async () => {
    const api = mockApi({ 'GET /api/v1/service-accounts': page([CI]) });
    open({ me: AUDITOR });
    await screen.findByRole('grid', { name: 'Service accounts' });
    expect(screen.queryByRole('button', { name: 'Create service account' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /Actions for/ })).not.toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'API keys' })).toBeInTheDocument();
    expect(api.unanswered).toEqual([]);
  });
});
