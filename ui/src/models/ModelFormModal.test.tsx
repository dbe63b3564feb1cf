import { screen, waitFor, within } from '@testing-library/react';
import userEvent, { type UserEvent } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { mockApi, renderPage, reply } from '../test/render';
import ModelsPage from './ModelsPage';
import { aModel, aRuntime } from './test-fixtures';

const EMPTY = { 'GET /api/v1/models': { items: [], next: null } };

function openAdd() {
  renderPage(<ModelsPage />, { path: '/ai-assets/models?add=1' });
  return screen.findByRole('dialog', { name: 'Add asset' });
}

async function fill(user: UserEvent, dialog: HTMLElement, label: string, value: string) {
  const field = within(dialog).getByRole('textbox', { name: label });
  await user.clear(field);
  if (value) {
    await user.click(field);
    await user.paste(value);
  }
}

function helperOf(dialog: HTMLElement, label: string): string {
  const field = within(dialog).getByRole('textbox', { name: label });
  const item = field.closest('.pf-v6-c-form__group')?.querySelector('.pf-v6-c-helper-text__item-text');
  if (!item) return '';
  const copy = item.cloneNode(true) as HTMLElement;
  copy.querySelectorAll('.pf-v6-screen-reader').forEach((hidden) => hidden.remove()); // ": error status"
  return copy.textContent;
}

describe('Add asset', () => {
  it('checks the fields before sending anything', async () => {
    const user = userEvent.setup({ delay: null });
    const api = mockApi(EMPTY);
    const dialog = await openAdd();

    await user.click(within(dialog).getByRole('button', { name: 'Add' }));
    expect(helperOf(dialog, 'Name')).toBe('Enter the name callers will use.');
    expect(helperOf(dialog, 'Base URL')).toBe('Enter the server’s base URL.');
    expect(helperOf(dialog, 'Upstream model')).toBe('Enter the model’s name on the server.');
    expect(within(dialog).getByRole('textbox', { name: 'Name' })).toHaveAttribute('aria-invalid', 'true');

    await fill(user, dialog, 'Name', 'bad name');
    await fill(user, dialog, 'Base URL', 'vllm:8000/v1?x=1');
    await fill(user, dialog, 'Input per 1M tokens', '-1');
    await fill(user, dialog, 'Currency', 'usd');
    await fill(user, dialog, 'Context window', '0');
    expect(helperOf(dialog, 'Name')).toMatch(/^Letters, digits and/);
    expect(helperOf(dialog, 'Input per 1M tokens')).toBe('Enter an amount of 0 or more, such as 0.20.');
    expect(helperOf(dialog, 'Currency')).toBe('Three capital letters (ISO 4217), such as USD.');
    expect(helperOf(dialog, 'Context window')).toBe('Enter a number from 1 to 100,000,000.');

    // An external provider must name the variable holding its key.
    await user.click(within(dialog).getByRole('radio', { name: /External provider/ }));
    expect(helperOf(dialog, 'Credential environment variable')).toBe('An external provider needs the variable holding its API key.');
    expect(api.calls.filter((call) => call.method !== 'GET')).toEqual([]);
  });

  it('adds an internal server with the body the API expects', async () => {
    const user = userEvent.setup({ delay: null });
    const api = mockApi({ ...EMPTY, 'POST /api/v1/models': (call: { body: unknown }) => reply(201, { ...aModel(), ...(call.body as object) }) });
    const dialog = await openAdd();

    await fill(user, dialog, 'Name', 'granite-3.1-8b');
    await user.selectOptions(within(dialog).getByRole('combobox', { name: 'Kind' }), 'completion');
    await user.selectOptions(within(dialog).getByRole('combobox', { name: 'Access' }), 'restricted');
    await fill(user, dialog, 'Description', 'Granite on our vLLM');
    await fill(user, dialog, 'Base URL', 'http://vllm:8000/v1');
    await fill(user, dialog, 'Upstream model', 'ibm-granite/granite-3.1-8b-instruct');
    await fill(user, dialog, 'Input per 1M tokens', '0.20');
    await fill(user, dialog, 'Output per 1M tokens', '0.6');
    await fill(user, dialog, 'Context window', '131072');
    await user.click(within(dialog).getByRole('button', { name: 'Add' }));

    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(api.calls.find((call) => call.method === 'POST')?.body).toEqual({
      name: 'granite-3.1-8b',
      kind: 'completion',
      access: 'restricted',
      description: 'Granite on our vLLM',
      context_window: 131072,
      max_output_tokens: null,
      pricing: { input_per_million: '0.20', output_per_million: '0.6', currency: 'USD' },
      status: 'active',
      deployments: [
        {
          provider: 'openai',
          responses_api: false,
          base_url: 'http://vllm:8000/v1',
          upstream_model: 'ibm-granite/granite-3.1-8b-instruct',
          credential_env: null,
          credential: null,
          api_version: null,
          region: null,
          weight: 1,
        },
      ],
    });
  });

  it('adds an external provider with its credential variable, and shows the API’s refusal on the field', async () => {
    const user = userEvent.setup({ delay: null });
    const api = mockApi({
      ...EMPTY,
      'POST /api/v1/models': reply(422, {
        detail: [{ loc: ['body', 'deployments', 0, 'credential_env'], msg: 'credential_env must start with HEADWATER_UPSTREAM_', type: 'value_error' }],
      }),
    });
    const dialog = await openAdd();
    await user.click(within(dialog).getByRole('radio', { name: /External provider/ }));
    await fill(user, dialog, 'Name', 'gpt-4o-mini');
    await fill(user, dialog, 'Base URL', 'https://api.openai.com/v1');
    await fill(user, dialog, 'Upstream model', 'gpt-4o-mini');
    await fill(user, dialog, 'Credential environment variable', 'OPENAI_API_KEY');
    await user.click(within(dialog).getByRole('button', { name: 'Add' }));

    await waitFor(() => expect(helperOf(dialog, 'Credential environment variable')).toBe('credential_env must start with HEADWATER_UPSTREAM_'));
    expect(within(dialog).getByText('The model was not added')).toBeInTheDocument();
    const sent = api.calls.find((call) => call.method === 'POST')?.body as { deployments: { credential_env: string }[] };
    expect(sent.deployments[0]?.credential_env).toBe('OPENAI_API_KEY');
  });
});

