import { screen, waitFor, within } from '@testing-library/react';
import userEvent, { type UserEvent } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { seriousViolations } from '../directory/a11y';
import { AUDITOR, mockApi, renderPage, reply } from '../test/render';
import ModelDetailsPage from './ModelDetailsPage';
import ModelsPage from './ModelsPage';
import { aModel, aRuntime } from './test-fixtures';

const EMPTY = { 'GET /api/v1/models': { items: [], next: null } };
const STORED = {
  items: [
    { name: 'azure-westeurope', description: 'Azure, EU', set: true, created_at: '2026-01-05T10:00:00Z', updated_at: '2026-01-05T10:00:00Z', used_by: [] },
    { name: 'openai-prod', description: '', set: true, created_at: '2026-01-05T10:00:00Z', updated_at: '2026-01-05T10:00:00Z', used_by: ['gpt-4o'] },
  ],
  next: null,
};

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

/** The helper text (or error) under the field labelled `label`. */
function helperOf(dialog: HTMLElement, label: string): string {
  const field = within(dialog).queryByRole('textbox', { name: label }) ?? within(dialog).getByRole('combobox', { name: label });
  const item = field.closest('.pf-v6-c-form__group')?.querySelector('.pf-v6-c-helper-text__item-text');
  if (!item) return '';
  const copy = item.cloneNode(true) as HTMLElement;
  copy.querySelectorAll('.pf-v6-screen-reader').forEach((hidden) => hidden.remove());
  return copy.textContent;
}

function sentDeployments(calls: { method: string; body: unknown }[], method = 'POST'): unknown[] {
  return (calls.find((call) => call.method === method)?.body as { deployments: unknown[] }).deployments;
}

