// The home page: where the gateway is, and the next useful thing for this caller to do.
import {
  Button,
  Card,
  CardBody,
  CardFooter,
  CardTitle,
  ClipboardCopy,
  Content,
  Gallery,
  PageSection,
  Title,
} from '@patternfly/react-core';
import { useQuery } from '@tanstack/react-query';


import { api, unwrap } from '../api/client';
import { roleLabel } from '../app/roles';
import { openaiBaseUrl, useSession } from '../app/session';
import { RouterLink } from '../components/RouterLink';

function LinkButton({ to, children, variant = 'primary' }: { to: string; children: string; variant?: 'primary' | 'secondary' | 'link' }) {
  return (
    <Button variant={variant} component={RouterLink} href={to}>
      {children}
    </Button>
  );
}

function NextAction() {
  const { can } = useSession();
  const keys = useQuery({ queryKey: ['keys', 'home'], queryFn: () => unwrap(api.GET('/api/v1/keys', { params: { query: { limit: 1 } } })) });
  const models = useQuery({ queryKey: ['models'], queryFn: () => unwrap(api.GET('/api/v1/models')) });
  if (keys.isPending || models.isPending) return null;
  const noModels = (models.data?.items.length ?? 0) === 0;
  const noKeys = (keys.data?.items.length ?? 0) === 0;
  if (can.manageCatalog && noModels) {
    return (
      <>
        <Content component="p">No model is served yet. Add the first one: a server you host or an external provider.</Content>
        <LinkButton to="/ai-assets/models?add=1">Add a model</LinkButton>
      </>
    );
  }
  if (can.manageKeys && noKeys) {
    return (
      <>
        <Content component="p">Create an API key to call the models with the OpenAI SDK or any OpenAI-compatible client.</Content>
        <LinkButton to="/settings/api-keys?create=1">Create API key</LinkButton>
      </>
    );
  }
  if (can.seeOrganisation) {
    return (
      <>
        <Content component="p">See who uses which model, and what it costs.</Content>
        <LinkButton to="/admin/usage">Organization usage</LinkButton>
      </>
    );
  }
  return (
    <>
      <Content component="p">See your calls, tokens and cost.</Content>
      <LinkButton to="/usage">My usage</LinkButton>
    </>
  );
}

export default function HomePage() {
  const { me, info } = useSession();
  const base = openaiBaseUrl(info);
  return (
    <>
      <PageSection>
        <Title headingLevel="h1">Welcome, {me.actor === 'admin:bootstrap' ? 'administrator' : me.name}</Title>
        <Content component="p">Signed in as {roleLabel(me).toLowerCase()}.</Content>
      </PageSection>
      <PageSection>
        <Gallery hasGutter minWidths={{ default: '100%', lg: '420px' }}>
          <Card>
            <CardTitle>
              <Title headingLevel="h2" size="lg">
                Your gateway
              </Title>
            </CardTitle>
            <CardBody>
              <Content component="p">OpenAI-compatible base URL: use it with the OpenAI SDK, LangChain or curl.</Content>
              <ClipboardCopy isReadOnly hoverTip="Copy" clickTip="Copied" aria-label="Gateway base URL">
                {base}
              </ClipboardCopy>
            </CardBody>
            <CardFooter>
              <LinkButton to="/ai-assets/models" variant="link">
                Browse the models
              </LinkButton>
            </CardFooter>
          </Card>
          <Card>
            <CardTitle>
              <Title headingLevel="h2" size="lg">
                Next step
              </Title>
            </CardTitle>
            <CardBody>
              <NextAction />
            </CardBody>
          </Card>
        </Gallery>
      </PageSection>
    </>
  );
}
