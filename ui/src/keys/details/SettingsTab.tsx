// The Settings tab: rotate, disable or enable, and the Danger zone's delete (revoke), each only for a
// caller who manages the key; everyone else is told why there is nothing to do here.
import { Alert, Button, Card, CardBody, CardFooter, CardTitle, Content, Stack, StackItem, Title } from '@patternfly/react-core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate } from 'react-router-dom';

import { api, unwrap } from '../../api/client';
import { messageOf } from '../../api/errors';
import { useSession } from '../../app/session';
import { ConfirmDeleteModal } from '../../components/ConfirmDeleteModal';
import { formatDateTime } from '../../components/format';
import { EmptyList } from '../../components/states';
import type { Key, KeyActions } from './access';
import { RotateKeyCard } from './RotateKeyCard';

function StatusCard({ apiKey, actions }: { apiKey: Key; actions: KeyActions }) {
  const client = useQueryClient();
  const change = useMutation({
    mutationFn: (verb: 'disable' | 'enable') =>
      unwrap(
        verb === 'disable'
          ? api.POST('/api/v1/keys/{key_id}/disable', { params: { path: { key_id: apiKey.id } } })
          : api.POST('/api/v1/keys/{key_id}/enable', { params: { path: { key_id: apiKey.id } } }),
      ),
    onSuccess: async (updated) => {
      client.setQueryData(['keys', apiKey.id], updated);
      await client.invalidateQueries({ queryKey: ['keys'] });
    },
  });
  let text: string;
  if (apiKey.status === 'expired') text = `This key expired ${formatDateTime(apiKey.expires_at)}; create a new key to go on.`;
  else if (apiKey.status === 'disabled' && !actions.enable)
    text = 'An administrator disabled this key: only an administrator can enable it again.';
  else if (apiKey.status === 'disabled') text = 'This key is disabled: calls with it are refused until it is enabled again.';
  else text = 'Disabling suspends the key at once: calls with it are refused until it is enabled again.';
  return (
    <Card>
      <CardTitle>
        <Title headingLevel="h2" size="lg">
          Status
        </Title>
      </CardTitle>
      <CardBody>
        {change.isError && <Alert variant="danger" isInline title={messageOf(change.error)} className="pf-v6-u-mb-md" />}
        <Content component="p">{text}</Content>
      </CardBody>
      {(actions.disable || actions.enable) && (
        <CardFooter>
          {actions.disable && (
            <Button variant="secondary" onClick={() => change.mutate('disable')} isLoading={change.isPending} isDisabled={change.isPending}>
              Disable key
            </Button>
          )}
          {actions.enable && (
            <Button variant="secondary" onClick={() => change.mutate('enable')} isLoading={change.isPending} isDisabled={change.isPending}>
              Enable key
            </Button>
          )}
        </CardFooter>
      )}
    </Card>
  );
}

function DangerZone({ apiKey }: { apiKey: Key }) {
  const client = useQueryClient();
  const navigate = useNavigate();
  const [confirming, setConfirming] = useState(false);
  const revoke = async () => {
    await unwrap(api.POST('/api/v1/keys/{key_id}/revoke', { params: { path: { key_id: apiKey.id } } }));
    // Leave first, so the page never shows the key as revoked on its way out.
    void navigate('/settings/api-keys');
    await client.invalidateQueries({ queryKey: ['keys'] });
  };
  return (
    <Card style={{ borderColor: 'var(--pf-t--global--border--color--status--danger--default)' }}>
      <CardTitle>
        <Title headingLevel="h2" size="lg">
          Danger zone
        </Title>
      </CardTitle>
      <CardBody>
        <Content component="p">
          Deleting revokes the key for good: every call with it is refused at once, and it cannot be enabled again.
        </Content>
      </CardBody>
      <CardFooter>
        <Button variant="danger" onClick={() => setConfirming(true)}>
          Delete API key
        </Button>
      </CardFooter>
      {confirming && (
        <ConfirmDeleteModal title="Delete API key?" name={apiKey.name} onConfirm={revoke} onClose={() => setConfirming(false)}>
          The API key <strong>{apiKey.name}</strong> ({apiKey.prefix}) will be revoked: applications using it stop working
          at once. This cannot be undone.
        </ConfirmDeleteModal>
      )}
    </Card>
  );
}

export function SettingsTab({ apiKey, actions }: { apiKey: Key; actions: KeyActions }) {
  const { can } = useSession();
  if (apiKey.status === 'revoked') {
    return (
      <EmptyList
        title="This key is revoked"
        body={`It was revoked ${formatDateTime(apiKey.revoked_at)}: it can no longer be used, rotated or changed.`}
      />
    );
  }
  if (!actions.remove) {
    const body = can.readOnly
      ? 'You are viewing the console as another user, read-only.'
      : can.isAuditor
        ? 'Auditors see every key but change none.'
        : 'You can see this key but not change it: only its owner or an administrator can.';
    return <EmptyList title="No settings you can change" body={body} />;
  }
  return (
    <Stack hasGutter>
      {actions.rotate && (
        <StackItem>
          <RotateKeyCard apiKey={apiKey} />
        </StackItem>
      )}
      <StackItem>
        <StatusCard apiKey={apiKey} actions={actions} />
      </StackItem>
      <StackItem>
        <DangerZone apiKey={apiKey} />
      </StackItem>
    </Stack>
  );
}
