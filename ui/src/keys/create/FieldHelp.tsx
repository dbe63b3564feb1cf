// A field's error or help line under it (PatternFly's FormHelperText).
import { FormHelperText, HelperText, HelperTextItem } from '@patternfly/react-core';
import type { ReactNode } from 'react';

/** The error when there is one, else the help (if any). */
export function FieldHelp({ error, help }: { error?: string | undefined; help?: ReactNode }) {
  if (!error && !help) return null;
  return (
    <FormHelperText>
      <HelperText>
        <HelperTextItem variant={error ? 'error' : 'default'}>{error ?? help}</HelperTextItem>
      </HelperText>
    </FormHelperText>
  );
}