describe('Add asset: providers', () => {
  it('adds an Azure OpenAI deployment with its api version, the Responses API and a stored credential', async () => {
    const user = userEvent.setup({ delay: null });
    const api = mockApi({
      ...EMPTY,
      'GET /api/v1/credentials': STORED,
      'POST /api/v1/models': (call: { body: unknown }) => reply(201, { ...aModel(), ...(call.body as object) }),
    });
    const dialog = await openAdd();
    await user.click(within(dialog).getByRole('radio', { name: /External provider/ }));
    await fill(user, dialog, 'Name', 'gpt-4o-azure');
    await user.selectOptions(within(dialog).getByRole('combobox', { name: 'Provider' }), 'azure-openai');
    expect(helperOf(dialog, 'Base URL')).toMatch(/^The resource endpoint, such as https:\/\/NAME\.openai\.azure\.com/);
    expect(within(dialog).queryByRole('textbox', { name: 'Region' })).not.toBeInTheDocument();

    // the connection test only speaks to OpenAI-compatible servers
    const test = within(dialog).getByRole('button', { name: 'Test connection' });
    expect(test).toHaveAttribute('aria-disabled', 'true');
    await user.hover(test);
    expect(await screen.findByText(/asks for OpenAI’s model list, which Azure OpenAI does not answer/)).toBeInTheDocument();

    await fill(user, dialog, 'Base URL', 'https://contoso.openai.azure.com');
    await fill(user, dialog, 'Upstream model', 'gpt-4o-prod');
    await user.click(within(dialog).getByRole('radio', { name: 'Stored in Headwater' }));
    await user.click(within(dialog).getByRole('button', { name: 'Add' }));
    expect(helperOf(dialog, 'API version')).toBe('Enter Azure’s api-version, such as 2024-10-21.');
    expect(helperOf(dialog, 'Stored credential')).toBe('Choose a stored credential.');
    await fill(user, dialog, 'API version', '2024/10/21');
    expect(helperOf(dialog, 'API version')).toBe('A date as YYYY-MM-DD, optionally followed by -preview.');
    expect(api.calls.filter((call) => call.method === 'POST')).toEqual([]);

    await fill(user, dialog, 'API version', '2024-10-21');
    const select = within(dialog).getByRole('combobox', { name: 'Stored credential' });
    expect(within(select).getAllByRole('option').map((option) => option.textContent)).toEqual(['Choose a credential', 'azure-westeurope', 'openai-prod']);
    await user.selectOptions(select, 'azure-westeurope');
    await user.click(within(dialog).getByRole('checkbox', { name: 'Serves the Responses API' }));
    await user.click(within(dialog).getByRole('button', { name: 'Add' }));

    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(sentDeployments(api.calls)).toEqual([
      {
        provider: 'azure-openai',
        responses_api: true,
        base_url: 'https://contoso.openai.azure.com',
        upstream_model: 'gpt-4o-prod',
        credential_env: null,
        credential: 'azure-westeurope',
        api_version: '2024-10-21',
        region: null,
        weight: 1,
      },
    ]);
  });

  it('asks a Bedrock deployment for its region and credential, and drops what another provider would take', async () => {
    const user = userEvent.setup({ delay: null });
    const api = mockApi({ ...EMPTY, 'POST /api/v1/models': (call: { body: unknown }) => reply(201, { ...aModel(), ...(call.body as object) }) });
    const dialog = await openAdd();
    await fill(user, dialog, 'Name', 'claude-bedrock');
    // first an Azure deployment with the Responses API, then changed to Bedrock: neither is sent
    const provider = within(dialog).getByRole('combobox', { name: 'Provider' });
    await user.selectOptions(provider, 'azure-openai');
    await fill(user, dialog, 'API version', '2024-10-21');
    await user.click(within(dialog).getByRole('checkbox', { name: 'Serves the Responses API' }));
    await user.selectOptions(provider, 'bedrock');
    expect(within(dialog).queryByRole('checkbox', { name: 'Serves the Responses API' })).not.toBeInTheDocument();
    expect(within(dialog).queryByRole('textbox', { name: 'API version' })).not.toBeInTheDocument();

    await fill(user, dialog, 'Base URL', 'https://bedrock-runtime.us-east-1.amazonaws.com');
    await fill(user, dialog, 'Upstream model', 'us.anthropic.claude-3-5-sonnet-20241022-v2:0');
    await user.click(within(dialog).getByRole('button', { name: 'Add' }));
    expect(helperOf(dialog, 'Region')).toBe('Enter the AWS region, such as us-east-1.');
    expect(helperOf(dialog, 'Credential environment variable')).toBe('AWS Bedrock needs the variable holding its credential.');
    await fill(user, dialog, 'Region', 'US-EAST-1');
    expect(helperOf(dialog, 'Region')).toBe('An AWS region in lower case, such as us-east-1 or eu-west-3.');
    await fill(user, dialog, 'Region', 'us-east-1');
    await fill(user, dialog, 'Credential environment variable', 'HEADWATER_UPSTREAM_BEDROCK');
    await user.click(within(dialog).getByRole('button', { name: 'Add' }));

    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(sentDeployments(api.calls)).toEqual([
      {
        provider: 'bedrock',
        responses_api: false,
        base_url: 'https://bedrock-runtime.us-east-1.amazonaws.com',
        upstream_model: 'us.anthropic.claude-3-5-sonnet-20241022-v2:0',
        credential_env: 'HEADWATER_UPSTREAM_BEDROCK',
        credential: null,
        api_version: null,
        region: 'us-east-1',
        weight: 1,
      },
    ]);
  });

  it('points to the Credentials page when none is stored', async () => {
    const user = userEvent.setup({ delay: null });
    mockApi({ ...EMPTY, 'GET /api/v1/credentials': { items: [], next: null } });
    const dialog = await openAdd();
    await user.selectOptions(within(dialog).getByRole('combobox', { name: 'Provider' }), 'anthropic');
    expect(within(dialog).queryByRole('checkbox', { name: 'Serves the Responses API' })).not.toBeInTheDocument();
    await user.click(within(dialog).getByRole('radio', { name: 'Stored in Headwater' }));
    expect(await within(dialog).findByText('No stored credentials yet')).toBeInTheDocument();
    expect(within(dialog).getByRole('link', { name: 'Credentials' })).toHaveAttribute('href', '/settings/credentials');
    await user.click(within(dialog).getByRole('button', { name: 'Add' }));
    expect(within(dialog).getByText('Choose a stored credential.')).toBeInTheDocument();
  });

  it('tests an OpenAI-compatible server with its stored credential, and the form passes axe', async () => {
    const user = userEvent.setup({ delay: null });
    const api = mockApi({
      ...EMPTY,
      'GET /api/v1/credentials': STORED,
      'POST /api/v1/models/test-connection': { ok: true, status: 200, latency_ms: 40, upstream_model_listed: true, models: ['gpt-4o'], error: null },
    });
    const dialog = await openAdd();
    await fill(user, dialog, 'Base URL', 'https://api.openai.com/v1');
    await fill(user, dialog, 'Upstream model', 'gpt-4o');
    await user.click(within(dialog).getByRole('radio', { name: 'Stored in Headwater' }));
    await user.selectOptions(await within(dialog).findByRole('combobox', { name: 'Stored credential' }), 'openai-prod');
    await user.click(within(dialog).getByRole('button', { name: 'Test connection' }));
    expect(await within(dialog).findByText('Connected in 40 ms; gpt-4o is served')).toBeInTheDocument();
    expect(api.calls.find((call) => call.path === '/api/v1/models/test-connection')?.body).toEqual({
      provider: 'openai',
      responses_api: false,
      base_url: 'https://api.openai.com/v1',
      upstream_model: 'gpt-4o',
      credential: 'openai-prod',
    });
    expect(await seriousViolations()).toEqual([]);
  });
});

