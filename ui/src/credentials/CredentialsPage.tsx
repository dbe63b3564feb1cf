// /settings/credentials: the upstream credentials stored in Headwater (encrypted; no call answers a
// value). Admins set, replace and delete them; auditors read the list.
import {
  Alert,
  AlertActionCloseButton,
  Button,
  Content,
  PageSection,
  Stack,
  Title,
  Toolbar,
  ToolbarContent,
  ToolbarItem,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { Fragment, useState } from 'react';
import { Link } from 'react-router-dom';

import { useSession } from '../app/session';
import { ConfirmDeleteModal } from '../components/ConfirmDeleteModal';
import { formatDateTime, formatRelative } from '../components/format';
import { EmptyList, ErrorState, LoadingState } from '../components/states';
import { RowActions } from '../directory/RowActions';
import { modelPath } from '../models/model';
import { type Credential, useCredentials, useDeleteCredential } from './queries';
import { SetCredentialModal } from './SetCredentialModal';

function UsedBy({ models }: { models: string[] }) {
  if (models.length === 0) return <>Not used</>;
  return (
    <>
      {models.map((model, index) => (
        <Fragment key={model}>
          {index > 0 && ', '}
          <Link to={modelPath(model)}>{model}</Link>
        </Fragment>
      ))}
    </>
  );
}

export default function CredentialsPage() {
  const { can } = useSession();
  const credentials = useCredentials();
  const remove = useDeleteCredential();
  const [editing, setEditing] = useState<Credential | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Credential | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const manage = can.manageCredentials;
  const items = credentials.data?.items ?? [];

  const setButton = manage ? (
    <Button variant="primary" onClick={() => setEditing('new')}>
      Set credential
    </Button>
  ) : undefined;

  let body;
  if (credentials.isPending) body = <LoadingState label="Loading credentials" />;
  else if (credentials.isError) body = <ErrorState error={credentials.error} onRetry={() => void credentials.refetch()} />;
  else if (items.length === 0) {
    body = (
      <EmptyList
        title="No stored credentials"
        body="Deployments name a stored credential (credential: NAME) or an environment variable for their provider’s API key."
        action={setButton}
      />
    );
  } else {
    body = (
      <>
        {setButton && (
          <Toolbar>
            <ToolbarContent>
              <ToolbarItem>{setButton}</ToolbarItem>
            </ToolbarContent>
          </Toolbar>
        )}
        <Table aria-label="Credentials">
          <Thead>
            <Tr>
              <Th>Name</Th>
              <Th width={30}>Description</Th>
              <Th>Used by</Th>
              <Th>Last changed</Th>
              {manage && <Th screenReaderText="Actions" />}
            </Tr>
          </Thead>
          <Tbody>
            {items.map((credential) => (
              <Tr key={credential.name}>
                <Td dataLabel="Name">{credential.name}</Td>
                <Td dataLabel="Description" modifier="truncate">
                  {credential.description || '—'}
                </Td>
                <Td dataLabel="Used by">
                  <UsedBy models={credential.used_by} />
                </Td>
                <Td dataLabel="Last changed">
                  <span title={formatDateTime(credential.updated_at)}>{formatRelative(credential.updated_at)}</span>
                </Td>
                {manage && (
                  <Td isActionCell>
                    <RowActions
                      name={credential.name}
                      items={[
                        { title: 'Replace value', onClick: () => setEditing(credential) },
                        { isSeparator: true },
                        { title: 'Delete credential', isDanger: true, onClick: () => setDeleting(credential) },
                      ]}
                    />
                  </Td>
                )}
              </Tr>
            ))}
          </Tbody>
        </Table>
      </>
    );
  }

  return (
    <>
      <PageSection>
        <Title headingLevel="h1">Credentials</Title>
        <Content component="p">
          Providers’ API keys stored in Headwater, encrypted. A value is written once and never shown again.
        </Content>
      </PageSection>
      <PageSection>
        <Stack hasGutter>
          {saved && (
            <Alert
              variant="success"
              isInline
              title={`${saved} is stored`}
              actionClose={<AlertActionCloseButton onClose={() => setSaved(null)} />}
            >
              Its value cannot be shown again. Deployments naming it use it from their next call.
            </Alert>
          )}
          {body}
        </Stack>
      </PageSection>
      {editing !== null && (
        <SetCredentialModal
          credential={editing === 'new' ? undefined : editing}
          existing={items}
          onSaved={(name) => {
            setSaved(name);
            setEditing(null);
          }}
          onClose={() => setEditing(null)}
        />
      )}
      {deleting && (
        <ConfirmDeleteModal
          title="Delete credential?"
          name={deleting.name}
          confirmLabel="Delete credential"
          onConfirm={() => remove.mutateAsync(deleting.name)}
          onClose={() => setDeleting(null)}
        >
          {deleting.used_by.length > 0 ? (
            <>
              <strong>{deleting.name}</strong> is used by the deployments of {deleting.used_by.join(', ')}: change those
              models first, or deleting is refused.
            </>
          ) : (
            <>
              Deleting <strong>{deleting.name}</strong> destroys its value; it cannot be undone.
            </>
          )}
        </ConfirmDeleteModal>
      )}
    </>
  );
}
