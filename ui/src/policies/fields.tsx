// What every section of the policy form shares: its props, and the text under a field (a hint, or
// the error in its place).
import { FormHelperText, HelperText, HelperTextItem } from '@patternfly/react-core';
import { type FunctionComponent, memo, type ReactNode } from 'react';

import type { FormErrors, PolicyForm } from './form';

export interface SectionProps {
  form: PolicyForm;
  set: (change: Partial<PolicyForm>) => void;
  errors: FormErrors;
}

export function FieldHelp({ id, error, children }: { id?: string; error?: string; children?: ReactNode }) {
  if (!error && !children) return null;
  return (
    <FormHelperText>
      <HelperText id={id}>
        <HelperTextItem variant={error ? 'error' : 'default'}>{error ?? children}</HelperTextItem>
      </HelperText>
    </FormHelperText>
  );
}

export function validated(error: string | undefined): 'error' | 'default' {
  return error ? 'error' : 'default';
}

/**
 * A form section that renders again only when the fields it shows change (the form is large: one
 * keystroke must not render every section).
 */
export function section<P extends SectionProps>(component: FunctionComponent<P>, keys: readonly (keyof PolicyForm)[]) {
  return memo(component, (before, after) =>
    (Object.keys(after) as (keyof P)[]).every((prop) =>
      prop === 'form' ? keys.every((key) => before.form[key] === after.form[key]) : Object.is(before[prop], after[prop]),
    ),
  );
}
