// One labelled text field of the model form, with its helper text or its error (PatternFly's form pattern).
import { FormGroup, FormHelperText, HelperText, HelperTextItem, TextArea, TextInput } from '@patternfly/react-core';
import type { ReactNode } from 'react';

export interface TextFieldProps {
  label: string;
  fieldId: string;
  value: string;
  onChange: (value: string) => void;
  error?: string | undefined;
  helper?: ReactNode;
  isRequired?: boolean;
  isDisabled?: boolean;
  placeholder?: string;
  inputMode?: 'text' | 'decimal' | 'numeric' | 'url';
  multiline?: boolean;
}

export function TextField({
  label,
  fieldId,
  value,
  onChange,
  error,
  helper,
  isRequired = false,
  isDisabled = false,
  placeholder,
  inputMode = 'text',
  multiline = false,
}: TextFieldProps) {
  const validated = error ? 'error' : 'default';
  const helperId = `${fieldId}-helper`;
  return (
    <FormGroup label={label} fieldId={fieldId} isRequired={isRequired}>
      {multiline ? (
        <TextArea
          id={fieldId}
          value={value}
          onChange={(_event, next) => onChange(next)}
          validated={validated}
          isDisabled={isDisabled}
          placeholder={placeholder}
          aria-describedby={error || helper ? helperId : undefined}
          resizeOrientation="vertical"
        />
      ) : (
        <TextInput
          id={fieldId}
          value={value}
          onChange={(_event, next) => onChange(next)}
          validated={validated}
          isDisabled={isDisabled}
          isRequired={isRequired}
          placeholder={placeholder}
          inputMode={inputMode}
          aria-describedby={error || helper ? helperId : undefined}
          autoComplete="off"
        />
      )}
      {(error || helper) && (
        <FormHelperText>
          <HelperText id={helperId}>
            <HelperTextItem variant={error ? 'error' : 'default'}>{error ?? helper}</HelperTextItem>
          </HelperText>
        </FormHelperText>
      )}
    </FormGroup>
  );
}
