// /settings/users: everyone the caller may see (admins and auditors all, a group admin themself and
// their groups' members, as the API answers). Admins add, edit, disable, enable and delete users.
import { Alert, AlertActionCloseButton, Button, Content, Label, LabelGroup, PageSection, Stack, Title } from '@patternfly/react-core';
import { ExpandableRowContent, Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';

import { messageOf } from '../api/errors';
import { useSession } from '../app/session';
import { ConfirmDeleteModal } from '../components/ConfirmDeleteModal';
import { EmptyList, ErrorState, LoadingState } from '../components/states';
import { api, unwrap } from '../api/client';
import { putUser, refreshDirectory, useGroups, type UserRead, userSpec, useUsers } from './directory';
import { BottomPagination, ListToolbar, NoMatches, usePaged } from './ListToolbar';
import { RowActions } from './RowActions';
import { StatusLabel } from './StatusLabel';
import { UserDetails } from './UserDetails';
import { UserFormModal } from './UserFormModal';

const ROLES: Record<string, string> = { admin: 'Administrator', auditor: 'Auditor', user: 'User' };

function searchText(user: UserRead): string {
  return [user.name, user.email ?? '', user.display_name ?? '', ...(user.groups ?? []), user.cost_center ?? ''].join(' ');
}

export default function UsersPage() {
  const { can } = useSession();
  const client = useQueryClient();
  const users = useUsers();
  const groups = useGroups(can.manageDirectory);
  const paged = usePaged(users.data?.items ?? [], searchText);
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const [editing, setEditing] = useState<UserRead | 'new' | null>(null);
  const [deleting, setDeleting] = useState<UserRead | null>(null);

  const setStatus = useMutation({
    mutationFn: ({ user, status }: { user: UserRead; status: UserRead['status'] }) =>
      putUser(user.name, userSpec(user, { status })),
    onSettled: () => refreshDirectory(client),
  });

  const toggle = (name: string) =>
    setExpanded((current) => {
      const next = new Set(current);
      if (next.has(name)) next.delete(name);
      else next.add(name);
      return next;
    });

  const addButton = can.manageDirectory ? (
    <Button variant="primary" onClick={() => setEditing('new')}>
      Add user
    </Button>
  ) : undefined;

  let body;
  if (users.isPending) body = <LoadingState label="Loading users" />;
  else if (users.isError) body = <ErrorState error={users.error} onRetry={() => void users.refetch()} />;
  else if (users.data.items.length === 0) {
    body = (
      <EmptyList
        title="No users yet"
        body="Users appear here when they first sign in through the identity provider, or when an admin adds them."
        action={addButton}
      />
    );
  } else {
    const columns = can.manageDirectory ? 8 : 7;
    body = (
      <>
        <ListToolbar label="users" paged={paged} placeholder="Name, email or group" action={addButton} />
        <Table aria-label="Users" isExpandable>
          <Thead>
            <Tr>
              <Th screenReaderText="Row expansion" />
              <Th>Name</Th>
              <Th>Email</Th>
              <Th>Role</Th>
              <Th>Groups</Th>
              <Th>Cost center</Th>
              <Th>Status</Th>
              {can.manageDirectory && <Th screenReaderText="Actions" />}
            </Tr>
          </Thead>
          {paged.pageItems.length === 0 && (
            <Tbody>
              <Tr>
                <Td colSpan={columns}>
                  <NoMatches onClear={() => paged.setSearch('')} />
                </Td>
              </Tr>
            </Tbody>
          )}
          {paged.pageItems.map((user, rowIndex) => {
            const isExpanded = expanded.has(user.name);
            return (
              <Tbody key={user.name} isExpanded={isExpanded}>
                <Tr isContentExpanded={isExpanded}>
                  <Td expand={{ rowIndex, isExpanded, onToggle: () => toggle(user.name), expandId: 'user-row' }} />
                  <Td dataLabel="Name">
                    <div>{user.name}</div>
                    {user.display_name && <Content component="small">{user.display_name}</Content>}
                  </Td>
                  <Td dataLabel="Email">{user.email ?? '—'}</Td>
                  <Td dataLabel="Role">{ROLES[user.role] ?? user.role}</Td>
                  <Td dataLabel="Groups">
                    {(user.groups ?? []).length === 0 ? (
                      '—'
                    ) : (
                      <LabelGroup aria-label={`Groups of ${user.name}`} numLabels={3}>
                        {(user.groups ?? []).map((group) => (
                          <Label key={group} isCompact>
                            {group}
                          </Label>
                        ))}
                      </LabelGroup>
                    )}
                  </Td>
                  <Td dataLabel="Cost center">{user.cost_center ?? '—'}</Td>
                  <Td dataLabel="Status">
                    <StatusLabel status={user.status} />
                  </Td>
                  {can.manageDirectory && (
                    <Td isActionCell>
                      <RowActions
                        name={user.name}
                        items={[
                          { title: 'Edit', onClick: () => setEditing(user) },
                          user.status === 'active'
                            ? { title: 'Disable', onClick: () => setStatus.mutate({ user, status: 'disabled' }) }
                            : { title: 'Enable', onClick: () => setStatus.mutate({ user, status: 'active' }) },
                          { isSeparator: true },
                          { title: 'Delete user', isDanger: true, onClick: () => setDeleting(user) },
                        ]}
                      />
                    </Td>
                  )}
                </Tr>
                <Tr isExpanded={isExpanded}>
                  <Td />
                  <Td colSpan={columns - 1}>
                    <ExpandableRowContent>{isExpanded && <UserDetails user={user} />}</ExpandableRowContent>
                  </Td>
                </Tr>
              </Tbody>
            );
          })}
        </Table>
        <BottomPagination label="users" paged={paged} />
      </>
    );
  }

  return (
    <>
      <PageSection>
        <Title headingLevel="h1">Users</Title>
        <Content component="p">
          The people who own API keys. Roles come from the identity provider; membership of a group makes its policies
          apply.
        </Content>
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
        <UserFormModal
          user={editing === 'new' ? undefined : editing}
          groupNames={(groups.data?.items ?? []).map((group) => group.name)}
          onClose={() => setEditing(null)}
        />
      )}
      {deleting && (
        <ConfirmDeleteModal
          title="Delete user?"
          name={deleting.name}
          confirmLabel="Delete user"
          onConfirm={async () => {
            await unwrap(api.DELETE('/api/v1/users/{name}', { params: { path: { name: deleting.name } } }));
            await refreshDirectory(client);
          }}
          onClose={() => setDeleting(null)}
        >
          Deleting <strong>{deleting.name}</strong> revokes every API key they own and removes them from the admins of
          their groups. Their past usage stays in the reports. This cannot be undone.
        </ConfirmDeleteModal>
      )}
    </>
  );
}
