// "Test connection": asks Headwater to fetch the server's model list (POST /api/v1/models/test-connection)
// and shows the outcome inline: connected and serving the model, connected without it, or the error.
// Only OpenAI-compatible servers answer that list: for the other providers the button is disabled
// and its tooltip says why.
import { Alert, Button, Content, Stack, StackItem, Tooltip } from '@patternfly/react-core';
import { useMutation } from '@tanstack/react-query';
import { useEffect } from 'react';

import { api, unwrap } from '../api/client';
import { ApiError, messageOf } from '../api/errors';
import type { components } from '../api/schema';
import { connectionBody, deploymentErrors, type DeploymentDraft, type FieldErrors, type Source } from './modelForm';
import { providerLabel, testsConnection } from './providers';

type ConnectionResult = components['schemas']['ConnectionResult'];

const SHOWN_MODELS = 10;

function ResultAlert({ result, upstreamModel }: { result: ConnectionResult; upstreamModel: string }) {
  const latency = Math.round(result.latency_ms);
  if (!result.ok) {
    return <Alert component="p" variant="danger" isInline isPlain title={`Connection failed: ${result.error ?? 'no answer'}`} />;
  }
  if (result.upstream_model_listed) {
    return <Alert component="p" variant="success" isInline isPlain title={`Connected in ${latency} ms; ${upstreamModel} is served`} />;
  }
  const shown = result.models.slice(0, SHOWN_MODELS);
  return (
    <Alert component="p" variant="warning" isInline isPlain title={`Connected in ${latency} ms, but ${upstreamModel} is not listed by the server`}>
      <Content component="p">
        {shown.length === 0
          ? 'The server lists no models.'
          : `It serves: ${shown.join(', ')}${result.models.length > shown.length ? ', …' : ''}.`}
      </Content>
    </Alert>
  );
}

export interface ConnectionCheckProps {
  deployment: DeploymentDraft;
  source: Source;
  /** The API path prefix of this deployment's fields ("deployments.0."). */
  prefix: string;
  /** Field errors found before or by the test, to show on the fields. */
  onFieldErrors: (errors: FieldErrors) => void;
}

export function ConnectionCheck({ deployment, source, prefix, onFieldErrors }: ConnectionCheckProps) {
  const check = useMutation({
    mutationFn: (draft: DeploymentDraft) =>
      unwrap(api.POST('/api/v1/models/test-connection', { body: connectionBody(draft) })),
  });
  const { reset } = check;
  const { provider, baseUrl, upstreamModel, credentialSource, credentialEnv, credential } = deployment;
  const testable = testsConnection(provider);

  // A result is about the fields it was run with: changing them puts it away.
  useEffect(() => {
    reset();
  }, [provider, baseUrl, upstreamModel, credentialSource, credentialEnv, credential, reset]);

  const run = () => {
    const errors = deploymentErrors(deployment, source, prefix);
    onFieldErrors(errors);
    if (Object.keys(errors).length > 0) return;
    check.mutate(deployment, {
      onError: (error) => {
        if (error instanceof ApiError) {
          const fields = Object.fromEntries(Object.entries(error.fields).map(([field, message]) => [prefix + field, message]));
          onFieldErrors(fields);
        }
      },
    });
  };

  return (
    <Stack hasGutter>
      <StackItem>
        {testable ? (
          <Button variant="secondary" onClick={run} isLoading={check.isPending} isDisabled={check.isPending}>
            Test connection
          </Button>
        ) : (
          <Tooltip content={`The connection test asks for OpenAI’s model list, which ${providerLabel(provider)} does not answer.`}>
            <Button variant="secondary" isAriaDisabled>
              Test connection
            </Button>
          </Tooltip>
        )}
      </StackItem>
      <StackItem aria-live="polite">
        {check.data && <ResultAlert result={check.data} upstreamModel={upstreamModel.trim()} />}
        {check.error && <Alert component="p" variant="danger" isInline isPlain title={`Connection test refused: ${messageOf(check.error)}`} />}
      </StackItem>
    </Stack>
  );
}
