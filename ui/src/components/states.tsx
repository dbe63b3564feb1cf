// Loading, error and empty states, the same on every page (PatternFly's EmptyState and Spinner).
import {
  Bullseye,
  Button,
  EmptyState,
  EmptyStateActions,
  EmptyStateBody,
  EmptyStateFooter,
  Spinner,
} from '@patternfly/react-core';
import { ExclamationCircleIcon, SearchIcon } from '@patternfly/react-icons';
import type { ReactNode } from 'react';

import { messageOf } from '../api/errors';

export function LoadingState({ label = 'Loading' }: { label?: string }) {
  return (
    <Bullseye style={{ minHeight: '12rem' }}>
      <Spinner size="xl" aria-label={label} />
    </Bullseye>
  );
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  return (
    <EmptyState titleText="Something went wrong" headingLevel="h2" icon={ExclamationCircleIcon} status="danger">
      <EmptyStateBody>{messageOf(error)}</EmptyStateBody>
      {onRetry && (
        <EmptyStateFooter>
          <EmptyStateActions>
            <Button variant="primary" onClick={onRetry}>
              Try again
            </Button>
          </EmptyStateActions>
        </EmptyStateFooter>
      )}
    </EmptyState>
  );
}

/** An empty list: what is missing and, where the caller may act, the primary action. */
export function EmptyList({ title, body, action }: { title: string; body: ReactNode; action?: ReactNode }) {
  return (
    <EmptyState titleText={title} headingLevel="h2" icon={SearchIcon}>
      <EmptyStateBody>{body}</EmptyStateBody>
      {action && (
        <EmptyStateFooter>
          <EmptyStateActions>{action}</EmptyStateActions>
        </EmptyStateFooter>
      )}
    </EmptyState>
  );
}
