// /settings/audit: the hash-chained audit trail (admins and auditors). Filters in the URL, paging
// by the API's cursor, each event's before/after, "Verify chain" and "Export CSV".
import {
  Alert,
  AlertActionCloseButton,
  Button,
  Content,
  HelperText,
  HelperTextItem,
  PageSection,
  Pagination,
  type PaginationProps,
  Stack,
  Title,
  Toolbar,
  ToolbarContent,
  ToolbarGroup,
  ToolbarItem,
} from '@patternfly/react-core';
import { keepPreviousData, useMutation, useQuery } from '@tanstack/react-query';
import { useCallback, useState } from 'react';
import { useSearchParams } from 'react-router-dom';

import { api, unwrap } from '../api/client';
import { messageOf } from '../api/errors';
import { EmptyList, ErrorState, LoadingState } from '../components/states';
import { AuditFilters } from './AuditFilters';
import { AuditTable } from './AuditTable';
import { exportCsv } from './exportCsv';
import { eventQuery, FILTER_NAMES, type FilterName, rangeError, readFilters, withFilter } from './filters';
import { VerifyResult } from './VerifyResult';

interface Paging {
  /** The filters these pages are of: other filters start again at page 1. */
  key: string;
  /** The cursor of each page seen so far (null: the first). */
  cursors: (string | null)[];
  page: number;
  perPage: number;
}

export default function AuditPage() {
  const [params, setParams] = useSearchParams();
  const filters = readFilters(params);
  const invalidRange = rangeError(filters);
  const query = eventQuery(filters);
  const key = JSON.stringify(query);
  const [stored, setPaging] = useState<Paging>({ key, cursors: [null], page: 1, perPage: 20 });
  const paging: Paging = stored.key === key ? stored : { key, cursors: [null], page: 1, perPage: stored.perPage };
  const cursor = paging.cursors[paging.page - 1] ?? null;

  const events = useQuery({
    queryKey: ['audit', 'events', query, cursor, paging.perPage],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/audit/events', {
          params: { query: { ...query, order: 'desc', limit: paging.perPage, ...(cursor ? { cursor } : {}) } },
        }),
      ),
    placeholderData: keepPreviousData,
    enabled: invalidRange === null,
  });
  const verify = useMutation({ mutationFn: () => unwrap(api.GET('/api/v1/audit/verify')) });
  const download = useMutation({ mutationFn: () => exportCsv(query) });

  const apply = useCallback(
    (name: FilterName, value: string) => setParams((current) => withFilter(current, name, value), { replace: true }),
    [setParams],
  );
  const clear = () =>
    setParams((current) => {
      const next = new URLSearchParams(current);
      for (const name of FILTER_NAMES) next.delete(name);
      return next;
    });

  const items = events.data?.items ?? [];
  const hasMore = Boolean(events.data?.next);
  const first = (paging.page - 1) * paging.perPage;
  const pagination: PaginationProps = {
    page: paging.page,
    perPage: paging.perPage,
    // The API does not count: one more than this page while there is a next page.
    itemCount: hasMore ? paging.page * paging.perPage + 1 : first + items.length,
    toggleTemplate: ({ firstIndex, lastIndex }) => (
      <>
        <b>
          {firstIndex} - {lastIndex}
        </b>{' '}
        of <b>{hasMore ? 'many' : first + items.length}</b>
      </>
    ),
    onSetPage: (_event, page) => {
      const next = events.data?.next ?? null;
      if (page > paging.page && next) {
        setPaging({ ...paging, cursors: [...paging.cursors.slice(0, paging.page), next], page: paging.page + 1 });
      } else if (page < paging.page) {
        setPaging({ ...paging, page: Math.max(1, page) });
      }
    },
    onPerPageSelect: (_event, perPage) => setPaging({ key, cursors: [null], page: 1, perPage }),
  };

  let body;
  if (invalidRange) {
    body = null;
  } else if (events.isPending) {
    body = <LoadingState label="Loading audit events" />;
  } else if (events.isError) {
    body = <ErrorState error={events.error} onRetry={() => void events.refetch()} />;
  } else if (items.length === 0) {
    body = Object.values(filters).some(Boolean) ? (
      <EmptyList
        title="No matching events"
        body="No audit event matches these filters. Actor and target must match exactly; an action matches exactly or by a prefix ending in a dot (key.)."
        action={
          <Button variant="link" onClick={clear}>
            Clear filters
          </Button>
        }
      />
    ) : (
      <EmptyList title="No audit events yet" body="Every change, sign-in and refused action will be recorded here." />
    );
  } else {
    body = (
      <>
        <AuditTable events={items} />
        <Pagination {...pagination} variant="bottom" titles={{ paginationAriaLabel: 'Audit events bottom pagination' }} />
      </>
    );
  }

  return (
    <>
      <PageSection>
        <Title headingLevel="h1">Audit log</Title>
        <Content component="p">
          Every change, sign-in and refused action, in a hash chain: each entry seals the one before it, so a changed or
          removed entry is detected.
        </Content>
      </PageSection>
      <PageSection>
        <Stack hasGutter>
          <Toolbar>
            <ToolbarContent>
              <AuditFilters filters={filters} onApply={apply} onClear={clear} />
              <ToolbarGroup variant="action-group">
                <ToolbarItem>
                  <Button variant="secondary" onClick={() => verify.mutate()} isLoading={verify.isPending} isDisabled={verify.isPending}>
                    Verify chain
                  </Button>
                </ToolbarItem>
                <ToolbarItem>
                  <Button
                    variant="secondary"
                    onClick={() => download.mutate()}
                    isLoading={download.isPending}
                    isDisabled={download.isPending || invalidRange !== null}
                  >
                    Export CSV
                  </Button>
                </ToolbarItem>
              </ToolbarGroup>
              {!invalidRange && items.length > 0 && (
                <ToolbarItem variant="pagination" align={{ default: 'alignEnd' }}>
                  <Pagination {...pagination} isCompact titles={{ paginationAriaLabel: 'Audit events pagination' }} />
                </ToolbarItem>
              )}
            </ToolbarContent>
          </Toolbar>
          {invalidRange && (
            <HelperText>
              <HelperTextItem variant="error">{invalidRange}</HelperTextItem>
            </HelperText>
          )}
          {verify.isSuccess && <VerifyResult result={verify.data} onClose={() => verify.reset()} />}
          {verify.isError && (
            <Alert
              variant="danger"
              isInline
              title={`The chain could not be verified: ${messageOf(verify.error)}`}
              actionClose={<AlertActionCloseButton onClose={() => verify.reset()} />}
            />
          )}
          {download.isError && (
            <Alert
              variant="danger"
              isInline
              title={`The export failed: ${messageOf(download.error)}`}
              actionClose={<AlertActionCloseButton onClose={() => download.reset()} />}
            />
          )}
          {body}
        </Stack>
      </PageSection>
    </>
  );
}
