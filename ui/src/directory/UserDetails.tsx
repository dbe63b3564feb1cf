// A user's expanded row: their details and, read live from the limiter, every limit and budget
// their calls count against with what is left (GET /api/v1/users/{name}/quota).
import {
  Alert,
  Content,
  DescriptionList,
  DescriptionListDescription,
  DescriptionListGroup,
  DescriptionListTerm,
  Spinner,
  Stack,
  Title,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useQuery } from '@tanstack/react-query';

import { api, unwrap } from '../api/client';
import { messageOf } from '../api/errors';
import { formatDateTime, formatMoney, formatNumber, formatRelative } from '../components/format';
import type { QuotaRead, UserRead } from './directory';

type QuotaItem = QuotaRead['items'][number];

function amount(item: QuotaItem, value: number | string): string {
  if (item.metric === 'cost') return formatMoney(value, item.currency ?? 'USD');
  return formatNumber(typeof value === 'number' ? value : Number(value));
}

function Quota({ name }: { name: string }) {
  const quota = useQuery({
    queryKey: ['users', name, 'quota'],
    queryFn: () => unwrap(api.GET('/api/v1/users/{name}/quota', { params: { path: { name } } })),
  });
  if (quota.isPending) return <Spinner size="md" aria-label={`Loading the limits of ${name}`} />;
  if (quota.isError) return <Alert variant="danger" isInline isPlain title={messageOf(quota.error)} />;
  const { items, degraded } = quota.data;
  return (
    <Stack hasGutter>
      {degraded && (
        <Alert
          variant="warning"
          isInline
          isPlain
          title="The shared limiter is unreachable: these are one server's own counters."
         
        />
      )}
      {items.length === 0 ? (
        <Content component="p">No limit or budget applies to {name}&apos;s calls.</Content>
      ) : (
        <Table aria-label={`Limits of ${name}`} variant="compact">
          <Thead>
            <Tr>
              <Th>Limit</Th>
              <Th>Source</Th>
              <Th>Used</Th>
              <Th>Remaining</Th>
              <Th>Resets</Th>
            </Tr>
          </Thead>
          <Tbody>
            {items.map((item) => (
              <Tr key={item.counter}>
                <Td dataLabel="Limit">{item.description}</Td>
                <Td dataLabel="Source">{item.policy ? `Policy ${item.policy}` : item.source}</Td>
                <Td dataLabel="Used">{amount(item, item.used)}</Td>
                <Td dataLabel="Remaining">{amount(item, item.remaining)}</Td>
                <Td dataLabel="Resets">{item.resets_at ? formatRelative(item.resets_at) : '—'}</Td>
              </Tr>
            ))}
          </Tbody>
        </Table>
      )}
    </Stack>
  );
}

export function UserDetails({ user }: { user: UserRead }) {
  return (
    <Stack hasGutter>
      <DescriptionList isCompact isHorizontal>
        <DescriptionListGroup>
          <DescriptionListTerm>Display name</DescriptionListTerm>
          <DescriptionListDescription>{user.display_name ?? '—'}</DescriptionListDescription>
        </DescriptionListGroup>
        <DescriptionListGroup>
          <DescriptionListTerm>Created</DescriptionListTerm>
          <DescriptionListDescription>{formatDateTime(user.created_at)}</DescriptionListDescription>
        </DescriptionListGroup>
        <DescriptionListGroup>
          <DescriptionListTerm>Updated</DescriptionListTerm>
          <DescriptionListDescription>{formatDateTime(user.updated_at)}</DescriptionListDescription>
        </DescriptionListGroup>
      </DescriptionList>
      <Title headingLevel="h2" size="md">
        Limits and what is left
      </Title>
      <Quota name={user.name} />
    </Stack>
  );
}
