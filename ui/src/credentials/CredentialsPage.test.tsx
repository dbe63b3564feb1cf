import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent, { type UserEvent } from '@testing-library/user-event';
import { MemoryRouter } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { App } from '../app/App';
import type { Me } from '../app/roles';
import { seriousViolations } from '../directory/a11y';
import { ADMIN, AUDITOR, INFO, mockApi, renderPage, reply, USER } from '../test/render';
import CredentialsPage from './CredentialsPage';

const SECRET = 'sk-' + 'test-not-a-real-key-7f3c9a1e';

function aCredential(name: string, used_by: string[] = [], description = '') {
  return { name, description, set: true, created_at: '2026-01-05T10:00:00Z', updated_at: '2026-02-01T10:00:00Z', used_by };
}

const LIST = { items: [aCredential('anthropic-prod', ['claude-sonnet', 'claude-haiku'], 'Anthropic, prod org'), aCredential('spare')], next: null };

function open(me: Me = ADMIN) {
  return renderPage(<CredentialsPage />, { me, path: '/settings/credentials' });
}

async function type(user: UserEvent, field: HTMLElement, value: string) {
  await user.clear(field);
  await user.click(field);
  await user.paste(value);
}

/** Every text and field value on the page: where a secret would show. */
function everythingShown(): string {
  const values = Array.from(document.querySelectorAll('input, textarea')).map((field) => (field as HTMLInputElement).value);
  return [document.body.textContent, document.body.innerHTML, ...values].join('\n');
}

