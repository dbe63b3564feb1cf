// The audit events, newest first, each expandable to its details and before/after.
import {
  DescriptionList,
  DescriptionListDescription,
  DescriptionListGroup,
  DescriptionListTerm,
  Label,
  Stack,
} from '@patternfly/react-core';
import { ExpandableRowContent, Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useState } from 'react';

import { formatDateTime } from '../components/format';
import { ChangeView } from './ChangeView';
import type { AuditEvent, Outcome } from './filters';

const OUTCOME_LABELS: Record<Outcome, { text: string; color: 'green' | 'orange' | 'red' }> = {
  success: { text: 'Success', color: 'green' },
  denied: { text: 'Denied', color: 'orange' },
  failure: { text: 'Failure', color: 'red' },
};

function OutcomeLabel({ outcome }: { outcome: Outcome }) {
  const { text, color } = OUTCOME_LABELS[outcome];
  return (
    <Label color={color} isCompact>
      {text}
    </Label>
  );
}

const MONO = { fontFamily: 'var(--pf-t--global--font--family--mono)', wordBreak: 'break-all' } as const;

function EventDetails({ event }: { event: AuditEvent }) {
  return (
    <Stack hasGutter>
      <DescriptionList isCompact isHorizontal columnModifier={{ lg: '2Col' }}>
        <DescriptionListGroup>
          <DescriptionListTerm>Sequence</DescriptionListTerm>
          <DescriptionListDescription>{event.seq}</DescriptionListDescription>
        </DescriptionListGroup>
        <DescriptionListGroup>
          <DescriptionListTerm>Time (UTC)</DescriptionListTerm>
          <DescriptionListDescription>{event.ts}</DescriptionListDescription>
        </DescriptionListGroup>
        <DescriptionListGroup>
          <DescriptionListTerm>Source IP</DescriptionListTerm>
          <DescriptionListDescription>{event.source_ip ?? '—'}</DescriptionListDescription>
        </DescriptionListGroup>
        <DescriptionListGroup>
          <DescriptionListTerm>Detail</DescriptionListTerm>
          <DescriptionListDescription>{event.detail ?? '—'}</DescriptionListDescription>
        </DescriptionListGroup>
        <DescriptionListGroup>
          <DescriptionListTerm>Hash</DescriptionListTerm>
          <DescriptionListDescription>
            <code style={MONO}>{event.hash}</code>
          </DescriptionListDescription>
        </DescriptionListGroup>
        <DescriptionListGroup>
          <DescriptionListTerm>Previous hash</DescriptionListTerm>
          <DescriptionListDescription>
            <code style={MONO}>{event.prev_hash}</code>
          </DescriptionListDescription>
        </DescriptionListGroup>
      </DescriptionList>
      <ChangeView event={event} />
    </Stack>
  );
}

export function AuditTable({ events }: { events: readonly AuditEvent[] }) {
  const [expanded, setExpanded] = useState<ReadonlySet<number>>(new Set());
  const toggle = (seq: number) =>
    setExpanded((current) => {
      const next = new Set(current);
      if (next.has(seq)) next.delete(seq);
      else next.add(seq);
      return next;
    });

  return (
    <Table aria-label="Audit events" isExpandable variant="compact">
      <Thead>
        <Tr>
          <Th screenReaderText="Row expansion" />
          <Th>Time</Th>
          <Th>Actor</Th>
          <Th>Action</Th>
          <Th>Target</Th>
          <Th>Outcome</Th>
          <Th>Request ID</Th>
        </Tr>
      </Thead>
      {events.map((event, rowIndex) => {
        const isExpanded = expanded.has(event.seq);
        return (
          <Tbody key={event.seq} isExpanded={isExpanded}>
            <Tr isContentExpanded={isExpanded}>
              <Td expand={{ rowIndex, isExpanded, onToggle: () => toggle(event.seq), expandId: 'audit-event' }} />
              <Td dataLabel="Time">
                <time dateTime={event.ts} title={event.ts}>
                  {formatDateTime(event.ts)}
                </time>
              </Td>
              <Td dataLabel="Actor">{event.actor}</Td>
              <Td dataLabel="Action">{event.action}</Td>
              <Td dataLabel="Target" modifier="breakWord">
                {event.target_type} {event.target_id}
              </Td>
              <Td dataLabel="Outcome">
                <OutcomeLabel outcome={event.outcome} />
              </Td>
              <Td dataLabel="Request ID">
                <code style={MONO}>{event.request_id}</code>
              </Td>
            </Tr>
            <Tr isExpanded={isExpanded}>
              <Td />
              <Td colSpan={6}>
                <ExpandableRowContent>{isExpanded && <EventDetails event={event} />}</ExpandableRowContent>
              </Td>
            </Tr>
          </Tbody>
        );
      })}
    </Table>
  );
}
