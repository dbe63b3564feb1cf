import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import axe from 'axe-core';
import { describe, expect, it } from 'vitest';

import { ADMIN, AUDITOR, GROUP_ADMIN, mockApi, renderPage, USER } from '../test/render';
import KeysPage from './KeysPage';
import { aKey } from './testKeys';

const PATH = '/settings/api-keys';
const recent = new Date(Date.now() - 5 * 60_000).toISOString();

const KEYS = [
  aKey({ id: 'k1', name: 'laptop', owner: 'user:alice', models: ['granite-3.1-8b'], last_used_at: recent }),
  aKey({ id: 'k2', name: 'old-ci', owner: 'serviceaccount:ci', status: 'expired' }),
  aKey({ id: 'k3', name: 'paused', owner: 'group:ml', status: 'disabled', models: ['a', 'b', 'c'] }),
  aKey({ id: 'k4', name: 'bob-key', owner: 'user:bob', status: 'revoked' }),
];

function page(items = KEYS, next: string | null = null) {
  return { items, next };
}

function rowOf(name: string): HTMLElement {
  const link = screen.getByRole('link', { name });
  const row = link.closest('tr');
  if (!row) throw new Error(`no row for ${name}`);
  return row;
}

async function menuOf(name: string) {
  await userEvent.click(screen.getByRole('button', { name: `Actions for ${name}` }));
  return screen.getAllByRole('menuitem').map((item) => item.textContent);
}

