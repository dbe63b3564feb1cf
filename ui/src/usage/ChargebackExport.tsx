// The chargeback export: a month, ISO week or day (UTC), one dimension, CSV or JSON, fetched from
// GET /usage/report through the API client (so with the caller's credentials) and saved as a file.
import {
  Alert,
  Button,
  Card,
  CardBody,
  CardTitle,
  Content,
  DatePicker,
  Flex,
  FlexItem,
  Form,
  FormGroup,
  FormHelperText,
  FormSelect,
  FormSelectOption,
  HelperText,
  HelperTextItem,
  Radio,
  Title,
} from '@patternfly/react-core';
import { DownloadIcon } from '@patternfly/react-icons';
import { useMutation } from '@tanstack/react-query';
import { useMemo, useState } from 'react';

import { api } from '../api/client';
import { ApiError, apiError } from '../api/errors';
import { DIMENSION_LABELS, type Dimension, dimensionNoun } from './dimensions';
import { PERIOD_KINDS, type PeriodKind, periodOf, recentMonths, type ReportFormat, reportFilename, saveFile, weekDays } from './report';
import { type Filters, utcDay } from './view';

export interface ChargebackExportProps {
  dimensions: Dimension[];
  defaultBy: Dimension;
  /** The filters of the page (its fixed ones included): the report is narrowed the same way. */
  filters: Filters;
}

async function fetchReport(query: Filters & { period: string; by: Dimension }, format: ReportFormat): Promise<string> {
  let result;
  try {
    result = await api.GET('/api/v1/usage/report', {
      params: { query },
      headers: { Accept: format === 'csv' ? 'text/csv' : 'application/json' },
      parseAs: 'blob',
    });
  } catch {
    throw new ApiError(0, 'Headwater could not be reached.');
  }
  const { data, error, response } = result;
  if (error !== undefined || !response.ok) throw apiError(response.status, error);
  const name = reportFilename(response.headers.get('Content-Disposition'), query.period, query.by, format);
  saveFile(data, name);
  return name;
}

export function ChargebackExport({ dimensions, defaultBy, filters }: ChargebackExportProps) {
  const months = useMemo(() => recentMonths(new Date()), []);
  const [kind, setKind] = useState<PeriodKind>('month');
  const [month, setMonth] = useState(months[0]?.value ?? '');
  const [day, setDay] = useState(() => utcDay(new Date()));
  const [by, setBy] = useState<Dimension>(defaultBy);
  const [format, setFormat] = useState<ReportFormat>('csv');
  const period = periodOf(kind, month, day);
  const download = useMutation({
    mutationFn: () => {
      if (period === null) throw new ApiError(0, 'Choose a valid day first.');
      return fetchReport({ ...filters, period, by }, format);
    },
  });
  const filterText = Object.entries(filters)
    .map(([dimension, value]) => `${dimensionNoun(dimension as Dimension)} ${value}`)
    .join(', ');
  return (
    <Card>
      <CardTitle>
        <Title headingLevel="h2" size="lg">
          Chargeback export
        </Title>
      </CardTitle>
      <CardBody>
        <Content component="p">
          Usage and exact cost per {dimensionNoun(by)} for a UTC month, week or day, one row per currency
          {filterText ? `, narrowed to ${filterText}` : ''}.
        </Content>
        <Form
          onSubmit={(event) => {
            event.preventDefault();
            download.mutate();
          }}
        >
          <Flex spaceItems={{ default: 'spaceItemsLg' }} alignItems={{ default: 'alignItemsFlexStart' }}>
            <FlexItem>
              <FormGroup label="Period" fieldId="usage-report-period">
                <FormSelect id="usage-report-period" value={kind} onChange={(_event, value) => setKind(value as PeriodKind)}>
                  {PERIOD_KINDS.map((item) => (
                    <FormSelectOption key={item.value} value={item.value} label={item.label} />
                  ))}
                </FormSelect>
              </FormGroup>
            </FlexItem>
            <FlexItem>
              {kind === 'month' ? (
                <FormGroup label="Month" fieldId="usage-report-month">
                  <FormSelect id="usage-report-month" value={month} onChange={(_event, value) => setMonth(value)}>
                    {months.map((item) => (
                      <FormSelectOption key={item.value} value={item.value} label={item.label} />
                    ))}
                  </FormSelect>
                </FormGroup>
              ) : (
                <FormGroup label={kind === 'week' ? 'Week of' : 'Day'} fieldId="usage-report-day">
                  <DatePicker
                    aria-label={kind === 'week' ? 'Week of' : 'Day'}
                    buttonAriaLabel="Choose a day"
                    value={day}
                    onChange={(_event, value) => setDay(value)}
                  />
                  {kind === 'week' && period !== null && (
                    <FormHelperText>
                      <HelperText>
                        <HelperTextItem>
                          {period}: {weekDays(day)}
                        </HelperTextItem>
                      </HelperText>
                    </FormHelperText>
                  )}
                </FormGroup>
              )}
            </FlexItem>
            <FlexItem>
              <FormGroup label="Report by" fieldId="usage-report-by">
                <FormSelect id="usage-report-by" value={by} onChange={(_event, value) => setBy(value as Dimension)}>
                  {dimensions.map((dimension) => (
                    <FormSelectOption key={dimension} value={dimension} label={DIMENSION_LABELS[dimension]} />
                  ))}
                </FormSelect>
              </FormGroup>
            </FlexItem>
            <FlexItem>
              <FormGroup label="Format" role="radiogroup" isInline fieldId="usage-report-format" isStack={false}>
                <Radio id="usage-report-csv" name="usage-report-format" label="CSV" isChecked={format === 'csv'} onChange={() => setFormat('csv')} />
                <Radio id="usage-report-json" name="usage-report-format" label="JSON" isChecked={format === 'json'} onChange={() => setFormat('json')} />
              </FormGroup>
            </FlexItem>
          </Flex>
          <div>
            <Button type="submit" icon={<DownloadIcon />} isDisabled={period === null || download.isPending} isLoading={download.isPending}>
              Download report
            </Button>
          </div>
          {download.isError && (
            <Alert isInline variant="danger" title="The report could not be downloaded">
              {download.error.message}
            </Alert>
          )}
          {download.isSuccess && (
            <HelperText>
              <HelperTextItem variant="success">Saved {download.data}.</HelperTextItem>
            </HelperText>
          )}
        </Form>
      </CardBody>
    </Card>
  );
}
