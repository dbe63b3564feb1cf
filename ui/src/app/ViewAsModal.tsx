// An admin picks a user to view the console as, read-only (audited by the API when it starts).
import { Alert, Button, Modal, ModalBody, ModalFooter, ModalHeader, SearchInput, SimpleList, SimpleListItem } from '@patternfly/react-core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';

import { api, unwrap } from '../api/client';
import { messageOf } from '../api/errors';
import { LoadingState } from '../components/states';
import { useSession } from './session';

export function ViewAsModal({ onClose }: { onClose: () => void }) {
  const { viewAs } = useSession();
  const [filter, setFilter] = useState('');
  const [chosen, setChosen] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const users = useQuery({
    queryKey: ['users', 'view-as'],
    queryFn: () => unwrap(api.GET('/api/v1/users')),
  });
  const names = (users.data?.items ?? [])
    .map((user) => user.name)
    .filter((name) => name.toLowerCase().includes(filter.toLowerCase()))
    .slice(0, 50);

  const start = async () => {
    if (!chosen) return;
    try {
      await viewAs(chosen);
      onClose();
    } catch (caught) {
      setError(caught);
    }
  };

  return (
    <Modal variant="small" isOpen onClose={onClose} aria-labelledby="view-as-title">
      <ModalHeader title="View as user" labelId="view-as-title" description="See the console as this user sees it, read-only. Recorded in the audit log." />
      <ModalBody>
        {error !== null && <Alert variant="danger" isInline title={messageOf(error)} className="pf-v6-u-mb-md" />}
        <SearchInput aria-label="Find a user" placeholder="Find a user" value={filter} onChange={(_event, value) => setFilter(value)} onClear={() => setFilter('')} />
        {users.isPending ? (
          <LoadingState />
        ) : (
          <SimpleList aria-label="Users" className="pf-v6-u-mt-md">
            {names.map((name) => (
              <SimpleListItem key={name} isActive={chosen === name} onClick={() => setChosen(name)}>
                {name}
              </SimpleListItem>
            ))}
          </SimpleList>
        )}
      </ModalBody>
      <ModalFooter>
        <Button variant="primary" isDisabled={!chosen} onClick={() => void start()}>
          View as {chosen ?? 'user'}
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
