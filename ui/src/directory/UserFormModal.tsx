// "Add user" and "Edit user": name (when adding), email, display name, groups and cost center.
// A role is not set here: it comes from the identity provider's groups at each sign-in.
import {
  Alert,
  Button,
  Content,
  Form,
  FormAlert,
  FormGroup,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  TextInput,
} from '@patternfly/react-core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type SyntheticEvent, useState } from 'react';

import { api, unwrap } from '../api/client';
import { messageOf } from '../api/errors';
import { putUser, refreshDirectory, type UserRead, userSpec } from './directory';
import { FieldHelp } from './FieldError';
import { MultiTypeahead } from './MultiTypeahead';
import { apiFieldErrors, collect, emailError, type FieldErrors, lengthError, nameError, orNull } from './validation';

export interface UserFormModalProps {
  /** The user to edit; adding a user when absent. */
  user?: UserRead;
  /** The group names to choose from. */
  groupNames: readonly string[];
  onClose: () => void;
}

export function UserFormModal({ user, groupNames, onClose }: UserFormModalProps) {
  const client = useQueryClient();
  const [name, setName] = useState('');
  const [email, setEmail] = useState(user?.email ?? '');
  const [displayName, setDisplayName] = useState(user?.display_name ?? '');
  const [groups, setGroups] = useState<string[]>(user?.groups ?? []);
  const [costCenter, setCostCenter] = useState(user?.cost_center ?? '');
  const [errors, setErrors] = useState<FieldErrors>({});

  const save = useMutation({
    mutationFn: async () => {
      const fields = {
        email: orNull(email),
        display_name: orNull(displayName),
        groups,
        cost_center: orNull(costCenter),
      };
      if (user) return putUser(user.name, userSpec(user, fields));
      return unwrap(api.POST('/api/v1/users', { body: { name: name.trim(), status: 'active', ...fields } }));
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
      name: user ? null : nameError(name.trim()),
      email: emailError(email.trim()),
      display_name: lengthError(displayName, 256),
      cost_center: lengthError(costCenter, 128),
    });
    setErrors(found);
    if (Object.keys(found).length === 0) save.mutate();
  };

  const title = user ? `Edit user ${user.name}` : 'Add user';
  const otherError = save.isError && Object.keys(apiFieldErrors(save.error)).length === 0;
  return (
    <Modal variant="medium" isOpen onClose={onClose} aria-labelledby="user-form-title">
      <ModalHeader title={title} labelId="user-form-title" />
      <ModalBody>
        <Form id="user-form" onSubmit={submit}>
          <Content component="p">
            A user&apos;s role comes from their groups at the identity provider (its admin and auditor groups).
          </Content>
          {otherError && (
            <FormAlert>
              <Alert variant="danger" isInline title={messageOf(save.error)} />
            </FormAlert>
          )}
          {!user && (
            <FormGroup label="Name" isRequired fieldId="user-name">
              <TextInput
                id="user-name"
                isRequired
                value={name}
                onChange={(_event, value) => setName(value)}
                validated={errors.name ? 'error' : 'default'}
              />
              <FieldHelp error={errors.name}>The user name they sign in with, e.g. alice.</FieldHelp>
            </FormGroup>
          )}
          <FormGroup label="Email" fieldId="user-email">
            <TextInput
              id="user-email"
              type="email"
              value={email}
              onChange={(_event, value) => setEmail(value)}
              validated={errors.email ? 'error' : 'default'}
            />
            <FieldHelp error={errors.email} />
          </FormGroup>
          <FormGroup label="Display name" fieldId="user-display-name">
            <TextInput
              id="user-display-name"
              value={displayName}
              onChange={(_event, value) => setDisplayName(value)}
              validated={errors.display_name ? 'error' : 'default'}
            />
            <FieldHelp error={errors.display_name} />
          </FormGroup>
          <FormGroup label="Groups" fieldId="user-groups">
            <MultiTypeahead
              id="user-groups"
              label="Groups"
              noun="groups"
              options={groupNames}
              selected={groups}
              onChange={setGroups}
              placeholder="Choose groups"
              isInvalid={Boolean(errors.groups)}
            />
            <FieldHelp error={errors.groups} />
          </FormGroup>
          <FormGroup label="Cost center" fieldId="user-cost-center">
            <TextInput
              id="user-cost-center"
              value={costCenter}
              onChange={(_event, value) => setCostCenter(value)}
              validated={errors.cost_center ? 'error' : 'default'}
            />
            <FieldHelp error={errors.cost_center}>Usage is charged to it in the chargeback report.</FieldHelp>
          </FormGroup>
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button variant="primary" type="submit" form="user-form" isLoading={save.isPending} isDisabled={save.isPending}>
          {user ? 'Save' : 'Add user'}
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
