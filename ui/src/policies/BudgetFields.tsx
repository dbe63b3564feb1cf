// "Budget" of the policy form (BudgetSpec): an amount in a currency per calendar period; the rest
// (renewal day, who shares it, time zone) once an amount is given.
import { Flex, FlexItem, FormGroup, FormSelect, FormSelectOption, TextInput } from '@patternfly/react-core';

import type { PolicyForm } from './form';
import { FieldHelp, section, type SectionProps, validated } from './fields';
import { SCOPE_NAMES, type Scope } from './rules';

const PERIODS: [PolicyForm['period'], string][] = [
  ['daily', 'Daily'],
  ['weekly', 'Weekly'],
  ['monthly', 'Monthly'],
];
const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

function RenewsOn({ form, set, errors }: SectionProps) {
  if (form.period === 'daily') return null;
  const weekly = form.period === 'weekly';
  const choices: [string, string][] = weekly
    ? WEEKDAYS.map((day, index) => [String(index + 1), day])
    : Array.from({ length: 28 }, (_unused, index) => [String(index + 1), String(index + 1)]);
  return (
    <FlexItem>
      <FormGroup label={weekly ? 'Renews on' : 'Renews on day'} fieldId="budget-renews-on">
        <FormSelect
          id="budget-renews-on"
          value={form.renewsOn}
          onChange={(_event, value) => set({ renewsOn: value })}
          validated={validated(errors['budget.renewsOn'])}
        >
          {!choices.some(([value]) => value === form.renewsOn) && (
            <FormSelectOption value={form.renewsOn} label="Choose" isPlaceholder />
          )}
          {choices.map(([value, label]) => (
            <FormSelectOption key={value} value={value} label={label} />
          ))}
        </FormSelect>
        <FieldHelp error={errors['budget.renewsOn']} />
      </FormGroup>
    </FlexItem>
  );
}

function Budget({ form, set, errors }: SectionProps) {
  const hasBudget = form.budgetAmount.trim() !== '';
  return (
    <>
      <Flex spaceItems={{ default: 'spaceItemsMd' }}>
        <FlexItem>
          <FormGroup label="Budget" fieldId="budget-amount">
            <TextInput
              id="budget-amount"
              inputMode="decimal"
              value={form.budgetAmount}
              placeholder="100.00"
              onChange={(_event, value) => set({ budgetAmount: value })}
              validated={validated(errors['budget.amount'])}
            />
            <FieldHelp error={errors['budget.amount']}>Leave empty for no budget.</FieldHelp>
          </FormGroup>
        </FlexItem>
        <FlexItem style={{ width: '7rem' }}>
          <FormGroup label="Currency" fieldId="budget-currency">
            <TextInput
              id="budget-currency"
              value={form.currency}
              onChange={(_event, value) => set({ currency: value.toUpperCase() })}
              validated={validated(errors['budget.currency'])}
            />
            <FieldHelp error={errors['budget.currency']} />
          </FormGroup>
        </FlexItem>
        <FlexItem style={{ minWidth: '9rem' }}>
          <FormGroup label="Period" fieldId="budget-period">
            <FormSelect
              id="budget-period"
              value={form.period}
              onChange={(_event, value) => set({ period: value as PolicyForm['period'], renewsOn: '1' })}
            >
              {PERIODS.map(([value, label]) => (
                <FormSelectOption key={value} value={value} label={label} />
              ))}
            </FormSelect>
          </FormGroup>
        </FlexItem>
      </Flex>
      {hasBudget && (
        <Flex spaceItems={{ default: 'spaceItemsMd' }}>
          <RenewsOn form={form} set={set} errors={errors} />
          <FlexItem>
            <FormGroup label="Budget counted for" fieldId="budget-scope">
              <FormSelect
                id="budget-scope"
                value={form.budgetScope}
                onChange={(_event, value) => set({ budgetScope: value as Scope })}
              >
                {(Object.keys(SCOPE_NAMES) as Scope[]).map((scope) => (
                  <FormSelectOption key={scope} value={scope} label={SCOPE_NAMES[scope]} />
                ))}
              </FormSelect>
            </FormGroup>
          </FlexItem>
          <FlexItem>
            <FormGroup label="Budget time zone" fieldId="budget-timezone">
              <TextInput
                id="budget-timezone"
                value={form.budgetZone}
                onChange={(_event, value) => set({ budgetZone: value })}
                validated={validated(errors['budget.timezone'])}
              />
              <FieldHelp error={errors['budget.timezone']}>Periods start at local midnight.</FieldHelp>
            </FormGroup>
          </FlexItem>
        </Flex>
      )}
    </>
  );
}

export const BudgetFields = section(Budget, ['budgetAmount', 'currency', 'period', 'renewsOn', 'budgetScope', 'budgetZone']);
