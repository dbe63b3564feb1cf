// The custom time range: two PatternFly DatePickers, the first and the last day counted.
import { DatePicker, Flex, FlexItem, HelperText, HelperTextItem } from '@patternfly/react-core';

import type { CustomDates } from './metricsRange';

function Help({ message }: { message: string | undefined }) {
  if (!message) return null;
  return (
    <HelperText>
      <HelperTextItem variant="error">{message}</HelperTextItem>
    </HelperText>
  );
}

export function CustomRangePickers({
  value,
  onChange,
  errors,
}: {
  value: CustomDates;
  onChange: (value: CustomDates) => void;
  errors: { from?: string; to?: string };
}) {
  return (
    <Flex spaceItems={{ default: 'spaceItemsSm' }} alignItems={{ default: 'alignItemsFlexStart' }}>
      <FlexItem>
        <DatePicker
          aria-label="Start date"
          buttonAriaLabel="Choose the start date"
          value={value.from}
          placeholder="YYYY-MM-DD"
          onChange={(_event, from) => onChange({ ...value, from })}
          helperText={<Help message={errors.from} />}
        />
      </FlexItem>
      <FlexItem className="pf-v6-u-pt-sm">to</FlexItem>
      <FlexItem>
        <DatePicker
          aria-label="End date"
          buttonAriaLabel="Choose the end date"
          value={value.to}
          placeholder="YYYY-MM-DD"
          onChange={(_event, to) => onChange({ ...value, to })}
          helperText={<Help message={errors.to} />}
        />
      </FlexItem>
    </Flex>
  );
}
