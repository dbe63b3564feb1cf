// The cards over a range's totals: requests, tokens (input and output), cost per currency, success
// rate and p95 latency.
import { Card, CardBody, CardTitle, Content, Gallery, Title } from '@patternfly/react-core';
import type { ReactNode } from 'react';

import './usage.css';

import { formatMoney, formatNumber, formatPercent } from '../components/format';
import { errorsOf, formatLatency, type Measured } from './measures';

function MeasureCard({ title, value, detail }: { title: string; value: ReactNode; detail?: ReactNode }) {
  return (
    <Card isCompact component="section" aria-label={title}>
      <CardTitle>
        <Title headingLevel="h2" size="md">
          {title}
        </Title>
      </CardTitle>
      <CardBody>
        <Content component="p" className="hw-usage-figure">
          {value}
        </Content>
        {detail && <Content component="small">{detail}</Content>}
      </CardBody>
    </Card>
  );
}

export function SummaryCards({ totals }: { totals: Measured }) {
  const errors = errorsOf(totals);
  const costs = [...totals.costs].sort((a, b) => Number(b.amount) - Number(a.amount));
  return (
    <Gallery hasGutter minWidths={{ default: '100%', sm: '170px' }}>
      <MeasureCard
        title="Requests"
        value={formatNumber(totals.requests)}
        detail={errors > 0 ? `${formatNumber(errors)} failed` : 'None failed'}
      />
      <MeasureCard
        title="Tokens"
        value={formatNumber(totals.total_tokens)}
        detail={`${formatNumber(totals.prompt_tokens)} input · ${formatNumber(totals.completion_tokens)} output`}
      />
      <MeasureCard
        title="Cost"
        value={costs.length === 0 ? 'None' : formatMoney(costs[0]?.amount, costs[0]?.currency)}
        detail={
          costs.length > 1
            ? `Also ${costs
                .slice(1)
                .map((cost) => formatMoney(cost.amount, cost.currency))
                .join(' · ')}`
            : costs.length === 0
              ? 'Nothing was charged'
              : undefined
        }
      />
      <MeasureCard
        title="Success rate"
        value={formatPercent(totals.success_rate)}
        detail={`${formatNumber(totals.successes)} of ${formatNumber(totals.requests)} succeeded`}
      />
      <MeasureCard
        title="p95 latency"
        value={formatLatency(totals.latency_ms.p95)}
        detail={totals.latency_ms.p50 === null ? undefined : `p50 ${formatLatency(totals.latency_ms.p50)}`}
      />
    </Gallery>
  );
}
