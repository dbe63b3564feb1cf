// A key's status as a PatternFly Label: Active, Disabled, Expired, Revoked.
import { Label, type LabelProps } from '@patternfly/react-core';

import type { Key } from './access';

const LOOK: Record<Key['status'], { text: string; color: LabelProps['color'] }> = {
  active: { text: 'Active', color: 'green' },
  disabled: { text: 'Disabled', color: 'grey' },
  expired: { text: 'Expired', color: 'orange' },
  revoked: { text: 'Revoked', color: 'red' },
};

export function statusText(status: Key['status']): string {
  return LOOK[status].text;
}

export function KeyStatusLabel({ status }: { status: Key['status'] }) {
  const look = LOOK[status];
  return <Label color={look.color}>{look.text}</Label>;
}
