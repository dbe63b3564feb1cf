// /settings/policies/:policyName(/:tab): one policy, everything the Create policy modal captures;
// Edit and Delete policy for those who may change policies.
import {
  Breadcrumb,
  BreadcrumbItem,
  Button,
  Content,
  Flex,
  FlexItem,
  PageBreadcrumb,
  PageSection,
  Tab,
  TabContentBody,
  Tabs,
  TabTitleText,
  Title,
} from '@patternfly/react-core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';

import { ApiError } from '../api/errors';
import { useSession } from '../app/session';
import { ConfirmDeleteModal } from '../components/ConfirmDeleteModal';
import { EmptyList, ErrorState, LoadingState } from '../components/states';
import { PolicyDescription } from './PolicyDescription';
import { PolicyModal } from './PolicyModal';
import { StatusLabel } from './PolicyTable';
import { deletePolicy, getPolicy, POLICIES, policyKey } from './queries';
import { RouterLink } from '../components/RouterLink';

const LIST = '/settings/policies';

export default function PolicyDetailsPage() {
  const { policyName = '' } = useParams();
  const { can } = useSession();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const policy = useQuery({ queryKey: policyKey(policyName), queryFn: () => getPolicy(policyName) });
  const remove = useMutation({
    mutationFn: () => deletePolicy(policyName),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: POLICIES, exact: true });
      void navigate(LIST);
      queryClient.removeQueries({ queryKey: policyKey(policyName) });
    },
  });

  const breadcrumb = (
    <PageBreadcrumb>
      <Breadcrumb>
        <BreadcrumbItem render={({ className, ariaCurrent }) => (
          <Link className={className} aria-current={ariaCurrent} to={LIST}>
            Policies
          </Link>
        )} />
        <BreadcrumbItem isActive>{policyName}</BreadcrumbItem>
      </Breadcrumb>
    </PageBreadcrumb>
  );

  if (policy.isPending) {
    return (
      <>
        {breadcrumb}
        <PageSection>
          <LoadingState label="Loading policy" />
        </PageSection>
      </>
    );
  }
  if (policy.isError) {
    const missing = policy.error instanceof ApiError && [403, 404].includes(policy.error.status);
    return (
      <>
        {breadcrumb}
        <PageSection>
          <Title headingLevel="h1">{policyName}</Title>
        </PageSection>
        <PageSection>
          {missing ? (
            <EmptyList
              title="Policy not found"
              body={`There is no policy ${policyName} that you may see.`}
              action={
                <Button variant="primary" component={RouterLink} href={LIST}>
                  Back to policies
                </Button>
              }
            />
          ) : (
            <ErrorState error={policy.error} onRetry={() => void policy.refetch()} />
          )}
        </PageSection>
      </>
    );
  }

  const data = policy.data;
  return (
    <>
      {breadcrumb}
      <PageSection>
        <Flex justifyContent={{ default: 'justifyContentSpaceBetween' }} alignItems={{ default: 'alignItemsFlexStart' }}>
          <FlexItem>
            <Flex spaceItems={{ default: 'spaceItemsSm' }} alignItems={{ default: 'alignItemsCenter' }}>
              <Title headingLevel="h1">{data.displayName || data.name}</Title>
              <StatusLabel status={data.status} />
            </Flex>
            {data.displayName && <Content component="small">{data.name}</Content>}
            {data.description && <Content component="p">{data.description}</Content>}
          </FlexItem>
          {can.managePolicies && (
            <FlexItem>
              <Flex spaceItems={{ default: 'spaceItemsSm' }}>
                <Button variant="secondary" onClick={() => setEditing(true)}>
                  Edit
                </Button>
                <Button variant="secondary" isDanger onClick={() => setDeleting(true)}>
                  Delete policy
                </Button>
              </Flex>
            </FlexItem>
          )}
        </Flex>
      </PageSection>
      <PageSection>
        <Tabs
          activeKey="details"
          onSelect={(_event, key) => void navigate(`${LIST}/${encodeURIComponent(policyName)}/${String(key)}`)}
          aria-label="Policy sections"
          mountOnEnter
        >
          <Tab eventKey="details" title={<TabTitleText>Details</TabTitleText>}>
            <TabContentBody hasPadding>
              <PolicyDescription policy={data} />
            </TabContentBody>
          </Tab>
        </Tabs>
      </PageSection>
      {editing && <PolicyModal policy={data} onClose={() => setEditing(false)} />}
      {deleting && (
        <ConfirmDeleteModal
          title="Delete policy?"
          name={data.name}
          onConfirm={() => remove.mutateAsync()}
          onClose={() => setDeleting(false)}
        >
          The policy <strong>{data.name}</strong> will be deleted: its limits, budget and hours stop applying to its
          targets at once, and the models it alone grants become unavailable to them.
        </ConfirmDeleteModal>
      )}
    </>
  );
}
