// "Time limit" of the policy form: none, or the days of the week and the hours (in a time zone)
// when the policy's callers may call (ScheduleSpec).
import { Checkbox, Flex, FlexItem, FormGroup, Radio, TextInput } from '@patternfly/react-core';

import { FieldHelp, section, type SectionProps, validated } from './fields';
import { DAY_NAMES, DAYS } from './rules';

function Schedule({ form, set, errors }: SectionProps) {
  return (
    <>
      <FormGroup label="Time limit" role="radiogroup" fieldId="schedule" isInline>
        <Radio
          id="schedule-none"
          name="schedule"
          label="None"
          isChecked={!form.hasSchedule}
          onChange={() => set({ hasSchedule: false })}
        />
        <Radio
          id="schedule-hours"
          name="schedule"
          label="Days and hours"
          isChecked={form.hasSchedule}
          onChange={() => set({ hasSchedule: true })}
        />
      </FormGroup>
      {form.hasSchedule && (
        <>
          <FormGroup label="Days" role="group" fieldId="schedule-days" isInline>
            {DAYS.map((day) => (
              <Checkbox
                key={day}
                id={`schedule-day-${day}`}
                label={DAY_NAMES[day]}
                isChecked={form.days.includes(day)}
                onChange={(_event, checked) =>
                  set({ days: checked ? [...form.days, day] : form.days.filter((chosen) => chosen !== day) })
                }
              />
            ))}
            <FieldHelp error={errors['schedule.days']} />
          </FormGroup>
          <Flex spaceItems={{ default: 'spaceItemsMd' }}>
            <FlexItem>
              <FormGroup label="From" fieldId="schedule-start">
                <TextInput
                  id="schedule-start"
                  value={form.start}
                  placeholder="08:00"
                  onChange={(_event, value) => set({ start: value })}
                  validated={validated(errors['schedule.start'])}
                />
                <FieldHelp error={errors['schedule.start']}>HH:MM, 24-hour clock</FieldHelp>
              </FormGroup>
            </FlexItem>
            <FlexItem>
              <FormGroup label="To" fieldId="schedule-end">
                <TextInput
                  id="schedule-end"
                  value={form.end}
                  placeholder="18:00"
                  onChange={(_event, value) => set({ end: value })}
                  validated={validated(errors['schedule.end'])}
                />
                <FieldHelp error={errors['schedule.end']}>24:00 for the end of the day</FieldHelp>
              </FormGroup>
            </FlexItem>
            <FlexItem>
              <FormGroup label="Time zone" fieldId="schedule-timezone">
                <TextInput
                  id="schedule-timezone"
                  value={form.scheduleZone}
                  onChange={(_event, value) => set({ scheduleZone: value })}
                  validated={validated(errors['schedule.timezone'])}
                />
                <FieldHelp error={errors['schedule.timezone']}>e.g. UTC or Europe/Berlin</FieldHelp>
              </FormGroup>
            </FlexItem>
          </Flex>
        </>
      )}
    </>
  );
}

export const ScheduleFields = section(Schedule, ['hasSchedule', 'days', 'start', 'end', 'scheduleZone']);
