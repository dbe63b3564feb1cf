import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import axe from 'axe-core';
import { describe, expect, it } from 'vitest';

import { ADMIN, type Call, GROUP_ADMIN, mockApi, renderPage, reply, USER } from '../test/render';
import KeysPage from './KeysPage';
import { aKey } from './testKeys';

const PATH = '/settings/api-keys';
const SECRET = 'hwk_k9abcdefghij_0123456789abcdefghij0123456789AB';
const MODELS = {
  items: [
    { name: 'text-embedder', kind: 'embedding', status: 'active', deployments: [], created_at: '', updated_at: '' },
    { name: 'granite-3.1-8b', kind: 'chat', status: 'active', deployments: [], created_at: '', updated_at: '' },
  ],
  next: null,
};

function created(body: Record<string, unknown>) {
  return { ...aKey({ id: 'k9', name: String(body.name), models: (body.models as string[] | null) ?? null }), key: SECRET };
}

function routes(extra: Record<string, unknown> = {}) {
  return {
    'GET /api/v1/keys': { items: [aKey({ id: 'k1', name: 'laptop' })], next: null },
    'GET /api/v1/models': MODELS,
    'POST /api/v1/keys': (call: Call) => created(call.body as Record<string, unknown>),
    ...extra,
  };
}

function open(me = ADMIN) {
  const user = userEvent.setup({ delay: null });
  renderPage(<KeysPage />, {
    path: `${PATH}?create=1`,
    route: PATH,
    me,
    extra: { '/settings/api-keys/:keyId/:tab': <p>the key details</p> },
  });
  return user;
}

async function fill(user: ReturnType<typeof userEvent.setup>, element: HTMLElement, text: string) {
  await user.click(element);
  await user.paste(text);
}

const posted = (api: { calls: Call[] }) => api.calls.filter((call) => call.method === 'POST' && call.path === '/api/v1/keys');

