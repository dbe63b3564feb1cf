import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import axe from 'axe-core';
import { describe, expect, it } from 'vitest';

import { ADMIN, AUDITOR, GROUP_ADMIN, mockApi, renderPage, reply, USER } from '../test/render';
import ModelsPage from './ModelsPage';
import { aModel, aRuntime, EMBEDDER, GPT } from './test-fixtures';

const GRANITE = aModel();
const LIST = { items: [GRANITE, GPT, EMBEDDER], next: null };
const RUNTIMES = {
  'GET /api/v1/models/granite-3.1-8b/runtime': aRuntime('granite-3.1-8b', ['up', 'up']),
  'GET /api/v1/models/openai/gpt-4o-mini/runtime': aRuntime('openai/gpt-4o-mini', ['not exposed']),
  'GET /api/v1/models/nomic-embed/runtime': aRuntime('nomic-embed', ['down']),
};

function open(me = ADMIN, path = '/ai-assets/models') {
  return renderPage(<ModelsPage />, { me, path });
}

function row(name: string): HTMLElement {
  const link = screen.getByRole('link', { name });
  const found = link.closest('tr');
  if (!found) throw new Error(`no row for ${name}`);
  return found;
}

describe('ModelsPage', () => {
  it('lists the catalog: kind, access, pricing, deployments with their health, status', async () => {
    mockApi({ 'GET /api/v1/models': LIST, ...RUNTIMES });
    open();

    expect(await screen.findByRole('heading', { level: 1, name: 'AI assets' })).toBeInTheDocument();
    expect(screen.getByRole('tab', { name: 'Models' })).toHaveAttribute('aria-selected', 'true');
    const table = await screen.findByRole('grid', { name: 'Models' });
    expect(within(table).getAllByRole('columnheader').map((cell) => cell.textContent)).toEqual([
      'Name',
      'Kind',
      'Access',
      'Pricing',
      'Deployments',
      'Status',
      'Actions',
    ]);
    expect(screen.getByRole('link', { name: 'openai/gpt-4o-mini' })).toHaveAttribute('href', '/ai-assets/models/openai%2Fgpt-4o-mini');

    const granite = row('granite-3.1-8b');
    expect(granite).toHaveTextContent('Chat');
    expect(granite).toHaveTextContent('Open');
    expect(granite).toHaveTextContent('$0.20 / $0.60 per 1M tokens');
    expect(granite).toHaveTextContent('Enabled');
    await waitFor(() => expect(within(granite).getByText('Healthy')).toBeInTheDocument());
    expect(within(granite).getByText('2')).toBeInTheDocument();

    const gpt = row('openai/gpt-4o-mini');
    expect(gpt).toHaveTextContent('Restricted');
    expect(gpt).toHaveTextContent('$0.15 / $0.60 per 1M tokens');
    await waitFor(() => expect(within(gpt).getByText('Unknown')).toBeInTheDocument());

    const embedder = row('nomic-embed');
    expect(embedder).toHaveTextContent('Embedding');
    expect(embedder).toHaveTextContent('$0.01 / $0.00 per 1M tokens');
    expect(embedder).toHaveTextContent('Disabled');
    await waitFor(() => expect(within(embedder).getByText('Unreachable')).toBeInTheDocument());
  });

  it('searches by name and filters by kind', async () => {
    const user = userEvent.setup({ delay: null });
    mockApi({ 'GET /api/v1/models': LIST, ...RUNTIMES });
    open();
    await screen.findByRole('link', { name: 'granite-3.1-8b' });

    await user.type(screen.getByRole('textbox', { name: 'Search models by name' }), 'gpt');
    expect(screen.getByRole('link', { name: 'openai/gpt-4o-mini' })).toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'granite-3.1-8b' })).not.toBeInTheDocument();

    await user.clear(screen.getByRole('textbox', { name: 'Search models by name' }));
    await user.click(screen.getByRole('button', { name: 'Kind' }));
    await user.click(screen.getByRole('checkbox', { name: 'Embedding' }));
    expect(screen.getByRole('link', { name: 'nomic-embed' })).toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'granite-3.1-8b' })).not.toBeInTheDocument();

    await user.type(screen.getByRole('textbox', { name: 'Search models by name' }), 'granite');
    expect(screen.getByText('No models match')).toBeInTheDocument();
    await user.click(screen.getAllByRole('button', { name: 'Clear all filters' })[0] as HTMLElement);
    expect(screen.getByRole('link', { name: 'granite-3.1-8b' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'nomic-embed' })).toBeInTheDocument();
  });

  it('disables a model from its kebab with a PUT that keeps every other field', async () => {
    const user = userEvent.setup({ delay: null });
    const api = mockApi({
      'GET /api/v1/models': LIST,
      ...RUNTIMES,
      'PUT /api/v1/models/openai/gpt-4o-mini': () => ({ ...GPT, status: 'disabled' }),
    });
    open();
    await user.click(await screen.findByRole('button', { name: 'Actions for openai/gpt-4o-mini' }));
    await user.click(screen.getByRole('menuitem', { name: 'Disable' }));

    await waitFor(() => expect(api.calls.some((call) => call.method === 'PUT')).toBe(true));
    const put = api.calls.find((call) => call.method === 'PUT');
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    const { name, created_at, updated_at, ...spec } = GPT;
    expect(put?.body).toEqual({ ...spec, status: 'disabled' });
    // The name's "/" travels encoded, as one path segment.
    const urls = api.fetchMock.mock.calls.map(([input]) => (input instanceof Request ? input.url : String(input)));
    expect(urls).toContain('http://localhost:3000/api/v1/models/openai%2Fgpt-4o-mini');
  });

  it('enables a disabled model', async () => {
    const user = userEvent.setup({ delay: null });
    const api = mockApi({ 'GET /api/v1/models': LIST, ...RUNTIMES, 'PUT /api/v1/models/nomic-embed': { ...EMBEDDER, status: 'active' } });
    open();
    await user.click(await screen.findByRole('button', { name: 'Actions for nomic-embed' }));
    await user.click(screen.getByRole('menuitem', { name: 'Enable' }));
    await waitFor(() => expect(api.calls.find((call) => call.method === 'PUT')?.body).toMatchObject({ status: 'active', kind: 'embedding' }));
  });

  it('shows why a status change failed', async () => {
    const user = userEvent.setup({ delay: null });
    mockApi({ 'GET /api/v1/models': LIST, ...RUNTIMES, 'PUT /api/v1/models/granite-3.1-8b': reply(409, { detail: 'changed meanwhile' }) });
    open();
    await user.click(await screen.findByRole('button', { name: 'Actions for granite-3.1-8b' }));
    await user.click(screen.getByRole('menuitem', { name: 'Disable' }));
    expect(await screen.findByText('Disabling granite-3.1-8b failed')).toBeInTheDocument();
    expect(screen.getByText('changed meanwhile')).toBeInTheDocument();
  });

  it('deletes a model once its name is typed', async () => {
    const user = userEvent.setup({ delay: null });
    const api = mockApi({ 'GET /api/v1/models': LIST, ...RUNTIMES, 'DELETE /api/v1/models/nomic-embed': null });
    open();
    await user.click(await screen.findByRole('button', { name: 'Actions for nomic-embed' }));
    await user.click(screen.getByRole('menuitem', { name: 'Delete model' }));
    const dialog = await screen.findByRole('dialog', { name: /Delete model\?/ });
    const confirm = within(dialog).getByRole('button', { name: 'Delete' });
    expect(confirm).toBeDisabled();
    await user.type(within(dialog).getByRole('textbox', { name: 'Type nomic-embed to confirm' }), 'nomic-embed');
    await user.click(confirm);
    await waitFor(() => expect(api.calls.some((call) => call.method === 'DELETE' && call.path === '/api/v1/models/nomic-embed')).toBe(true));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
  });

  it('opens "Add asset" from the button and from ?add=1', async () => {
    const user = userEvent.setup({ delay: null });
    mockApi({ 'GET /api/v1/models': LIST, ...RUNTIMES });
    open(ADMIN, '/ai-assets/models?add=1');
    expect(await screen.findByRole('dialog', { name: 'Add asset' })).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Add asset' }));
    expect(screen.getByRole('dialog', { name: 'Add asset' })).toBeInTheDocument();
  });

  it('shows an empty catalog with the primary action for admins', async () => {
    mockApi({ 'GET /api/v1/models': { items: [], next: null } });
    open();
    expect(await screen.findByText('No models yet')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Add asset' })).toBeInTheDocument();
  });

  it('shows the error when the catalog cannot be read', async () => {
    mockApi({ 'GET /api/v1/models': reply(500, { detail: 'database unavailable' }) });
    open();
    expect(await screen.findByText('database unavailable')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Try again' })).toBeInTheDocument();
  });

  it.each([
    ['a user', USER],
    ['a group admin', GROUP_ADMIN],
  ])('shows %s the catalog read-only, without deployments', async (_who, me) => {
    const publicList = { items: LIST.items.map((model) => ({ ...model, deployments: [] })), next: null };
    const api = mockApi({ 'GET /api/v1/models': publicList });
    open(me, '/ai-assets/models?add=1');
    const table = await screen.findByRole('grid', { name: 'Models' });
    expect(within(table).queryByText('Deployments')).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Add asset' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /^Actions for/ })).not.toBeInTheDocument();
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(api.calls.map((call) => `${call.method} ${call.path}`)).toEqual(['GET /api/v1/models']);
  });

  it('shows an auditor deployments and health but no action', async () => {
    mockApi({ 'GET /api/v1/models': LIST, ...RUNTIMES });
    open(AUDITOR);
    const table = await screen.findByRole('grid', { name: 'Models' });
    expect(within(table).getByText('Deployments')).toBeInTheDocument();
    await waitFor(() => expect(within(row('granite-3.1-8b')).getByText('Healthy')).toBeInTheDocument());
    expect(screen.queryByRole('button', { name: 'Add asset' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /^Actions for/ })).not.toBeInTheDocument();
  });

  it('tells a user with an empty catalog that an administrator adds models', async () => {
    mockApi({ 'GET /api/v1/models': { items: [], next: null } });
    open(USER);
    expect(await screen.findByText(/An administrator adds models/)).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Add asset' })).not.toBeInTheDocument();
  });

  it('has no serious accessibility violation, with the add modal open too', async () => {
    const user = userEvent.setup({ delay: null });
    mockApi({ 'GET /api/v1/models': LIST, ...RUNTIMES });
    const { baseElement } = open();
    await waitFor(() => expect(within(row('granite-3.1-8b')).getByText('Healthy')).toBeInTheDocument());
    await user.click(screen.getByRole('button', { name: 'Add asset' }));
    await screen.findByRole('dialog', { name: 'Add asset' });
    await user.click(screen.getByRole('button', { name: 'Add' }));
    const results = await axe.run(baseElement, { rules: { 'color-contrast': { enabled: false } } });
    const serious = results.violations.filter((violation) => ['serious', 'critical'].includes(violation.impact ?? ''));
    expect(serious.map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.html).join(' | ')}`)).toEqual([]);
  });
});
