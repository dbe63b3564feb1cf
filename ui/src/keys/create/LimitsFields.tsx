// "Limits and policies": the key's own rates, budget and expiry (KeyLimits, KeyBudget, expires_in/at).
// They apply on top of the owner's policies, never instead of them.
import {
  DatePicker,
  FormGroup,
  FormSelect,
  FormSelectOption,
  Grid,
  GridItem,
  TextInput,
} from '@patternfly/react-core';

import { type BudgetPeriod, type Errors, type Expiration, EXPIRATIONS, type KeyForm, PERIODS } from './form';
import { FieldHelp } from './FieldHelp';

interface Props {
  form: KeyForm;
  errors: Errors;
  /** Admins are not bound by the server's maxima and defaults. */
  isAdmin: boolean;
  onChange: (change: Partial<KeyForm>) => void;
}

function RateField({
  id,
  label,
  value,
  error,
  onChange,
}: {
  id: string;
  label: string;
  value: string;
  error: string | undefined;
  onChange: (value: string) => void;
}) {
  return (
    <FormGroup label={label} fieldId={id}>
      <TextInput
        id={id}
        type="number"
        min={1}
        inputMode="numeric"
        value={value}
        validated={error ? 'error' : 'default'}
        onChange={(_event, text) => onChange(text)}
      />
      <FieldHelp error={error} help="Empty: no limit of the key's own." />
    </FormGroup>
  );
}

export function LimitsFields({ form, errors, isAdmin, onChange }: Props) {
  const expiryError = errors.expires_in ?? errors.expires_at;
  const neverHelp = isAdmin ? undefined : 'Without a date, the server gives the key its default expiry, if one is set.';
  return (
    <Grid hasGutter>
      <GridItem md={6}>
        <RateField
          id="key-tokens-per-minute"
          label="Token rate per minute"
          value={form.tokensPerMinute}
          error={errors['limits.tokens_per_minute']}
          onChange={(tokensPerMinute) => onChange({ tokensPerMinute })}
        />
      </GridItem>
      <GridItem md={6}>
        <RateField
          id="key-requests-per-minute"
          label="Request rate per minute"
          value={form.requestsPerMinute}
          error={errors['limits.requests_per_minute']}
          onChange={(requestsPerMinute) => onChange({ requestsPerMinute })}
        />
      </GridItem>
      <GridItem md={5}>
        <FormGroup label="Budget" fieldId="key-budget-amount">
          <TextInput
            id="key-budget-amount"
            inputMode="decimal"
            value={form.budgetAmount}
            validated={errors['limits.budget.amount'] ? 'error' : 'default'}
            onChange={(_event, budgetAmount) => onChange({ budgetAmount })}
          />
          <FieldHelp error={errors['limits.budget.amount']} help="Empty: no budget of the key's own." />
        </FormGroup>
      </GridItem>
      <GridItem md={3}>
        <FormGroup label="Currency" fieldId="key-budget-currency">
          <TextInput
            id="key-budget-currency"
            value={form.budgetCurrency}
            maxLength={3}
            validated={errors['limits.budget.currency'] ? 'error' : 'default'}
            onChange={(_event, budgetCurrency) => onChange({ budgetCurrency: budgetCurrency.toUpperCase() })}
          />
          <FieldHelp error={errors['limits.budget.currency']} />
        </FormGroup>
      </GridItem>
      <GridItem md={4}>
        <FormGroup label="Budget period" fieldId="key-budget-period">
          <FormSelect
            id="key-budget-period"
            value={form.budgetPeriod}
            validated={errors['limits.budget.period'] ? 'error' : 'default'}
            onChange={(_event, value) => onChange({ budgetPeriod: value as BudgetPeriod })}
          >
            {PERIODS.map((period) => (
              <FormSelectOption key={period.value} value={period.value} label={period.label} />
            ))}
          </FormSelect>
          <FieldHelp error={errors['limits.budget.period']} />
        </FormGroup>
      </GridItem>
      <GridItem md={6}>
        <FormGroup label="Expiration" fieldId="key-expiration">
          <FormSelect
            id="key-expiration"
            value={form.expiration}
            validated={expiryError && form.expiration !== 'custom' ? 'error' : 'default'}
            onChange={(_event, value) => onChange({ expiration: value as Expiration })}
          >
            {EXPIRATIONS.map((option) => (
              <FormSelectOption key={option.value} value={option.value} label={option.label} />
            ))}
          </FormSelect>
          {form.expiration !== 'custom' && (
            <FieldHelp error={expiryError} help={form.expiration === 'never' ? neverHelp : undefined} />
          )}
        </FormGroup>
      </GridItem>
      {form.expiration === 'custom' && (
        <GridItem md={6}>
          <FormGroup label="Expiration date" fieldId="key-expires-on">
            <DatePicker
              value={form.expiresOn}
              aria-label="Expiration date"
              buttonAriaLabel="Choose the expiration date"
              inputProps={{ id: 'key-expires-on', validated: expiryError ? 'error' : 'default' }}
              onChange={(_event, expiresOn) => onChange({ expiresOn })}
            />
            <FieldHelp error={expiryError} help="The key stops working at the end of that day (your time)." />
          </FormGroup>
        </GridItem>
      )}
    </Grid>
  );
}
