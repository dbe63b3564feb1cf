// The usage pages' toolbar: the time range (named, or custom days), the group-by dimension, and the
// filters, one value per dimension, shown as removable labels.
import {
  DatePicker,
  SearchInput,
  ToggleGroup,
  ToggleGroupItem,
  Toolbar,
  ToolbarContent,
  ToolbarFilter,
  ToolbarGroup,
  ToolbarItem,
  type ToolbarLabel,
  type ToolbarLabelGroup,
  yyyyMMddFormat,
} from '@patternfly/react-core';
import { useState } from 'react';

import { DIMENSION_LABELS, type Dimension, dimensionNoun } from './dimensions';
import { type KeyNames, valueLabel } from './names';
import { OptionSelect } from './OptionSelect';
import { customRangeError, defaultCustom, isDay, RANGES, type UsageView } from './view';

export interface UsageToolbarProps {
  view: UsageView;
  dimensions: Dimension[];
  keyNames: KeyNames;
  onChange: (patch: Partial<UsageView>) => void;
}

function CustomRange({ view, onChange }: Pick<UsageToolbarProps, 'view' | 'onChange'>) {
  const [from, setFrom] = useState(view.from);
  const [to, setTo] = useState(view.to);
  const apply = (nextFrom: string, nextTo: string) => {
    setFrom(nextFrom);
    setTo(nextTo);
    if (customRangeError(nextFrom, nextTo) === null) onChange({ from: nextFrom, to: nextTo });
  };
  const notBeforeFrom = (date: Date): string =>
    isDay(from) && yyyyMMddFormat(date) < from ? 'The last day must not be before the first day.' : '';
  return (
    <>
      <ToolbarItem>
        <DatePicker
          aria-label="First day"
          buttonAriaLabel="Choose the first day"
          value={from}
          onChange={(_event, value) => apply(value, to)}
        />
      </ToolbarItem>
      <ToolbarItem>
        <DatePicker
          aria-label="Last day"
          buttonAriaLabel="Choose the last day"
          value={to}
          onChange={(_event, value) => apply(from, value)}
          validators={[notBeforeFrom]}
        />
      </ToolbarItem>
    </>
  );
}

function FilterInput({ view, dimensions, keyNames, onChange }: UsageToolbarProps) {
  const [attribute, setAttribute] = useState<Dimension>(dimensions[0] ?? 'model');
  const [text, setText] = useState('');
  const setFilter = (dimension: Dimension, value: string | undefined) => {
    const filters = Object.fromEntries(Object.entries(view.filters).filter(([name]) => name !== dimension));
    onChange({ filters: value ? { ...filters, [dimension]: value } : filters });
  };
  const categoryOf = (category: string | ToolbarLabelGroup): Dimension | undefined =>
    dimensions.find((dimension) => dimension === (typeof category === 'string' ? category : category.key));
  const label = dimensionNoun(attribute);
  return (
    <ToolbarGroup variant="filter-group">
      <ToolbarItem>
        <OptionSelect
          prefix="Filter by"
          value={attribute}
          options={dimensions.map((dimension) => ({ value: dimension, label: DIMENSION_LABELS[dimension] }))}
          onChange={(value) => {
            setAttribute(value);
            setText('');
          }}
        />
      </ToolbarItem>
      {dimensions.map((dimension) => {
        const value = view.filters[dimension];
        const labels: ToolbarLabel[] = value ? [{ key: value, node: valueLabel(dimension, value, keyNames) }] : [];
        return (
          <ToolbarFilter
            key={dimension}
            categoryName={{ key: dimension, name: DIMENSION_LABELS[dimension] }}
            labels={labels}
            deleteLabel={(category) => {
              const which = categoryOf(category);
              if (which) setFilter(which, undefined);
            }}
            deleteLabelGroup={(category) => {
              const which = categoryOf(category);
              if (which) setFilter(which, undefined);
            }}
            showToolbarItem={dimension === attribute}
          >
            <SearchInput
              aria-label={`Filter by ${label}`}
              placeholder={dimension === 'key' ? 'API key ID' : `Filter by ${label}`}
              value={text}
              onChange={(_event, next) => setText(next)}
              onClear={() => setText('')}
              onSearch={(_event, next) => {
                const trimmed = next.trim();
                if (!trimmed) return;
                setFilter(dimension, trimmed);
                setText('');
              }}
            />
          </ToolbarFilter>
        );
      })}
    </ToolbarGroup>
  );
}

export function UsageToolbar(props: UsageToolbarProps) {
  const { view, dimensions, onChange } = props;
  const hasFilters = Object.keys(view.filters).length > 0;
  return (
    <Toolbar
      aria-label="Usage options"
      clearAllFilters={hasFilters ? () => onChange({ filters: {} }) : undefined}
      clearFiltersButtonText="Clear all filters"
    >
      <ToolbarContent>
        <ToolbarItem>
          <ToggleGroup aria-label="Time range">
            {RANGES.map((range) => (
              <ToggleGroupItem
                key={range.value}
                text={range.label}
                buttonId={`usage-range-${range.value}`}
                isSelected={view.range === range.value}
                onChange={() => {
                  if (range.value === view.range) return;
                  if (range.value === 'custom') onChange({ range: 'custom', ...defaultCustom() });
                  else onChange({ range: range.value, from: '', to: '' });
                }}
              />
            ))}
          </ToggleGroup>
        </ToolbarItem>
        {view.range === 'custom' && <CustomRange view={view} onChange={onChange} />}
        <ToolbarItem>
          <OptionSelect
            prefix="Group by"
            value={view.by}
            options={dimensions.map((dimension) => ({ value: dimension, label: DIMENSION_LABELS[dimension] }))}
            onChange={(by) => onChange({ by })}
          />
        </ToolbarItem>
        <FilterInput {...props} />
      </ToolbarContent>
    </Toolbar>
  );
}
