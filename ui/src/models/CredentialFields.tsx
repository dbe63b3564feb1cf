// A deployment's credential in the model form: the name of a variable of Headwater's environment, or
// a credential stored in Headwater chosen from GET /api/v1/credentials. Never a value: the form has none.
import {
  EmptyState,
  EmptyStateBody,
  FormGroup,
  FormHelperText,
  FormSelect,
  FormSelectOption,
  HelperText,
  HelperTextItem,
  Radio,
} from '@patternfly/react-core';
import { Link } from 'react-router-dom';

import { messageOf } from '../api/errors';
import { useCredentials } from '../credentials/queries';
import { TextField } from './fields';
import type { CredentialSource, DeploymentDraft } from './modelForm';

export const CREDENTIALS_PAGE = '/settings/credentials';

export interface CredentialFieldsProps {
  deployment: DeploymentDraft;
  /** The API path prefix of this deployment's fields ("deployments.0."). */
  prefix: string;
  errors: Record<string, string>;
  required: boolean;
  onChange: (change: Partial<DeploymentDraft>) => void;
}

const CHOICES: { value: CredentialSource; label: string }[] = [
  { value: 'env', label: 'Environment variable' },
  { value: 'stored', label: 'Stored in Headwater' },
];

function StoredCredentialSelect({ deployment, prefix, errors, required, onChange }: CredentialFieldsProps) {
  const credentials = useCredentials();
  const fieldId = `model-deployment-${deployment.id}-credential`;
  const helperId = `${fieldId}-helper`;
  const error = errors[`${prefix}credential`];
  const names = (credentials.data?.items ?? []).map((item) => item.name);
  // a deployment being edited keeps its credential even when the list cannot be read
  if (deployment.credential && !names.includes(deployment.credential)) names.unshift(deployment.credential);

  if (credentials.isSuccess && names.length === 0) {
    return (
      <EmptyState variant="xs" titleText="No stored credentials yet" headingLevel="h4">
        <EmptyStateBody>
          Store the provider’s API key on the <Link to={CREDENTIALS_PAGE}>Credentials</Link> page first, or name an
          environment variable instead.
          {error && (
            <HelperText>
              <HelperTextItem variant="error">{error}</HelperTextItem>
            </HelperText>
          )}
        </EmptyStateBody>
      </EmptyState>
    );
  }

  let helper = 'Its value is encrypted in Headwater and never shown; manage it on the Credentials page.';
  if (credentials.isPending) helper = 'Loading the stored credentials…';
  else if (credentials.isError) helper = `The stored credentials could not be listed: ${messageOf(credentials.error)}`;
  return (
    <FormGroup label="Stored credential" fieldId={fieldId} isRequired={required}>
      <FormSelect
        id={fieldId}
        value={deployment.credential}
        onChange={(_event, credential) => onChange({ credential })}
        validated={error ? 'error' : 'default'}
        aria-describedby={helperId}
        isDisabled={credentials.isPending}
      >
        <FormSelectOption value="" label="Choose a credential" isPlaceholder />
        {names.map((name) => (
          <FormSelectOption key={name} value={name} label={name} />
        ))}
      </FormSelect>
      <FormHelperText>
        <HelperText id={helperId}>
          <HelperTextItem variant={error ? 'error' : credentials.isError ? 'warning' : 'default'}>{error ?? helper}</HelperTextItem>
        </HelperText>
      </FormHelperText>
    </FormGroup>
  );
}

export function CredentialFields(props: CredentialFieldsProps) {
  const { deployment, prefix, errors, required, onChange } = props;
  const id = (field: string) => `model-deployment-${deployment.id}-${field}`;
  return (
    <>
      <FormGroup role="radiogroup" isInline fieldId={id('credential-source')} label="Credential">
        {CHOICES.map((choice) => (
          <Radio
            key={choice.value}
            id={id(`credential-source-${choice.value}`)}
            name={id('credential-source')}
            label={choice.label}
            isChecked={deployment.credentialSource === choice.value}
            onChange={() => onChange({ credentialSource: choice.value })}
          />
        ))}
      </FormGroup>
      {deployment.credentialSource === 'stored' ? (
        <StoredCredentialSelect {...props} />
      ) : (
        <TextField
          label="Credential environment variable"
          fieldId={id('credential-env')}
          value={deployment.credentialEnv}
          onChange={(credentialEnv) => onChange({ credentialEnv })}
          error={errors[`${prefix}credential_env`]}
          helper="The variable of Headwater’s environment holding the API key (never the key itself); by default its name starts with HEADWATER_UPSTREAM_."
          placeholder="HEADWATER_UPSTREAM_OPENAI_API_KEY"
          isRequired={required}
        />
      )}
    </>
  );
}
