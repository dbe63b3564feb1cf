// A group's expanded row: its description, members and admins.
import {
  Content,
  DescriptionList,
  DescriptionListDescription,
  DescriptionListGroup,
  DescriptionListTerm,
  Label,
  LabelGroup,
} from '@patternfly/react-core';

import { formatDateTime } from '../components/format';
import type { GroupRead } from './directory';

function Names({ label, names }: { label: string; names: readonly string[] }) {
  if (names.length === 0) return <>None</>;
  return (
    <LabelGroup aria-label={label} numLabels={20}>
      {names.map((name) => (
        <Label key={name} isCompact>
          {name}
        </Label>
      ))}
    </LabelGroup>
  );
}

/** `members` null: the caller may not see this group's members (only its admins and admins do). */
export function GroupDetails({ group, members }: { group: GroupRead; members: readonly string[] | null }) {
  return (
    <DescriptionList isCompact isHorizontal>
      <DescriptionListGroup>
        <DescriptionListTerm>Description</DescriptionListTerm>
        <DescriptionListDescription>{group.description || '—'}</DescriptionListDescription>
      </DescriptionListGroup>
      <DescriptionListGroup>
        <DescriptionListTerm>Members</DescriptionListTerm>
        <DescriptionListDescription>
          {members === null ? (
            <Content component="small">Only the group&apos;s admins and Headwater admins see its members.</Content>
          ) : (
            <Names label={`Members of ${group.name}`} names={members} />
          )}
        </DescriptionListDescription>
      </DescriptionListGroup>
      <DescriptionListGroup>
        <DescriptionListTerm>Admins</DescriptionListTerm>
        <DescriptionListDescription>
          <Names label={`Admins of ${group.name}`} names={group.admins ?? []} />
        </DescriptionListDescription>
      </DescriptionListGroup>
      <DescriptionListGroup>
        <DescriptionListTerm>Updated</DescriptionListTerm>
        <DescriptionListDescription>{formatDateTime(group.updated_at)}</DescriptionListDescription>
      </DescriptionListGroup>
    </DescriptionList>
  );
}
