// A single-choice PatternFly Select whose toggle reads "<prefix>: <chosen option>".
import { MenuToggle, Select, SelectList, SelectOption } from '@patternfly/react-core';
import { useState } from 'react';

export interface Option<T extends string> {
  value: T;
  label: string;
}

export interface OptionSelectProps<T extends string> {
  prefix: string;
  value: T;
  options: readonly Option<T>[];
  onChange: (value: T) => void;
  id?: string;
}

export function OptionSelect<T extends string>({ prefix, value, options, onChange, id }: OptionSelectProps<T>) {
  const [open, setOpen] = useState(false);
  const chosen = options.find((option) => option.value === value)?.label ?? value;
  return (
    <Select
      id={id}
      isOpen={open}
      selected={value}
      onSelect={(_event, selected) => {
        setOpen(false);
        const option = options.find((item) => item.value === selected);
        if (option) onChange(option.value);
      }}
      onOpenChange={setOpen}
      toggle={(ref) => (
        <MenuToggle ref={ref} onClick={() => setOpen(!open)} isExpanded={open}>
          {prefix}: {chosen}
        </MenuToggle>
      )}
    >
      <SelectList aria-label={prefix}>
        {options.map((option) => (
          <SelectOption key={option.value} value={option.value}>
            {option.label}
          </SelectOption>
        ))}
      </SelectList>
    </Select>
  );
}