const BEDROCK = aModel({
  name: 'claude-bedrock',
  deployments: [
    {
      provider: 'bedrock',
      responses_api: false,
      base_url: 'https://bedrock-runtime.us-east-1.amazonaws.com',
      upstream_model: 'us.anthropic.claude-3-5-sonnet-20241022-v2:0',
      credential_env: null,
      credential: 'bedrock-prod',
      region: 'us-east-1',
      weight: 1,
      timeout: 60,
      deadline: null,
    },
    {
      provider: 'azure-openai',
      responses_api: true,
      base_url: 'https://contoso.openai.azure.com',
      upstream_model: 'gpt-4o-prod',
      credential_env: 'HEADWATER_UPSTREAM_AZURE',
      api_version: '2024-10-21',
      weight: 1,
      timeout: null,
      deadline: null,
    },
  ],
});

describe('Edit and details: providers', () => {
  it('edits a Bedrock deployment keeping its region, stored credential and timeout', async () => {
    const user = userEvent.setup({ delay: null });
    const api = mockApi({
      'GET /api/v1/models': { items: [BEDROCK], next: null },
      'GET /api/v1/models/claude-bedrock/runtime': aRuntime(BEDROCK.name, ['never', 'never']),
      'GET /api/v1/credentials': { items: [], next: null },
      'PUT /api/v1/models/claude-bedrock': (call: { body: unknown }) => ({ ...BEDROCK, ...(call.body as object) }),
    });
    renderPage(<ModelsPage />, { path: '/ai-assets/models' });
    await user.click(await screen.findByRole('button', { name: 'Actions for claude-bedrock' }));
    await user.click(screen.getByRole('menuitem', { name: 'Edit' }));
    const dialog = await screen.findByRole('dialog', { name: 'Edit claude-bedrock' });
    const [providerOne, providerTwo] = within(dialog).getAllByRole('combobox', { name: 'Provider' });
    expect(providerOne).toHaveValue('bedrock');
    expect(providerTwo).toHaveValue('azure-openai');
    expect(within(dialog).getByRole('textbox', { name: 'Region' })).toHaveValue('us-east-1');
    // the list is empty (or unreadable), yet the deployment keeps the credential it names
    expect(await within(dialog).findByRole('combobox', { name: 'Stored credential' })).toHaveValue('bedrock-prod');
    await user.click(within(dialog).getByRole('button', { name: 'Remove deployment 2' }));
    await user.click(within(dialog).getByRole('button', { name: 'Save' }));

    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(sentDeployments(api.calls, 'PUT')).toEqual([{ ...BEDROCK.deployments[0], api_version: null }]);
  });

  it('shows each deployment’s provider, its api version or region, and its credential’s name', async () => {
    mockApi({
      'GET /api/v1/models/claude-bedrock': BEDROCK,
      'GET /api/v1/models/claude-bedrock/runtime': aRuntime(BEDROCK.name, ['never', 'never']),
    });
    renderPage(<ModelDetailsPage />, { me: AUDITOR, path: '/ai-assets/models/claude-bedrock', route: '/ai-assets/models/:modelName' });
    const table = await screen.findByRole('grid', { name: 'Deployments' });
    const [bedrock, azure] = within(table).getAllByRole('row').slice(1) as [HTMLElement, HTMLElement];
    expect(within(bedrock).getByText('AWS Bedrock, us-east-1')).toBeInTheDocument();
    expect(within(bedrock).getByText('bedrock-prod (stored)')).toBeInTheDocument();
    expect(within(azure).getByText('Azure OpenAI, api version 2024-10-21, Responses API')).toBeInTheDocument();
    expect(within(azure).getByText('HEADWATER_UPSTREAM_AZURE (environment)')).toBeInTheDocument();
  });
});
