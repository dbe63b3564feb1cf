// "Edit": a key's name and description (PATCH /api/v1/keys/{id}); the API's field errors land on the field.
import {
  Alert,
  Button,
  Form,
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
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';

import { api, unwrap } from '../../api/client';
import { ApiError, messageOf } from '../../api/errors';
import type { Key } from './access';

const NAME_MAX = 128;
const DESCRIPTION_MAX = 2000;

function FieldError({ message }: { message: string | undefined }) {
  if (!message) return null;
  return (
    <FormHelperText>
      <HelperText>
        <HelperTextItem variant="error">{message}</HelperTextItem>
      </HelperText>
    </FormHelperText>
  );
}

export function EditKeyModal({ apiKey, onClose }: { apiKey: Key; onClose: () => void }) {
  const client = useQueryClient();
  const [name, setName] = useState(apiKey.name);
  const [description, setDescription] = useState(apiKey.description);
  const [submitted, setSubmitted] = useState(false);

  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH('/api/v1/keys/{key_id}', {
          params: { path: { key_id: apiKey.id } },
          body: { name: name.trim(), description },
        }),
      ),
    onSuccess: async (updated) => {
      client.setQueryData(['keys', apiKey.id], updated);
      await client.invalidateQueries({ queryKey: ['keys'] });
      onClose();
    },
  });

  const fields = save.error instanceof ApiError ? save.error.fields : {};
  const nameError =
    submitted && name.trim() === ''
      ? 'Name is required.'
      : name.length > NAME_MAX
        ? `At most ${NAME_MAX} characters.`
        : fields.name;
  const descriptionError = description.length > DESCRIPTION_MAX ? `At most ${DESCRIPTION_MAX} characters.` : fields.description;
  const otherError = save.isError && !fields.name && !fields.description ? messageOf(save.error) : null;

  const submit = () => {
    setSubmitted(true);
    if (name.trim() === '' || name.length > NAME_MAX || description.length > DESCRIPTION_MAX) return;
    save.mutate();
  };

  return (
    <Modal variant="small" isOpen onClose={onClose} aria-labelledby="edit-key-title">
      <ModalHeader title="Edit API key" labelId="edit-key-title" />
      <ModalBody>
        {otherError && <Alert variant="danger" isInline title={otherError} className="pf-v6-u-mb-md" />}
        <Form
          id="edit-key-form"
          onSubmit={(event) => {
            event.preventDefault();
            submit();
          }}
        >
          <FormGroup label="Name" isRequired fieldId="edit-key-name">
            <TextInput
              id="edit-key-name"
              isRequired
              value={name}
              onChange={(_event, value) => setName(value)}
              validated={nameError ? 'error' : 'default'}
            />
            <FieldError message={nameError} />
          </FormGroup>
          <FormGroup label="Description" fieldId="edit-key-description">
            <TextArea
              id="edit-key-description"
              value={description}
              onChange={(_event, value) => setDescription(value)}
              validated={descriptionError ? 'error' : 'default'}
              resizeOrientation="vertical"
            />
            <FieldError message={descriptionError} />
          </FormGroup>
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button variant="primary" type="submit" form="edit-key-form" isLoading={save.isPending} isDisabled={save.isPending}>
          Save
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
