import { Button, EmptyState, EmptyStateActions, EmptyStateBody, EmptyStateFooter, PageSection } from '@patternfly/react-core';
import { PathMissingIcon } from '@patternfly/react-icons';

import { RouterLink } from '../components/RouterLink';

/** Unknown pages, and pages the caller's role may not open (they are not told which). */
export function NotFoundPage() {
  return (
    <PageSection>
      <EmptyState titleText="404: This page does not exist" headingLevel="h1" icon={PathMissingIcon}>
        <EmptyStateBody>The address may be mistyped, or the page is not available to you.</EmptyStateBody>
        <EmptyStateFooter>
          <EmptyStateActions>
            <Button variant="primary" component={RouterLink} href="/">
              Go to the home page
            </Button>
          </EmptyStateActions>
        </EmptyStateFooter>
      </EmptyState>
    </PageSection>
  );
}
