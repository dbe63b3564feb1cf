// The Metrics tab: this key's requests, success rate, tokens and cost over a time range, and its
// requests over time; a link to the external dashboard when one is configured.
import {
  Button,
  Card,
  CardBody,
  CardTitle,
  Flex,
  FlexItem,
  Gallery,
  Title,
  ToggleGroup,
  ToggleGroupItem,
  Toolbar,
  ToolbarContent,
  ToolbarGroup,
  ToolbarItem,
} from '@patternfly/react-core';
import { ExternalLinkAltIcon } from '@patternfly/react-icons';
import { useQuery } from '@tanstack/react-query';
import { lazy, Suspense, useState } from 'react';

import { api, unwrap } from '../../api/client';
import type { components } from '../../api/schema';
import { useSession } from '../../app/session';
import { formatMoney, formatNumber, formatPercent } from '../../components/format';
import { EmptyList, ErrorState, LoadingState } from '../../components/states';
import type { Key } from './access';
import { CustomRangePickers } from './CustomRangePickers';
import { CHOICES, type CustomDates, dashboardLink, defaultCustom, type RangeChoice, usageWindow, type UsageWindow } from './metricsRange';
import { requestPoints } from './requestPoints';

const RequestsChart = lazy(() => import('./RequestsChart'));

type Measured = components['schemas']['Measured'];

function Figure({ title, value }: { title: string; value: string }) {
  return (
    <Card isCompact>
      <CardTitle>
        <Title headingLevel="h2" size="md">
          {title}
        </Title>
      </CardTitle>
      <CardBody>
        <span className="pf-v6-u-font-size-2xl">{value}</span>
      </CardBody>
    </Card>
  );
}

function costText(totals: Measured): string {
  if (totals.costs.length === 0) return formatNumber(0);
  return totals.costs.map((cost) => formatMoney(cost.amount, cost.currency)).join(' + ');
}

function Figures({ apiKey, span }: { apiKey: Key; span: UsageWindow }) {
  const { step, ...range } = span;
  const summary = useQuery({
    queryKey: ['keys', apiKey.id, 'usage', 'summary', range],
    queryFn: () => unwrap(api.GET('/api/v1/usage/summary', { params: { query: { key: apiKey.id, ...range } } })),
  });
  const timeseries = useQuery({
    queryKey: ['keys', apiKey.id, 'usage', 'timeseries', range, step],
    queryFn: () => unwrap(api.GET('/api/v1/usage/timeseries', { params: { query: { key: apiKey.id, ...range, step } } })),
  });
  if (summary.isPending) return <LoadingState label="Loading the metrics" />;
  if (summary.isError) return <ErrorState error={summary.error} onRetry={() => void summary.refetch()} />;
  const totals = summary.data.totals;

  let chart;
  if (totals.requests === 0) {
    chart = <EmptyList title="No calls in this range" body="This key made no calls in the chosen time range." />;
  } else if (timeseries.isPending) {
    chart = <LoadingState label="Loading the requests chart" />;
  } else if (timeseries.isError) {
    chart = <ErrorState error={timeseries.error} onRetry={() => void timeseries.refetch()} />;
  } else {
    chart = (
      <Suspense fallback={<LoadingState label="Loading the requests chart" />}>
        <RequestsChart points={requestPoints(timeseries.data)} step={step} />
      </Suspense>
    );
  }

  return (
    <>
      <Gallery hasGutter minWidths={{ default: '100%', md: '220px' }} className="pf-v6-u-mb-md">
        <Figure title="Total requests" value={formatNumber(totals.requests)} />
        <Figure title="Success rate" value={formatPercent(totals.success_rate)} />
        <Figure title="Total tokens" value={formatNumber(totals.total_tokens)} />
        <Figure title="Total cost" value={costText(totals)} />
      </Gallery>
      <Card>
        <CardTitle>
          <Title headingLevel="h2" size="md">
            Requests
          </Title>
        </CardTitle>
        <CardBody>{chart}</CardBody>
      </Card>
    </>
  );
}

export function MetricsTab({ apiKey }: { apiKey: Key }) {
  const { info } = useSession();
  const [choice, setChoice] = useState<RangeChoice>('24h');
  const [custom, setCustom] = useState<CustomDates>({ from: '', to: '' });
  const result = usageWindow(choice, custom);
  const dashboard = dashboardLink(info.dashboard_url, apiKey.id);

  const choose = (value: RangeChoice) => {
    if (value === 'custom' && custom.from === '' && custom.to === '') setCustom(defaultCustom(new Date()));
    setChoice(value);
  };

  return (
    <>
      <Toolbar>
        <ToolbarContent>
          <ToolbarGroup>
            <ToolbarItem>
              <ToggleGroup aria-label="Time range">
                {CHOICES.map((option) => (
                  <ToggleGroupItem
                    key={option.value}
                    text={option.text}
                    buttonId={`key-metrics-range-${option.value}`}
                    isSelected={choice === option.value}
                    onChange={() => choose(option.value)}
                  />
                ))}
              </ToggleGroup>
            </ToolbarItem>
            {choice === 'custom' && (
              <ToolbarItem>
                <CustomRangePickers value={custom} onChange={setCustom} errors={result.error ?? {}} />
              </ToolbarItem>
            )}
          </ToolbarGroup>
          {dashboard !== null && (
            <ToolbarGroup align={{ default: 'alignEnd' }}>
              <ToolbarItem>
                <Button
                  variant="link"
                  component="a"
                  href={dashboard}
                  target="_blank"
                  rel="noopener noreferrer"
                  icon={<ExternalLinkAltIcon />}
                  iconPosition="end"
                >
                  View dashboard
                </Button>
              </ToolbarItem>
            </ToolbarGroup>
          )}
        </ToolbarContent>
      </Toolbar>
      {result.window ? (
        <Figures apiKey={apiKey} span={result.window} />
      ) : (
        <Flex>
          <FlexItem className="pf-v6-u-text-color-subtle">Choose the start and end dates of the range.</FlexItem>
        </Flex>
      )}
    </>
  );
}
