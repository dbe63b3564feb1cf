// /ai-assets/models: the catalog of AI assets (models), searchable and filterable by kind; admins
// add assets (also from ?add=1, which the home page links to), enable, disable, edit and delete them.
import { Button, Content, PageSection, Stack, Tab, TabContent, Tabs, TabTitleText, Title } from '@patternfly/react-core';
import { useMemo, useState } from 'react';
import { useSearchParams } from 'react-router-dom';

import { useSession } from '../app/session';
import { EmptyList, ErrorState, LoadingState } from '../components/states';
import { ModelFormModal } from './ModelFormModal';
import { ModelsTable } from './ModelsTable';
import { type ModelFilters, ModelsToolbar } from './ModelsToolbar';
import { useModels } from './queries';
import { useModelActions } from './useModelActions';

const PER_PAGE = 20;

export default function ModelsPage() {
  const { can } = useSession();
  const [params, setParams] = useSearchParams();
  const adding = can.manageCatalog && params.get('add') === '1';
  const [filters, setFilters] = useState<ModelFilters>({ search: '', kinds: [] });
  const [page, setPage] = useState(1);
  const [perPage, setPerPage] = useState(PER_PAGE);
  const models = useModels();
  const actions = useModelActions();

  const setAdding = (open: boolean) => {
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        if (open) next.set('add', '1');
        else next.delete('add');
        return next;
      },
      { replace: !open },
    );
  };

  const matching = useMemo(() => {
    const search = filters.search.trim().toLowerCase();
    return (models.data?.items ?? []).filter(
      (model) =>
        (!search || model.name.toLowerCase().includes(search)) && (filters.kinds.length === 0 || filters.kinds.includes(model.kind)),
    );
  }, [models.data, filters]);
  const lastPage = Math.max(1, Math.ceil(matching.length / perPage));
  const shownPage = Math.min(page, lastPage);
  const shown = matching.slice((shownPage - 1) * perPage, shownPage * perPage);
  const filtered = filters.search.trim() !== '' || filters.kinds.length > 0;
  const addButton = can.manageCatalog ? (
    <Button variant="primary" onClick={() => setAdding(true)}>
      Add asset
    </Button>
  ) : undefined;

  let body;
  if (models.isPending) body = <LoadingState label="Loading models" />;
  else if (models.isError) body = <ErrorState error={models.error} onRetry={() => void models.refetch()} />;
  else if (models.data.items.length === 0)
    body = (
      <EmptyList
        title="No models yet"
        body={
          can.manageCatalog
            ? 'Add a model served by your own inference server or an external provider: callers reach it through the gateway with their API keys.'
            : 'No model is available to you yet. An administrator adds models to the catalog.'
        }
        action={addButton}
      />
    );
  else
    body = (
      <Stack hasGutter>
        <ModelsToolbar
          filters={filters}
          onFilters={(next) => {
            setFilters(next);
            setPage(1);
          }}
          paging={{
            page: shownPage,
            perPage,
            count: matching.length,
            onPage: setPage,
            onPerPage: (size) => {
              setPerPage(size);
              setPage(1);
            },
          }}
          onAdd={can.manageCatalog ? () => setAdding(true) : undefined}
        />
        {actions.elements}
        {matching.length === 0 && filtered ? (
          <EmptyList
            title="No models match"
            body="No model matches the search and filters."
            action={
              <Button variant="link" onClick={() => setFilters({ search: '', kinds: [] })}>
                Clear all filters
              </Button>
            }
          />
        ) : (
          <ModelsTable models={shown} actions={actions} />
        )}
      </Stack>
    );

  return (
    <>
      <PageSection>
        <Title headingLevel="h1">AI assets</Title>
        <Content component="p">
          Endpoints available through the gateway: call them with an API key at the OpenAI-compatible URL.
        </Content>
      </PageSection>
      <PageSection type="tabs">
        <Tabs activeKey="models" aria-label="AI assets" usePageInsets>
          <Tab eventKey="models" title={<TabTitleText>Models</TabTitleText>} tabContentId="models-tab" />
        </Tabs>
      </PageSection>
      <PageSection>
        <TabContent eventKey="models" activeKey="models" id="models-tab" aria-label="Models">
          {body}
        </TabContent>
      </PageSection>
      {adding && <ModelFormModal onClose={() => setAdding(false)} />}
    </>
  );
}
