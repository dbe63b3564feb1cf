// The PatternFly chart components this folder draws with (one import site, so the charts' code is
// loaded only by the pages that draw them).
export {
  Chart,
  ChartArea,
  ChartAxis,
  ChartStack,
  ChartThemeColor,
  ChartVoronoiContainer,
} from '@patternfly/react-charts/victory';
