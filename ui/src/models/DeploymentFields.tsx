// One deployment of the model form: its provider and that provider's own fields (Azure's api
// version, Bedrock's region, the Responses API flag), where its server is, the model's name there,
// the credential, its traffic weight when there are several, and "Test connection".
import { Button, Checkbox, FormFieldGroup, FormFieldGroupHeader, FormGroup, FormSelect, FormSelectOption } from '@patternfly/react-core';
import { TrashIcon } from '@patternfly/react-icons';

import { ConnectionCheck } from './ConnectionCheck';
import { CredentialFields } from './CredentialFields';
import { TextField } from './fields';
import type { DeploymentDraft, FieldErrors, Source } from './modelForm';
import { type Provider, PROVIDERS, providerInfo, takesResponsesApi } from './providers';

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
  const info = providerInfo(deployment.provider);
  const openaiExample = external && deployment.provider === 'openai';

  const fields = (
    <>
      <FormGroup label="Provider" fieldId={id('provider')} isRequired>
        <FormSelect id={id('provider')} value={deployment.provider} onChange={(_event, value) => set({ provider: value as Provider })}>
          {PROVIDERS.map((provider) => (
            <FormSelectOption key={provider.value} value={provider.value} label={provider.label} />
          ))}
        </FormSelect>
      </FormGroup>
      <TextField
        label="Base URL"
        fieldId={id('base-url')}
        value={deployment.baseUrl}
        onChange={(baseUrl) => set({ baseUrl })}
        error={errors[`${prefix}base_url`]}
        helper={info.baseUrlHelper}
        placeholder={openaiExample ? 'https://api.openai.com/v1' : info.baseUrlPlaceholder}
        inputMode="url"
        isRequired
      />
      <TextField
        label="Upstream model"
        fieldId={id('upstream-model')}
        value={deployment.upstreamModel}
        onChange={(upstreamModel) => set({ upstreamModel })}
        error={errors[`${prefix}upstream_model`]}
        helper={info.upstreamHelper}
        placeholder={openaiExample ? 'gpt-4o-mini' : info.upstreamPlaceholder}
        isRequired
      />
      {deployment.provider === 'azure-openai' && (
        <TextField
          label="API version"
          fieldId={id('api-version')}
          value={deployment.apiVersion}
          onChange={(apiVersion) => set({ apiVersion })}
          error={errors[`${prefix}api_version`]}
          helper="Azure’s api-version query parameter, such as 2024-10-21 or 2025-03-01-preview."
          placeholder="2024-10-21"
          isRequired
        />
      )}
      {deployment.provider === 'bedrock' && (
        <TextField
          label="Region"
          fieldId={id('region')}
          value={deployment.region}
          onChange={(region) => set({ region })}
          error={errors[`${prefix}region`]}
          helper="The AWS region requests are signed for, such as us-east-1."
          placeholder="us-east-1"
          isRequired
        />
      )}
      {takesResponsesApi(deployment.provider) && (
        <Checkbox
          id={id('responses-api')}
          label="Serves the Responses API"
          description="The server implements /v1/responses itself: Responses API calls go to it untranslated instead of being translated to chat completions."
          isChecked={deployment.responsesApi}
          onChange={(_event, responsesApi) => set({ responsesApi })}
        />
      )}
      <CredentialFields
        deployment={deployment}
        prefix={prefix}
        errors={errors}
        required={external || deployment.provider === 'bedrock'}
        onChange={set}
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
