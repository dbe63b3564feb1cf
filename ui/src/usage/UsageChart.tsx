// The time series card: requests, tokens or cost per step, stacked by the group-by dimension.
import {
  Chart,
  ChartArea,
  ChartAxis,
  ChartStack,
  ChartThemeColor,
  ChartVoronoiContainer,
} from './charts';
import {
  Card,
  CardBody,
  CardHeader,
  CardTitle,
  Content,
  getResizeObserver,
  ToggleGroup,
  ToggleGroupItem,
  Title,
} from '@patternfly/react-core';
import { useEffect, useMemo, useRef, useState } from 'react';

import { type Dimension, dimensionNoun } from './dimensions';
import { formatMetric, formatTick } from './measures';
import type { KeyNames } from './names';
import { chartSeries, type ChartPoint, timeTick, type Timeseries } from './series';
import { METRICS, type Metric } from './view';

const STEP_NAMES: Record<string, string> = { '5m': '5 minutes', '1h': 'hour', '1d': 'day' };

function useWidth(fallback: number) {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const update = () => {
      if (element.clientWidth > 0) setWidth(element.clientWidth);
    };
    update();
    return getResizeObserver(element, update, true);
  }, []);
  return { ref, width };
}

export interface UsageChartProps {
  answer: Timeseries;
  by: Dimension;
  metric: Metric;
  /** The currency a cost chart is drawn in (the range's main one). */
  currency: string | null;
  keyNames: KeyNames;
  onMetricChange: (metric: Metric) => void;
}

export function UsageChart({ answer, by, metric, currency, keyNames, onMetricChange }: UsageChartProps) {
  const { ref, width } = useWidth(800);
  const series = useMemo(() => chartSeries(answer, by, metric, currency, keyNames), [answer, by, metric, currency, keyNames]);
  const spanMs = new Date(answer.to).getTime() - new Date(answer.from).getTime();
  const metricLabel = METRICS.find((item) => item.value === metric)?.label ?? metric;
  const title = `${metricLabel}${metric === 'cost' && currency ? ` (${currency})` : ''} per ${STEP_NAMES[answer.step] ?? answer.step}`;
  const description = `Stacked by ${dimensionNoun(by)}: ${series
    .map((item) => `${item.name} ${formatMetric(item.total, metric, currency)}`)
    .join(', ')}.`;
  return (
    <Card>
      <CardHeader
        actions={{
          hasNoOffset: true,
          actions: (
            <ToggleGroup aria-label="Chart metric">
              {METRICS.map((item) => (
                <ToggleGroupItem
                  key={item.value}
                  text={item.label}
                  buttonId={`usage-metric-${item.value}`}
                  isSelected={metric === item.value}
                  onChange={() => onMetricChange(item.value)}
                />
              ))}
            </ToggleGroup>
          ),
        }}
      >
        <CardTitle>
          <Title headingLevel="h2" size="lg">
            {title}
          </Title>
        </CardTitle>
      </CardHeader>
      <CardBody>
        {metric === 'cost' && currency === null ? (
          <Content component="p">Nothing was charged in this range.</Content>
        ) : (
          <div ref={ref}>
            <Chart
              ariaTitle={title}
              ariaDesc={description}
              containerComponent={
                <ChartVoronoiContainer
                  voronoiDimension="x"
                  constrainToVisibleArea
                  labels={({ datum }: { datum: ChartPoint }) => `${datum.name}: ${formatMetric(datum.y, metric, currency)}`}
                />
              }
              legendData={series.map((item) => ({ name: item.name }))}
              legendPosition="bottom-left"
              legendAllowWrap
              height={300}
              padding={{ bottom: 80, left: 90, right: 40, top: 20 }}
              scale={{ x: 'time', y: 'linear' }}
              themeColor={ChartThemeColor.multiUnordered}
              width={width}
            >
              <ChartAxis tickFormat={(tick: Date) => timeTick(new Date(tick), answer.step, spanMs)} fixLabelOverlap />
              <ChartAxis dependentAxis showGrid tickFormat={(tick: number) => formatTick(tick, metric, currency)} />
              <ChartStack>
                {series.map((item) => (
                  <ChartArea key={item.name} name={item.name} data={item.points} interpolation="monotoneX" />
                ))}
              </ChartStack>
            </Chart>
          </div>
        )}
      </CardBody>
    </Card>
  );
}
