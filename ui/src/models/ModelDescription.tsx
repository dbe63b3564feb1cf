// Everything the catalog says of a model, and how to call it through the gateway.
import {
  ClipboardCopy,
  DescriptionList,
  DescriptionListDescription,
  DescriptionListGroup,
  DescriptionListTerm,
} from '@patternfly/react-core';
import type { ReactNode } from 'react';

import { openaiBaseUrl, useSession } from '../app/session';
import { formatDateTime, formatMoney, formatNumber } from '../components/format';
import { accessLabel, kindLabel, type Model } from './model';
import { StatusLabel } from './ModelsTable';

function Row({ term, children }: { term: string; children: ReactNode }) {
  return (
    <DescriptionListGroup>
      <DescriptionListTerm>{term}</DescriptionListTerm>
      <DescriptionListDescription>{children}</DescriptionListDescription>
    </DescriptionListGroup>
  );
}

function limitText(limit: NonNullable<Model['limits']>[number]): string {
  const parts: string[] = [];
  if (limit.requests != null) parts.push(`${formatNumber(limit.requests)} requests`);
  if (limit.tokens != null) parts.push(`${formatNumber(limit.tokens)} tokens`);
  return `${parts.join(' and ')} per ${limit.window}`;
}

export function ModelDescription({ model }: { model: Model }) {
  const { info } = useSession();
  const currency = model.pricing?.currency ?? 'USD';
  const limits = model.limits ?? [];
  return (
    <DescriptionList isHorizontal columnModifier={{ default: '1Col', lg: '2Col' }}>
      <Row term="Model ID">
        <ClipboardCopy isReadOnly hoverTip="Copy" clickTip="Copied" variant="inline-compact" aria-label="Model ID">
          {model.name}
        </ClipboardCopy>
      </Row>
      <Row term="Endpoint">
        <ClipboardCopy isReadOnly hoverTip="Copy" clickTip="Copied" variant="inline-compact" aria-label="Endpoint URL">
          {openaiBaseUrl(info)}
        </ClipboardCopy>
      </Row>
      <Row term="Kind">{kindLabel(model.kind)}</Row>
      <Row term="Access">{accessLabel(model.access)}</Row>
      <Row term="Status">
        <StatusLabel status={model.status} />
      </Row>
      <Row term="Description">{model.description || '—'}</Row>
      <Row term="Input price">{`${formatMoney(model.pricing?.input_per_million ?? 0, currency)} per 1M tokens`}</Row>
      <Row term="Output price">{`${formatMoney(model.pricing?.output_per_million ?? 0, currency)} per 1M tokens`}</Row>
      <Row term="Context window">{model.context_window ? `${formatNumber(model.context_window)} tokens` : 'Not set'}</Row>
      <Row term="Max output tokens">{model.max_output_tokens ? formatNumber(model.max_output_tokens) : 'Server default'}</Row>
      <Row term="Capacity limits">{limits.length > 0 ? limits.map(limitText).join('; ') : 'None'}</Row>
      <Row term="Created">{formatDateTime(model.created_at)}</Row>
      <Row term="Updated">{formatDateTime(model.updated_at)}</Row>
    </DescriptionList>
  );
}
