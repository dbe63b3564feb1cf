// "Create group" and "Edit group": name (when creating), description, cost center, members and
// admins. Members are stored on each user, so saving writes the group, then every user who joins
// or leaves it.
import { Alert, Button, Form, FormAlert, FormGroup, Modal, ModalBody, ModalFooter, ModalHeader, TextArea, TextInput } from '@patternfly/react-core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type SyntheticEvent, useState } from 'react';

import { api, unwrap } from '../api/client';
import { messageOf } from '../api/errors';
import { type GroupRead, membersOf, refreshDirectory, setMembers, type UserRead } from './directory';
import { FieldHelp } from './FieldError';
import { MultiTypeahead } from './MultiTypeahead';
import { apiFieldErrors, collect, type FieldErrors, lengthError, nameError, orNull } from './validation';

export interface GroupFormModalProps {
  /** The group to edit; creating a group when absent. */
  group?: GroupRead;
  users: readonly UserRead[];
  onClose: () => void;
}

export function GroupFormModal({ group, users, onClose }: GroupFormModalProps) {
  const client = useQueryClient();
  const userNames = users.map((user) => user.name);
  const [name, setName] = useState('');
  const [description, setDescription] = useState(group?.description ?? '');
  const [costCenter, setCostCenter] = useState(group?.cost_center ?? '');
  const [members, setMembersField] = useState<string[]>(group ? membersOf(group.name, users) : []);
  const [admins, setAdmins] = useState<string[]>(group?.admins ?? []);
  const [errors, setErrors] = useState<FieldErrors>({});
  /** Set once the group exists, so that a retry after a failed membership change replaces it. */
  const [created, setCreated] = useState<string | null>(group?.name ?? null);

  const save = useMutation({
    mutationFn: async () => {
      const spec = { description: description.trim(), cost_center: orNull(costCenter), admins };
      let target = created;
      if (target === null) {
        target = name.trim();
        await unwrap(api.POST('/api/v1/groups', { body: { name: target, ...spec } }));
        setCreated(target);
      } else {
        await unwrap(api.PUT('/api/v1/groups/{name}', { params: { path: { name: target } }, body: spec }));
      }
      await setMembers(target, members, users);
    },
    onSuccess: onClose,
    onError: (error) => setErrors(apiFieldErrors(error)),
    onSettled: () => refreshDirectory(client),
  });

  const submit = (event?: SyntheticEvent) => {
    event?.preventDefault();
    const found = collect({
      name: created === null ? nameError(name.trim()) : null,
      description: lengthError(description, 2000),
      cost_center: lengthError(costCenter, 128),
    });
    setErrors(found);
    if (Object.keys(found).length === 0) save.mutate();
  };

  const otherError = save.isError && Object.keys(apiFieldErrors(save.error)).length === 0;
  return (
    <Modal variant="medium" isOpen onClose={onClose} aria-labelledby="group-form-title">
      <ModalHeader title={group ? `Edit group ${group.name}` : 'Create group'} labelId="group-form-title" />
      <ModalBody>
        <Form id="group-form" onSubmit={submit}>
          {otherError && (
            <FormAlert>
              <Alert variant="danger" isInline title={messageOf(save.error)} />
            </FormAlert>
          )}
          {!group && (
            <FormGroup label="Name" isRequired fieldId="group-name">
              <TextInput
                id="group-name"
                isRequired
                value={name}
                onChange={(_event, value) => setName(value)}
                validated={errors.name ? 'error' : 'default'}
                isDisabled={created !== null}
              />
              <FieldHelp error={errors.name}>e.g. ml-platform</FieldHelp>
            </FormGroup>
          )}
          <FormGroup label="Description" fieldId="group-description">
            <TextArea
              id="group-description"
              value={description}
              onChange={(_event, value) => setDescription(value)}
              validated={errors.description ? 'error' : 'default'}
              resizeOrientation="vertical"
            />
            <FieldHelp error={errors.description} />
          </FormGroup>
          <FormGroup label="Cost center" fieldId="group-cost-center">
            <TextInput
              id="group-cost-center"
              value={costCenter}
              onChange={(_event, value) => setCostCenter(value)}
              validated={errors.cost_center ? 'error' : 'default'}
            />
            <FieldHelp error={errors.cost_center}>Usage of the group&apos;s keys and service accounts is charged to it.</FieldHelp>
          </FormGroup>
          <FormGroup label="Members" fieldId="group-members">
            <MultiTypeahead
              id="group-members"
              label="Members"
              noun="users"
              options={userNames}
              selected={members}
              onChange={setMembersField}
              placeholder="Choose users"
            />
            <FieldHelp>
              {group?.source === 'oidc'
                ? 'The identity provider also adds its members when they sign in.'
                : "The group's policies apply to its members."}
            </FieldHelp>
          </FormGroup>
          <FormGroup label="Admins" fieldId="group-admins">
            <MultiTypeahead
              id="group-admins"
              label="Admins"
              noun="users"
              options={userNames}
              selected={admins}
              onChange={setAdmins}
              placeholder="Choose users"
              isInvalid={Boolean(errors.admins)}
            />
            <FieldHelp error={errors.admins}>
              Admins manage the group&apos;s service accounts and keys and see its members&apos; usage.
            </FieldHelp>
          </FormGroup>
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button variant="primary" type="submit" form="group-form" isLoading={save.isPending} isDisabled={save.isPending}>
          {group ? 'Save' : 'Create group'}
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
