// /ai-assets/models/:modelName: one model, how to call it, its deployments and their runtime
// (admins and auditors); Edit, Enable/Disable and Delete model for admins.
import {
  Breadcrumb,
  BreadcrumbItem,
  Button,
  Content,
  Flex,
  FlexItem,
  PageBreadcrumb,
  PageSection,
  Stack,
  Title,
} from '@patternfly/react-core';
import { Link, useNavigate, useParams } from 'react-router-dom';

import { ApiError } from '../api/errors';
import { useSession } from '../app/session';
import { EmptyList, ErrorState, LoadingState } from '../components/states';
import { DeploymentsTable } from './DeploymentsTable';
import { ModelDescription } from './ModelDescription';
import { StatusLabel } from './ModelsTable';
import { useModel, useModelRuntime } from './queries';
import { useModelActions } from './useModelActions';
import { RouterLink } from '../components/RouterLink';

const LIST = '/ai-assets/models';

function Breadcrumbs({ name }: { name: string }) {
  return (
    <PageBreadcrumb>
      <Breadcrumb>
        <BreadcrumbItem
          render={({ className, ariaCurrent }) => (
            <Link className={className} aria-current={ariaCurrent} to={LIST}>
              Models
            </Link>
          )}
        />
        <BreadcrumbItem isActive>{name}</BreadcrumbItem>
      </Breadcrumb>
    </PageBreadcrumb>
  );
}

export default function ModelDetailsPage() {
  const { modelName = '' } = useParams();
  const { can } = useSession();
  const navigate = useNavigate();
  const model = useModel(modelName);
  const runtime = useModelRuntime(modelName, can.readsEverything && (model.data?.deployments.length ?? 0) > 0);
  const actions = useModelActions({ onDeleted: () => void navigate(LIST) });

  if (model.isPending || model.isError) {
    const missing = model.error instanceof ApiError && model.error.status === 404;
    return (
      <>
        <Breadcrumbs name={modelName} />
        <PageSection>
          <Title headingLevel="h1">{modelName}</Title>
        </PageSection>
        <PageSection>
          {model.isPending ? (
            <LoadingState label="Loading model" />
          ) : missing ? (
            <EmptyList
              title="Model not found"
              body={`There is no model ${modelName} available to you.`}
              action={
                <Button variant="primary" component={RouterLink} href={LIST}>
                  Back to models
                </Button>
              }
            />
          ) : (
            <ErrorState error={model.error} onRetry={() => void model.refetch()} />
          )}
        </PageSection>
      </>
    );
  }

  const data = model.data;
  return (
    <>
      <Breadcrumbs name={data.name} />
      <PageSection>
        <Flex justifyContent={{ default: 'justifyContentSpaceBetween' }} alignItems={{ default: 'alignItemsFlexStart' }}>
          <FlexItem>
            <Flex spaceItems={{ default: 'spaceItemsSm' }} alignItems={{ default: 'alignItemsCenter' }}>
              <Title headingLevel="h1">{data.name}</Title>
              <StatusLabel status={data.status} />
            </Flex>
            {data.description && <Content component="p">{data.description}</Content>}
          </FlexItem>
          {can.manageCatalog && (
            <FlexItem>
              <Flex spaceItems={{ default: 'spaceItemsSm' }}>
                <Button variant="secondary" onClick={() => actions.edit(data)}>
                  Edit
                </Button>
                <Button
                  variant="secondary"
                  onClick={() => actions.toggleStatus(data)}
                  isLoading={actions.busy === data.name}
                  isDisabled={actions.busy === data.name}
                >
                  {data.status === 'active' ? 'Disable' : 'Enable'}
                </Button>
                <Button variant="secondary" isDanger onClick={() => actions.remove(data)}>
                  Delete model
                </Button>
              </Flex>
            </FlexItem>
          )}
        </Flex>
      </PageSection>
      <PageSection>
        <Stack hasGutter>
          {actions.elements}
          <Title headingLevel="h2">Details</Title>
          <ModelDescription model={data} />
        </Stack>
      </PageSection>
      {can.readsEverything && (
        <PageSection>
          <Stack hasGutter>
            <Title headingLevel="h2">Deployments</Title>
            {data.deployments.length === 0 ? (
              <Content component="p">No deployment.</Content>
            ) : (
              <>
                {runtime.isError && (
                  <Content component="p">The runtime of the deployments could not be read: health is unknown.</Content>
                )}
                {runtime.data?.scrape_interval_s === 0 && (
                  <Content component="p">
                    Runtime metrics are not scraped on this server (HEADWATER_RUNTIME_SCRAPE_INTERVAL_S is 0): health is unknown.
                  </Content>
                )}
                <DeploymentsTable deployments={data.deployments} runtime={runtime.data} />
              </>
            )}
          </Stack>
        </PageSection>
      )}
    </>
  );
}
