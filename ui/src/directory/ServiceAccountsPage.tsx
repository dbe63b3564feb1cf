// /settings/service-accounts: the non-human owners of keys, each in a group. Admins manage them all;
// a group admin those of the groups they administer; auditors read.
import { Alert, AlertActionCloseButton, Button, Content, PageSection, Stack, Title } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router-dom';

import { api, unwrap } from '../api/client';
import { messageOf } from '../api/errors';
import { useSession } from '../app/session';
import { ConfirmDeleteModal } from '../components/ConfirmDeleteModal';
import { EmptyList, ErrorState, LoadingState } from '../components/states';
import { accountSpec, keysLink, refreshDirectory, type ServiceAccountRead, useGroups, useServiceAccounts } from './directory';
import { BottomPagination, ListToolbar, NoMatches, usePaged } from './ListToolbar';
import { RowActions } from './RowActions';
import { ServiceAccountFormModal } from './ServiceAccountFormModal';
import { StatusLabel } from './StatusLabel';

function searchText(account: ServiceAccountRead): string {
  return [account.name, account.group, account.description, account.cost_center ?? ''].join(' ');
}

export default function ServiceAccountsPage() {
  const { can, me } = useSession();
  const client = useQueryClient();
  const accounts = useServiceAccounts();
  const groups = useGroups(can.isAdmin && can.manageServiceAccounts);
  const paged = usePaged(accounts.data?.items ?? [], searchText);
  const [editing, setEditing] = useState<ServiceAccountRead | 'new' | null>(null);
  const [deleting, setDeleting] = useState<ServiceAccountRead | null>(null);

  /** Where the caller may put a service account: any group for an admin, their own for a group admin. */
  const groupChoices = can.isAdmin ? (groups.data?.items ?? []).map((group) => group.name) : me.admin_of;
  const manages = (account: ServiceAccountRead) =>
    can.manageServiceAccounts && (can.isAdmin || me.admin_of.includes(account.group));

  const setStatus = useMutation({
    mutationFn: ({ account, status }: { account: ServiceAccountRead; status: ServiceAccountRead['status'] }) =>
      unwrap(
        api.PUT('/api/v1/service-accounts/{name}', {
          params: { path: { name: account.name } },
          body: accountSpec(account, { status }),
        }),
      ),
    onSettled: () => refreshDirectory(client),
  });

  const createButton = can.manageServiceAccounts ? (
    <Button variant="primary" onClick={() => setEditing('new')} isDisabled={can.isAdmin && !groups.isSuccess}>
      Create service account
    </Button>
  ) : undefined;

  let body;
  if (accounts.isPending) body = <LoadingState label="Loading service accounts" />;
  else if (accounts.isError) body = <ErrorState error={accounts.error} onRetry={() => void accounts.refetch()} />;
  else if (accounts.data.items.length === 0) {
    body = (
      <EmptyList
        title="No service accounts yet"
        body={
          can.isAdmin || can.readsEverything
            ? 'Service accounts own the API keys of applications and pipelines, on behalf of a group.'
            : 'None of the groups you administer has a service account yet.'
        }
        action={createButton}
      />
    );
  } else {
    const anyActions = can.manageServiceAccounts;
    const columns = anyActions ? 7 : 6;
    body = (
      <>
        <ListToolbar label="service accounts" paged={paged} placeholder="Name or group" action={createButton} />
        <Table aria-label="Service accounts">
          <Thead>
            <Tr>
              <Th>Name</Th>
              <Th>Group</Th>
              <Th width={30}>Description</Th>
              <Th>Status</Th>
              <Th>Cost center</Th>
              <Th screenReaderText="API keys" />
              {anyActions && <Th screenReaderText="Actions" />}
            </Tr>
          </Thead>
          <Tbody>
            {paged.pageItems.length === 0 && (
              <Tr>
                <Td colSpan={columns}>
                  <NoMatches onClear={() => paged.setSearch('')} />
                </Td>
              </Tr>
            )}
            {paged.pageItems.map((account) => (
              <Tr key={account.name}>
                <Td dataLabel="Name">{account.name}</Td>
                <Td dataLabel="Group">{account.group}</Td>
                <Td dataLabel="Description" modifier="truncate">
                  {account.description || '—'}
                </Td>
                <Td dataLabel="Status">
                  <StatusLabel status={account.status} />
                </Td>
                <Td dataLabel="Cost center">{account.cost_center ?? '—'}</Td>
                <Td dataLabel="API keys">
                  <Link to={keysLink(account.name)}>API keys</Link>
                </Td>
                {anyActions && (
                  <Td isActionCell>
                    {manages(account) && (
                      <RowActions
                        name={account.name}
                        items={[
                          { title: 'Edit', onClick: () => setEditing(account) },
                          account.status === 'active'
                            ? { title: 'Disable', onClick: () => setStatus.mutate({ account, status: 'disabled' }) }
                            : { title: 'Enable', onClick: () => setStatus.mutate({ account, status: 'active' }) },
                          { isSeparator: true },
                          { title: 'Delete service account', isDanger: true, onClick: () => setDeleting(account) },
                        ]}
                      />
                    )}
                  </Td>
                )}
              </Tr>
            ))}
          </Tbody>
        </Table>
        <BottomPagination label="service accounts" paged={paged} />
      </>
    );
  }

  return (
    <>
      <PageSection>
        <Title headingLevel="h1">Service accounts</Title>
        <Content component="p">Applications and pipelines that own API keys, each on behalf of one group.</Content>
      </PageSection>
      <PageSection>
        <Stack hasGutter>
          {setStatus.isError && (
          <Alert
            variant="danger"
            isInline
            title={messageOf(setStatus.error)}
            actionClose={<AlertActionCloseButton onClose={() => setStatus.reset()} />}
          />
        )}
          {body}
        </Stack>
      </PageSection>
      {editing !== null && (
        <ServiceAccountFormModal
          account={editing === 'new' ? undefined : editing}
          groupNames={groupChoices}
          onClose={() => setEditing(null)}
        />
      )}
      {deleting && (
        <ConfirmDeleteModal
          title="Delete service account?"
          name={deleting.name}
          confirmLabel="Delete service account"
          onConfirm={async () => {
            await unwrap(api.DELETE('/api/v1/service-accounts/{name}', { params: { path: { name: deleting.name } } }));
            await refreshDirectory(client);
          }}
          onClose={() => setDeleting(null)}
        >
          Deleting <strong>{deleting.name}</strong> revokes every API key it owns: applications using them stop working
          at once. This cannot be undone.
        </ConfirmDeleteModal>
      )}
    </>
  );
}
