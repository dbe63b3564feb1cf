// The catalog's table: one row per model, its deployments' health from the runtime API (admins and
// auditors, who see deployments), and for admins a kebab to enable, disable, edit or delete it.
import { Flex, FlexItem, Label, MenuToggle, Tooltip } from '@patternfly/react-core';
import { EllipsisVIcon } from '@patternfly/react-icons';
import { ActionsColumn, type IAction, Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useQueries } from '@tanstack/react-query';
import { Link } from 'react-router-dom';

import { useSession } from '../app/session';
import { HEALTH_LABEL, modelHealth } from './health';
import { accessLabel, kindLabel, type Model, modelPath, type ModelRuntime, pricingText } from './model';
import { runtimeQuery } from './queries';
import type { ModelActions } from './useModelActions';

export function StatusLabel({ status }: { status: Model['status'] }) {
  return status === 'active' ? <Label color="green">Enabled</Label> : <Label color="grey">Disabled</Label>;
}

function DeploymentsCell({ model, runtime }: { model: Model; runtime: ModelRuntime | undefined }) {
  const health = HEALTH_LABEL[modelHealth(runtime, model.deployments.length)];
  const count = model.deployments.length;
  return (
    <Flex spaceItems={{ default: 'spaceItemsSm' }} alignItems={{ default: 'alignItemsCenter' }} flexWrap={{ default: 'nowrap' }}>
      <FlexItem>{count}</FlexItem>
      <FlexItem>
        <Tooltip content={runtime ? `${count === 1 ? 'Its deployment' : 'Its deployments'}, as the last runtime scrape saw them.` : 'No runtime reading.'}>
          <Label color={health.color} isCompact tabIndex={0}>
            {health.text}
          </Label>
        </Tooltip>
      </FlexItem>
    </Flex>
  );
}

export function ModelsTable({ models, actions }: { models: Model[]; actions: ModelActions }) {
  const { can } = useSession();
  const showDeployments = can.readsEverything;
  const runtimes = useQueries({
    queries: models.map((model) => runtimeQuery(model.name, showDeployments && model.deployments.length > 0)),
  });

  const rowActions = (model: Model): IAction[] => [
    {
      title: model.status === 'active' ? 'Disable' : 'Enable',
      onClick: () => actions.toggleStatus(model),
      isDisabled: actions.busy === model.name,
    },
    { title: 'Edit', onClick: () => actions.edit(model) },
    { isSeparator: true },
    { title: 'Delete model', onClick: () => actions.remove(model), isDanger: true },
  ];

  return (
    <Table aria-label="Models" variant="compact">
      <Thead>
        <Tr>
          <Th>Name</Th>
          <Th>Kind</Th>
          <Th>Access</Th>
          <Th>Pricing</Th>
          {showDeployments && <Th>Deployments</Th>}
          <Th>Status</Th>
          {can.manageCatalog && <Th screenReaderText="Actions" />}
        </Tr>
      </Thead>
      <Tbody>
        {models.map((model, index) => (
          <Tr key={model.name}>
            <Td dataLabel="Name">
              <Link to={modelPath(model.name)}>{model.name}</Link>
            </Td>
            <Td dataLabel="Kind">{kindLabel(model.kind)}</Td>
            <Td dataLabel="Access">{accessLabel(model.access)}</Td>
            <Td dataLabel="Pricing">{pricingText(model)}</Td>
            {showDeployments && (
              <Td dataLabel="Deployments">
                <DeploymentsCell model={model} runtime={runtimes[index]?.data} />
              </Td>
            )}
            <Td dataLabel="Status">
              <StatusLabel status={model.status} />
            </Td>
            {can.manageCatalog && (
              <Td isActionCell>
                <ActionsColumn
                  items={rowActions(model)}
                  popperProps={{ position: 'right' }}
                  actionsToggle={({ onToggle, isOpen, isDisabled, toggleRef }) => (
                    <MenuToggle
                      ref={toggleRef}
                      variant="plain"
                      aria-label={`Actions for ${model.name}`}
                      icon={<EllipsisVIcon />}
                      onClick={onToggle}
                      isExpanded={isOpen}
                      isDisabled={isDisabled}
                    />
                  )}
                />
              </Td>
            )}
          </Tr>
        ))}
      </Tbody>
    </Table>
  );
}
