// One API key: /settings/api-keys/:keyId/:tab, tabs Details, Assets, Metrics, Policies and Settings
// (Details by default; the URL names the tab, so every tab can be linked to and reloaded).
import {
  Breadcrumb,
  BreadcrumbItem,
  Button,
  Content,
  EmptyState,
  EmptyStateActions,
  EmptyStateBody,
  EmptyStateFooter,
  Flex,
  FlexItem,
  PageSection,
  Tab,
  Tabs,
  TabTitleText,
  Title,
} from '@patternfly/react-core';
import { KeyIcon } from '@patternfly/react-icons';
import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';

import { api, unwrap } from '../api/client';
import { ApiError } from '../api/errors';
import { useSession } from '../app/session';
import { ErrorState, LoadingState } from '../components/states';
import { keyActions, type Key } from './details/access';
import { AssetsTab } from './details/AssetsTab';
import { DetailsTab } from './details/DetailsTab';
import { KeyStatusLabel } from './details/KeyStatusLabel';
import { MetricsTab } from './details/MetricsTab';
import { PoliciesTab } from './details/PoliciesTab';
import { SettingsTab } from './details/SettingsTab';
import { RouterLink } from '../components/RouterLink';

const KEYS_PATH = '/settings/api-keys';

const TABS = [
  { key: 'details', title: 'Details' },
  { key: 'assets', title: 'Assets' },
  { key: 'metrics', title: 'Metrics' },
  { key: 'policies', title: 'Policies' },
  { key: 'settings', title: 'Settings' },
] as const;

type TabKey = (typeof TABS)[number]['key'];

function tabOf(value: string | undefined): TabKey {
  return TABS.find((tab) => tab.key === value)?.key ?? 'details';
}

function BackLink({ children }: { children: string }) {
  return (
    <Button variant="link" component={RouterLink} href={KEYS_PATH}>
      {children}
    </Button>
  );
}

function Crumbs({ current }: { current?: string }) {
  return (
    <Breadcrumb className="pf-v6-u-mb-md">
      <BreadcrumbItem
        render={({ className, ariaCurrent }) => (
          <Link className={className} aria-current={ariaCurrent} to={KEYS_PATH}>
            API keys
          </Link>
        )}
      />
      {current !== undefined && <BreadcrumbItem isActive>{current}</BreadcrumbItem>}
    </Breadcrumb>
  );
}

function KeyNotFound({ keyId }: { keyId: string }) {
  return (
    <PageSection>
      <Crumbs />
      <EmptyState titleText="API key not found" headingLevel="h1" icon={KeyIcon}>
        <EmptyStateBody>
          There is no API key <code>{keyId}</code> that you can see. It may have been mistyped, or it belongs to
          someone else.
        </EmptyStateBody>
        <EmptyStateFooter>
          <EmptyStateActions>
            <BackLink>Back to API keys</BackLink>
          </EmptyStateActions>
        </EmptyStateFooter>
      </EmptyState>
    </PageSection>
  );
}

function KeyPage({ apiKey, tab }: { apiKey: Key; tab: TabKey }) {
  const { me, can } = useSession();
  const navigate = useNavigate();
  const actions = keyActions(apiKey, me, can);
  const panels: Record<TabKey, ReactNode> = {
    details: <DetailsTab apiKey={apiKey} canEdit={actions.edit} />,
    assets: <AssetsTab apiKey={apiKey} />,
    metrics: <MetricsTab apiKey={apiKey} />,
    policies: <PoliciesTab apiKey={apiKey} />,
    settings: <SettingsTab apiKey={apiKey} actions={actions} />,
  };
  return (
    <>
      <PageSection>
        <Crumbs current={apiKey.name} />
        <Flex alignItems={{ default: 'alignItemsCenter' }} spaceItems={{ default: 'spaceItemsMd' }}>
          <FlexItem>
            <Title headingLevel="h1">{apiKey.name}</Title>
          </FlexItem>
          <FlexItem>
            <KeyStatusLabel status={apiKey.status} />
          </FlexItem>
        </Flex>
        <Content component="p" className="pf-v6-u-mt-sm pf-v6-u-text-color-subtle">
          <span className="pf-v6-u-font-family-monospace">{apiKey.prefix}_••••••••</span>
          {apiKey.description ? ` · ${apiKey.description}` : ''}
        </Content>
      </PageSection>
      <PageSection>
        <Tabs
          activeKey={tab}
          onSelect={(_event, key) => void navigate(`${KEYS_PATH}/${encodeURIComponent(apiKey.id)}/${String(key)}`)}
          aria-label="API key sections"
          mountOnEnter
          unmountOnExit
        >
          {TABS.map(({ key, title }) => (
            <Tab key={key} eventKey={key} title={<TabTitleText>{title}</TabTitleText>}>
              <div className="pf-v6-u-pt-lg">{panels[key]}</div>
            </Tab>
          ))}
        </Tabs>
      </PageSection>
    </>
  );
}

export default function KeyDetailsPage() {
  const { keyId = '', tab } = useParams();
  const query = useQuery({
    queryKey: ['keys', keyId],
    queryFn: () => unwrap(api.GET('/api/v1/keys/{key_id}', { params: { path: { key_id: keyId } } })),
  });
  if (query.isPending) {
    return (
      <PageSection>
        <Crumbs />
        <LoadingState label="Loading the API key" />
      </PageSection>
    );
  }
  if (query.isError) {
    if (query.error instanceof ApiError && query.error.status === 404) return <KeyNotFound keyId={keyId} />;
    return (
      <PageSection>
        <Crumbs />
        <Title headingLevel="h1">API key</Title>
        <ErrorState error={query.error} onRetry={() => void query.refetch()} />
      </PageSection>
    );
  }
  return <KeyPage apiKey={query.data} tab={tabOf(tab)} />;
}