describe('Test connection', () => {
  async function testWith(answer: unknown) {
    const user = userEvent.setup({ delay: null });
    const api = mockApi({ ...EMPTY, 'POST /api/v1/models/test-connection': answer });
    const dialog = await openAdd();
    await fill(user, dialog, 'Base URL', 'http://vllm:8000/v1');
    await fill(user, dialog, 'Upstream model', 'granite');
    await user.click(within(dialog).getByRole('button', { name: 'Test connection' }));
    return { api, dialog, user };
  }

  it('says the server serves the model, having sent what the deployment names', async () => {
    const { api, dialog } = await testWith({ ok: true, status: 200, latency_ms: 12.4, upstream_model_listed: true, models: ['granite'], error: null });
    expect(await within(dialog).findByText('Connected in 12 ms; granite is served')).toBeInTheDocument();
    expect(api.calls.find((call) => call.path === '/api/v1/models/test-connection')?.body).toEqual({
      provider: 'openai',
      responses_api: false,
      base_url: 'http://vllm:8000/v1',
      upstream_model: 'granite',
    });
  });

  it('warns when the server does not list the model, naming those it does', async () => {
    const { dialog } = await testWith({ ok: true, status: 200, latency_ms: 30, upstream_model_listed: false, models: ['llama3.1:8b', 'mistral'], error: null });
    expect(await within(dialog).findByText('Connected in 30 ms, but granite is not listed by the server')).toBeInTheDocument();
    expect(within(dialog).getByText('It serves: llama3.1:8b, mistral.')).toBeInTheDocument();
  });

  it('shows the error of a failed connection, and forgets it once the URL changes', async () => {
    const { dialog, user } = await testWith({ ok: false, status: null, latency_ms: 3, upstream_model_listed: null, models: [], error: 'unreachable (Connection refused)' });
    expect(await within(dialog).findByText('Connection failed: unreachable (Connection refused)')).toBeInTheDocument();
    await user.type(within(dialog).getByRole('textbox', { name: 'Base URL' }), 'x');
    expect(within(dialog).queryByText(/Connection failed/)).not.toBeInTheDocument();
  });

  it('shows a refused credential variable on its field', async () => {
    const user = userEvent.setup({ delay: null });
    mockApi({
      ...EMPTY,
      'POST /api/v1/models/test-connection': reply(422, {
        detail: [{ loc: ['body', 'credential_env'], msg: 'HEADWATER_ADMIN_TOKEN is one of Headwater’s own settings', type: 'value_error' }],
      }),
    });
    const dialog = await openAdd();
    await fill(user, dialog, 'Base URL', 'https://api.openai.com/v1');
    await fill(user, dialog, 'Upstream model', 'gpt-4o-mini');
    await fill(user, dialog, 'Credential environment variable', 'HEADWATER_ADMIN_TOKEN');
    await user.click(within(dialog).getByRole('button', { name: 'Test connection' }));
    await waitFor(() => expect(helperOf(dialog, 'Credential environment variable')).toBe('HEADWATER_ADMIN_TOKEN is one of Headwater’s own settings'));
  });

  it('asks for the URL and model before testing', async () => {
    const user = userEvent.setup({ delay: null });
    const api = mockApi(EMPTY);
    const dialog = await openAdd();
    await user.click(within(dialog).getByRole('button', { name: 'Test connection' }));
    expect(helperOf(dialog, 'Base URL')).toBe('Enter the server’s base URL.');
    expect(api.calls.filter((call) => call.method === 'POST')).toEqual([]);
  });
});

