// The API keys toolbar: find by name, filter by status and owner (the API's query parameters), the
// primary action, and cursor paging (the API pages by cursor, so there is no page count).
import {
  HelperText,
  HelperTextItem,
  MenuToggle,
  Pagination,
  SearchInput,
  Select,
  SelectList,
  SelectOption,
  Toolbar,
  ToolbarContent,
  ToolbarFilter,
  ToolbarGroup,
  ToolbarItem,
  ToolbarToggleGroup,
} from '@patternfly/react-core';
import { FilterIcon } from '@patternfly/react-icons';
import { type ReactNode, useState } from 'react';

import { type KeyStatus, ownerQuery } from './keyFields';

export interface KeyFilterValues {
  name: string;
  status: KeyStatus | '';
  /** As the API takes it: "user:alice", "group:ml", "serviceaccount:ci". */
  owner: string;
}

export const NO_FILTERS: KeyFilterValues = { name: '', status: '', owner: '' };

export const STATUSES: { value: KeyStatus; label: string }[] = [
  { value: 'active', label: 'Active' },
  { value: 'expired', label: 'Expired' },
  { value: 'disabled', label: 'Disabled' },
  { value: 'revoked', label: 'Revoked' },
];

export interface Paging {
  page: number;
  perPage: number;
  /** Keys on this page. */
  shown: number;
  hasNext: boolean;
  onNext: () => void;
  onPrevious: () => void;
  onPerPage: (perPage: number) => void;
}

interface Props {
  filters: KeyFilterValues;
  onFilters: (filters: KeyFilterValues) => void;
  paging: Paging;
  action?: ReactNode;
}

function StatusSelect({ value, onChange }: { value: KeyStatus | ''; onChange: (status: KeyStatus | '') => void }) {
  const [isOpen, setIsOpen] = useState(false);
  return (
    <Select
      isOpen={isOpen}
      selected={value}
      onSelect={(_event, selected) => {
        onChange(selected === value ? '' : (selected as KeyStatus));
        setIsOpen(false);
      }}
      onOpenChange={setIsOpen}
      toggle={(toggleRef) => (
        <MenuToggle ref={toggleRef} onClick={() => setIsOpen(!isOpen)} isExpanded={isOpen} aria-label="Filter by status">
          Status
        </MenuToggle>
      )}
    >
      <SelectList aria-label="Statuses">
        {STATUSES.map((status) => (
          <SelectOption key={status.value} value={status.value} isSelected={status.value === value}>
            {status.label}
          </SelectOption>
        ))}
      </SelectList>
    </Select>
  );
}

function statusLabel(status: KeyStatus | ''): string[] {
  const found = STATUSES.find((entry) => entry.value === status);
  return found ? [found.label] : [];
}

export function KeyFilters({ filters, onFilters, paging, action }: Props) {
  const [name, setName] = useState(filters.name);
  const [owner, setOwner] = useState(filters.owner);
  const [ownerInvalid, setOwnerInvalid] = useState(false);

  const applyOwner = (text: string) => {
    const query = ownerQuery(text);
    setOwnerInvalid(query === null);
    if (query !== null) {
      setOwner(query);
      onFilters({ ...filters, owner: query });
    }
  };
  const clearAll = () => {
    setName('');
    setOwner('');
    setOwnerInvalid(false);
    onFilters(NO_FILTERS);
  };
  const { page, perPage, shown, hasNext } = paging;
  const first = shown === 0 ? 0 : (page - 1) * perPage + 1;
  // The API tells only whether there is a next page: one more page is "known" while there is.
  const itemCount = hasNext ? page * perPage + 1 : (page - 1) * perPage + shown;

  return (
    <Toolbar aria-label="API key filters" clearAllFilters={clearAll} collapseListedFiltersBreakpoint="xl">
      <ToolbarContent>
        <ToolbarToggleGroup toggleIcon={<FilterIcon />} breakpoint="lg">
          <ToolbarFilter
            labels={filters.name ? [filters.name] : []}
            deleteLabel={() => {
              setName('');
              onFilters({ ...filters, name: '' });
            }}
            categoryName="Name"
          >
            <SearchInput
              aria-label="Find by name"
              placeholder="Find by exact name"
              value={name}
              onChange={(_event, value) => setName(value)}
              onSearch={(_event, value) => onFilters({ ...filters, name: value.trim() })}
              onClear={() => {
                setName('');
                onFilters({ ...filters, name: '' });
              }}
            />
          </ToolbarFilter>
          <ToolbarGroup variant="filter-group">
            <ToolbarFilter
              labels={statusLabel(filters.status)}
              deleteLabel={() => onFilters({ ...filters, status: '' })}
              categoryName="Status"
            >
              <StatusSelect value={filters.status} onChange={(status) => onFilters({ ...filters, status })} />
            </ToolbarFilter>
            <ToolbarFilter
              labels={filters.owner ? [filters.owner] : []}
              deleteLabel={() => {
                setOwner('');
                setOwnerInvalid(false);
                onFilters({ ...filters, owner: '' });
              }}
              categoryName="Owner"
            >
              <div>
                <SearchInput
                  aria-label="Filter by owner"
                  placeholder="Owner: alice, group:ml…"
                  value={owner}
                  onChange={(_event, value) => {
                    setOwner(value);
                    setOwnerInvalid(false);
                  }}
                  onSearch={(_event, value) => applyOwner(value)}
                  onClear={() => applyOwner('')}
                />
                {ownerInvalid && (
                  <HelperText>
                    <HelperTextItem variant="error">Use alice, group:NAME or serviceaccount:NAME.</HelperTextItem>
                  </HelperText>
                )}
              </div>
            </ToolbarFilter>
          </ToolbarGroup>
        </ToolbarToggleGroup>
        {action && <ToolbarItem>{action}</ToolbarItem>}
        <ToolbarItem variant="pagination" align={{ default: 'alignEnd' }}>
          <Pagination
            isCompact
            widgetId="api-keys-pagination"
            page={page}
            perPage={perPage}
            itemCount={itemCount}
            perPageOptions={[10, 20, 50, 100].map((value) => ({ title: String(value), value }))}
            toggleTemplate={() => (
              <>
                <b>
                  {first} - {first === 0 ? 0 : first + shown - 1}
                </b>
                {hasNext ? ' of many' : ` of ${itemCount}`}
              </>
            )}
            onNextClick={() => paging.onNext()}
            onPreviousClick={() => paging.onPrevious()}
            onPerPageSelect={(_event, value) => paging.onPerPage(value)}
          />
        </ToolbarItem>
      </ToolbarContent>
    </Toolbar>
  );
}
