// The API keys page (/settings/api-keys): the keys the caller may see, filtered and paged by the API,
// with Create API key (also opened by ?create=1) and Delete API key (a revoke: keys are never erased).
import { Button, Content, PageSection, Title } from '@patternfly/react-core';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router-dom';

import { api, unwrap } from '../api/client';
import { useSession } from '../app/session';
import { ConfirmDeleteModal } from '../components/ConfirmDeleteModal';
import { EmptyList, ErrorState, LoadingState } from '../components/states';
import type { KeyCreated } from './create/form';
import { CreateKeyModal } from './CreateKeyModal';
import { KeyCreatedModal } from './KeyCreatedModal';
import { KeyFilters, type KeyFilterValues, NO_FILTERS } from './KeyFilters';
import { type Key, prefixText } from './keyFields';
import { KeysTable } from './KeysTable';

function listQuery(filters: KeyFilterValues, limit: number, cursor: string | undefined) {
  return {
    limit,
    ...(cursor ? { cursor } : {}),
    ...(filters.name ? { name: filters.name } : {}),
    ...(filters.status ? { status: filters.status } : {}),
    ...(filters.owner ? { owner: filters.owner } : {}),
  };
}

export default function KeysPage() {
  const { can } = useSession();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [params, setParams] = useSearchParams();
  // ?owner=serviceaccount:NAME (the service accounts page links here) starts the list filtered.
  const [filters, setFilters] = useState<KeyFilterValues>(() => ({ ...NO_FILTERS, owner: params.get('owner') ?? '' }));
  const [perPage, setPerPage] = useState(20);
  // The cursor of every page visited so far: the last one is the page shown.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [deleting, setDeleting] = useState<Key | null>(null);
  const [created, setCreated] = useState<KeyCreated | null>(null);
  const cursor = cursors[cursors.length - 1];

  const keys = useQuery({
    queryKey: ['keys', 'list', filters, perPage, cursor ?? null],
    queryFn: () => unwrap(api.GET('/api/v1/keys', { params: { query: listQuery(filters, perPage, cursor) } })),
    placeholderData: keepPreviousData,
  });

  // Hidden as soon as the key exists (the URL's ?create=1 goes away in a transition, a moment later).
  const creating = can.manageKeys && params.get('create') === '1' && created === null;
  const openCreate = () =>
    setParams((current) => {
      const next = new URLSearchParams(current);
      next.set('create', '1');
      return next;
    });
  const closeCreate = () =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        next.delete('create');
        return next;
      },
      { replace: true },
    );

  const changeFilters = useCallback((next: KeyFilterValues) => {
    setFilters(next);
    setCursors([undefined]);
  }, []);

  const revoke = async (key: Key) => {
    await unwrap(api.POST('/api/v1/keys/{key_id}/revoke', { params: { path: { key_id: key.id } } }));
    await queryClient.invalidateQueries({ queryKey: ['keys'] });
  };

  const createButton = can.manageKeys ? (
    <Button variant="primary" onClick={openCreate}>
      Create API key
    </Button>
  ) : undefined;
  const filtered = filters.name !== '' || filters.status !== '' || filters.owner !== '';
  const items = keys.data?.items ?? [];
  const nothingYet = keys.isSuccess && items.length === 0 && !filtered && cursors.length === 1;

  let body;
  if (keys.isPending) body = <LoadingState label="Loading API keys" />;
  else if (keys.isError) body = <ErrorState error={keys.error} onRetry={() => void keys.refetch()} />;
  else if (nothingYet) {
    body = (
      <EmptyList
        title="No API keys yet"
        body={
          can.manageKeys
            ? 'Create an API key to call the models with the OpenAI SDK or any OpenAI-compatible client.'
            : 'No key is visible to you yet.'
        }
        action={createButton}
      />
    );
  } else {
    body = (
      <>
        <KeyFilters
          filters={filters}
          onFilters={changeFilters}
          action={createButton}
          paging={{
            page: cursors.length,
            perPage,
            shown: items.length,
            hasNext: Boolean(keys.data.next),
            onNext: () => {
              const next = keys.data.next;
              if (next) setCursors((current) => [...current, next]);
            },
            onPrevious: () => setCursors((current) => (current.length > 1 ? current.slice(0, -1) : current)),
            onPerPage: (value) => {
              setPerPage(value);
              setCursors([undefined]);
            },
          }}
        />
        {items.length > 0 ? (
          <KeysTable keys={items} onDelete={setDeleting} />
        ) : (
          <EmptyList title="No API keys match the filters" body="Change the filters, or clear them all from the toolbar." />
        )}
      </>
    );
  }

  return (
    <>
      <PageSection>
        <Title headingLevel="h1">API keys</Title>
        <Content component="p">Keys that call the gateway's models from any OpenAI-compatible client, each with its own limits and usage.</Content>
      </PageSection>
      <PageSection>{body}</PageSection>
      {creating && (
        <CreateKeyModal
          onClose={closeCreate}
          onCreated={(key) => {
            closeCreate();
            setCreated(key);
          }}
        />
      )}
      {created && <KeyCreatedModal created={created} onDone={() => void navigate(`/settings/api-keys/${created.id}/details`)} />}
      {deleting && (
        <ConfirmDeleteModal title="Delete API key?" name={deleting.name} onConfirm={() => revoke(deleting)} onClose={() => setDeleting(null)}>
          The key <strong>{deleting.name}</strong> (<code>{prefixText(deleting.prefix)}</code>) stops working on every gateway within a second.
          Keys are revoked, never erased: it stays listed as Revoked, with its usage and its audit trail.
        </ConfirmDeleteModal>
      )}
    </>
  );
}
