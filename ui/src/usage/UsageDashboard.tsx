// The body of both usage pages: the toolbar, then the range's cards, time series, top consumers
// (organization usage) and breakdown, and the chargeback export. Every figure is read from the usage
// API, which narrows it to what the caller may see; `fixed` adds the filters a page always applies.
import { Button, Content, PageSection, Stack, StackItem } from '@patternfly/react-core';
import { useQuery } from '@tanstack/react-query';
import { useSearchParams } from 'react-router-dom';

import { api, unwrap } from '../api/client';
import { formatDateTime } from '../components/format';
import { EmptyList, ErrorState, LoadingState } from '../components/states';
import { BreakdownTable } from './BreakdownTable';
import { ChargebackExport } from './ChargebackExport';
import type { Dimension } from './dimensions';
import { mainCurrency } from './measures';
import { useKeyNames } from './names';
import { SummaryCards } from './SummaryCards';
import { TopConsumers } from './TopConsumers';
import { UsageChart } from './UsageChart';
import { UsageToolbar } from './UsageToolbar';
import { type Filters, filterParams, readView, type UsageView, windowParams, writeView } from './view';

export interface UsageDashboardProps {
  /** What the page groups and filters by, the default group-by first. */
  dimensions: Dimension[];
  /** Filters the page always applies (My usage: the caller's own calls). */
  fixed: Filters;
  showTopConsumers: boolean;
  /** What the chargeback export is by, at first. */
  reportBy: Dimension;
}

function useView(dimensions: Dimension[]): [UsageView, (patch: Partial<UsageView>) => void] {
  const [search, setSearch] = useSearchParams();
  const view = readView(search, dimensions);
  const update = (patch: Partial<UsageView>) => setSearch(writeView({ ...view, ...patch }, dimensions), { replace: true });
  return [view, update];
}

export function UsageDashboard({ dimensions, fixed, showTopConsumers, reportBy }: UsageDashboardProps) {
  const [view, setView] = useView(dimensions);
  const span = windowParams(view);
  const filters = filterParams(view, fixed);
  const showsKeys = view.by === 'key' || view.filters.key !== undefined;
  const keyNames = useKeyNames(showsKeys);

  const summaryQuery = { ...span, ...filters, by: view.by };
  const summary = useQuery({
    queryKey: ['usage', 'summary', summaryQuery],
    queryFn: () => unwrap(api.GET('/api/v1/usage/summary', { params: { query: summaryQuery } })),
  });
  const seriesQuery = { ...span, ...filters, by: view.by };
  const series = useQuery({
    queryKey: ['usage', 'timeseries', seriesQuery],
    queryFn: () => unwrap(api.GET('/api/v1/usage/timeseries', { params: { query: seriesQuery } })),
  });
  const currency = summary.data ? mainCurrency(summary.data.totals.costs) : null;
  const hasFilters = Object.keys(view.filters).length > 0;

  let body;
  if (summary.isPending) body = <LoadingState label="Loading usage" />;
  else if (summary.isError) body = <ErrorState error={summary.error} onRetry={() => void summary.refetch()} />;
  else if (summary.data.totals.requests === 0) {
    body = (
      <EmptyList
        title="No usage in this range"
        body={hasFilters ? 'No call matches these filters in this range. Try a longer range or fewer filters.' : 'No call was made in this range. Try a longer range.'}
        action={
          hasFilters ? (
            <Button variant="primary" onClick={() => setView({ filters: {} })}>
              Clear all filters
            </Button>
          ) : view.range !== '1y' ? (
            <Button variant="primary" onClick={() => setView({ range: '1y', from: '', to: '' })}>
              Show the last year
            </Button>
          ) : undefined
        }
      />
    );
  } else {
    const answer = summary.data;
    body = (
      <Stack hasGutter>
        <StackItem>
          <Content component="small">
            {formatDateTime(answer.from)} – {formatDateTime(answer.to)}
          </Content>
        </StackItem>
        <StackItem>
          <SummaryCards totals={answer.totals} />
        </StackItem>
        <StackItem>
          {series.isPending ? (
            <LoadingState label="Loading the time series" />
          ) : series.isError ? (
            <ErrorState error={series.error} onRetry={() => void series.refetch()} />
          ) : (
            <UsageChart
              answer={series.data}
              by={view.by}
              metric={view.metric}
              currency={currency}
              keyNames={keyNames}
              onMetricChange={(metric) => setView({ metric })}
            />
          )}
        </StackItem>
        {showTopConsumers && (
          <StackItem>
            <TopConsumers span={span} filters={filters} metric={view.metric} currency={currency} />
          </StackItem>
        )}
        <StackItem>
          <BreakdownTable
            key={view.by}
            rows={answer.rows}
            by={view.by}
            currency={currency}
            keyNames={keyNames}
            filtered={view.filters[view.by]}
            onFilter={(value) => setView({ filters: { ...view.filters, [view.by]: value } })}
          />
        </StackItem>
      </Stack>
    );
  }

  return (
    <>
      <PageSection>
        <UsageToolbar view={view} dimensions={dimensions} keyNames={keyNames} onChange={setView} />
      </PageSection>
      <PageSection>{body}</PageSection>
      <PageSection>
        <ChargebackExport dimensions={dimensions} defaultBy={reportBy} filters={filters} />
      </PageSection>
    </>
  );
}
