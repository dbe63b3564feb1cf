// "Token limit" and "Rate limit" of the policy form: N tokens (or requests) per N minutes/hours/days,
// counted per user, key, group or shared; as many rows as wanted.
import {
  Button,
  Flex,
  FlexItem,
  FormGroup,
  FormHelperText,
  FormSelect,
  FormSelectOption,
  HelperText,
  HelperTextItem,
  TextInput,
} from '@patternfly/react-core';
import { MinusCircleIcon, PlusCircleIcon } from '@patternfly/react-icons';

import { section, type SectionProps } from './fields';
import { type LimitKind, type LimitRow, newRow } from './form';
import { SCOPE_NAMES, type Scope, UNIT_NAMES, type WindowUnit } from './rules';

const TOKEN_KINDS: [LimitKind, string][] = [
  ['tokens', 'tokens'],
  ['inputTokens', 'input tokens'],
  ['outputTokens', 'output tokens'],
];

export interface LimitRowsProps extends SectionProps {
  /** "token" or "rate": names the group ("Token limit") and its fields. */
  kind: 'token' | 'rate';
}

function Rows({ kind, form, set, errors }: LimitRowsProps) {
  const title = kind === 'token' ? 'Token limit' : 'Rate limit';
  const field = kind === 'token' ? 'tokenLimits' : 'rateLimits';
  const rows = form[field];
  const onChange = (next: LimitRow[]) => set({ [field]: next });
  const units = (row: LimitRow): WindowUnit[] => (row.unit === 's' ? ['s', 'm', 'h', 'd'] : ['m', 'h', 'd']);
  const update = (index: number, change: Partial<LimitRow>) =>
    onChange(rows.map((row, at) => (at === index ? { ...row, ...change } : row)));

  return (
    <FormGroup label={title} role="group" fieldId={field} isStack>
      {rows.map((row, index) => {
        const n = String(index + 1);
        const name = `${title} ${n}`;
        const error = errors[`${field}.${String(index)}`];
        return (
          <div key={row.key}>
            <Flex alignItems={{ default: 'alignItemsCenter' }} spaceItems={{ default: 'spaceItemsSm' }}>
              <FlexItem style={{ width: '9rem' }}>
                <TextInput
                  aria-label={`${name} amount`}
                  inputMode="numeric"
                  value={row.amount}
                  onChange={(_event, value) => update(index, { amount: value })}
                  validated={error ? 'error' : 'default'}
                  placeholder={kind === 'token' ? '10000' : '60'}
                />
              </FlexItem>
              <FlexItem>
                {kind === 'token' ? (
                  <FormSelect
                    aria-label={`${name} counts`}
                    value={row.kind}
                    onChange={(_event, value) => update(index, { kind: value as LimitKind })}
                  >
                    {TOKEN_KINDS.map(([value, label]) => (
                      <FormSelectOption key={value} value={value} label={label} />
                    ))}
                  </FormSelect>
                ) : (
                  'requests'
                )}
              </FlexItem>
              <FlexItem>per</FlexItem>
              <FlexItem style={{ width: '6rem' }}>
                <TextInput
                  aria-label={`${name} window length`}
                  inputMode="numeric"
                  value={row.every}
                  onChange={(_event, value) => update(index, { every: value })}
                  validated={error ? 'error' : 'default'}
                />
              </FlexItem>
              <FlexItem style={{ minWidth: '8rem' }}>
                <FormSelect
                  aria-label={`${name} window unit`}
                  value={row.unit}
                  onChange={(_event, value) => update(index, { unit: value as WindowUnit })}
                >
                  {units(row).map((unit) => (
                    <FormSelectOption key={unit} value={unit} label={UNIT_NAMES[unit][1]} />
                  ))}
                </FormSelect>
              </FlexItem>
              <FlexItem style={{ minWidth: '11rem' }}>
                <FormSelect
                  aria-label={`${name} counted for`}
                  value={row.scope}
                  onChange={(_event, value) => update(index, { scope: value as Scope })}
                >
                  {(Object.keys(SCOPE_NAMES) as Scope[]).map((scope) => (
                    <FormSelectOption key={scope} value={scope} label={SCOPE_NAMES[scope]} />
                  ))}
                </FormSelect>
              </FlexItem>
              <FlexItem>
                <Button
                  variant="plain"
                  aria-label={`Remove ${name.toLowerCase()}`}
                  icon={<MinusCircleIcon />}
                  onClick={() => onChange(rows.filter((_row, at) => at !== index))}
                />
              </FlexItem>
            </Flex>
            {error && (
              <FormHelperText>
                <HelperText>
                  <HelperTextItem variant="error">{error}</HelperTextItem>
                </HelperText>
              </FormHelperText>
            )}
          </div>
        );
      })}
      <Button
        variant="link"
        isInline
        icon={<PlusCircleIcon />}
        onClick={() => onChange([...rows, newRow(kind === 'token' ? 'tokens' : 'requests')])}
      >
        {kind === 'token' ? 'Add token limit' : 'Add rate limit'}
      </Button>
      {rows.length === 0 && (
        <FormHelperText>
          <HelperText>
            <HelperTextItem>
              {kind === 'token' ? 'No token limit: tokens are not counted.' : 'No rate limit: requests are not counted.'}
            </HelperTextItem>
          </HelperText>
        </FormHelperText>
      )}
    </FormGroup>
  );
}

export const LimitRows = section(Rows, ['tokenLimits', 'rateLimits']);
