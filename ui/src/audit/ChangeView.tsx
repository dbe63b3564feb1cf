// An event's before and after, side by side, field by field, with what changed marked.
import { Content, Label } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';

import type { AuditEvent } from './filters';

type Fields = Record<string, unknown> | null;
type Change = 'Added' | 'Removed' | 'Changed' | null;

export interface FieldRow {
  field: string;
  before: unknown;
  after: unknown;
  inBefore: boolean;
  inAfter: boolean;
  change: Change;
}

function same(left: unknown, right: unknown): boolean {
  return JSON.stringify(left) === JSON.stringify(right);
}

/** Every top-level field of either side, in the after's order, then what only the before had. */
export function compare(before: Fields, after: Fields): FieldRow[] {
  const fields = [...Object.keys(after ?? {}), ...Object.keys(before ?? {})].filter(
    (field, index, all) => all.indexOf(field) === index,
  );
  return fields.map((field) => {
    const inBefore = before !== null && field in before;
    const inAfter = after !== null && field in after;
    const old = inBefore ? before[field] : undefined;
    const now = inAfter ? after[field] : undefined;
    let change: Change = null;
    if (inBefore && !inAfter) change = 'Removed';
    else if (!inBefore && inAfter) change = 'Added';
    else if (!same(old, now)) change = 'Changed';
    return { field, before: old, after: now, inBefore, inAfter, change };
  });
}

const CODE = { fontFamily: 'var(--pf-t--global--font--family--mono)', whiteSpace: 'pre-wrap', wordBreak: 'break-word' } as const;

function Value({ present, value }: { present: boolean; value: unknown }) {
  if (!present) return <>—</>;
  const compact = typeof value === 'string' ? value : JSON.stringify(value);
  const text = compact.length <= 60 ? compact : JSON.stringify(value, null, 2);
  return (
    <code style={CODE}>
      {text}
    </code>
  );
}

const COLORS = { Added: 'green', Removed: 'red', Changed: 'orange' } as const;

export function ChangeView({ event }: { event: AuditEvent }) {
  if (event.before === null && event.after === null) {
    return <Content component="p">This event changed nothing: it records {event.outcome === 'success' ? 'an action' : 'a refusal'}.</Content>;
  }
  const rows = compare(event.before, event.after);
  // Marks only where there is something to compare: a creation or deletion is new or gone as a whole.
  const marks = event.before !== null && event.after !== null;
  const changed = rows.filter((row) => row.change !== null).length;
  return (
    <>
      <Content component="p">
        {event.before === null
          ? 'Created: every field is new.'
          : event.after === null
            ? 'Deleted: every field is gone.'
            : `${changed} of ${rows.length} fields changed.`}
      </Content>
      <Table aria-label={`Before and after of event ${event.seq}`} variant="compact" borders>
        <Thead>
          <Tr>
            <Th width={20}>Field</Th>
            <Th width={40}>Before</Th>
            <Th width={40}>After</Th>
          </Tr>
        </Thead>
        <Tbody>
          {rows.map((row) => (
            <Tr key={row.field} isStriped={marks && row.change !== null}>
              <Td dataLabel="Field">
                <strong>{row.field}</strong>{' '}
                {marks && row.change && (
                  <Label color={COLORS[row.change]} isCompact>
                    {row.change}
                  </Label>
                )}
              </Td>
              <Td dataLabel="Before">
                <Value present={row.inBefore} value={row.before} />
              </Td>
              <Td dataLabel="After">
                <Value present={row.inAfter} value={row.after} />
              </Td>
            </Tr>
          ))}
        </Tbody>
      </Table>
    </>
  );
}
