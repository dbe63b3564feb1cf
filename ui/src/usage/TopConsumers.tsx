// Top consumers (organization usage): the ten users, API keys or groups with the most requests,
// tokens or cost (the chart's metric) in the range, as GET /usage/top ranks them.
import { Card, CardBody, CardHeader, CardTitle, Content, ToggleGroup, ToggleGroupItem, Title } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';

import { api, unwrap } from '../api/client';
import { formatNumber } from '../components/format';
import { ErrorState, LoadingState } from '../components/states';
import { DIMENSION_LABELS, TOP_DIMENSIONS, type TopDimension } from './dimensions';
import { formatCosts, formatMetric, METRIC_NOUNS } from './measures';
import { useKeyNames, valueLabel } from './names';
import type { Filters, Metric, WindowParams } from './view';

export interface TopConsumersProps {
  span: WindowParams;
  filters: Filters;
  metric: Metric;
  /** The currency to rank cost in (the range's main one). */
  currency: string | null;
}

export function TopConsumers({ span, filters, metric, currency }: TopConsumersProps) {
  const [dimension, setDimension] = useState<TopDimension>('user');
  const query = {
    ...span,
    ...filters,
    dimension,
    metric,
    limit: 10,
    ...(metric === 'cost' && currency ? { currency } : {}),
  };
  const keyNames = useKeyNames(dimension === 'key');
  const top = useQuery({
    queryKey: ['usage', 'top', query],
    queryFn: () => unwrap(api.GET('/api/v1/usage/top', { params: { query } })),
  });
  const noun = TOP_DIMENSIONS.find((item) => item.value === dimension)?.noun ?? dimension;
  const column = DIMENSION_LABELS[dimension];
  const rankedBy = metric === 'cost' && top.data?.currency ? `cost (${top.data.currency})` : METRIC_NOUNS[metric];
  return (
    <Card>
      <CardHeader
        actions={{
          hasNoOffset: true,
          actions: (
            <ToggleGroup aria-label="Top consumers by">
              {TOP_DIMENSIONS.map((item) => (
                <ToggleGroupItem
                  key={item.value}
                  text={item.label}
                  buttonId={`usage-top-${item.value}`}
                  isSelected={dimension === item.value}
                  onChange={() => setDimension(item.value)}
                />
              ))}
            </ToggleGroup>
          ),
        }}
      >
        <CardTitle>
          <Title headingLevel="h2" size="lg">
            Top consumers
          </Title>
        </CardTitle>
      </CardHeader>
      <CardBody>
        {top.isPending ? (
          <LoadingState label="Loading top consumers" />
        ) : top.isError ? (
          <ErrorState error={top.error} onRetry={() => void top.refetch()} />
        ) : top.data.items.length === 0 ? (
          <Content component="p">No {noun} to rank in this range.</Content>
        ) : (
          <Table aria-label={`Top ${noun} by ${rankedBy}`} variant="compact">
            <Thead>
              <Tr>
                <Th>Rank</Th>
                <Th>{column}</Th>
                <Th>Requests</Th>
                <Th>Tokens</Th>
                <Th>Cost</Th>
              </Tr>
            </Thead>
            <Tbody>
              {top.data.items.map((item, index) => (
                <Tr key={item.name}>
                  <Td dataLabel="Rank">{index + 1}</Td>
                  <Td dataLabel={column}>{valueLabel(dimension, item.name, keyNames)}</Td>
                  <Td dataLabel="Requests">{formatNumber(item.requests)}</Td>
                  <Td dataLabel="Tokens">{formatNumber(item.total_tokens)}</Td>
                  <Td dataLabel="Cost">
                    {metric === 'cost' && top.data.currency
                      ? formatMetric(Number(item.value), 'cost', top.data.currency)
                      : formatCosts(item.costs)}
                  </Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
        )}
      </CardBody>
    </Card>
  );
}
