// A name typed or picked from a list (PatternFly 6's typeahead Select): admins name any owner, the
// directory's users, groups and service accounts offered as they type.
import {
  Button,
  MenuToggle,
  Select,
  SelectList,
  SelectOption,
  TextInputGroup,
  TextInputGroupMain,
  TextInputGroupUtilities,
} from '@patternfly/react-core';
import { TimesIcon } from '@patternfly/react-icons';
import { useState } from 'react';

export interface OwnerNameTypeaheadProps {
  id: string;
  value: string;
  options: string[];
  /** What the typed text is, e.g. "User name". */
  label: string;
  invalid: boolean;
  onChange: (value: string) => void;
}

const SHOWN = 50;

export function OwnerNameTypeahead({ id, value, options, label, invalid, onChange }: OwnerNameTypeaheadProps) {
  const [isOpen, setIsOpen] = useState(false);
  const typed = value.trim().toLowerCase();
  const matching = options.filter((option) => option.toLowerCase().includes(typed)).slice(0, SHOWN);
  const listId = `${id}-options`;

  return (
    <Select
      id={`${id}-select`}
      isOpen={isOpen && matching.length > 0}
      selected={value}
      onSelect={(_event, selected) => {
        if (typeof selected === 'string') onChange(selected);
        setIsOpen(false);
      }}
      onOpenChange={setIsOpen}
      popperProps={{ appendTo: 'inline' }}
      toggle={(toggleRef) => (
        <MenuToggle
          ref={toggleRef}
          variant="typeahead"
          isFullWidth
          isExpanded={isOpen}
          status={invalid ? 'danger' : undefined}
          onClick={() => setIsOpen(!isOpen)}
        >
          <TextInputGroup isPlain>
            <TextInputGroupMain
              inputId={id}
              value={value}
              aria-label={label}
              role="combobox"
              isExpanded={isOpen && matching.length > 0}
              aria-controls={listId}
              autoComplete="off"
              placeholder="Type or choose a name"
              onClick={() => setIsOpen(true)}
              onChange={(_event, text) => {
                onChange(text);
                setIsOpen(true);
              }}
            />
            {value && (
              <TextInputGroupUtilities>
                <Button variant="plain" icon={<TimesIcon />} aria-label={`Clear ${label.toLowerCase()}`} onClick={() => onChange('')} />
              </TextInputGroupUtilities>
            )}
          </TextInputGroup>
        </MenuToggle>
      )}
    >
      <SelectList id={listId} aria-label={`${label} choices`}>
        {matching.map((option) => (
          <SelectOption key={option} value={option}>
            {option}
          </SelectOption>
        ))}
      </SelectList>
    </Select>
  );
}
