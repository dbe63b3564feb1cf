// Usage API answers for the usage pages' component tests (imported by *.test.tsx only).
import type { components } from '../api/schema';

type Measured = components['schemas']['Measured'];
type Summary = components['schemas']['Summary'];
type Timeseries = components['schemas']['Timeseries'];
type Top = components['schemas']['Top'];

export function measured(requests: number, successes: number, prompt: number, completion: number, cost: string | null): Measured {
  return {
    requests,
    successes,
    success_rate: requests === 0 ? null : successes / requests,
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    costs: cost === null ? [] : [{ amount: cost, currency: 'USD' }],
    latency_ms: { p50: requests ? 320 : null, p95: requests ? 850 : null },
    ttft_ms: { p50: null, p95: null },
  };
}

export const FROM = '2026-11-02T10:00:00Z';
export const TO = '2026-11-03T10:00:00Z';

export function summaryAnswer(by: string, rows: [string, Measured][]): Summary {
  const totals = rows.reduce<Measured>(
    (sum, [, row]) =>
      measured(
        sum.requests + row.requests,
        sum.successes + row.successes,
        sum.prompt_tokens + row.prompt_tokens,
        sum.completion_tokens + row.completion_tokens,
        (Number(sum.costs[0]?.amount ?? 0) + Number(row.costs[0]?.amount ?? 0)).toFixed(2),
      ),
    measured(0, 0, 0, 0, null),
  );
  return {
    from: FROM,
    to: TO,
    by: [by],
    totals,
    rows: rows.map(([value, row]) => ({ ...row, dimensions: { [by]: value } })),
  };
}

export const EMPTY_SUMMARY: Summary = { from: FROM, to: TO, by: ['model'], totals: measured(0, 0, 0, 0, null), rows: [] };

export function timeseriesAnswer(by: string, values: string[]): Timeseries {
  const times = ['2026-11-02T10:00:00Z', '2026-11-02T11:00:00Z', '2026-11-02T12:00:00Z'];
  return {
    from: FROM,
    to: TO,
    step: '1h',
    series: values.map((value, index) => ({
      dimensions: { [by]: value },
      points: times.map((time, step) => ({ ...measured(index + step, index + step, 10, 5, '0.10'), time })),
    })),
  };
}

export function topAnswer(dimension: string, metric: string, names: string[]): Top {
  return {
    from: FROM,
    to: TO,
    dimension,
    metric,
    currency: metric === 'cost' ? 'USD' : null,
    items: names.map((name, index) => ({ ...measured(100 - index, 100 - index, 1000, 500, '2.00'), name, value: 100 - index })),
  };
}
