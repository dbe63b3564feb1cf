// "Set credential": stores an upstream credential (PUT /api/v1/credentials/{name}). The value is a
// password field, sent once and never shown again (no read answers it); replacing the value of an
// existing credential must be confirmed, since every deployment naming it switches to the new one.
import {
  Alert,
  Button,
  Checkbox,
  Form,
  FormAlert,
  FormGroup,
  FormHelperText,
  HelperText,
  HelperTextItem,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  TextArea,
  TextInput,
} from '@patternfly/react-core';
import { useState } from 'react';

import { ApiError, messageOf } from '../api/errors';
import { type Credential, usePutCredential } from './queries';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;
export const VALUE_MAX = 8192;
const DESCRIPTION_MAX = 2000;

export interface CredentialDraft {
  name: string;
  description: string;
  value: string;
}

/** The API's checks, made first; messages never quote the value. */
export function credentialErrors(draft: CredentialDraft): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!draft.name) errors.name = 'Enter a name, such as openai-prod.';
  else if (!NAME.test(draft.name))
    errors.name = 'At most 128 letters, digits and ._@-, starting with a letter or digit.';
  if (draft.description.length > DESCRIPTION_MAX) errors.description = `At most ${DESCRIPTION_MAX} characters.`;
  if (!draft.value) errors.value = 'Enter the credential’s value.';
  else if (draft.value.length > VALUE_MAX) errors.value = `At most ${VALUE_MAX.toLocaleString('en-US')} characters.`;
  else if (!PRINTABLE_ASCII.test(draft.value)) errors.value = 'One line of printable ASCII characters (it is sent in a header).';
  else if (draft.value !== draft.value.trim()) errors.value = 'No blanks at the start or the end.';
  return errors;
}

function Helper({ id, error, text }: { id: string; error: string | undefined; text: string }) {
  return (
    <FormHelperText>
      <HelperText id={id}>
        <HelperTextItem variant={error ? 'error' : 'default'}>{error ?? text}</HelperTextItem>
      </HelperText>
    </FormHelperText>
  );
}

export interface SetCredentialModalProps {
  /** The credential whose value is replaced; a new one when absent. */
  credential?: Credential;
  /** Those already stored: a new name among them is a replacement, to be confirmed. */
  existing: Credential[];
  onSaved: (name: string, created: boolean) => void;
  onClose: () => void;
}

export function SetCredentialModal({ credential, existing, onSaved, onClose }: SetCredentialModalProps) {
  const [draft, setDraft] = useState<CredentialDraft>({
    name: credential?.name ?? '',
    description: credential?.description ?? '',
    value: '',
  });
  const [attempted, setAttempted] = useState(false);
  const [confirmed, setConfirmed] = useState(false);
  const [refused, setRefused] = useState<Record<string, string>>({});
  const put = usePutCredential();

  const name = draft.name.trim();
  const replaced = existing.find((item) => item.name === name);
  const errors = { ...refused, ...(attempted ? credentialErrors({ ...draft, name }) : {}) };
  const change = (next: Partial<CredentialDraft>) => {
    setDraft((current) => ({ ...current, ...next }));
    setRefused({});
  };

  const save = () => {
    setAttempted(true);
    if (Object.keys(credentialErrors({ ...draft, name })).length > 0 || (replaced && !confirmed)) return;
    put.mutate(
      { name, body: { value: draft.value, description: draft.description.trim() } },
      {
        onSuccess: () => {
          setDraft((current) => ({ ...current, value: '' }));
          onSaved(name, replaced === undefined);
        },
        onError: (error) => {
          if (error instanceof ApiError) setRefused(error.fields);
        },
      },
    );
  };

  return (
    <Modal variant="small" isOpen onClose={onClose} aria-labelledby="credential-form-title">
      <ModalHeader
        title={credential ? `Replace ${credential.name}` : 'Set credential'}
        labelId="credential-form-title"
        description="The value is stored encrypted and can never be read back, here or through the API."
      />
      <ModalBody>
        <Form
          id="credential-form"
          onSubmit={(event) => {
            event.preventDefault();
            save();
          }}
        >
          {put.isError && (
            <FormAlert>
              <Alert component="p" variant="danger" isInline title="The credential was not stored">
                {messageOf(put.error)}
              </Alert>
            </FormAlert>
          )}
          <FormGroup label="Name" fieldId="credential-name" isRequired>
            <TextInput
              id="credential-name"
              value={draft.name}
              onChange={(_event, value) => change({ name: value })}
              validated={errors.name ? 'error' : 'default'}
              isDisabled={credential !== undefined}
              isRequired
              autoComplete="off"
              placeholder="openai-prod"
              aria-describedby="credential-name-helper"
            />
            <Helper id="credential-name-helper" error={errors.name} text="What deployments name it by (credential: NAME)." />
          </FormGroup>
          <FormGroup label="Description" fieldId="credential-description">
            <TextArea
              id="credential-description"
              value={draft.description}
              onChange={(_event, value) => change({ description: value })}
              validated={errors.description ? 'error' : 'default'}
              resizeOrientation="vertical"
              aria-describedby="credential-description-helper"
            />
            <Helper id="credential-description-helper" error={errors.description} text="Whose key it is, for which account; optional." />
          </FormGroup>
          <FormGroup label="Value" fieldId="credential-value" isRequired>
            <TextInput
              id="credential-value"
              type="password"
              value={draft.value}
              onChange={(_event, value) => change({ value })}
              validated={errors.value ? 'error' : 'default'}
              isRequired
              autoComplete="new-password"
              spellCheck={false}
              aria-describedby="credential-value-helper"
            />
            <Helper
              id="credential-value-helper"
              error={errors.value}
              text="The provider’s API key (Bedrock: ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN] or an API key). It is never shown again."
            />
          </FormGroup>
          {replaced && (
            <Checkbox
              id="credential-replace"
              label={`Replace the stored value of ${replaced.name}`}
              description={
                replaced.used_by.length > 0
                  ? `The deployments of ${replaced.used_by.join(', ')} use the new value from their next call; the old one is lost.`
                  : 'The old value is lost.'
              }
              isChecked={confirmed}
              onChange={(_event, checked) => setConfirmed(checked)}
              isValid={!(attempted && !confirmed)}
            />
          )}
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button
          variant={replaced ? 'warning' : 'primary'}
          type="submit"
          form="credential-form"
          isLoading={put.isPending}
          isDisabled={put.isPending || (replaced !== undefined && !confirmed)}
        >
          {replaced ? 'Replace value' : 'Store credential'}
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