describe('Edit', () => {
  it('replaces the model with the changed fields, keeping what the form does not show', async () => {
    const user = userEvent.setup({ delay: null });
    const model = aModel();
    const api = mockApi({
      'GET /api/v1/models': { items: [model], next: null },
      'GET /api/v1/models/granite-3.1-8b/runtime': aRuntime(model.name, ['up', 'up']),
      'PUT /api/v1/models/granite-3.1-8b': (call: { body: unknown }) => ({ ...model, ...(call.body as object) }),
    });
    renderPage(<ModelsPage />, { path: '/ai-assets/models' });
    await user.click(await screen.findByRole('button', { name: 'Actions for granite-3.1-8b' }));
    await user.click(screen.getByRole('menuitem', { name: 'Edit' }));
    const dialog = await screen.findByRole('dialog', { name: 'Edit granite-3.1-8b' });
    expect(within(dialog).queryByRole('textbox', { name: 'Name' })).not.toBeInTheDocument();
    expect(within(dialog).getByRole('textbox', { name: 'Input per 1M tokens' })).toHaveValue('0.2');

    await fill(user, dialog, 'Output per 1M tokens', '0.8');
    const weights = within(dialog).getAllByRole('textbox', { name: 'Weight' });
    expect(weights.map((field) => (field as HTMLInputElement).value)).toEqual(['3', '1']);
    await user.click(within(dialog).getByRole('button', { name: 'Remove deployment 2' }));
    await user.click(within(dialog).getByRole('button', { name: 'Save' }));

    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    const [first] = model.deployments;
    expect(api.calls.find((call) => call.method === 'PUT')?.body).toEqual({
      kind: 'chat',
      access: 'open',
      description: model.description,
      context_window: 131072,
      max_output_tokens: 4096,
      pricing: { input_per_million: '0.2', output_per_million: '0.8', currency: 'USD' },
      status: 'active',
      limits: model.limits,
      deployments: [{ ...first, credential: null, api_version: null, region: null, weight: 3 }],
    });
  });
});
