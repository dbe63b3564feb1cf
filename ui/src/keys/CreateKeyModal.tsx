// The Create API key modal: name, description, owner, "Limits and policies" and "AI asset access"
// (POST /api/v1/keys). The API's 422 messages land on their fields; the secret comes back once.
import {
  Alert,
  Button,
  ExpandableSection,
  Form,
  FormGroup,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  TextArea,
  TextInput,
} from '@patternfly/react-core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';

import { api, unwrap } from '../api/client';
import { ApiError, messageOf } from '../api/errors';
import { useSession } from '../app/session';
import { AssetAccessFields } from './create/AssetAccessFields';
import { FieldHelp } from './create/FieldHelp';
import {
  type Errors,
  type Field,
  fieldErrors,
  FIELDS_OF,
  initialForm,
  isDirectoryUser,
  type KeyCreated,
  type KeyForm,
  LIMIT_FIELDS,
  toBody,
  validate,
} from './create/form';
import { LimitsFields } from './create/LimitsFields';
import { OwnerFields } from './create/OwnerFields';

export interface CreateKeyModalProps {
  onClose: () => void;
  onCreated: (key: KeyCreated) => void;
}

export function CreateKeyModal({ onClose, onCreated }: CreateKeyModalProps) {
  const { me, can } = useSession();
  const queryClient = useQueryClient();
  const [form, setForm] = useState<KeyForm>(() => initialForm(me));
  const [errors, setErrors] = useState<Errors>({});
  const [problem, setProblem] = useState<string | null>(null);
  const [limitsOpen, setLimitsOpen] = useState(false);
  const [assetsOpen, setAssetsOpen] = useState(false);

  const create = useMutation({
    mutationFn: (body: ReturnType<typeof toBody>) => unwrap(api.POST('/api/v1/keys', { body })),
    onSuccess: async (key) => {
      await queryClient.invalidateQueries({ queryKey: ['keys'] });
      onCreated(key);
    },
    onError: (error) => {
      const { errors: found, rest } = error instanceof ApiError ? fieldErrors(error.fields) : { errors: {}, rest: [] };
      show(found);
      setProblem(Object.keys(found).length === 0 ? messageOf(error) : rest.length > 0 ? rest.join('; ') : null);
    },
  });

  const show = (found: Errors) => {
    setErrors(found);
    if (LIMIT_FIELDS.some((field) => field in found)) setLimitsOpen(true);
    if ('models' in found) setAssetsOpen(true);
  };

  const change = (update: Partial<KeyForm>) => {
    setForm((current) => ({ ...current, ...update }));
    const cleared = (Object.keys(update) as (keyof KeyForm)[]).flatMap((input) => FIELDS_OF[input]);
    setErrors((current) =>
      Object.fromEntries(Object.entries(current).filter(([field]) => !cleared.includes(field as Field))),
    );
  };

  const submit = () => {
    const ownerRequired = form.ownerType !== 'user' || isDirectoryUser(me);
    const found = validate(form, ownerRequired);
    setProblem(null);
    if (Object.keys(found).length > 0) {
      show(found);
      return;
    }
    setErrors({});
    create.mutate(toBody(form));
  };

  return (
    <Modal variant="medium" isOpen onClose={onClose} aria-labelledby="create-key-title">
      <ModalHeader title="Create API key" labelId="create-key-title" />
      <ModalBody>
        {problem && <Alert variant="danger" isInline title="The key was not created" className="pf-v6-u-mb-md">{problem}</Alert>}
        <Form
          id="create-key-form"
          onSubmit={(event) => {
            event.preventDefault();
            submit();
          }}
        >
          <FormGroup label="Name" isRequired fieldId="key-name">
            <TextInput
              id="key-name"
              aria-label="Name"
              isRequired
              value={form.name}
              validated={errors.name ? 'error' : 'default'}
              onChange={(_event, name) => change({ name })}
            />
            <FieldHelp error={errors.name} help="Up to 128 characters, e.g. the app or laptop that uses it." />
          </FormGroup>
          <FormGroup label="Description" fieldId="key-description">
            <TextArea
              id="key-description"
              value={form.description}
              placeholder="Describe the key's purpose"
              resizeOrientation="vertical"
              validated={errors.description ? 'error' : 'default'}
              onChange={(_event, description) => change({ description })}
            />
            <FieldHelp error={errors.description} />
          </FormGroup>
          <OwnerFields form={form} errors={errors} onChange={change} />
          <ExpandableSection
            toggleText="Limits and policies"
            isExpanded={limitsOpen}
            onToggle={(_event, open) => setLimitsOpen(open)}
            isIndented
          >
            <LimitsFields form={form} errors={errors} isAdmin={can.isAdmin} onChange={change} />
          </ExpandableSection>
          <ExpandableSection
            toggleText="AI asset access"
            isExpanded={assetsOpen}
            onToggle={(_event, open) => setAssetsOpen(open)}
            isIndented
          >
            <AssetAccessFields form={form} errors={errors} onChange={change} />
          </ExpandableSection>
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button variant="primary" type="submit" form="create-key-form" isLoading={create.isPending} isDisabled={create.isPending}>
          Create
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
