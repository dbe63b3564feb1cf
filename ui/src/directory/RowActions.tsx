// A row's kebab (PatternFly's ActionsColumn) whose toggle names the row it acts on.
import { MenuToggle } from '@patternfly/react-core';
import { EllipsisVIcon } from '@patternfly/react-icons';
import { ActionsColumn, type IAction } from '@patternfly/react-table';

export function RowActions({ name, items }: { name: string; items: IAction[] }) {
  return (
    <ActionsColumn
      items={items}
      popperProps={{ position: 'right' }}
      actionsToggle={({ onToggle, isOpen, isDisabled, toggleRef }) => (
        <MenuToggle
          ref={toggleRef}
          onClick={onToggle}
          isExpanded={isOpen}
          isDisabled={isDisabled}
          variant="plain"
          aria-label={`Actions for ${name}`}
          icon={<EllipsisVIcon />}
        />
      )}
    />
  );
}
