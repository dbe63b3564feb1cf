// Active or Disabled, as a PatternFly label.
import { Label } from '@patternfly/react-core';

export function StatusLabel({ status }: { status: 'active' | 'disabled' }) {
  return status === 'active' ? (
    <Label color="green" isCompact>
      Active
    </Label>
  ) : (
    <Label color="grey" isCompact>
      Disabled
    </Label>
  );
}
