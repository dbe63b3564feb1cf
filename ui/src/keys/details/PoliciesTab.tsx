// The Policies tab: every limit that applies to this key (its owner's policy, its own limits, the
// models' capacity) with what is used, what is left and when it frees up, read live from the limiter.
import { Alert, Content, Label, Progress, ProgressMeasureLocation, ProgressVariant } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';

import { api, unwrap } from '../../api/client';
import { formatDateTime, formatRelative } from '../../components/format';
import { EmptyList, ErrorState, LoadingState } from '../../components/states';
import type { Key } from './access';
import { amountText, limitName, limitType, type QuotaItem, usedPercent, windowText } from './quota';

function NameCell({ item }: { item: QuotaItem }) {
  const name = limitName(item);
  if (item.source === 'policy' && item.policy) {
    return <Link to={`/settings/policies/${encodeURIComponent(item.policy)}`}>{name}</Link>;
  }
  return <>{name}</>;
}

function UsageCell({ item }: { item: QuotaItem }) {
  const percent = usedPercent(item);
  const exhausted = Number(item.remaining) <= 0;
  const label = `${amountText(item, item.used)} of ${amountText(item, item.limit)} used, ${amountText(item, item.remaining)} left`;
  return (
    <Progress
      value={percent}
      size="sm"
      measureLocation={ProgressMeasureLocation.outside}
      label={`${amountText(item, item.used)} / ${amountText(item, item.limit)}`}
      valueText={label}
      aria-label={`Usage of ${limitName(item)}: ${label}`}
      variant={exhausted ? ProgressVariant.danger : percent >= 80 ? ProgressVariant.warning : undefined}
    />
  );
}

function QuotaTable({ items }: { items: QuotaItem[] }) {
  return (
    <Table aria-label="Policies" variant="compact">
      <Thead>
        <Tr>
          <Th>Name</Th>
          <Th>ID</Th>
          <Th>Type</Th>
          <Th>Description</Th>
          <Th>Used</Th>
          <Th>Resets</Th>
        </Tr>
      </Thead>
      <Tbody>
        {items.map((item) => (
          <Tr key={item.counter}>
            <Td dataLabel="Name">
              <NameCell item={item} />
            </Td>
            <Td dataLabel="ID">
              <code>{item.counter}</code>
            </Td>
            <Td dataLabel="Type">
              {limitType(item)}
              {item.soft && (
                <Label isCompact color="blue" className="pf-v6-u-ml-sm">
                  Soft
                </Label>
              )}
            </Td>
            <Td dataLabel="Description">
              {item.description}
              <div className="pf-v6-u-font-size-sm pf-v6-u-text-color-subtle">
                {[windowText(item), item.models.length > 0 ? `models: ${item.models.join(', ')}` : '']
                  .filter(Boolean)
                  .join(' · ')}
              </div>
            </Td>
            <Td dataLabel="Used" width={20}>
              <UsageCell item={item} />
            </Td>
            <Td dataLabel="Resets">
              {item.resets_at ? (
                <span title={formatDateTime(item.resets_at)}>{formatRelative(item.resets_at)}</span>
              ) : (
                <span className="pf-v6-u-text-color-subtle">Nothing counted</span>
              )}
            </Td>
          </Tr>
        ))}
      </Tbody>
    </Table>
  );
}

export function PoliciesTab({ apiKey }: { apiKey: Key }) {
  const query = useQuery({
    queryKey: ['keys', apiKey.id, 'quota'],
    queryFn: () => unwrap(api.GET('/api/v1/keys/{key_id}/quota', { params: { path: { key_id: apiKey.id } } })),
  });
  if (query.isPending) return <LoadingState label="Loading the limits" />;
  if (query.isError) return <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  const quota = query.data;
  if (quota.items.length === 0) {
    return (
      <EmptyList
        title="Nothing limits this key"
        body="No policy, limit of its own or model capacity applies to the calls this key can make now."
      />
    );
  }
  return (
    <>
      <Content component="p" className="pf-v6-u-mb-md">
        What applies to this key’s calls, read live from the limiter the gateway enforces with (checked{' '}
        {formatDateTime(quota.checked_at)}). Calls are attributed to <code>{quota.principal}</code>.
      </Content>
      {quota.degraded && (
        <Alert
          variant="warning"
          isInline
          className="pf-v6-u-mb-md"
          title="The shared limiter is unreachable: these are the counters of one gateway process."
        />
      )}
      <QuotaTable items={quota.items} />
    </>
  );
}
