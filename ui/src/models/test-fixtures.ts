// Models as the admin API answers them, for the component tests of this folder.
import type { Model, ModelRuntime } from './model';

export function aModel(overrides: Partial<Model> = {}): Model {
  return {
    name: 'granite-3.1-8b',
    kind: 'chat',
    access: 'open',
    description: 'IBM Granite 3.1, 8B instruct',
    context_window: 131072,
    max_output_tokens: 4096,
    pricing: { input_per_million: '0.200000000000', output_per_million: '0.600000000000', currency: 'USD' },
    status: 'active',
    limits: [{ requests: 600, tokens: null, window: '1m' }],
    deployments: [
      {
        provider: 'openai',
        responses_api: false,
        base_url: 'http://vllm-a:8000/v1',
        upstream_model: 'ibm-granite/granite-3.1-8b-instruct',
        credential_env: null,
        weight: 3,
        timeout: 30,
        deadline: null,
      },
      {
        provider: 'openai',
        responses_api: false,
        base_url: 'http://vllm-b:8000/v1',
        upstream_model: 'ibm-granite/granite-3.1-8b-instruct',
        credential_env: null,
        weight: 1,
        timeout: null,
        deadline: 600,
      },
    ],
    created_at: '2026-01-05T10:00:00Z',
    updated_at: '2026-02-01T10:00:00Z',
    ...overrides,
  };
}

export const GPT = aModel({
  name: 'openai/gpt-4o-mini',
  kind: 'chat',
  access: 'restricted',
  description: 'Hosted by OpenAI',
  context_window: null,
  max_output_tokens: null,
  pricing: { input_per_million: '0.150000000000', output_per_million: '0.600000000000', currency: 'USD' },
  limits: [],
  deployments: [
    {
      provider: 'openai',
      responses_api: false,
      base_url: 'https://api.openai.com/v1',
      upstream_model: 'gpt-4o-mini',
      credential_env: 'HEADWATER_UPSTREAM_OPENAI_KEY',
      weight: 1,
      timeout: null,
      deadline: null,
    },
  ],
});

export const EMBEDDER = aModel({
  name: 'nomic-embed',
  kind: 'embedding',
  status: 'disabled',
  description: '',
  pricing: { input_per_million: '0.010000000000', output_per_million: '0E-12', currency: 'USD' },
  limits: [],
  deployments: [
    {
      provider: 'openai',
      responses_api: false,
      base_url: 'http://ollama:11434/v1',
      upstream_model: 'nomic-embed-text',
      credential_env: null,
      weight: 1,
      timeout: null,
      deadline: null,
    },
  ],
});

export function aRuntime(model: string, states: ('up' | 'down' | 'not exposed' | 'never')[]): ModelRuntime {
  return {
    model,
    scrape_interval_s: 15,
    deployments: states.map((state, index) => ({
      deployment: `${model}#${String(index)}`,
      up: state === 'up',
      exposed: state === 'up' ? true : state === 'not exposed' ? false : null,
      scraped_at: state === 'never' ? null : '2026-03-01T11:59:50Z',
      error: state === 'down' ? 'unreachable (Connection refused)' : state === 'not exposed' ? 'not exposed: no /metrics for Headwater (HTTP 404)' : null,
      requests_running: state === 'up' ? 2 : null,
      requests_waiting: state === 'up' ? 1 : null,
      kv_cache_usage_ratio: state === 'up' ? 0.31 : null,
      generation_tokens_per_second: state === 'up' ? 45.25 : null,
    })),
  };
}