describe('API keys page', () => {
  it('lists keys with the columns in order, statuses, prefixes, assets, owners and last use', async () => {
    mockApi({ 'GET /api/v1/keys': page() });
    renderPage(<KeysPage />, { path: PATH });

    expect(await screen.findByRole('heading', { level: 1, name: 'API keys' })).toBeInTheDocument();
    const table = await screen.findByRole('grid', { name: 'API keys' });
    const headers = within(table).getAllByRole('columnheader').map((header) => header.textContent);
    expect(headers).toEqual(['Name', 'Status', 'API key', 'Assets', 'Owner', 'Last used', 'Actions']);

    const laptop = within(rowOf('laptop'));
    expect(screen.getByRole('link', { name: 'laptop' })).toHaveAttribute('href', '/settings/api-keys/k1');
    expect(laptop.getByText('Active')).toBeInTheDocument();
    expect(laptop.getByText('hwk_k1…')).toBeInTheDocument();
    expect(laptop.getByText('granite-3.1-8b')).toBeInTheDocument();
    expect(laptop.getByText('alice')).toBeInTheDocument();
    expect(laptop.getByText('5 minutes ago')).toBeInTheDocument();

    expect(within(rowOf('old-ci')).getByText('Expired')).toBeInTheDocument();
    expect(within(rowOf('old-ci')).getByText('Service account')).toBeInTheDocument();
    expect(within(rowOf('old-ci')).getByText('All models')).toBeInTheDocument();
    expect(within(rowOf('old-ci')).getByText('Never')).toBeInTheDocument();
    expect(within(rowOf('paused')).getByText('Disabled')).toBeInTheDocument();
    expect(within(rowOf('paused')).getByText('a, b +1 more')).toBeInTheDocument();
    expect(within(rowOf('bob-key')).getByText('Revoked')).toBeInTheDocument();
  });

  it('starts filtered by the owner in its URL (the service accounts page links there)', async () => {
    const api = mockApi({ 'GET /api/v1/keys': page(KEYS.slice(1, 2)) });
    renderPage(<KeysPage />, { path: `${PATH}?owner=serviceaccount:ci`, route: PATH });
    expect(await screen.findByRole('link', { name: 'old-ci' })).toBeInTheDocument();
    expect(api.calls.every((call) => call.query.get('owner') === 'serviceaccount:ci')).toBe(true);
  });

  it('sends the filters as the API query and pages with the cursor', async () => {
    const api = mockApi({
      'GET /api/v1/keys': (call: { query: URLSearchParams }) =>
        call.query.get('cursor') === 'c2' ? page([aKey({ id: 'k9', name: 'second-page' })]) : page(KEYS, 'c2'),
    });
    const user = userEvent.setup({ delay: null });
    renderPage(<KeysPage />, { path: PATH });
    await screen.findByRole('link', { name: 'laptop' });
    const lastQuery = () => api.calls.filter((call) => call.path === '/api/v1/keys').at(-1)?.query;

    await userEvent.click(screen.getByRole('button', { name: 'Go to next page' }));
    await screen.findByRole('link', { name: 'second-page' });
    expect(lastQuery()?.get('cursor')).toBe('c2');
    await userEvent.click(screen.getByRole('button', { name: 'Go to previous page' }));
    await screen.findByRole('link', { name: 'laptop' });
    expect(lastQuery()?.get('cursor')).toBeNull();

    await user.click(screen.getByRole('textbox', { name: 'Find by name' }));
    await user.paste('laptop');
    await user.keyboard('{Enter}');
    await waitFor(() => expect(lastQuery()?.get('name')).toBe('laptop'));

    await userEvent.click(screen.getByRole('button', { name: 'Filter by status' }));
    await userEvent.click(screen.getByRole('option', { name: 'Revoked' }));
    await waitFor(() => expect(lastQuery()?.get('status')).toBe('revoked'));

    await user.click(screen.getByRole('textbox', { name: 'Filter by owner' }));
    await user.paste('group:ml');
    await user.keyboard('{Enter}');
    await waitFor(() => expect(lastQuery()?.get('owner')).toBe('group:ml'));
    expect(lastQuery()?.get('name')).toBe('laptop');
    expect(lastQuery()?.get('status')).toBe('revoked');

    const owner = screen.getByRole('textbox', { name: 'Filter by owner' });
    await userEvent.clear(owner);
    await user.paste('bob');
    await user.keyboard('{Enter}');
    await waitFor(() => expect(lastQuery()?.get('owner')).toBe('user:bob'));
  });

  it('deletes a key by typing its exact name, which revokes it', async () => {
    const api = mockApi({
      'GET /api/v1/keys': page(),
      'POST /api/v1/keys/k1/revoke': { ...KEYS[0], status: 'revoked' },
    });
    renderPage(<KeysPage />, { path: PATH });
    await screen.findByRole('link', { name: 'laptop' });

    expect(await menuOf('laptop')).toEqual(['View details', 'Delete API key']);
    await userEvent.click(screen.getByRole('menuitem', { name: 'Delete API key' }));
    const dialog = await screen.findByRole('dialog', { name: /Delete API key\?/ });
    expect(within(dialog).getByText(/revoked, never erased/)).toBeInTheDocument();
    const confirm = within(dialog).getByRole('button', { name: 'Delete' });
    expect(confirm).toBeDisabled();
    await userEvent.click(within(dialog).getByRole('textbox', { name: 'Type laptop to confirm' }));
    await userEvent.paste('lapto');
    expect(confirm).toBeDisabled();
    await userEvent.paste('p');
    expect(confirm).toBeEnabled();
    await userEvent.click(confirm);

    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(api.calls.some((call) => call.method === 'POST' && call.path === '/api/v1/keys/k1/revoke')).toBe(true);
    expect(api.calls.filter((call) => call.path === '/api/v1/keys').length).toBeGreaterThan(1);
  });

  it('offers no delete for a revoked key, and View details opens the key', async () => {
    mockApi({ 'GET /api/v1/keys': page() });
    renderPage(<KeysPage />, { path: PATH, extra: { '/settings/api-keys/:keyId': <p>details page</p> } });
    await screen.findByRole('link', { name: 'bob-key' });
    expect(await menuOf('bob-key')).toEqual(['View details']);
    await userEvent.click(screen.getByRole('menuitem', { name: 'View details' }));
    expect(await screen.findByText('details page')).toBeInTheDocument();
  });

  it('shows an auditor no Create and no Delete', async () => {
    mockApi({ 'GET /api/v1/keys': page() });
    renderPage(<KeysPage />, { path: `${PATH}?create=1`, route: PATH, me: AUDITOR });
    await screen.findByRole('link', { name: 'laptop' });
    expect(screen.queryByRole('button', { name: 'Create API key' })).not.toBeInTheDocument();
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(await menuOf('laptop')).toEqual(['View details']);
  });

  it('offers a user Delete only on their own keys', async () => {
    mockApi({ 'GET /api/v1/keys': page([aKey({ id: 'k1', name: 'mine' }), aKey({ id: 'k5', name: 'carols', owner: 'user:carol' })]) });
    renderPage(<KeysPage />, { path: PATH, me: USER });
    await screen.findByRole('link', { name: 'mine' });
    expect(screen.getByRole('button', { name: 'Create API key' })).toBeInTheDocument();
    expect(await menuOf('mine')).toEqual(['View details', 'Delete API key']);
    await userEvent.keyboard('{Escape}');
    expect(await menuOf('carols')).toEqual(['View details']);
  });

  it('offers a group admin Delete on group and service-account keys, not on a member key', async () => {
    mockApi({
      'GET /api/v1/keys': page([
        aKey({ id: 'k1', name: 'group-key', owner: 'group:ml' }),
        aKey({ id: 'k2', name: 'bot-key', owner: 'serviceaccount:ml-bot' }),
        aKey({ id: 'k3', name: 'member-key', owner: 'user:alice' }),
      ]),
    });
    renderPage(<KeysPage />, { path: PATH, me: GROUP_ADMIN });
    await screen.findByRole('link', { name: 'group-key' });
    expect(await menuOf('group-key')).toContain('Delete API key');
    await userEvent.keyboard('{Escape}');
    expect(await menuOf('bot-key')).toContain('Delete API key');
    await userEvent.keyboard('{Escape}');
    expect(await menuOf('member-key')).toEqual(['View details']);
  });

  it('shows the empty state with the primary action, which opens the modal', async () => {
    mockApi({ 'GET /api/v1/keys': page([]), 'GET /api/v1/users': { items: [], next: null } });
    renderPage(<KeysPage />, { path: PATH, me: ADMIN });
    expect(await screen.findByRole('heading', { name: 'No API keys yet' })).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Create API key' }));
    expect(await screen.findByRole('dialog', { name: 'Create API key' })).toBeInTheDocument();
  });

  it('opens Create API key from ?create=1', async () => {
    mockApi({ 'GET /api/v1/keys': page() });
    renderPage(<KeysPage />, { path: `${PATH}?create=1`, route: PATH, me: USER });
    expect(await screen.findByRole('dialog', { name: 'Create API key' })).toBeInTheDocument();
  });

  it('shows the API error when the list fails', async () => {
    mockApi({});
    renderPage(<KeysPage />, { path: PATH });
    expect(await screen.findByText('no mock for GET /api/v1/keys')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Try again' })).toBeInTheDocument();
  });

  it('has no serious accessibility violation, a kebab and the delete modal open', async () => {
    mockApi({ 'GET /api/v1/keys': page() });
    const { baseElement } = renderPage(<KeysPage />, { path: PATH });
    await screen.findByRole('link', { name: 'laptop' });
    await menuOf('laptop');
    let results = await axe.run(baseElement, { rules: { 'color-contrast': { enabled: false } } });
    const serious = () => results.violations.filter((violation) => ['serious', 'critical'].includes(violation.impact ?? ''));
    const described = () => serious().map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.html).join(' | ')}`);
    expect(described()).toEqual([]);
    await userEvent.click(screen.getByRole('menuitem', { name: 'Delete API key' }));
    await screen.findByRole('dialog', { name: /Delete API key\?/ });
    results = await axe.run(baseElement, { rules: { 'color-contrast': { enabled: false } } });
    expect(described()).toEqual([]);
  });
});
