// PatternFly 6's multiple typeahead select with labels: type to filter, pick several, remove a
// pick from its label. Used for a user's groups and a group's members and admins.
import {
  Button,
  Label,
  LabelGroup,
  MenuToggle,
  type MenuToggleElement,
  Select,
  SelectList,
  SelectOption,
  TextInputGroup,
  TextInputGroupMain,
  TextInputGroupUtilities,
} from '@patternfly/react-core';
import { TimesIcon } from '@patternfly/react-icons';
import { type KeyboardEvent, type Ref, useRef, useState } from 'react';

export interface MultiTypeaheadProps {
  /** The input's id (a FormGroup's fieldId labels it). */
  id: string;
  /** The input's accessible name (the field's label). */
  label: string;
  options: readonly string[];
  selected: readonly string[];
  onChange: (selected: string[]) => void;
  placeholder?: string;
  /** What the options are, for "No users match" and the clear button's label. */
  noun: string;
  isInvalid?: boolean;
}

export function MultiTypeahead({ id, label, options, selected, onChange, placeholder, noun, isInvalid }: MultiTypeaheadProps) {
  const [isOpen, setIsOpen] = useState(false);
  const [text, setText] = useState('');
  const [focused, setFocused] = useState<number | null>(null);
  const inputRef = useRef<HTMLInputElement>(null);

  const filter = text.trim().toLowerCase();
  const shown = options.filter((option) => option.toLowerCase().includes(filter));
  const optionId = (index: number) => `${id}-option-${index}`;

  const toggle = (value: string) => {
    onChange(selected.includes(value) ? selected.filter((item) => item !== value) : [...selected, value]);
    setText('');
    inputRef.current?.focus();
  };

  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      setIsOpen(true);
      if (shown.length === 0) return;
      const step = event.key === 'ArrowDown' ? 1 : -1;
      setFocused((current) => (current === null ? (step > 0 ? 0 : shown.length - 1) : (current + step + shown.length) % shown.length));
    } else if (event.key === 'Enter') {
      event.preventDefault();
      const value = focused !== null ? shown[focused] : shown.length === 1 ? shown[0] : undefined;
      if (isOpen && value !== undefined) toggle(value);
      else setIsOpen(true);
    } else if (event.key === 'Escape') {
      setIsOpen(false);
    }
  };

  const toggleElement = (ref: Ref<MenuToggleElement>) => (
    <MenuToggle
      ref={ref}
      variant="typeahead"
      aria-label={`Show ${noun}`}
      onClick={() => {
        setIsOpen(!isOpen);
        inputRef.current?.focus();
      }}
      isExpanded={isOpen}
      isFullWidth
      status={isInvalid ? 'danger' : undefined}
    >
      <TextInputGroup isPlain>
        <TextInputGroupMain
          value={text}
          onClick={() => setIsOpen(true)}
          onChange={(_event, value) => {
            setText(value);
            setFocused(null);
            setIsOpen(true);
          }}
          onKeyDown={onKeyDown}
          inputId={id}
          aria-label={label}
          autoComplete="off"
          innerRef={inputRef}
          placeholder={placeholder}
          role="combobox"
          isExpanded={isOpen}
          aria-controls={`${id}-listbox`}
          {...(focused !== null ? { 'aria-activedescendant': optionId(focused) } : {})}
        >
          <LabelGroup aria-label={`Selected ${noun}`}>
            {selected.map((value) => (
              <Label
                key={value}
                variant="outline"
                onClose={(event) => {
                  event.stopPropagation();
                  toggle(value);
                }}
                closeBtnAriaLabel={`Remove ${value}`}
              >
                {value}
              </Label>
            ))}
          </LabelGroup>
        </TextInputGroupMain>
        {selected.length > 0 && (
          <TextInputGroupUtilities>
            <Button
              variant="plain"
              onClick={() => {
                onChange([]);
                setText('');
                inputRef.current?.focus();
              }}
              aria-label={`Clear the selected ${noun}`}
              icon={<TimesIcon />}
            />
          </TextInputGroupUtilities>
        )}
      </TextInputGroup>
    </MenuToggle>
  );

  return (
    <Select
      isOpen={isOpen}
      selected={[...selected]}
      onSelect={(_event, value) => {
        if (typeof value === 'string' && value) toggle(value);
      }}
      onOpenChange={(open) => {
        if (!open) {
          setIsOpen(false);
          setFocused(null);
        }
      }}
      toggle={toggleElement}
      variant="typeahead"
    >
      <SelectList isAriaMultiselectable id={`${id}-listbox`} aria-label={noun}>
        {shown.length === 0 ? (
          <SelectOption isAriaDisabled value="">
            {options.length === 0 ? `No ${noun} yet` : `No ${noun} match "${text}"`}
          </SelectOption>
        ) : (
          shown.map((option, index) => (
            <SelectOption key={option} id={optionId(index)} value={option} isFocused={focused === index} isSelected={selected.includes(option)}>
              {option}
            </SelectOption>
          ))
        )}
      </SelectList>
    </Select>
  );
}
