// What an admin does to a model, from the list's kebab or the details page: enable or disable it
// (a PUT of the same model with the other status), edit it, delete it (typing its name to confirm).
import { Alert, AlertActionCloseButton } from '@patternfly/react-core';
import { type ReactNode, useState } from 'react';

import { messageOf } from '../api/errors';
import { ConfirmDeleteModal } from '../components/ConfirmDeleteModal';
import { type Model, withStatus } from './model';
import { ModelFormModal } from './ModelFormModal';
import { useDeleteModel, usePutModel } from './queries';

export interface ModelActions {
  toggleStatus: (model: Model) => void;
  edit: (model: Model) => void;
  remove: (model: Model) => void;
  /** The model whose status is being changed, if any. */
  busy: string | null;
  /** The modals and the error of a failed status change: render once on the page. */
  elements: ReactNode;
}

export function useModelActions({ onDeleted }: { onDeleted?: (model: Model) => void } = {}): ModelActions {
  const [editing, setEditing] = useState<Model | null>(null);
  const [deleting, setDeleting] = useState<Model | null>(null);
  const put = usePutModel();
  const del = useDeleteModel();

  const toggleStatus = (model: Model) => {
    const status = model.status === 'active' ? 'disabled' : 'active';
    put.mutate({ name: model.name, spec: withStatus(model, status) });
  };

  const elements = (
    <>
      {put.error && (
        <Alert
          component="p"
          variant="danger"
          isInline
          title={`${put.variables.spec.status === 'active' ? 'Enabling' : 'Disabling'} ${put.variables.name} failed`}
          actionClose={<AlertActionCloseButton onClose={() => put.reset()} />}
        >
          {messageOf(put.error)}
        </Alert>
      )}
      {editing && <ModelFormModal model={editing} onClose={() => setEditing(null)} />}
      {deleting && (
        <ConfirmDeleteModal
          title="Delete model?"
          name={deleting.name}
          onConfirm={async () => {
            await del.mutateAsync(deleting);
            onDeleted?.(deleting);
          }}
          onClose={() => setDeleting(null)}
        >
          <strong>{deleting.name}</strong> leaves the catalog and callers can no longer reach it. To hide it for a while
          instead, disable it.
        </ConfirmDeleteModal>
      )}
    </>
  );

  return {
    toggleStatus,
    edit: setEditing,
    remove: setDeleting,
    busy: put.isPending ? put.variables.name : null,
    elements,
  };
}
