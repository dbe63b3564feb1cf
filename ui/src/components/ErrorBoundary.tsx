// A page that throws while rendering, or whose code cannot be loaded (a new version was deployed while
// the tab was open), shows an error with a reload instead of a blank console.
import { Button, EmptyState, EmptyStateActions, EmptyStateBody, EmptyStateFooter, PageSection } from '@patternfly/react-core';
import { ExclamationCircleIcon } from '@patternfly/react-icons';
import { Component, type ErrorInfo, type ReactNode } from 'react';

interface Props {
  children: ReactNode;
  /** Leaving the failed page (a new value) clears the error. */
  resetKey: string;
}

interface State {
  error: Error | null;
}

export class ErrorBoundary extends Component<Props, State> {
  override state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error('the page failed', error, info.componentStack);
  }

  override componentDidUpdate(previous: Props): void {
    if (this.state.error !== null && previous.resetKey !== this.props.resetKey) this.setState({ error: null });
  }

  override render() {
    if (this.state.error === null) return this.props.children;
    const loading = /dynamically imported module|Failed to fetch|Importing a module script failed/i.test(this.state.error.message);
    return (
      <PageSection>
        <EmptyState titleText="This page could not be shown" headingLevel="h1" icon={ExclamationCircleIcon} status="danger">
          <EmptyStateBody>
            {loading
              ? 'Headwater may have been updated since this tab was opened. Reload to get the new version.'
              : this.state.error.message}
          </EmptyStateBody>
          <EmptyStateFooter>
            <EmptyStateActions>
              <Button variant="primary" onClick={() => window.location.reload()}>
                Reload
              </Button>
            </EmptyStateActions>
          </EmptyStateFooter>
        </EmptyState>
      </PageSection>
    );
  }
}
