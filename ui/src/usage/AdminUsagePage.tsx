// Organization usage (/admin/usage): everything the caller's role may see — admins and auditors all
// of it, a group admin their groups' members, service accounts and group keys (the API narrows it).
import { Content, PageSection, Title } from '@patternfly/react-core';

import { useSession } from '../app/session';
import { ORGANISATION_DIMENSIONS } from './dimensions';
import { UsageDashboard } from './UsageDashboard';

export default function AdminUsagePage() {
  const { can } = useSession();
  return (
    <>
      <PageSection>
        <Title headingLevel="h1">Organization usage</Title>
        <Content component="p">
          {can.readsEverything
            ? 'Every call through the gateway: who called which model, how much, and what it cost.'
            : 'The calls of your groups: their members, service accounts and group keys.'}
        </Content>
      </PageSection>
      <UsageDashboard dimensions={ORGANISATION_DIMENSIONS} fixed={{}} showTopConsumers reportBy="costCenter" />
    </>
  );
}
