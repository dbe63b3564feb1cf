// /settings/groups: the groups the caller may see, their members and admins. Admins create, edit
// and delete groups; everyone else here reads.
import { Button, Content, Label, PageSection, Title } from '@patternfly/react-core';
import { ExpandableRowContent, Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';

import { api, unwrap } from '../api/client';
import { useSession } from '../app/session';
import { ConfirmDeleteModal } from '../components/ConfirmDeleteModal';
import { formatNumber } from '../components/format';
import { EmptyList, ErrorState, LoadingState } from '../components/states';
import { type GroupRead, membersOf, refreshDirectory, useGroups, useUsers } from './directory';
import { GroupDetails } from './GroupDetails';
import { GroupFormModal } from './GroupFormModal';
import { BottomPagination, ListToolbar, NoMatches, usePaged } from './ListToolbar';
import { RowActions } from './RowActions';

function searchText(group: GroupRead): string {
  return [group.name, group.description, group.cost_center ?? '', ...(group.admins ?? [])].join(' ');
}

function SourceLabel({ source }: { source: string }) {
  if (source === 'oidc') {
    return (
      <Label color="blue" isCompact>
        OIDC
      </Label>
    );
  }
  return <Label isCompact>{source === 'local' ? 'Local' : source}</Label>;
}

export default function GroupsPage() {
  const { can, me } = useSession();
  const client = useQueryClient();
  const groups = useGroups();
  const users = useUsers();
  const paged = usePaged(groups.data?.items ?? [], searchText);
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const [editing, setEditing] = useState<GroupRead | 'new' | null>(null);
  const [deleting, setDeleting] = useState<GroupRead | null>(null);
  const allUsers = users.data?.items ?? [];

  /** Members as far as the caller may see them: all for admins and auditors, their own groups' for a group admin. */
  const members = (group: string): string[] | null =>
    users.isSuccess && (can.readsEverything || me.admin_of.includes(group)) ? membersOf(group, allUsers) : null;

  const toggle = (name: string) =>
    setExpanded((current) => {
      const next = new Set(current);
      if (next.has(name)) next.delete(name);
      else next.add(name);
      return next;
    });

  const createButton = can.manageDirectory ? (
    <Button variant="primary" onClick={() => setEditing('new')} isDisabled={!users.isSuccess}>
      Create group
    </Button>
  ) : undefined;

  let body;
  if (groups.isPending) body = <LoadingState label="Loading groups" />;
  else if (groups.isError) body = <ErrorState error={groups.error} onRetry={() => void groups.refetch()} />;
  else if (groups.data.items.length === 0) {
    body = (
      <EmptyList
        title="No groups yet"
        body="Groups come from the identity provider when their members sign in, or an admin creates them. Policies and service accounts are given to groups."
        action={createButton}
      />
    );
  } else {
    const columns = can.manageDirectory ? 7 : 6;
    body = (
      <>
        <ListToolbar label="groups" paged={paged} placeholder="Name or admin" action={createButton} />
        <Table aria-label="Groups" isExpandable>
          <Thead>
            <Tr>
              <Th screenReaderText="Row expansion" />
              <Th>Name</Th>
              <Th>Source</Th>
              <Th>Members</Th>
              <Th>Admins</Th>
              <Th>Cost center</Th>
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
          {paged.pageItems.map((group, rowIndex) => {
            const isExpanded = expanded.has(group.name);
            const known = members(group.name);
            return (
              <Tbody key={group.name} isExpanded={isExpanded}>
                <Tr isContentExpanded={isExpanded}>
                  <Td expand={{ rowIndex, isExpanded, onToggle: () => toggle(group.name), expandId: 'group-row' }} />
                  <Td dataLabel="Name">{group.name}</Td>
                  <Td dataLabel="Source">
                    <SourceLabel source={group.source} />
                  </Td>
                  <Td dataLabel="Members">{known === null ? '—' : formatNumber(known.length)}</Td>
                  <Td dataLabel="Admins">{(group.admins ?? []).join(', ') || '—'}</Td>
                  <Td dataLabel="Cost center">{group.cost_center ?? '—'}</Td>
                  {can.manageDirectory && (
                    <Td isActionCell>
                      <RowActions
                        name={group.name}
                        items={[
                          { title: 'Edit', onClick: () => setEditing(group), isDisabled: !users.isSuccess },
                          { isSeparator: true },
                          { title: 'Delete group', isDanger: true, onClick: () => setDeleting(group) },
                        ]}
                      />
                    </Td>
                  )}
                </Tr>
                <Tr isExpanded={isExpanded}>
                  <Td />
                  <Td colSpan={columns - 1}>
                    <ExpandableRowContent>{isExpanded && <GroupDetails group={group} members={known} />}</ExpandableRowContent>
                  </Td>
                </Tr>
              </Tbody>
            );
          })}
        </Table>
        <BottomPagination label="groups" paged={paged} />
      </>
    );
  }

  return (
    <>
      <PageSection>
        <Title headingLevel="h1">Groups</Title>
        <Content component="p">
          Policies apply to a group&apos;s members; its admins manage its service accounts and keys.
        </Content>
      </PageSection>
      <PageSection>{body}</PageSection>
      {editing !== null && (
        <GroupFormModal group={editing === 'new' ? undefined : editing} users={allUsers} onClose={() => setEditing(null)} />
      )}
      {deleting && (
        <ConfirmDeleteModal
          title="Delete group?"
          name={deleting.name}
          confirmLabel="Delete group"
          onConfirm={async () => {
            await unwrap(api.DELETE('/api/v1/groups/{name}', { params: { path: { name: deleting.name } } }));
            await refreshDirectory(client);
          }}
          onClose={() => setDeleting(null)}
        >
          Deleting <strong>{deleting.name}</strong> revokes every API key the group owns and removes it from its
          members and policies. A group that still has service accounts cannot be deleted. This cannot be undone.
        </ConfirmDeleteModal>
      )}
    </>
  );
}
