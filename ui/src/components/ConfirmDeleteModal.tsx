// The destructive-action modal of PatternFly 6's pattern: a warning title, what will happen, the
// exact name in plain text (easy to copy) and a field where it must be typed before Delete enables.
import {
  Alert,
  Button,
  Form,
  FormGroup,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  TextInput,
} from '@patternfly/react-core';
import { type ReactNode, useState } from 'react';

import { messageOf } from '../api/errors';

export interface ConfirmDeleteModalProps {
  /** e.g. "Delete API key?" */
  title: string;
  /** The exact name the user must type. */
  name: string;
  /** What deleting does, in a sentence or two. */
  children: ReactNode;
  confirmLabel?: string;
  onConfirm: () => Promise<unknown>;
  onClose: () => void;
}

export function ConfirmDeleteModal({
  title,
  name,
  children,
  confirmLabel = 'Delete',
  onConfirm,
  onClose,
}: ConfirmDeleteModalProps) {
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const matches = typed === name;

  const confirm = async () => {
    if (!matches) return;
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
      onClose();
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  };

  return (
    <Modal variant="small" isOpen onClose={onClose} aria-labelledby="confirm-delete-title">
      <ModalHeader title={title} titleIconVariant="warning" labelId="confirm-delete-title" />
      <ModalBody>
        {error !== null && <Alert variant="danger" isInline title={messageOf(error)} className="pf-v6-u-mb-md" />}
        <div className="pf-v6-u-mb-md">{children}</div>
        <Form
          onSubmit={(event) => {
            event.preventDefault();
            void confirm();
          }}
        >
          <FormGroup
            label={
              <>
                Type <strong>{name}</strong> to confirm
              </>
            }
            fieldId="confirm-delete-name"
          >
            <TextInput
              id="confirm-delete-name"
              value={typed}
              onChange={(_event, value) => setTyped(value)}
              aria-label={`Type ${name} to confirm`}
              autoComplete="off"
            />
          </FormGroup>
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button variant="danger" onClick={() => void confirm()} isDisabled={!matches || busy} isLoading={busy}>
          {confirmLabel}
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
