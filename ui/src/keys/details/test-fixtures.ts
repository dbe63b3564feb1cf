// Answers of the admin API that the key details tests reply with (imported by *.test.tsx only).
import type { components } from '../../api/schema';
import type { Key } from './access';

export const KEY_ID = 'zh0KIzjc2KaL';
export const KEY_PATH = `/api/v1/keys/${KEY_ID}`;

export function aKey(fields: Partial<Key> = {}): Key {
  return {
    id: KEY_ID,
    prefix: `hwk_${KEY_ID}`,
    name: 'laptop',
    description: 'Notebook experiments',
    owner: 'user:alice',
    models: null,
    status: 'active',
    expires_at: '2030-01-01T00:00:00Z',
    last_used_at: null,
    created_by: 'user:alice',
    created_at: '2026-01-02T10:00:00Z',
    revoked_at: null,
    limits: null,
    restrictions: null,
    ...fields,
  };
}

type Measured = components['schemas']['Measured'];

export function measured(fields: Partial<Measured> = {}): Measured {
  return {
    requests: 0,
    successes: 0,
    success_rate: null,
    prompt_tokens: 0,
    completion_tokens: 0,
    total_tokens: 0,
    costs: [],
    latency_ms: { p50: null, p95: null },
    ttft_ms: { p50: null, p95: null },
    ...fields,
  };
}

export function aSummary(totals: Partial<Measured> = {}): components['schemas']['Summary'] {
  return { from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z', by: [], totals: measured(totals), rows: [] };
}

export function aTimeseries(requests: number[]): components['schemas']['Timeseries'] {
  return {
    from: '2026-03-01T00:00:00Z',
    to: '2026-03-02T00:00:00Z',
    step: '1h',
    series: [
      {
        dimensions: {},
        points: requests.map((count, hour) => ({
          ...measured({ requests: count, successes: count, success_rate: count ? 1 : null }),
          time: new Date(Date.UTC(2026, 2, 1, hour)).toISOString(),
        })),
      },
    ],
  };
}
