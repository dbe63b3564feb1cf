// One deployment of the model form: where its server is, the model's name there, the credential
// variable (external providers), its traffic weight when there are several, and "Test connection".
import { Button, FormFieldGroup, FormFieldGroupHeader } from '@patternfly/react-core';
import { TrashIcon } from '@patternfly/react-icons';

import { ConnectionCheck } from './ConnectionCheck';
import { TextField } from './fields';
import type { DeploymentDraft, FieldErrors, Source } from './modelForm';

export interface DeploymentFieldsProps {
  index: number;
  count: number;
  deployment: DeploymentDraft;
  source: Source;
  errors: FieldErrors;
  onChange: (deployment: DeploymentDraft) => void;
  onRemove: () => void;
  onFieldErrors: (errors: FieldErrors) => void;
}

export function DeploymentFields({ index, count, deployment, source, errors, onChange, onRemove, onFieldErrors }: DeploymentFieldsProps) {
  const prefix = `deployments.${index}.`;
  const id = (field: string) => `model-deployment-${deployment.id}-${field}`;
  const external = source === 'external';
  const set = (change: Partial<DeploymentDraft>) => onChange({ ...deployment, ...change });
  const title = count > 1 ? `Deployment ${index + 1}` : external ? 'Provider endpoint' : 'Server';

  const fields = (
    <>
      <TextField
        label="Base URL"
        fieldId={id('base-url')}
        value={deployment.baseUrl}
        onChange={(baseUrl) => set({ baseUrl })}
        error={errors[`${prefix}base_url`]}
        helper="Up to and including /v1."
        placeholder={external ? 'https://api.openai.com/v1' : 'http://vllm:8000/v1'}
        inputMode="url"
        isRequired
      />
      <TextField
        label="Upstream model"
        fieldId={id('upstream-model')}
        value={deployment.upstreamModel}
        onChange={(upstreamModel) => set({ upstreamModel })}
        error={errors[`${prefix}upstream_model`]}
        helper="The model’s name on that server."
        placeholder={external ? 'gpt-4o-mini' : 'ibm-granite/granite-3.1-8b-instruct'}
        isRequired
      />
      <TextField
        label="Credential environment variable"
        fieldId={id('credential-env')}
        value={deployment.credentialEnv}
        onChange={(credentialEnv) => set({ credentialEnv })}
        error={errors[`${prefix}credential_env`]}
        helper="The variable of Headwater’s environment holding the API key (never the key itself); by default its name starts with HEADWATER_UPSTREAM_."
        placeholder="HEADWATER_UPSTREAM_OPENAI_API_KEY"
        isRequired={external}
      />
      {count > 1 && (
        <TextField
          label="Weight"
          fieldId={id('weight')}
          value={deployment.weight}
          onChange={(weight) => set({ weight })}
          error={errors[`${prefix}weight`]}
          helper="Its relative share of the traffic (1 to 1,000)."
          inputMode="numeric"
          isRequired
        />
      )}
      <ConnectionCheck deployment={deployment} source={source} prefix={prefix} onFieldErrors={onFieldErrors} />
    </>
  );

  return (
    <FormFieldGroup
      header={
        <FormFieldGroupHeader
          titleText={{ text: title, id: id('title') }}
          actions={
            count > 1 ? (
              <Button variant="plain" icon={<TrashIcon />} aria-label={`Remove deployment ${index + 1}`} onClick={onRemove} />
            ) : undefined
          }
        />
      }
    >
      {fields}
    </FormFieldGroup>
  );
}