describe('CredentialsPage', () => {
  it('lists the credentials with what uses them, and passes axe', async () => {
    mockApi({ 'GET /api/v1/credentials': LIST });
    open();
    const table = await screen.findByRole('grid', { name: 'Credentials' });
    const headers = within(table).getAllByRole('columnheader').map((header) => header.textContent);
    expect(headers).toEqual(['Name', 'Description', 'Used by', 'Last changed', 'Actions']);
    const [first, second] = within(table).getAllByRole('row').slice(1) as [HTMLElement, HTMLElement];
    expect(first).toHaveTextContent('Anthropic, prod org');
    expect(within(first).getByRole('link', { name: 'claude-haiku' })).toHaveAttribute('href', '/ai-assets/models/claude-haiku');
    expect(second).toHaveTextContent('Not used');
    expect(await seriousViolations()).toEqual([]);
  });

  it('stores a new credential with the body the API expects, and never shows its value again', async () => {
    const user = userEvent.setup({ delay: null });
    const api = mockApi({
      'GET /api/v1/credentials': LIST,
      'PUT /api/v1/credentials/openai-prod': reply(201, aCredential('openai-prod', [], 'OpenAI, prod org')),
    });
    open();
    await user.click(await screen.findByRole('button', { name: 'Set credential' }));
    const dialog = await screen.findByRole('dialog', { name: 'Set credential' });
    expect(await seriousViolations()).toEqual([]);
    await type(user, within(dialog).getByRole('textbox', { name: 'Name' }), 'openai-prod');
    await type(user, within(dialog).getByRole('textbox', { name: 'Description' }), 'OpenAI, prod org');
    const value = within(dialog).getByLabelText(/^Value/);
    expect(value).toHaveAttribute('type', 'password');
    await type(user, value, SECRET);
    await user.click(within(dialog).getByRole('button', { name: 'Store credential' }));

    expect(await screen.findByText('openai-prod is stored')).toBeInTheDocument();
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    const put = api.calls.find((call) => call.method === 'PUT');
    expect(put?.path).toBe('/api/v1/credentials/openai-prod');
    expect(put?.body).toEqual({ value: SECRET, description: 'OpenAI, prod org' });
    expect(everythingShown()).not.toContain(SECRET);

    // opened again, the form starts empty
    await user.click(screen.getByRole('button', { name: 'Set credential' }));
    expect(within(await screen.findByRole('dialog')).getByLabelText(/^Value/)).toHaveValue('');
  });

  it('checks the fields first, without quoting the value, and shows the API’s refusal on its field', async () => {
    const user = userEvent.setup({ delay: null });
    const api = mockApi({
      'GET /api/v1/credentials': LIST,
      'PUT /api/v1/credentials/openai-prod': reply(422, {
        detail: [{ loc: ['body', 'value'], msg: 'Value error, value must be one line of printable ASCII characters', type: 'value_error' }],
      }),
    });
    open();
    await user.click(await screen.findByRole('button', { name: 'Set credential' }));
    const dialog = await screen.findByRole('dialog', { name: 'Set credential' });
    await user.click(within(dialog).getByRole('button', { name: 'Store credential' }));
    expect(within(dialog).getByText('Enter a name, such as openai-prod.')).toBeInTheDocument();
    expect(within(dialog).getByText('Enter the credential’s value.')).toBeInTheDocument();

    await type(user, within(dialog).getByRole('textbox', { name: 'Name' }), '-bad name');
    await type(user, within(dialog).getByLabelText(/^Value/), `${SECRET} `);
    expect(within(dialog).getByText('At most 128 letters, digits and ._@-, starting with a letter or digit.')).toBeInTheDocument();
    expect(within(dialog).getByText('No blanks at the start or the end.')).toBeInTheDocument();
    expect(api.calls.filter((call) => call.method === 'PUT')).toEqual([]);

    await type(user, within(dialog).getByRole('textbox', { name: 'Name' }), 'openai-prod');
    await type(user, within(dialog).getByLabelText(/^Value/), SECRET);
    await user.click(within(dialog).getByRole('button', { name: 'Store credential' }));
    expect(await within(dialog).findByText('The credential was not stored')).toBeInTheDocument();
    expect(within(dialog).getByLabelText(/^Value/)).toHaveAttribute('aria-invalid', 'true');
    expect(document.body.textContent).not.toContain(SECRET);
  });

  it('replaces a value only once confirmed, saying which models switch to it', async () => {
    const user = userEvent.setup({ delay: null });
    const api = mockApi({
      'GET /api/v1/credentials': LIST,
      'PUT /api/v1/credentials/anthropic-prod': aCredential('anthropic-prod', ['claude-sonnet', 'claude-haiku'], 'Anthropic, prod org'),
    });
    open();
    await user.click(await screen.findByRole('button', { name: 'Actions for anthropic-prod' }));
    await user.click(screen.getByRole('menuitem', { name: 'Replace value' }));
    const dialog = await screen.findByRole('dialog', { name: 'Replace anthropic-prod' });
    expect(within(dialog).getByRole('textbox', { name: 'Name' })).toBeDisabled();
    expect(within(dialog).getByLabelText(/^Value/)).toHaveValue('');
    await type(user, within(dialog).getByLabelText(/^Value/), SECRET);
    const replace = within(dialog).getByRole('button', { name: 'Replace value' });
    expect(replace).toBeDisabled();
    expect(within(dialog).getByText(/The deployments of claude-sonnet, claude-haiku use the new value/)).toBeInTheDocument();
    await user.click(within(dialog).getByRole('checkbox', { name: 'Replace the stored value of anthropic-prod' }));
    await user.click(replace);

    expect(await screen.findByText('anthropic-prod is stored')).toBeInTheDocument();
    expect(api.calls.find((call) => call.method === 'PUT')?.body).toEqual({ value: SECRET, description: 'Anthropic, prod org' });
    expect(everythingShown()).not.toContain(SECRET);
  });

  it('asks to confirm when a new credential’s name is already stored', async () => {
    const user = userEvent.setup({ delay: null });
    const api = mockApi({ 'GET /api/v1/credentials': LIST });
    open();
    await user.click(await screen.findByRole('button', { name: 'Set credential' }));
    const dialog = await screen.findByRole('dialog', { name: 'Set credential' });
    await type(user, within(dialog).getByRole('textbox', { name: 'Name' }), 'spare');
    await type(user, within(dialog).getByLabelText(/^Value/), SECRET);
    expect(within(dialog).getByRole('checkbox', { name: 'Replace the stored value of spare' })).not.toBeChecked();
    expect(within(dialog).getByRole('button', { name: 'Replace value' })).toBeDisabled();
    expect(api.calls.filter((call) => call.method === 'PUT')).toEqual([]);
  });

  it('shows which models hold a credential when deleting it is refused (409)', async () => {
    const user = userEvent.setup({ delay: null });
    const api = mockApi({
      'GET /api/v1/credentials': LIST,
      'DELETE /api/v1/credentials/anthropic-prod': reply(409, {
        detail: 'credential anthropic-prod is used by the deployments of claude-haiku, claude-sonnet: change those models first',
      }),
    });
    open();
    await user.click(await screen.findByRole('button', { name: 'Actions for anthropic-prod' }));
    await user.click(screen.getByRole('menuitem', { name: 'Delete credential' }));
    const dialog = await screen.findByRole('dialog', { name: /Delete credential\?/ });
    expect(dialog).toHaveTextContent('is used by the deployments of claude-sonnet, claude-haiku');
    await type(user, within(dialog).getByRole('textbox', { name: 'Type anthropic-prod to confirm' }), 'anthropic-prod');
    await user.click(within(dialog).getByRole('button', { name: 'Delete credential' }));
    expect(
      await within(dialog).findByText('credential anthropic-prod is used by the deployments of claude-haiku, claude-sonnet: change those models first'),
    ).toBeInTheDocument();
    expect(api.calls.filter((call) => call.method === 'DELETE')).toHaveLength(1);
  });

  it('deletes an unused credential', async () => {
    const user = userEvent.setup({ delay: null });
    const api = mockApi({ 'GET /api/v1/credentials': LIST, 'DELETE /api/v1/credentials/spare': null });
    open();
    await user.click(await screen.findByRole('button', { name: 'Actions for spare' }));
    await user.click(screen.getByRole('menuitem', { name: 'Delete credential' }));
    const dialog = await screen.findByRole('dialog', { name: /Delete credential\?/ });
    await type(user, within(dialog).getByRole('textbox', { name: 'Type spare to confirm' }), 'spare');
    await user.click(within(dialog).getByRole('button', { name: 'Delete credential' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(api.calls.filter((call) => call.method === 'DELETE').map((call) => call.path)).toEqual(['/api/v1/credentials/spare']);
  });

  it('shows an auditor the list without any action', async () => {
    mockApi({ 'GET /api/v1/credentials': LIST });
    open(AUDITOR);
    const table = await screen.findByRole('grid', { name: 'Credentials' });
    expect(within(table).getAllByRole('columnheader')).toHaveLength(4);
    expect(screen.queryByRole('button', { name: 'Set credential' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /^Actions for/ })).not.toBeInTheDocument();
  });

  it('has an empty state with the action for admins, and an error state', async () => {
    mockApi({ 'GET /api/v1/credentials': { items: [], next: null } });
    const first = open();
    expect(await screen.findByRole('heading', { name: 'No stored credentials' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Set credential' })).toBeInTheDocument();
    first.unmount();

    mockApi({ 'GET /api/v1/credentials': reply(500, { detail: 'the database is unreachable' }) });
    open();
    expect(await screen.findByText('the database is unreachable')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Try again' })).toBeInTheDocument();
  });
});

describe('the Credentials page in the console', () => {
  const clientWidth = Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'clientWidth');
  beforeEach(() => {
    Object.defineProperty(HTMLElement.prototype, 'clientWidth', { configurable: true, get: () => 1440 });
  });
  afterEach(() => {
    if (clientWidth) Object.defineProperty(HTMLElement.prototype, 'clientWidth', clientWidth);
  });

  function renderApp(me: Me, path: string) {
    mockApi({
      'GET /api/v1/info': INFO,
      'GET /api/v1/me': me,
      'GET /api/v1/keys': { items: [], next: null },
      'GET /api/v1/models': { items: [], next: null },
      'GET /api/v1/credentials': LIST,
    });
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={client}>
        <MemoryRouter initialEntries={[path]}>
          <App />
        </MemoryRouter>
      </QueryClientProvider>,
    );
  }

  it('is in an auditor’s navigation under Settings, and opens', async () => {
    renderApp(AUDITOR, '/settings/credentials');
    const nav = await screen.findByRole('navigation', { name: 'Headwater' });
    expect(within(nav).getByRole('link', { name: 'Credentials' })).toHaveAttribute('href', '/settings/credentials');
    expect(await screen.findByRole('heading', { level: 1, name: 'Credentials' })).toBeInTheDocument();
  });

  it('is hidden from a user, and opening it by URL shows the 404 page', async () => {
    renderApp(USER, '/settings/credentials');
    expect(await screen.findByRole('heading', { name: /404/ })).toBeInTheDocument();
    const nav = screen.getByRole('navigation', { name: 'Headwater' });
    expect(within(nav).queryByRole('link', { name: 'Credentials' })).not.toBeInTheDocument();
  });
});
