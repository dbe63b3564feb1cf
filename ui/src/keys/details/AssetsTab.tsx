// The Assets tab: the models this key may call, with the ID to put in `model` and the endpoint to call.
import { ClipboardCopy, Content, ExpandableSection, Label } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';

import { api, unwrap } from '../../api/client';
import type { components } from '../../api/schema';
import { openaiBaseUrl, useSession } from '../../app/session';
import { EmptyList, ErrorState, LoadingState } from '../../components/states';
import type { Key } from './access';

type Model = components['schemas']['ModelRead'];

const KIND: Record<Model['kind'], { text: string; path: string }> = {
  chat: { text: 'Chat', path: '/chat/completions' },
  completion: { text: 'Completion', path: '/completions' },
  embedding: { text: 'Embedding', path: '/embeddings' },
};

/** The OpenAI-compatible endpoint a model of this kind is called at. */
export function endpointUrl(base: string, kind: Model['kind']): string {
  return `${base}${KIND[kind].path}`;
}

function ModelsTable({ models, base }: { models: Model[]; base: string }) {
  return (
    <Table aria-label="Models" variant="compact">
      <Thead>
        <Tr>
          <Th>Name</Th>
          <Th>ID</Th>
          <Th>Endpoint URL</Th>
          <Th>Kind</Th>
        </Tr>
      </Thead>
      <Tbody>
        {models.map((model) => (
          <Tr key={model.name}>
            <Td dataLabel="Name">
              {model.name}
              {model.status === 'disabled' && (
                <Label color="grey" isCompact className="pf-v6-u-ml-sm">
                  Disabled
                </Label>
              )}
              {model.description && <div className="pf-v6-u-font-size-sm pf-v6-u-text-color-subtle">{model.description}</div>}
            </Td>
            <Td dataLabel="ID">
              <ClipboardCopy isReadOnly variant="inline-compact" hoverTip="Copy" clickTip="Copied" copyAriaLabel={`Copy the ID of ${model.name}`}>
                {model.name}
              </ClipboardCopy>
            </Td>
            <Td dataLabel="Endpoint URL">
              <ClipboardCopy
                isReadOnly
                variant="inline-compact"
                hoverTip="Copy"
                clickTip="Copied"
                copyAriaLabel={`Copy the endpoint URL of ${model.name}`}
              >
                {endpointUrl(base, model.kind)}
              </ClipboardCopy>
            </Td>
            <Td dataLabel="Kind">{KIND[model.kind].text}</Td>
          </Tr>
        ))}
      </Tbody>
    </Table>
  );
}

export function AssetsTab({ apiKey }: { apiKey: Key }) {
  const { info } = useSession();
  const [expanded, setExpanded] = useState(true);
  const query = useQuery({ queryKey: ['models'], queryFn: () => unwrap(api.GET('/api/v1/models')) });
  if (query.isPending) return <LoadingState label="Loading the models" />;
  if (query.isError) return <ErrorState error={query.error} onRetry={() => void query.refetch()} />;

  const scope = apiKey.models === null ? null : new Set(apiKey.models);
  const models = query.data.items.filter((model) => scope === null || scope.has(model.name));
  const missing = scope === null ? [] : [...scope].filter((name) => !query.data.items.some((model) => model.name === name));

  return (
    <>
      <Content component="p" className="pf-v6-u-mb-md">
        {scope === null
          ? 'This key may call every model in the catalog, as far as its owner’s policies allow.'
          : 'This key may call only these models, as far as its owner’s policies allow.'}{' '}
        Use the ID as <code>model</code> with any OpenAI-compatible client at <code>{openaiBaseUrl(info)}</code>.
      </Content>
      <ExpandableSection
        toggleText={`Models (${models.length})`}
        isExpanded={expanded}
        onToggle={(_event, value) => setExpanded(value)}
      >
        {models.length === 0 ? (
          <EmptyList title="No models" body="None of the models this key may call is in the catalog." />
        ) : (
          <ModelsTable models={models} base={openaiBaseUrl(info)} />
        )}
        {missing.length > 0 && (
          <Content component="p" className="pf-v6-u-mt-md pf-v6-u-text-color-subtle">
            Named by the key but no longer in the catalog: {missing.join(', ')}.
          </Content>
        )}
      </ExpandableSection>
    </>
  );
}
