import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import axe from 'axe-core';
import { useLocation } from 'react-router-dom';
import { describe, expect, it } from 'vitest';

import { ADMIN, AUDITOR, mockApi, renderPage, reply, USER } from '../test/render';
import ModelDetailsPage from './ModelDetailsPage';
import { aModel, aRuntime, GPT } from './test-fixtures';

const GRANITE = aModel();

function Where() {
  return <output data-testid="location">{useLocation().pathname}</output>;
}

function open(name: string, me = ADMIN) {
  return renderPage(<ModelDetailsPage />, {
    me,
    path: `/ai-assets/models/${encodeURIComponent(name)}`,
    route: '/ai-assets/models/:modelName',
    extra: { '/ai-assets/models': <Where /> },
  });
}

function value(term: string): HTMLElement {
  const dt = Array.from(document.querySelectorAll('dt')).find((found) => found.textContent === term);
  const group = dt?.closest('.pf-v6-c-description-list__group');
  if (!(group instanceof HTMLElement)) throw new Error(`no ${term}`);
  return group;
}

describe('ModelDetailsPage', () => {
  it('describes the model and how to call it, with its deployments and their runtime', async () => {
    mockApi({
      'GET /api/v1/models/granite-3.1-8b': GRANITE,
      'GET /api/v1/models/granite-3.1-8b/runtime': aRuntime('granite-3.1-8b', ['up', 'down']),
    });
    open('granite-3.1-8b');

    const table = await screen.findByRole('grid', { name: 'Deployments' });
    expect(screen.getByRole('heading', { level: 1, name: 'granite-3.1-8b' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Models' })).toHaveAttribute('href', '/ai-assets/models');
    expect(value('Endpoint')).toHaveTextContent('http://gateway.test/v1');
    expect(value('Kind')).toHaveTextContent('Chat');
    expect(value('Access')).toHaveTextContent('Open');
    expect(value('Status')).toHaveTextContent('Enabled');
    expect(value('Input price')).toHaveTextContent('$0.20 per 1M tokens');
    expect(value('Output price')).toHaveTextContent('$0.60 per 1M tokens');
    expect(value('Context window')).toHaveTextContent('131,072 tokens');
    expect(value('Max output tokens')).toHaveTextContent('4,096');
    expect(value('Capacity limits')).toHaveTextContent('600 requests per 1m');

    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows[0]).toHaveTextContent('http://vllm-a:8000/v1');
    expect(rows[0]).toHaveTextContent('ibm-granite/granite-3.1-8b-instruct');
    await waitFor(() => expect(within(rows[0] as HTMLElement).getByText('Healthy')).toBeInTheDocument());
    expect(rows[0]).toHaveTextContent('2 running · 1 waiting · KV cache 31.0% · 45.3 tokens/s');
    expect(within(rows[1] as HTMLElement).getByText('Unreachable')).toBeInTheDocument();
    for (const action of ['Edit', 'Disable', 'Delete model']) expect(screen.getByRole('button', { name: action })).toBeInTheDocument();
  });

  it('reads a name holding "/" from the URL and asks the API for it encoded', async () => {
    const api = mockApi({
      'GET /api/v1/models/openai/gpt-4o-mini': GPT,
      'GET /api/v1/models/openai/gpt-4o-mini/runtime': aRuntime(GPT.name, ['not exposed']),
    });
    open('openai/gpt-4o-mini');
    const table = await screen.findByRole('grid', { name: 'Deployments' });
    expect(screen.getByRole('heading', { level: 1, name: 'openai/gpt-4o-mini' })).toBeInTheDocument();
    const urls = api.fetchMock.mock.calls.map(([input]) => (input instanceof Request ? input.url : String(input)));
    expect(urls).toContain('http://localhost:3000/api/v1/models/openai%2Fgpt-4o-mini');
    const row = within(table).getAllByRole('row')[1] as HTMLElement;
    expect(row).toHaveTextContent('HEADWATER_UPSTREAM_OPENAI_KEY');
    await waitFor(() => expect(within(row).getByText('Unknown')).toBeInTheDocument());
  });

  it('never shows a password held in a deployment’s URL', async () => {
    const model = aModel({
      deployments: [{ provider: 'openai', responses_api: false, base_url: 'http://bob:s3cret@vllm:8000/v1', upstream_model: 'granite', credential_env: null, weight: 1 }],
    });
    mockApi({ 'GET /api/v1/models/granite-3.1-8b': model, 'GET /api/v1/models/granite-3.1-8b/runtime': aRuntime(model.name, ['never']) });
    open('granite-3.1-8b');
    expect(await screen.findByText('http://[redacted]@vllm:8000/v1')).toBeInTheDocument();
    expect(document.body).not.toHaveTextContent('s3cret');
  });

  it('enables a disabled model with the same spec', async () => {
    const user = userEvent.setup({ delay: null });
    const disabled = aModel({ status: 'disabled' });
    const api = mockApi({
      'GET /api/v1/models/granite-3.1-8b': disabled,
      'GET /api/v1/models/granite-3.1-8b/runtime': aRuntime(disabled.name, ['up', 'up']),
      'PUT /api/v1/models/granite-3.1-8b': { ...disabled, status: 'active' },
      'GET /api/v1/models': { items: [], next: null },
    });
    open('granite-3.1-8b');
    await user.click(await screen.findByRole('button', { name: 'Enable' }));
    await waitFor(() => expect(api.calls.some((call) => call.method === 'PUT')).toBe(true));
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    const { name, created_at, updated_at, ...spec } = disabled;
    expect(api.calls.find((call) => call.method === 'PUT')?.body).toEqual({ ...spec, status: 'active' });
  });

  it('deletes the model and goes back to the list', async () => {
    const user = userEvent.setup({ delay: null });
    const api = mockApi({
      'GET /api/v1/models/granite-3.1-8b': GRANITE,
      'GET /api/v1/models/granite-3.1-8b/runtime': aRuntime(GRANITE.name, ['up', 'up']),
      'DELETE /api/v1/models/granite-3.1-8b': null,
      'GET /api/v1/models': { items: [], next: null },
    });
    open('granite-3.1-8b');
    await user.click(await screen.findByRole('button', { name: 'Delete model' }));
    const dialog = await screen.findByRole('dialog', { name: /Delete model\?/ });
    await user.type(within(dialog).getByRole('textbox', { name: 'Type granite-3.1-8b to confirm' }), 'granite-3.1-8b');
    await user.click(within(dialog).getByRole('button', { name: 'Delete' }));
    expect(await screen.findByTestId('location')).toHaveTextContent('/ai-assets/models');
    expect(api.calls.filter((call) => call.method === 'DELETE').map((call) => call.path)).toEqual(['/api/v1/models/granite-3.1-8b']);
  });

  it('shows a user the model read-only, without deployments', async () => {
    const api = mockApi({ 'GET /api/v1/models/granite-3.1-8b': { ...GRANITE, deployments: [] } });
    open('granite-3.1-8b', USER);
    expect(await screen.findByText('Model ID')).toBeInTheDocument();
    expect(value('Endpoint')).toHaveTextContent('http://gateway.test/v1');
    expect(screen.queryByRole('grid', { name: 'Deployments' })).not.toBeInTheDocument();
    for (const action of ['Edit', 'Disable', 'Delete model']) expect(screen.queryByRole('button', { name: action })).not.toBeInTheDocument();
    expect(api.calls.map((call) => call.path)).toEqual(['/api/v1/models/granite-3.1-8b']);
  });

  it('shows an auditor the deployments but no action', async () => {
    mockApi({
      'GET /api/v1/models/granite-3.1-8b': GRANITE,
      'GET /api/v1/models/granite-3.1-8b/runtime': aRuntime(GRANITE.name, ['up', 'up']),
    });
    open('granite-3.1-8b', AUDITOR);
    expect(await screen.findByRole('grid', { name: 'Deployments' })).toBeInTheDocument();
    for (const action of ['Edit', 'Disable', 'Delete model']) expect(screen.queryByRole('button', { name: action })).not.toBeInTheDocument();
  });

  it('answers an unknown model with a not-found state', async () => {
    mockApi({ 'GET /api/v1/models/nope': reply(404, { detail: 'model nope not found' }) });
    open('nope');
    expect(await screen.findByText('Model not found')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Back to models' })).toHaveAttribute('href', '/ai-assets/models');
  });

  it('has no serious accessibility violation', async () => {
    mockApi({
      'GET /api/v1/models/granite-3.1-8b': GRANITE,
      'GET /api/v1/models/granite-3.1-8b/runtime': aRuntime(GRANITE.name, ['up', 'down']),
    });
    const { baseElement } = open('granite-3.1-8b');
    await screen.findByText('Unreachable');
    const results = await axe.run(baseElement, { rules: { 'color-contrast': { enabled: false } } });
    const serious = results.violations.filter((violation) => ['serious', 'critical'].includes(violation.impact ?? ''));
    expect(serious.map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.html).join(' | ')}`)).toEqual([]);
  });
});
