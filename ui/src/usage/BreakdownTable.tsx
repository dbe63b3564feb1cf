// The breakdown: one row per group-by value of the range's summary, with sortable columns, paged in
// the browser (the summary answers every row at once).
import {
  Button,
  Card,
  CardBody,
  CardTitle,
  Content,
  Pagination,
  Title,
  Toolbar,
  ToolbarContent,
  ToolbarItem,
} from '@patternfly/react-core';
import { ActionsColumn, Table, Tbody, Td, Th, Thead, type ThProps, Tr } from '@patternfly/react-table';
import { useState } from 'react';


import type { components } from '../api/schema';
import { formatNumber } from '../components/format';
import { DIMENSION_LABELS, type Dimension, dimensionNoun } from './dimensions';
import { amountIn, errorsOf, formatCosts } from './measures';
import { type KeyNames, valueLabel } from './names';
import { RouterLink } from '../components/RouterLink';

type SummaryRow = components['schemas']['SummaryRow'];

interface Column {
  title: string;
  sortValue: (row: SummaryRow, name: string) => number | string;
}

export interface BreakdownTableProps {
  rows: SummaryRow[];
  by: Dimension;
  /** The currency the cost column sorts by (the range's main one). */
  currency: string | null;
  keyNames: KeyNames;
  /** The value of `by` the view is already filtered to, if any. */
  filtered: string | undefined;
  onFilter: (value: string) => void;
}

export function BreakdownTable({ rows, by, currency, keyNames, filtered, onFilter }: BreakdownTableProps) {
  const [sort, setSort] = useState<{ index: number; direction: 'asc' | 'desc' }>({ index: 1, direction: 'desc' });
  const [page, setPage] = useState(1);
  const [perPage, setPerPage] = useState(10);
  const label = DIMENSION_LABELS[by];
  const columns: Column[] = [
    { title: label, sortValue: (_row, name) => name.toLowerCase() },
    { title: 'Requests', sortValue: (row) => row.requests },
    { title: 'Input tokens', sortValue: (row) => row.prompt_tokens },
    { title: 'Output tokens', sortValue: (row) => row.completion_tokens },
    { title: 'Cost', sortValue: (row) => amountIn(row.costs, currency) },
    { title: 'Errors', sortValue: (row) => errorsOf(row) },
  ];
  const named = rows.map((row) => ({ row, value: row.dimensions[by] ?? 'unassigned', name: valueLabel(by, row.dimensions[by], keyNames) }));
  const column = columns[sort.index] ?? columns[1];
  const sorted = [...named].sort((a, b) => {
    const left = column?.sortValue(a.row, a.name) ?? 0;
    const right = column?.sortValue(b.row, b.name) ?? 0;
    const order = left < right ? -1 : left > right ? 1 : 0;
    return sort.direction === 'asc' ? order : -order;
  });
  const shown = sorted.slice((page - 1) * perPage, page * perPage);
  const sortBy = (index: number): ThProps['sort'] => ({
    sortBy: { index: sort.index, direction: sort.direction },
    onSort: (_event, chosen, direction) => {
      setSort({ index: chosen, direction });
      setPage(1);
    },
    columnIndex: index,
  });
  const pagination = (variant: 'top' | 'bottom') => (
    <Pagination
      itemCount={rows.length}
      page={page}
      perPage={perPage}
      onSetPage={(_event, next) => setPage(next)}
      onPerPageSelect={(_event, next) => {
        setPerPage(next);
        setPage(1);
      }}
      variant={variant}
      isCompact={variant === 'top'}
      titles={{ paginationAriaLabel: `Usage breakdown pages (${variant})` }}
    />
  );
  return (
    <Card>
      <CardTitle>
        <Title headingLevel="h2" size="lg">
          Breakdown by {dimensionNoun(by)}
        </Title>
      </CardTitle>
      <CardBody>
        {by === 'group' && (
          <Content component="small">A call counts once in each of its groups: the rows may add up to more than the totals.</Content>
        )}
        {rows.length > 10 && (
          <Toolbar aria-label="Usage breakdown pages">
            <ToolbarContent>
              <ToolbarItem variant="pagination">{pagination('top')}</ToolbarItem>
            </ToolbarContent>
          </Toolbar>
        )}
        <Table aria-label="Usage breakdown" variant="compact">
          <Thead>
            <Tr>
              {columns.map((item, index) => (
                <Th key={item.title} sort={sortBy(index)} modifier="wrap">
                  {item.title}
                </Th>
              ))}
              <Th screenReaderText="Actions" />
            </Tr>
          </Thead>
          <Tbody>
            {shown.map(({ row, value, name }) => (
              <Tr key={value}>
                <Td dataLabel={label}>
                  {by === 'key' && value !== 'unassigned' ? (
                    <Button variant="link" isInline component={RouterLink} href={`/settings/api-keys/${encodeURIComponent(value)}`}>
                      {name}
                    </Button>
                  ) : (
                    name
                  )}
                </Td>
                <Td dataLabel="Requests">{formatNumber(row.requests)}</Td>
                <Td dataLabel="Input tokens">{formatNumber(row.prompt_tokens)}</Td>
                <Td dataLabel="Output tokens">{formatNumber(row.completion_tokens)}</Td>
                <Td dataLabel="Cost">{formatCosts(row.costs)}</Td>
                <Td dataLabel="Errors">{formatNumber(errorsOf(row))}</Td>
                <Td isActionCell>
                  {filtered !== value && (
                    <ActionsColumn
                      items={[{ title: `Filter by this ${dimensionNoun(by)}`, onClick: () => onFilter(value) }]}
                      popperProps={{ position: 'right' }}
                    />
                  )}
                </Td>
              </Tr>
            ))}
          </Tbody>
        </Table>
        {rows.length > 10 && pagination('bottom')}
      </CardBody>
    </Card>
  );
}
