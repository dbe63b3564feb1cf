// My usage (/usage): the caller's own calls — a user's, whatever groups they administer. The
// bootstrap admin (signed in with the admin token) makes no calls of their own.
import { Button, Content, PageSection, Title } from '@patternfly/react-core';


import { useSession } from '../app/session';
import { EmptyList } from '../components/states';
import { MY_DIMENSIONS } from './dimensions';
import { UsageDashboard } from './UsageDashboard';
import { RouterLink } from '../components/RouterLink';

export default function MyUsagePage() {
  const { me, can } = useSession();
  const tokenAdmin = me.actor === 'admin:bootstrap'; // the admin token is nobody: it has no usage of its own
  return (
    <>
      <PageSection>
        <Title headingLevel="h1">My usage</Title>
        <Content component="p">Your calls through the gateway: requests, tokens, cost and latency, by model or API key.</Content>
      </PageSection>
      {tokenAdmin ? (
        <PageSection>
          <EmptyList
            title="No personal usage"
            body="You are signed in with the admin token, which makes no calls of its own: calls are made with API keys of users, groups and service accounts. Their usage is on Organization usage."
            action={
              can.seeOrganisation ? (
                <Button variant="primary" component={RouterLink} href="/admin/usage">
                  Organization usage
                </Button>
              ) : undefined
            }
          />
        </PageSection>
      ) : (
        <UsageDashboard dimensions={MY_DIMENSIONS} fixed={{ user: me.name }} showTopConsumers={false} reportBy="model" />
      )}
    </>
  );
}
