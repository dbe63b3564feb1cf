// The policies table: Name (to the details), Description, Status, Targets, Rules and, for those who
// may change policies, a kebab with Edit and Delete policy.
import { Content, Label, MenuToggle } from '@patternfly/react-core';
import { EllipsisVIcon } from '@patternfly/react-icons';
import { ActionsColumn, Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { Link } from 'react-router-dom';

import { describeRules, describeTargets, type Policy } from './rules';

export function StatusLabel({ status }: { status: Policy['status'] }) {
  return status === 'active' ? (
    <Label color="green">Active</Label>
  ) : (
    <Label color="grey">Inactive</Label>
  );
}

export function RuleLines({ policy }: { policy: Policy }) {
  const rules = describeRules(policy);
  if (rules.length === 0) return <>No limits</>;
  return (
    <>
      {rules.map((rule) => (
        <div key={rule}>{rule}</div>
      ))}
    </>
  );
}

export interface PolicyTableProps {
  policies: Policy[];
  /** Present when the caller may change policies. */
  onEdit?: (policy: Policy) => void;
  onDelete?: (policy: Policy) => void;
}

export function PolicyTable({ policies, onEdit, onDelete }: PolicyTableProps) {
  const actions = onEdit !== undefined && onDelete !== undefined;
  return (
    <Table aria-label="Policies" variant="compact">
      <Thead>
        <Tr>
          <Th width={20}>Name</Th>
          <Th width={25}>Description</Th>
          <Th>Status</Th>
          <Th>Targets</Th>
          <Th width={25}>Rules</Th>
          {actions && <Th screenReaderText="Actions" />}
        </Tr>
      </Thead>
      <Tbody>
        {policies.map((policy) => (
          <Tr key={policy.name}>
            <Td dataLabel="Name">
              <Link to={`/settings/policies/${encodeURIComponent(policy.name)}`}>{policy.name}</Link>
              {policy.displayName && (
                <Content component="small">
                  {policy.displayName}
                </Content>
              )}
            </Td>
            <Td dataLabel="Description">{policy.description || '—'}</Td>
            <Td dataLabel="Status">
              <StatusLabel status={policy.status} />
            </Td>
            <Td dataLabel="Targets">{describeTargets(policy)}</Td>
            <Td dataLabel="Rules">
              <RuleLines policy={policy} />
            </Td>
            {actions && (
              <Td isActionCell>
                <ActionsColumn
                  popperProps={{ position: 'right' }}
                  actionsToggle={({ onToggle, isOpen, isDisabled, toggleRef }) => (
                    <MenuToggle
                      ref={toggleRef}
                      aria-label={`Actions for ${policy.name}`}
                      variant="plain"
                      onClick={onToggle}
                      isExpanded={isOpen}
                      isDisabled={isDisabled}
                      icon={<EllipsisVIcon />}
                    />
                  )}
                  items={[
                    { title: 'Edit', onClick: () => onEdit(policy) },
                    { isSeparator: true },
                    { title: 'Delete policy', onClick: () => onDelete(policy), isDanger: true },
                  ]}
                />
              </Td>
            )}
          </Tr>
        ))}
      </Tbody>
    </Table>
  );
}