describe('Create API key', () => {
  it('sends the owner, limits, models and expiry an admin chose, then shows the secret once', async () => {
    const api = mockApi(
      routes({
        'GET /api/v1/users': { items: [{ name: 'alice' }], next: null },
        'GET /api/v1/groups': { items: [{ name: 'ml' }, { name: 'research' }], next: null },
      }),
    );
    const user = open();
    const dialog = await screen.findByRole('dialog', { name: 'Create API key' });
    await fill(user, within(dialog).getByRole('textbox', { name: 'Name' }), 'batch-jobs');
    await fill(user, within(dialog).getByRole('textbox', { name: 'Description' }), 'Nightly batch');
    await user.selectOptions(within(dialog).getByRole('combobox', { name: 'Owner type' }), 'group');
    await fill(user, within(dialog).getByRole('combobox', { name: 'Group name' }), 'ml');
    await user.click(await screen.findByRole('option', { name: 'ml' }));

    await user.click(within(dialog).getByRole('button', { name: 'Limits and policies' }));
    await fill(user, within(dialog).getByRole('spinbutton', { name: 'Token rate per minute' }), '1000');
    await fill(user, within(dialog).getByRole('spinbutton', { name: 'Request rate per minute' }), '60');
    await fill(user, within(dialog).getByRole('textbox', { name: 'Budget' }), '25.5');
    await user.selectOptions(within(dialog).getByRole('combobox', { name: 'Budget period' }), 'weekly');
    await user.selectOptions(within(dialog).getByRole('combobox', { name: 'Expiration' }), '30d');

    await user.click(within(dialog).getByRole('button', { name: 'AI asset access' }));
    await user.click(within(dialog).getByRole('radio', { name: /Chosen models/ }));
    await user.click(await within(dialog).findByRole('checkbox', { name: 'granite-3.1-8b' }));
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));

    const done = await screen.findByRole('dialog', { name: 'API key created' });
    expect(screen.queryByRole('dialog', { name: 'Create API key' })).not.toBeInTheDocument();
    expect(posted(api)[0]?.body).toEqual({
      name: 'batch-jobs',
      description: 'Nightly batch',
      owner: 'group:ml',
      limits: { tokens_per_minute: 1000, requests_per_minute: 60, budget: { amount: '25.5', currency: 'USD', period: 'weekly' } },
      expires_in: '30d',
      models: ['granite-3.1-8b'],
    });
    expect(within(done).getByRole('textbox', { name: 'API key secret' })).toHaveValue(SECRET);
    expect(within(done).getByText(/will not be shown again/)).toBeInTheDocument();
    const curl = within(done).getByText(/curl http:\/\/gateway\.test\/v1\/chat\/completions/);
    expect(curl.textContent).toContain(`Bearer ${SECRET}`);
    expect(curl.textContent).toContain('"model":"granite-3.1-8b"');
    await user.click(within(done).getByRole('tab', { name: 'Python (openai)' }));
    expect(within(done).getByText(/from openai import OpenAI/).textContent).toContain('base_url="http://gateway.test/v1"');
    await user.click(within(done).getByRole('tab', { name: 'LangChain' }));
    expect(within(done).getByText(/ChatOpenAI/)).toBeInTheDocument();

    await user.click(within(done).getByRole('button', { name: 'Go to key details' }));
    expect(await screen.findByText('the key details')).toBeInTheDocument();
    expect(screen.queryByDisplayValue(SECRET)).not.toBeInTheDocument();
    expect(document.body.textContent).not.toContain(SECRET);
  });

  it('goes to the details when the created dialog is closed', async () => {
    mockApi(routes());
    const user = open(USER);
    const dialog = await screen.findByRole('dialog', { name: 'Create API key' });
    await fill(user, within(dialog).getByRole('textbox', { name: 'Name' }), 'laptop-2');
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    const done = await screen.findByRole('dialog', { name: 'API key created' });
    await user.click(within(done).getByRole('button', { name: 'Close' }));
    expect(await screen.findByText('the key details')).toBeInTheDocument();
  });

  it('lets a user own keys only as themself, and sends a custom expiry date', async () => {
    const api = mockApi(routes());
    const user = open(USER);
    const dialog = await screen.findByRole('dialog', { name: 'Create API key' });
    expect(within(dialog).queryByRole('combobox', { name: 'Owner type' })).not.toBeInTheDocument();
    const owner = within(dialog).getByRole('textbox', { name: 'Owner' });
    expect(owner).toHaveValue('alice');
    expect(owner).toHaveAttribute('readonly');

    await fill(user, within(dialog).getByRole('textbox', { name: 'Name' }), 'laptop');
    await user.click(within(dialog).getByRole('button', { name: 'Limits and policies' }));
    await user.selectOptions(within(dialog).getByRole('combobox', { name: 'Expiration' }), 'custom');
    await fill(user, within(dialog).getByRole('textbox', { name: 'Expiration date' }), '2020-01-01');
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    expect(await within(dialog).findByText('Choose a date in the future.')).toBeInTheDocument();
    expect(posted(api)).toHaveLength(0);

    await user.clear(within(dialog).getByRole('textbox', { name: 'Expiration date' }));
    await fill(user, within(dialog).getByRole('textbox', { name: 'Expiration date' }), '2099-12-31');
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    await screen.findByRole('dialog', { name: 'API key created' });
    const body = posted(api)[0]?.body as Record<string, unknown>;
    expect(body.owner).toBe('user:alice');
    expect(body.models).toBeNull();
    expect(body.expires_in).toBeUndefined();
    expect(new Date(String(body.expires_at)).getTime()).toBe(new Date(2099, 11, 31, 23, 59, 59).getTime());
  });

  it("offers a group admin their groups' service accounts only", async () => {
    const api = mockApi(
      routes({
        'GET /api/v1/service-accounts': {
          items: [
            { name: 'ml-bot', group: 'ml' },
            { name: 'other-bot', group: 'other' },
          ],
          next: null,
        },
      }),
    );
    const user = open(GROUP_ADMIN);
    const dialog = await screen.findByRole('dialog', { name: 'Create API key' });
    await fill(user, within(dialog).getByRole('textbox', { name: 'Name' }), 'bot-key');
    await user.selectOptions(within(dialog).getByRole('combobox', { name: 'Owner type' }), 'serviceaccount');
    const accounts = within(dialog).getByRole('combobox', { name: 'Service account name' });
    await waitFor(() => expect(within(accounts).getAllByRole('option').map((option) => option.textContent)).toEqual(['Choose one', 'ml-bot']));
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    expect(await within(dialog).findByText('Choose who owns the key.')).toBeInTheDocument();
    await user.selectOptions(accounts, 'ml-bot');
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    await screen.findByRole('dialog', { name: 'API key created' });
    expect((posted(api)[0]?.body as Record<string, unknown>).owner).toBe('serviceaccount:ml-bot');
  });

  it("puts the API's 422 messages on their fields", async () => {
    mockApi(
      routes({
        'GET /api/v1/users': { items: [], next: null },
        'POST /api/v1/keys': reply(422, {
          detail: [
            { loc: ['body', 'limits', 'tokens_per_minute'], msg: 'at most 5000 (HEADWATER_KEYS_MAX_TOKENS_PER_MINUTE)' },
            { loc: ['body', 'models', 0], msg: "your policies do not give user:alice access to model 'granite-3.1-8b'" },
          ],
        }),
      }),
    );
    const user = open(USER);
    const dialog = await screen.findByRole('dialog', { name: 'Create API key' });
    await fill(user, within(dialog).getByRole('textbox', { name: 'Name' }), 'laptop');
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    expect(await within(dialog).findByText('at most 5000 (HEADWATER_KEYS_MAX_TOKENS_PER_MINUTE)')).toBeVisible();
    expect(within(dialog).getByRole('spinbutton', { name: 'Token rate per minute' })).toHaveAttribute('aria-invalid', 'true');
    expect(within(dialog).getByText(/do not give user:alice access/)).toBeVisible();
    expect(screen.queryByRole('dialog', { name: 'API key created' })).not.toBeInTheDocument();
  });

  it('requires a name, and has no serious accessibility violation, the form expanded and the secret shown', async () => {
    const api = mockApi(routes({ 'GET /api/v1/users': { items: [{ name: 'alice' }], next: null } }));
    const user = open();
    const dialog = await screen.findByRole('dialog', { name: 'Create API key' });
    await user.click(within(dialog).getByRole('button', { name: 'Limits and policies' }));
    await user.click(within(dialog).getByRole('button', { name: 'AI asset access' }));
    await user.click(within(dialog).getByRole('radio', { name: /Chosen models/ }));
    await within(dialog).findByRole('checkbox', { name: 'granite-3.1-8b' });
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    expect(await within(dialog).findByText('Name is required.')).toBeInTheDocument();
    expect(within(dialog).getByRole('textbox', { name: 'Name' })).toHaveAttribute('aria-invalid', 'true');
    expect(posted(api)).toHaveLength(0);
    await expectNoSeriousViolation();

    await fill(user, within(dialog).getByRole('textbox', { name: 'Name' }), 'a11y');
    await user.click(within(dialog).getByRole('checkbox', { name: 'granite-3.1-8b' }));
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    await screen.findByRole('dialog', { name: 'API key created' });
    await expectNoSeriousViolation();
  });
});

async function expectNoSeriousViolation() {
  const results = await axe.run(document.body, { rules: { 'color-contrast': { enabled: false } } });
  const serious = results.violations.filter((violation) => ['serious', 'critical'].includes(violation.impact ?? ''));
  expect(serious.map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.html).join(' | ')}`)).toEqual([]);
}
