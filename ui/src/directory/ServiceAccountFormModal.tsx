// "Create service account" and "Edit service account": name (when creating), group, description
// and cost center. A group admin chooses among the groups they administer only.
import {
  Alert,
  Button,
  Form,
  FormAlert,
  FormGroup,
  FormSelect,
  FormSelectOption,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  TextArea,
  TextInput,
} from '@patternfly/react-core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type SyntheticEvent, useState } from 'react';

import { api, unwrap } from '../api/client';
import { messageOf } from '../api/errors';
import { accountSpec, refreshDirectory, type ServiceAccountRead } from './directory';
import { FieldHelp } from './FieldError';
import { apiFieldErrors, collect, type FieldErrors, lengthError, nameError, orNull } from './validation';

export interface ServiceAccountFormModalProps {
  /** The account to edit; creating one when absent. */
  account?: ServiceAccountRead;
  /** The groups the caller may put a service account in. */
  groupNames: readonly string[];
  onClose: () => void;
}

export function ServiceAccountFormModal({ account, groupNames, onClose }: ServiceAccountFormModalProps) {
  const client = useQueryClient();
  const [name, setName] = useState('');
  const [group, setGroup] = useState(account?.group ?? (groupNames.length === 1 ? (groupNames[0] ?? '') : ''));
  const [description, setDescription] = useState(account?.description ?? '');
  const [costCenter, setCostCenter] = useState(account?.cost_center ?? '');
  const [errors, setErrors] = useState<FieldErrors>({});
  const choices = account && !groupNames.includes(account.group) ? [account.group, ...groupNames] : groupNames;

  const save = useMutation({
    mutationFn: () => {
      const fields = { group, description: description.trim(), cost_center: orNull(costCenter) };
      if (account) {
        return unwrap(
          api.PUT('/api/v1/service-accounts/{name}', {
            params: { path: { name: account.name } },
            body: accountSpec(account, fields),
          }),
        );
      }
      return unwrap(api.POST('/api/v1/service-accounts', { body: { name: name.trim(), status: 'active', ...fields } }));
    },
    onSuccess: async () => {
      await refreshDirectory(client);
      onClose();
    },
    onError: (error) => setErrors(apiFieldErrors(error)),
  });

  const submit = (event?: SyntheticEvent) => {
    event?.preventDefault();
    const found = collect({
      name: account ? null : nameError(name.trim()),
      group: group ? null : 'Choose the group that owns the service account.',
      description: lengthError(description, 2000),
      cost_center: lengthError(costCenter, 128),
    });
    setErrors(found);
    if (Object.keys(found).length === 0) save.mutate();
  };

  const otherError = save.isError && Object.keys(apiFieldErrors(save.error)).length === 0;
  return (
    <Modal variant="medium" isOpen onClose={onClose} aria-labelledby="account-form-title">
      <ModalHeader
        title={account ? `Edit service account ${account.name}` : 'Create service account'}
        labelId="account-form-title"
        description="A non-human owner of API keys: an application or pipeline, owned by a group."
      />
      <ModalBody>
        <Form id="account-form" onSubmit={submit}>
          {otherError && (
            <FormAlert>
              <Alert variant="danger" isInline title={messageOf(save.error)} />
            </FormAlert>
          )}
          {!account && (
            <FormGroup label="Name" isRequired fieldId="account-name">
              <TextInput
                id="account-name"
                isRequired
                value={name}
                onChange={(_event, value) => setName(value)}
                validated={errors.name ? 'error' : 'default'}
              />
              <FieldHelp error={errors.name}>e.g. ci-pipeline</FieldHelp>
            </FormGroup>
          )}
          <FormGroup label="Group" isRequired fieldId="account-group">
            <FormSelect
              id="account-group"
              value={group}
              onChange={(_event, value) => setGroup(value)}
              validated={errors.group ? 'error' : 'default'}
              isRequired
            >
              <FormSelectOption value="" label="Choose a group" isPlaceholder isDisabled />
              {choices.map((choice) => (
                <FormSelectOption key={choice} value={choice} label={choice} />
              ))}
            </FormSelect>
            <FieldHelp error={errors.group}>The group&apos;s admins manage the account and its keys.</FieldHelp>
          </FormGroup>
          <FormGroup label="Description" fieldId="account-description">
            <TextArea
              id="account-description"
              value={description}
              onChange={(_event, value) => setDescription(value)}
              validated={errors.description ? 'error' : 'default'}
              resizeOrientation="vertical"
            />
            <FieldHelp error={errors.description} />
          </FormGroup>
          <FormGroup label="Cost center" fieldId="account-cost-center">
            <TextInput
              id="account-cost-center"
              value={costCenter}
              onChange={(_event, value) => setCostCenter(value)}
              validated={errors.cost_center ? 'error' : 'default'}
            />
            <FieldHelp error={errors.cost_center}>Usage of the account&apos;s keys is charged to it.</FieldHelp>
          </FormGroup>
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button variant="primary" type="submit" form="account-form" isLoading={save.isPending} isDisabled={save.isPending}>
          {account ? 'Save' : 'Create service account'}
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
