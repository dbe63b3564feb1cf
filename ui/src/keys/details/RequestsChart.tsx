// The full-width requests chart of the Metrics tab (PatternFly charts, Victory-based): loaded with
// the tab's data only, so the charting code stays out of the other pages' bundles.
import {
  Chart,
  ChartArea,
  ChartAxis,
  ChartGroup,
  ChartThemeColor,
  ChartVoronoiContainer,
} from '@patternfly/react-charts/victory';
import { getResizeObserver } from '@patternfly/react-core';
import { useEffect, useRef, useState } from 'react';

import { formatNumber } from '../../components/format';
import type { Step } from './metricsRange';
import type { RequestPoint } from './requestPoints';

function timeFormat(step: Step): Intl.DateTimeFormat {
  return step === '1d'
    ? new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric' })
    : new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric', hour: 'numeric' });
}

export default function RequestsChart({ points, step }: { points: RequestPoint[]; step: Step }) {
  const containerRef = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(800);
  useEffect(() => {
    const element = containerRef.current;
    if (!element) return undefined;
    const measure = () => {
      if (element.clientWidth > 0) setWidth(element.clientWidth);
    };
    measure();
    return getResizeObserver(element, measure);
  }, []);

  const format = timeFormat(step);
  const data = points.map((point) => ({ x: point.time, y: point.requests, name: 'Requests' }));
  const unit = step === '1d' ? 'day' : 'hour';
  return (
    <div ref={containerRef} style={{ height: 260 }}>
      <Chart
        ariaTitle="Requests over time"
        ariaDesc={`Requests per ${unit} made with this API key, from ${format.format(points[0]?.time ?? new Date(0))} to ${format.format(points.at(-1)?.time ?? new Date(0))}.`}
        containerComponent={
          <ChartVoronoiContainer
            labels={({ datum }: { datum: { x: Date; y: number } }) => `${format.format(datum.x)}: ${formatNumber(datum.y)} requests`}
            constrainToVisibleArea
          />
        }
        height={260}
        width={width}
        padding={{ bottom: 50, left: 60, right: 30, top: 20 }}
        scale={{ x: 'time', y: 'linear' }}
        minDomain={{ y: 0 }}
        themeColor={ChartThemeColor.blue}
      >
        <ChartAxis tickFormat={(tick: Date) => format.format(tick)} fixLabelOverlap />
        <ChartAxis dependentAxis showGrid tickFormat={(tick: number) => (Number.isInteger(tick) ? formatNumber(tick) : '')} />
        <ChartGroup>
          <ChartArea data={data} interpolation="monotoneX" />
        </ChartGroup>
      </Chart>
    </div>
  );
}
