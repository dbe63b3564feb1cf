// The audit log's filter bar: actor, action and target (applied as one types, after a pause),
// From and To days, and the outcome. Filters live in the URL.
import {
  Button,
  DatePicker,
  MenuToggle,
  type MenuToggleElement,
  Select,
  SelectList,
  SelectOption,
  TextInput,
  ToolbarGroup,
  ToolbarItem,
} from '@patternfly/react-core';
import { type Ref, useEffect, useState } from 'react';

import { type AuditFilters as Filters, dayStart, type FilterName, OUTCOMES } from './filters';

const TEXT_DELAY_MS = 350;

function TextFilter({
  name,
  label,
  placeholder,
  value,
  onApply,
}: {
  name: FilterName;
  label: string;
  placeholder: string;
  value: string;
  onApply: (name: FilterName, value: string) => void;
}) {
  const [text, setText] = useState(value);
  const [applied, setApplied] = useState(value);
  // The URL changed under us (back button, "Clear filters"): show what it says.
  if (value !== applied) {
    setApplied(value);
    setText(value);
  }
  useEffect(() => {
    if (text === applied) return;
    const timer = setTimeout(() => {
      setApplied(text);
      onApply(name, text);
    }, TEXT_DELAY_MS);
    return () => clearTimeout(timer);
  }, [text, applied, name, onApply]);
  return (
    <TextInput
      type="search"
      aria-label={label}
      placeholder={placeholder}
      value={text}
      onChange={(_event, next) => setText(next)}
    />
  );
}

const OUTCOME_TEXT: Record<string, string> = { '': 'Any outcome', success: 'Success', denied: 'Denied', failure: 'Failure' };

function OutcomeFilter({ value, onApply }: { value: string; onApply: (name: FilterName, value: string) => void }) {
  const [isOpen, setIsOpen] = useState(false);
  return (
    <Select
      isOpen={isOpen}
      selected={value}
      onSelect={(_event, selected) => {
        onApply('outcome', typeof selected === 'string' ? selected : '');
        setIsOpen(false);
      }}
      onOpenChange={setIsOpen}
      toggle={(ref: Ref<MenuToggleElement>) => (
        <MenuToggle ref={ref} onClick={() => setIsOpen(!isOpen)} isExpanded={isOpen} aria-label={`Outcome: ${OUTCOME_TEXT[value] ?? value}`}>
          {OUTCOME_TEXT[value] ?? value}
        </MenuToggle>
      )}
    >
      <SelectList aria-label="Outcome">
        {['', ...OUTCOMES].map((outcome) => (
          <SelectOption key={outcome} value={outcome}>
            {OUTCOME_TEXT[outcome]}
          </SelectOption>
        ))}
      </SelectList>
    </Select>
  );
}

function DayFilter({
  name,
  label,
  value,
  onApply,
}: {
  name: 'from' | 'to';
  label: string;
  value: string;
  onApply: (name: FilterName, value: string) => void;
}) {
  return (
    <DatePicker
      aria-label={label}
      buttonAriaLabel={`Choose the ${label.toLowerCase()} day`}
      placeholder={`${label} (YYYY-MM-DD)`}
      value={value}
      onChange={(_event, next) => {
        if (next === '' || dayStart(next)) onApply(name, next);
      }}
    />
  );
}

export function AuditFilters({
  filters,
  onApply,
  onClear,
}: {
  filters: Filters;
  onApply: (name: FilterName, value: string) => void;
  onClear: () => void;
}) {
  const anySet = Object.values(filters).some(Boolean);
  return (
    <ToolbarGroup variant="filter-group">
      <ToolbarItem>
        <TextFilter name="actor" label="Actor" placeholder="Actor" value={filters.actor} onApply={onApply} />
      </ToolbarItem>
      <ToolbarItem>
        <TextFilter name="action" label="Action" placeholder="Action" value={filters.action} onApply={onApply} />
      </ToolbarItem>
      <ToolbarItem>
        <TextFilter name="target" label="Target" placeholder="Target ID" value={filters.target} onApply={onApply} />
      </ToolbarItem>
      <ToolbarItem>
        <DayFilter name="from" label="From" value={filters.from} onApply={onApply} />
      </ToolbarItem>
      <ToolbarItem>
        <DayFilter name="to" label="To" value={filters.to} onApply={onApply} />
      </ToolbarItem>
      <ToolbarItem>
        <OutcomeFilter value={filters.outcome} onApply={onApply} />
      </ToolbarItem>
      {anySet && (
        <ToolbarItem>
          <Button variant="link" onClick={onClear}>
            Clear filters
          </Button>
        </ToolbarItem>
      )}
    </ToolbarGroup>
  );
}
