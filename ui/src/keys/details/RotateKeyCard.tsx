// "Rotate key": a new secret for the same key (id, owner, scope and limits kept), shown once; the old
// secret keeps working for the chosen grace period so clients can be redeployed without an outage.
import {
  Alert,
  Button,
  Card,
  CardBody,
  CardFooter,
  CardTitle,
  ClipboardCopy,
  Content,
  Form,
  FormGroup,
  FormSelect,
  FormSelectOption,
  Title,
} from '@patternfly/react-core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';

import { api, unwrap } from '../../api/client';
import { messageOf } from '../../api/errors';
import type { Key } from './access';

export const GRACE_OPTIONS = [
  { value: '', text: 'None: the old secret stops at once' },
  { value: '15m', text: '15 minutes' },
  { value: '1h', text: '1 hour' },
  { value: '24h', text: '24 hours' },
] as const;

type Grace = (typeof GRACE_OPTIONS)[number]['value'];

export function RotateKeyCard({ apiKey }: { apiKey: Key }) {
  const client = useQueryClient();
  const [grace, setGrace] = useState<Grace>('');
  const rotate = useMutation({
    mutationFn: (chosen: Grace) =>
      unwrap(
        api.POST('/api/v1/keys/{key_id}/rotate', {
          params: { path: { key_id: apiKey.id } },
          body: { grace: chosen === '' ? null : chosen },
        }),
      ),
    // The answer carries the secret: it stays in this card only, never in the query cache.
    onSuccess: () => client.invalidateQueries({ queryKey: ['keys'] }),
  });
  const graceText = GRACE_OPTIONS.find((option) => option.value === rotate.variables)?.text;

  return (
    <Card>
      <CardTitle>
        <Title headingLevel="h2" size="lg">
          Rotate key
        </Title>
      </CardTitle>
      <CardBody>
        <Content component="p" className="pf-v6-u-mb-md">
          Rotating gives this key a new secret; its ID, owner, models and limits stay the same. Choose how long the
          current secret keeps working, so its clients can be moved to the new one.
        </Content>
        {rotate.isError && <Alert variant="danger" isInline title={messageOf(rotate.error)} className="pf-v6-u-mb-md" />}
        {rotate.isSuccess ? (
          <Alert variant="success" isInline title="The key was rotated" className="pf-v6-u-mb-md">
            <Content component="p">
              Copy the new secret now: it is not shown again.{' '}
              {rotate.variables === '' ? 'The old secret no longer works.' : `The old secret keeps working for ${graceText ?? ''}.`}
            </Content>
            <ClipboardCopy isReadOnly hoverTip="Copy" clickTip="Copied" textAriaLabel="API key secret" copyAriaLabel="Copy API key secret">
              {rotate.data.key}
            </ClipboardCopy>
          </Alert>
        ) : (
          <Form
            onSubmit={(event) => {
              event.preventDefault();
            }}
          >
            <FormGroup label="Grace period" fieldId="rotate-grace">
              <FormSelect id="rotate-grace" value={grace} onChange={(_event, value) => setGrace(value as Grace)}>
                {GRACE_OPTIONS.map((option) => (
                  <FormSelectOption key={option.value} value={option.value} label={option.text} />
                ))}
              </FormSelect>
            </FormGroup>
          </Form>
        )}
      </CardBody>
      <CardFooter>
        {rotate.isSuccess ? (
          <Button variant="secondary" onClick={() => rotate.reset()}>
            Done
          </Button>
        ) : (
          <Button variant="secondary" onClick={() => rotate.mutate(grace)} isLoading={rotate.isPending} isDisabled={rotate.isPending}>
            Rotate key
          </Button>
        )}
      </CardFooter>
    </Card>
  );
}
