// The Details tab: what the key is, who owns it and when it was made, used and expires.
import {
  Button,
  ClipboardCopy,
  DescriptionList,
  DescriptionListDescription,
  DescriptionListGroup,
  DescriptionListTerm,
  Flex,
  FlexItem,
  Title,
} from '@patternfly/react-core';
import { type ReactNode, useState } from 'react';

import { formatDateTime, formatMoney, formatNumber, formatRelative } from '../../components/format';
import type { Key } from './access';
import { EditKeyModal } from './EditKeyModal';
import { KeyStatusLabel } from './KeyStatusLabel';
import { ownerText } from './owner';

function Row({ term, children }: { term: string; children: ReactNode }) {
  return (
    <DescriptionListGroup>
      <DescriptionListTerm>{term}</DescriptionListTerm>
      <DescriptionListDescription>{children}</DescriptionListDescription>
    </DescriptionListGroup>
  );
}

function limitsText(limits: Key['limits']): string {
  if (!limits) return 'None of its own (its owner’s policies apply)';
  const parts: string[] = [];
  if (limits.requests_per_minute) parts.push(`${formatNumber(limits.requests_per_minute)} requests per minute`);
  if (limits.tokens_per_minute) parts.push(`${formatNumber(limits.tokens_per_minute)} tokens per minute`);
  if (limits.budget) parts.push(`budget of ${formatMoney(limits.budget.amount, limits.budget.currency)} ${limits.budget.period}`);
  return parts.length > 0 ? parts.join(', ') : 'None of its own (its owner’s policies apply)';
}

function When({ value, empty }: { value: string | null; empty: string }) {
  if (!value) return <>{empty}</>;
  return (
    <>
      {formatDateTime(value)} <span className="pf-v6-u-text-color-subtle">({formatRelative(value)})</span>
    </>
  );
}

export function DetailsTab({ apiKey, canEdit }: { apiKey: Key; canEdit: boolean }) {
  const [editing, setEditing] = useState(false);
  return (
    <>
      <Flex justifyContent={{ default: 'justifyContentSpaceBetween' }} className="pf-v6-u-mb-md">
        <FlexItem>
          <Title headingLevel="h2">Details</Title>
        </FlexItem>
        {canEdit && (
          <FlexItem>
            <Button variant="secondary" onClick={() => setEditing(true)}>
              Edit
            </Button>
          </FlexItem>
        )}
      </Flex>
      <DescriptionList isHorizontal aria-label="API key details">
        <Row term="Name">{apiKey.name}</Row>
        <Row term="Description">{apiKey.description || <span className="pf-v6-u-text-color-subtle">None</span>}</Row>
        <Row term="API key prefix">
          <ClipboardCopy isReadOnly variant="inline-compact" hoverTip="Copy" clickTip="Copied" copyAriaLabel="Copy API key prefix">
            {apiKey.prefix}
          </ClipboardCopy>
        </Row>
        <Row term="Created">
          <When value={apiKey.created_at} empty="—" />
        </Row>
        <Row term="Last used">
          <When value={apiKey.last_used_at} empty="Never" />
        </Row>
        <Row term="Expires">
          <When value={apiKey.expires_at} empty="Never" />
        </Row>
        <Row term="Owner">{ownerText(apiKey.owner)}</Row>
        <Row term="Status">
          <KeyStatusLabel status={apiKey.status} />
          {apiKey.revoked_at && <span className="pf-v6-u-ml-sm">since {formatDateTime(apiKey.revoked_at)}</span>}
        </Row>
        <Row term="Created by">{apiKey.created_by}</Row>
        <Row term="Own limits">{limitsText(apiKey.limits)}</Row>
      </DescriptionList>
      {editing && <EditKeyModal apiKey={apiKey} onClose={() => setEditing(false)} />}
    </>
  );
}
