// The toolbar above a directory list: a search box, the page's primary action and pagination,
// with the paging done here (the directory lists come whole from the API).
import {
  Button,
  EmptyState,
  EmptyStateActions,
  EmptyStateBody,
  EmptyStateFooter,
  Pagination,
  type PaginationProps,
  SearchInput,
  Toolbar,
  ToolbarContent,
  ToolbarItem,
} from '@patternfly/react-core';
import { SearchIcon } from '@patternfly/react-icons';
import { type ReactNode, useState } from 'react';

export interface Paged<T> {
  search: string;
  setSearch: (value: string) => void;
  matching: T[];
  pageItems: T[];
  pagination: Pick<PaginationProps, 'itemCount' | 'page' | 'perPage' | 'onSetPage' | 'onPerPageSelect'>;
}

/** The items whose text matches the search, one page of them at a time. */
export function usePaged<T>(items: readonly T[], text: (item: T) => string): Paged<T> {
  const [search, setSearchValue] = useState('');
  const [page, setPage] = useState(1);
  const [perPage, setPerPage] = useState(20);
  const needle = search.trim().toLowerCase();
  const matching = needle ? items.filter((item) => text(item).toLowerCase().includes(needle)) : [...items];
  const lastPage = Math.max(1, Math.ceil(matching.length / perPage));
  const current = Math.min(page, lastPage);
  return {
    search,
    setSearch: (value) => {
      setSearchValue(value);
      setPage(1);
    },
    matching,
    pageItems: matching.slice((current - 1) * perPage, current * perPage),
    pagination: {
      itemCount: matching.length,
      page: current,
      perPage,
      onSetPage: (_event, next) => setPage(next),
      onPerPageSelect: (_event, next) => {
        setPerPage(next);
        setPage(1);
      },
    },
  };
}

export function ListToolbar<T>({
  label,
  paged,
  placeholder,
  action,
}: {
  /** e.g. "users": names the search box and the pagination. */
  label: string;
  paged: Paged<T>;
  placeholder: string;
  action?: ReactNode;
}) {
  return (
    <Toolbar>
      <ToolbarContent>
        <ToolbarItem>
          <SearchInput
            aria-label={`Search ${label}`}
            placeholder={placeholder}
            value={paged.search}
            onChange={(_event, value) => paged.setSearch(value)}
            onClear={() => paged.setSearch('')}
          />
        </ToolbarItem>
        {action && <ToolbarItem>{action}</ToolbarItem>}
        <ToolbarItem variant="pagination" align={{ default: 'alignEnd' }}>
          <Pagination {...paged.pagination} isCompact titles={{ paginationAriaLabel: `${label} pagination` }} />
        </ToolbarItem>
      </ToolbarContent>
    </Toolbar>
  );
}

export function BottomPagination<T>({ label, paged }: { label: string; paged: Paged<T> }) {
  return (
    <Pagination {...paged.pagination} variant="bottom" titles={{ paginationAriaLabel: `${label} bottom pagination` }} />
  );
}

/** Inside a table whose search matched nothing. */
export function NoMatches({ onClear }: { onClear: () => void }) {
  return (
    <EmptyState titleText="No results found" headingLevel="h2" icon={SearchIcon}>
      <EmptyStateBody>Nothing matches the search. Change or clear it to see more.</EmptyStateBody>
      <EmptyStateFooter>
        <EmptyStateActions>
          <Button variant="link" onClick={onClear}>
            Clear search
          </Button>
        </EmptyStateActions>
      </EmptyStateFooter>
    </EmptyState>
  );
}
