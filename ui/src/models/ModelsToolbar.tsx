// The catalog's toolbar: search by name, filter by kind, "Add asset" (admins) and paging.
import {
  Badge,
  Button,
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
} from '@patternfly/react-core';
import { FilterIcon } from '@patternfly/react-icons';
import { useState } from 'react';

import { KINDS, kindLabel, type ModelKind } from './model';

export interface ModelFilters {
  search: string;
  kinds: ModelKind[];
}

export interface Paging {
  page: number;
  perPage: number;
  count: number;
  onPage: (page: number) => void;
  onPerPage: (perPage: number) => void;
}

export interface ModelsToolbarProps {
  filters: ModelFilters;
  onFilters: (filters: ModelFilters) => void;
  paging: Paging;
  onAdd?: (() => void) | undefined;
}

export function ModelsToolbar({ filters, onFilters, paging, onAdd }: ModelsToolbarProps) {
  const [kindOpen, setKindOpen] = useState(false);
  const toggleKind = (kind: ModelKind) => {
    const kinds = filters.kinds.includes(kind) ? filters.kinds.filter((item) => item !== kind) : [...filters.kinds, kind];
    onFilters({ ...filters, kinds });
  };

  return (
    <Toolbar clearAllFilters={() => onFilters({ search: '', kinds: [] })} aria-label="Models toolbar">
      <ToolbarContent>
        <ToolbarGroup variant="filter-group">
          <ToolbarItem>
            <SearchInput
              aria-label="Search models by name"
              placeholder="Search by name"
              value={filters.search}
              onChange={(_event, search) => onFilters({ ...filters, search })}
              onClear={() => onFilters({ ...filters, search: '' })}
            />
          </ToolbarItem>
          <ToolbarFilter
            categoryName="Kind"
            labels={filters.kinds.map((kind) => ({ key: kind, node: kindLabel(kind) }))}
            deleteLabel={(_category, label) =>
              onFilters({ ...filters, kinds: filters.kinds.filter((kind) => kind !== (typeof label === 'string' ? label : label.key)) })
            }
            deleteLabelGroup={() => onFilters({ ...filters, kinds: [] })}
          >
            <Select
              role="menu"
              isOpen={kindOpen}
              selected={filters.kinds}
              onSelect={(_event, value) => toggleKind(value as ModelKind)}
              onOpenChange={setKindOpen}
              toggle={(toggleRef) => (
                <MenuToggle
                  ref={toggleRef}
                  onClick={() => setKindOpen(!kindOpen)}
                  isExpanded={kindOpen}
                  icon={<FilterIcon />}
                  badge={filters.kinds.length > 0 ? <Badge isRead>{filters.kinds.length}</Badge> : undefined}
                >
                  Kind
                </MenuToggle>
              )}
            >
              <SelectList aria-label="Kind">
                {KINDS.map((kind) => (
                  <SelectOption key={kind.value} value={kind.value} hasCheckbox isSelected={filters.kinds.includes(kind.value)}>
                    {kind.label}
                  </SelectOption>
                ))}
              </SelectList>
            </Select>
          </ToolbarFilter>
        </ToolbarGroup>
        {onAdd && (
          <ToolbarItem>
            <Button variant="primary" onClick={onAdd}>
              Add asset
            </Button>
          </ToolbarItem>
        )}
        <ToolbarItem variant="pagination" align={{ default: 'alignEnd' }}>
          <Pagination
            itemCount={paging.count}
            page={paging.page}
            perPage={paging.perPage}
            onSetPage={(_event, page) => paging.onPage(page)}
            onPerPageSelect={(_event, perPage) => paging.onPerPage(perPage)}
            isCompact
            titles={{ paginationAriaLabel: 'Models pagination' }}
          />
        </ToolbarItem>
      </ToolbarContent>
    </Toolbar>
  );
}
