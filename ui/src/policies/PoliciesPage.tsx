// /settings/policies: the tiers — who may use which models, and how much. Admins create, edit and
// delete them; auditors read them all; everyone else reads the policies that apply to them.
import {
  Button,
  Content,
  MenuToggle,
  PageSection,
  Pagination,
  SearchInput,
  Select,
  SelectList,
  SelectOption,
  Title,
  Toolbar,
  ToolbarContent,
  ToolbarFilter,
  ToolbarGroup,
  ToolbarItem,
} from '@patternfly/react-core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';

import { useSession } from '../app/session';
import { ConfirmDeleteModal } from '../components/ConfirmDeleteModal';
import { EmptyList, ErrorState, LoadingState } from '../components/states';
import { PolicyModal } from './PolicyModal';
import { PolicyTable } from './PolicyTable';
import { deletePolicy, listPolicies, POLICIES } from './queries';
import type { Policy } from './rules';

type StatusFilter = Policy['status'];
const STATUS_NAMES: Record<StatusFilter, string> = { active: 'Active', inactive: 'Inactive' };

function matches(policy: Policy, text: string, statuses: StatusFilter[]): boolean {
  const query = text.trim().toLowerCase();
  const found =
    !query ||
    [policy.name, policy.displayName ?? '', policy.description].some((field) => field.toLowerCase().includes(query));
  return found && (statuses.length === 0 || statuses.includes(policy.status));
}

function StatusSelect({ chosen, onChange }: { chosen: StatusFilter[]; onChange: (chosen: StatusFilter[]) => void }) {
  const [isOpen, setIsOpen] = useState(false);
  return (
    <Select
      isOpen={isOpen}
      selected={chosen}
      onSelect={(_event, value) => {
        const status = value as StatusFilter;
        onChange(chosen.includes(status) ? chosen.filter((item) => item !== status) : [...chosen, status]);
      }}
      onOpenChange={setIsOpen}
      toggle={(ref) => (
        <MenuToggle ref={ref} onClick={() => setIsOpen(!isOpen)} isExpanded={isOpen} aria-label="Filter by status">
          Status
        </MenuToggle>
      )}
    >
      <SelectList>
        {(Object.keys(STATUS_NAMES) as StatusFilter[]).map((status) => (
          <SelectOption key={status} value={status} hasCheckbox isSelected={chosen.includes(status)}>
            {STATUS_NAMES[status]}
          </SelectOption>
        ))}
      </SelectList>
    </Select>
  );
}

export default function PoliciesPage() {
  const { can } = useSession();
  const queryClient = useQueryClient();
  const policies = useQuery({ queryKey: POLICIES, queryFn: listPolicies });
  const [search, setSearch] = useState('');
  const [statuses, setStatuses] = useState<StatusFilter[]>([]);
  const [page, setPage] = useState(1);
  const [perPage, setPerPage] = useState(20);
  const [editing, setEditing] = useState<Policy | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Policy | null>(null);
  const remove = useMutation({
    mutationFn: (name: string) => deletePolicy(name),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: POLICIES }),
  });

  const all = useMemo(() => policies.data?.items ?? [], [policies.data]);
  const shown = useMemo(() => all.filter((policy) => matches(policy, search, statuses)), [all, search, statuses]);
  const pageItems = shown.slice((page - 1) * perPage, page * perPage);
  const clear = () => {
    setSearch('');
    setStatuses([]);
    setPage(1);
  };

  const createButton = can.managePolicies ? (
    <Button variant="primary" onClick={() => setEditing('new')}>
      Create policy
    </Button>
  ) : undefined;

  let body;
  if (policies.isPending) body = <LoadingState label="Loading policies" />;
  else if (policies.isError) body = <ErrorState error={policies.error} onRetry={() => void policies.refetch()} />;
  else if (all.length === 0) {
    body = can.readsEverything ? (
      <EmptyList
        title="No policies yet"
        body="A policy sets who may use which models, and how much: token and request limits, a budget, hours."
        action={createButton}
      />
    ) : (
      <EmptyList
        title="No policy applies to you"
        body="Your calls are limited only by your keys' own limits and the models' capacity. Ask an administrator for a tier."
      />
    );
  } else {
    const pagination = (variant: 'top' | 'bottom') => (
      <Pagination
        itemCount={shown.length}
        page={page}
        perPage={perPage}
        onSetPage={(_event, next) => setPage(next)}
        onPerPageSelect={(_event, next) => {
          setPerPage(next);
          setPage(1);
        }}
        variant={variant}
        isCompact={variant === 'top'}
        titles={{ paginationAriaLabel: `Policies pagination (${variant})` }}
      />
    );
    body = (
      <>
        <Toolbar clearAllFilters={clear} aria-label="Policy filters">
          <ToolbarContent>
            <ToolbarGroup variant="filter-group">
              <ToolbarItem>
                <SearchInput
                  aria-label="Search policies"
                  placeholder="Find by name or description"
                  value={search}
                  onChange={(_event, value) => {
                    setSearch(value);
                    setPage(1);
                  }}
                  onClear={() => setSearch('')}
                />
              </ToolbarItem>
              <ToolbarFilter
                labels={statuses.map((status) => ({ key: status, node: STATUS_NAMES[status] }))}
                deleteLabel={(_category, label) =>
                  setStatuses(statuses.filter((status) => status !== (typeof label === 'string' ? label : label.key)))
                }
                deleteLabelGroup={() => setStatuses([])}
                categoryName="Status"
              >
                <StatusSelect
                  chosen={statuses}
                  onChange={(next) => {
                    setStatuses(next);
                    setPage(1);
                  }}
                />
              </ToolbarFilter>
            </ToolbarGroup>
            {createButton && <ToolbarItem>{createButton}</ToolbarItem>}
            <ToolbarItem variant="pagination" align={{ default: 'alignEnd' }}>
              {pagination('top')}
            </ToolbarItem>
          </ToolbarContent>
        </Toolbar>
        {shown.length === 0 ? (
          <EmptyList
            title="No policies match"
            body="No policy matches the filters."
            action={
              <Button variant="link" onClick={clear}>
                Clear all filters
              </Button>
            }
          />
        ) : (
          <>
            <PolicyTable
              policies={pageItems}
              onEdit={can.managePolicies ? setEditing : undefined}
              onDelete={can.managePolicies ? setDeleting : undefined}
            />
            {pagination('bottom')}
          </>
        )}
      </>
    );
  }

  return (
    <>
      <PageSection>
        <Title headingLevel="h1">Policies</Title>
        <Content component="p">
          {can.readsEverything
            ? 'Tiers: who may use which models, and how much — token and request limits, budgets and hours.'
            : 'The policies that apply to you: which models you may use, and how much.'}
        </Content>
      </PageSection>
      <PageSection>{body}</PageSection>
      {editing !== null && (
        <PolicyModal policy={editing === 'new' ? undefined : editing} onClose={() => setEditing(null)} />
      )}
      {deleting !== null && (
        <ConfirmDeleteModal
          title="Delete policy?"
          name={deleting.name}
          onConfirm={() => remove.mutateAsync(deleting.name)}
          onClose={() => setDeleting(null)}
        >
          The policy <strong>{deleting.name}</strong> will be deleted: its limits, budget and hours stop applying to its
          targets at once, and the models it alone grants become unavailable to them.
        </ConfirmDeleteModal>
      )}
    </>
  );
}
