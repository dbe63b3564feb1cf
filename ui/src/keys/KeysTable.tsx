// The API keys table: Name, Status, API key (its prefix), Assets, Owner, Last used, and a kebab with
// "View details" and, for a key the caller manages that is not revoked yet, "Delete API key".
import { MenuToggle } from '@patternfly/react-core';
import { EllipsisVIcon } from '@patternfly/react-icons';
import { ActionsColumn, type IAction, Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { Link, useNavigate } from 'react-router-dom';

import { useSession } from '../app/session';
import { formatDateTime, formatRelative } from '../components/format';
import { managesKey } from './details/access';
import { KeyStatusLabel } from './details/KeyStatusLabel';
import { assetsText, type Key, ownerParts, prefixText } from './keyFields';

export const COLUMNS = ['Name', 'Status', 'API key', 'Assets', 'Owner', 'Last used'] as const;

interface Props {
  keys: Key[];
  onDelete: (key: Key) => void;
}

function Owner({ owner }: { owner: string | null }) {
  const parts = ownerParts(owner);
  if (parts === null) return <span className="pf-v6-u-text-color-subtle">No owner</span>;
  return (
    <>
      <div>{parts.name}</div>
      {parts.type && <div className="pf-v6-u-font-size-sm pf-v6-u-text-color-subtle">{parts.type}</div>}
    </>
  );
}

export function KeysTable({ keys, onDelete }: Props) {
  const { me, can } = useSession();
  const navigate = useNavigate();

  const actionsOf = (key: Key): IAction[] => {
    const items: IAction[] = [{ title: 'View details', onClick: () => void navigate(`/settings/api-keys/${key.id}`) }];
    if (key.status !== 'revoked' && managesKey(key, me, can)) {
      items.push({ isSeparator: true }, { title: 'Delete API key', isDanger: true, onClick: () => onDelete(key) });
    }
    return items;
  };

  return (
    <Table aria-label="API keys" variant="compact">
      <Thead>
        <Tr>
          {COLUMNS.map((column) => (
            <Th key={column}>{column}</Th>
          ))}
          <Th screenReaderText="Actions" />
        </Tr>
      </Thead>
      <Tbody>
        {keys.map((key) => (
          <Tr key={key.id}>
            <Td dataLabel="Name">
              <Link to={`/settings/api-keys/${key.id}`}>{key.name}</Link>
            </Td>
            <Td dataLabel="Status">
              <KeyStatusLabel status={key.status} />
            </Td>
            <Td dataLabel="API key">
              <code className="pf-v6-u-font-family-monospace">{prefixText(key.prefix)}</code>
            </Td>
            <Td dataLabel="Assets" modifier="truncate">
              <span title={key.models?.join(', ')}>{assetsText(key.models)}</span>
            </Td>
            <Td dataLabel="Owner">
              <Owner owner={key.owner} />
            </Td>
            <Td dataLabel="Last used">
              <span title={key.last_used_at ? formatDateTime(key.last_used_at) : undefined}>{formatRelative(key.last_used_at)}</span>
            </Td>
            <Td isActionCell>
              <ActionsColumn
                items={actionsOf(key)}
                actionsToggle={({ onToggle, isOpen, isDisabled, toggleRef }) => (
                  <MenuToggle
                    ref={toggleRef}
                    variant="plain"
                    icon={<EllipsisVIcon />}
                    onClick={onToggle}
                    isExpanded={isOpen}
                    isDisabled={isDisabled}
                    aria-label={`Actions for ${key.name}`}
                  />
                )}
              />
            </Td>
          </Tr>
        ))}
      </Tbody>
    </Table>
  );
}
