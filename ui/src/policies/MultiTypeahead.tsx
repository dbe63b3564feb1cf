// A typeahead multi-select with the choices as labels (PatternFly 6's "multiple typeahead with
// chips" Select): type to filter, pick with the mouse or the arrow keys and Enter.
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
import { type KeyboardEvent, type Ref, useMemo, useRef, useState } from 'react';

export interface Choice {
  value: string;
  description?: string;
}

export interface MultiTypeaheadProps {
  /** The input's id (the FormGroup's fieldId). */
  id: string;
  /** The accessible name of the input, e.g. "Groups". */
  label: string;
  choices: Choice[];
  selected: string[];
  onChange: (selected: string[]) => void;
  placeholder?: string;
  isLoading?: boolean;
  validated?: 'error' | 'default';
  describedBy?: string;
}

export function MultiTypeahead({
  id,
  label,
  choices,
  selected,
  onChange,
  placeholder,
  isLoading = false,
  validated = 'default',
  describedBy,
}: MultiTypeaheadProps) {
  const [isOpen, setIsOpen] = useState(false);
  const [text, setText] = useState('');
  const [focused, setFocused] = useState<number | null>(null);
  const inputRef = useRef<HTMLInputElement>(undefined);
  const listId = `${id}-listbox`;

  const shown = useMemo(() => {
    const query = text.trim().toLowerCase();
    return query ? choices.filter((choice) => choice.value.toLowerCase().includes(query)) : choices;
  }, [choices, text]);

  const optionId = (index: number) => `${id}-option-${String(index)}`;

  const close = () => {
    setIsOpen(false);
    setFocused(null);
  };

  const toggle = (value: string) => {
    onChange(selected.includes(value) ? selected.filter((item) => item !== value) : [...selected, value]);
    inputRef.current?.focus();
  };

  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === 'Enter') {
      event.preventDefault(); // never submit the surrounding form from here
      if (isOpen && focused !== null && shown[focused]) toggle(shown[focused].value);
      else setIsOpen(true);
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      setIsOpen(true);
      if (shown.length === 0) return;
      const step = event.key === 'ArrowDown' ? 1 : -1;
      const start = focused ?? (step === 1 ? -1 : 0);
      setFocused((start + step + shown.length) % shown.length);
    } else if (event.key === 'Escape') {
      close();
    }
  };

  const emptyText = isLoading ? 'Loading…' : text ? `No results found for "${text}"` : 'Nothing to choose from';

  const menuToggle = (toggleRef: Ref<MenuToggleElement>) => (
    <MenuToggle
      variant="typeahead"
      aria-label={`${label} menu toggle`}
      onClick={() => {
        setIsOpen(!isOpen);
        inputRef.current?.focus();
      }}
      innerRef={toggleRef}
      isExpanded={isOpen}
      isFullWidth
      status={validated === 'error' ? 'danger' : undefined}
    >
      <TextInputGroup isPlain>
        <TextInputGroupMain
          value={text}
          onClick={() => setIsOpen(!isOpen || text !== '')}
          onChange={(_event, value) => {
            setText(value);
            setFocused(null);
            if (value) setIsOpen(true);
          }}
          onKeyDown={onKeyDown}
          inputId={id}
          aria-label={label}
          autoComplete="off"
          innerRef={inputRef}
          placeholder={selected.length ? undefined : placeholder}
          {...(focused !== null && isOpen ? { 'aria-activedescendant': optionId(focused) } : {})}
          {...(describedBy ? { 'aria-describedby': describedBy } : {})}
          role="combobox"
          isExpanded={isOpen}
          aria-controls={listId}
        >
          <LabelGroup aria-label={`Chosen ${label.toLowerCase()}`} numLabels={8}>
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
        {(selected.length > 0 || text) && (
          <TextInputGroupUtilities>
            <Button
              variant="plain"
              onClick={() => {
                onChange([]);
                setText('');
                inputRef.current?.focus();
              }}
              aria-label={`Clear ${label.toLowerCase()}`}
              icon={<TimesIcon />}
            />
          </TextInputGroupUtilities>
        )}
      </TextInputGroup>
    </MenuToggle>
  );

  return (
    <Select
      id={`${id}-select`}
      isOpen={isOpen}
      selected={selected}
      onSelect={(_event, value) => {
        if (typeof value === 'string') toggle(value);
      }}
      onOpenChange={(open) => {
        if (!open) close();
      }}
      toggle={menuToggle}
      variant="typeahead"
    >
      <SelectList isAriaMultiselectable id={listId} aria-label={label}>
        {shown.length === 0 ? (
          <SelectOption isAriaDisabled value="">
            {emptyText}
          </SelectOption>
        ) : (
          shown.map((choice, index) => (
            <SelectOption
              key={choice.value}
              id={optionId(index)}
              value={choice.value}
              description={choice.description}
              isFocused={focused === index}
              isSelected={selected.includes(choice.value)}
            >
              {choice.value}
            </SelectOption>
          ))
        )}
      </SelectList>
    </Select>
  );
}
