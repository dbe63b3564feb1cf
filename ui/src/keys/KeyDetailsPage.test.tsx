import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import axe from 'axe-core';
import { useLocation } from 'react-router-dom';
import { describe, expect, it } from 'vitest';

import { ADMIN, AUDITOR, GROUP_ADMIN, mockApi, renderPage, reply, USER } from '../test/render';
import { aKey, KEY_ID, KEY_PATH } from './details/test-fixtures';
import KeyDetailsPage from './KeyDetailsPage';

function Where() {
  const location = useLocation();
  return <output data-testid="location">{location.pathname}</output>;
}

function page() {
  return (
    <>
      <KeyDetailsPage />
      <Where />
    </>
  );
}

function open(path: string, me = ADMIN) {
  return renderPage(page(), {
    me,
    path,
    route: '/settings/api-keys/:keyId',
    extra: { '/settings/api-keys/:keyId/:tab': page(), '/settings/api-keys': <Where /> },
  });
}

describe('KeyDetailsPage', () => {
  it('shows the key with its status and the Details tab by default', async () => {
    mockApi({ [`GET ${KEY_PATH}`]: aKey({ last_used_at: null }) });
    open(`/settings/api-keys/${KEY_ID}`);

    expect(await screen.findByRole('heading', { level: 1, name: 'laptop' })).toBeInTheDocument();
    expect(screen.getByRole('tab', { name: 'Details' })).toHaveAttribute('aria-selected', 'true');
    const details = screen.getByLabelText('API key details');
    const value = (term: string) => within(details).getByText(term).closest('.pf-v6-c-description-list__group');
    expect(value('Name')).toHaveTextContent('laptop');
    expect(value('Description')).toHaveTextContent('Notebook experiments');
    expect(value('Owner')).toHaveTextContent('alice (user)');
    expect(value('Last used')).toHaveTextContent('Never');
    expect(value('Expires')).toHaveTextContent('Jan 1, 2030');
    expect(value('Created by')).toHaveTextContent('user:alice');
    expect(value('Status')).toHaveTextContent('Active');
    expect(value('API key prefix')).toHaveTextContent(`hwk_${KEY_ID}`);
    expect(within(details).getByRole('button', { name: 'Copy API key prefix' })).toBeInTheDocument();
    const crumbs = screen.getByRole('link', { name: 'API keys' });
    expect(crumbs).toHaveAttribute('href', '/settings/api-keys');
  });

  it('opens the tab the URL names, and a tab click changes the URL', async () => {
    const user = userEvent.setup();
    mockApi({
      [`GET ${KEY_PATH}`]: aKey(),
      [`GET ${KEY_PATH}/quota`]: { principal: 'user:alice', key_id: KEY_ID, checked_at: '2026-03-01T00:00:00Z', degraded: false, items: [] },
      'GET /api/v1/models': { items: [], next: null },
    });
    open(`/settings/api-keys/${KEY_ID}/policies`);

    expect(await screen.findByRole('tab', { name: 'Policies' })).toHaveAttribute('aria-selected', 'true');
    expect(await screen.findByText('Nothing limits this key')).toBeInTheDocument();

    await user.click(screen.getByRole('tab', { name: 'Assets' }));
    expect(screen.getByTestId('location')).toHaveTextContent(`/settings/api-keys/${KEY_ID}/assets`);
    expect(await screen.findByRole('tab', { name: 'Assets' })).toHaveAttribute('aria-selected', 'true');
  });

  it('falls back to Details for an unknown tab', async () => {
    mockApi({ [`GET ${KEY_PATH}`]: aKey() });
    open(`/settings/api-keys/${KEY_ID}/nonsense`);
    expect(await screen.findByRole('tab', { name: 'Details' })).toHaveAttribute('aria-selected', 'true');
    expect(screen.getByLabelText('API key details')).toBeInTheDocument();
  });

  it('answers a key it cannot see with a not-found state linking back to the list', async () => {
    mockApi({ [`GET ${KEY_PATH}`]: reply(404, { detail: `API key ${KEY_ID} not found` }) });
    open(`/settings/api-keys/${KEY_ID}`);
    expect(await screen.findByRole('heading', { level: 1, name: 'API key not found' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Back to API keys' })).toHaveAttribute('href', '/settings/api-keys');
  });

  it('edits the name and description and shows a field error from the API', async () => {
    const user = userEvent.setup();
    let patches = 0;
    const api = mockApi({
      [`GET ${KEY_PATH}`]: aKey(),
      [`PATCH ${KEY_PATH}`]: () => {
        patches += 1;
        if (patches === 1) return reply(422, { detail: [{ loc: ['body', 'name'], msg: 'name is taken', type: 'value_error' }] });
        return aKey({ name: 'desktop', description: 'Moved' });
      },
    });
    open(`/settings/api-keys/${KEY_ID}`, USER);

    await user.click(await screen.findByRole('button', { name: 'Edit' }));
    const dialog = screen.getByRole('dialog', { name: 'Edit API key' });
    const name = within(dialog).getByRole('textbox', { name: 'Name' });
    await user.clear(name);
    await user.click(within(dialog).getByRole('button', { name: 'Save' }));
    expect(within(dialog).getByText('Name is required.')).toBeInTheDocument();
    expect(api.calls.filter((call) => call.method === 'PATCH')).toHaveLength(0);

    await user.click(name);
    await user.paste('desktop');
    await user.clear(within(dialog).getByRole('textbox', { name: 'Description' }));
    await user.paste('Moved');
    await user.click(within(dialog).getByRole('button', { name: 'Save' }));
    expect(await within(dialog).findByText('name is taken')).toBeInTheDocument();

    await user.click(within(dialog).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    const sent = api.calls.filter((call) => call.method === 'PATCH').at(-1);
    expect(sent?.body).toEqual({ name: 'desktop', description: 'Moved' });
  });

  it('offers no changes to an auditor', async () => {
    const user = userEvent.setup();
    mockApi({ [`GET ${KEY_PATH}`]: aKey() });
    open(`/settings/api-keys/${KEY_ID}`, AUDITOR);
    await screen.findByRole('heading', { level: 1, name: 'laptop' });
    expect(screen.queryByRole('button', { name: 'Edit' })).not.toBeInTheDocument();

    await user.click(screen.getByRole('tab', { name: 'Settings' }));
    expect(await screen.findByText('Auditors see every key but change none.')).toBeInTheDocument();
    for (const name of ['Rotate key', 'Disable key', 'Enable key', 'Delete API key']) {
      expect(screen.queryByRole('button', { name })).not.toBeInTheDocument();
    }
  });

  it('lets a group admin see a member’s key but not change it', async () => {
    const user = userEvent.setup();
    mockApi({ [`GET ${KEY_PATH}`]: aKey({ owner: 'user:alice' }) });
    open(`/settings/api-keys/${KEY_ID}/settings`, GROUP_ADMIN);
    expect(await screen.findByText(/You can see this key but not change it/)).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Delete API key' })).not.toBeInTheDocument();
    await user.click(screen.getByRole('tab', { name: 'Details' }));
    expect(await screen.findByLabelText('API key details')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Edit' })).not.toBeInTheDocument();
  });

  it('lets a group admin manage a service account key of their group', async () => {
    mockApi({ [`GET ${KEY_PATH}`]: aKey({ owner: 'serviceaccount:ml-bot' }) });
    open(`/settings/api-keys/${KEY_ID}/settings`, GROUP_ADMIN);
    expect(await screen.findByRole('button', { name: 'Rotate key' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Disable key' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Delete API key' })).toBeInTheDocument();
  });

  it('offers nothing on a revoked key, even to an admin', async () => {
    mockApi({ [`GET ${KEY_PATH}`]: aKey({ status: 'revoked', revoked_at: '2026-02-01T00:00:00Z' }) });
    open(`/settings/api-keys/${KEY_ID}/settings`, ADMIN);
    expect(await screen.findByText('This key is revoked')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Delete API key' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Edit' })).not.toBeInTheDocument();
  });

  it('has no serious accessibility violations on its tabs and the delete dialog', async () => {
    const user = userEvent.setup();
    mockApi({
      [`GET ${KEY_PATH}`]: aKey({ models: ['granite-3.1-8b'] }),
      'GET /api/v1/models': { items: [], next: null },
      [`GET ${KEY_PATH}/quota`]: { principal: 'user:alice', key_id: KEY_ID, checked_at: '2026-03-01T00:00:00Z', degraded: false, items: [] },
    });
    const { baseElement } = open(`/settings/api-keys/${KEY_ID}`);
    const check = async () => {
      const results = await axe.run(baseElement, { rules: { 'color-contrast': { enabled: false } } });
      const serious = results.violations.filter((violation) => ['serious', 'critical'].includes(violation.impact ?? ''));
      expect(serious.map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.html).join(' | ')}`)).toEqual([]);
    };
    await screen.findByLabelText('API key details');
    await check();
    await user.click(screen.getByRole('tab', { name: 'Assets' }));
    await screen.findByText('No models');
    await check();
    await user.click(screen.getByRole('tab', { name: 'Settings' }));
    await user.click(await screen.findByRole('button', { name: 'Delete API key' }));
    await screen.findByRole('dialog');
    await check();
  });
});
