// The fields of the policy form chosen from lists: "Available assets" (all models, or some) and the
// targets (groups, users, service accounts) the policy applies to.
import { FormGroup, Radio } from '@patternfly/react-core';

import { messageOf } from '../api/errors';
import {
  type Choices,
  useGroupChoices,
  useModelChoices,
  useServiceAccountChoices,
  useUserChoices,
} from './choices';
import { FieldHelp, section, type SectionProps } from './fields';
import { MultiTypeahead } from './MultiTypeahead';

type ListField = 'models' | 'groups' | 'users' | 'serviceAccounts';

interface ChoiceFieldProps extends SectionProps {
  field: ListField;
  label: string;
  choices: Choices;
  hint?: string;
  placeholder: string;
}

function ChoiceField({ form, set, errors, field, label, choices, hint, placeholder }: ChoiceFieldProps) {
  const id = `policy-${field}`;
  const error = errors[field] ?? (choices.error ? `Could not load the list: ${messageOf(choices.error)}` : undefined);
  return (
    <FormGroup label={label} fieldId={id}>
      <MultiTypeahead
        id={id}
        label={label}
        choices={choices.items}
        isLoading={choices.isLoading}
        selected={form[field]}
        onChange={(selected) => set({ [field]: selected })}
        placeholder={placeholder}
        validated={errors[field] ? 'error' : 'default'}
        describedBy={hint || error ? `${id}-help` : undefined}
      />
      <FieldHelp id={`${id}-help`} error={error}>
        {hint}
      </FieldHelp>
    </FormGroup>
  );
}

function Assets(props: SectionProps) {
  const { form, set } = props;
  const models = useModelChoices();
  return (
    <>
      <FormGroup role="radiogroup" label="Models" fieldId="policy-assets">
        <Radio
          id="policy-assets-all"
          name="policy-assets"
          label="All models"
          description="Every open model; restricted models must be chosen by name."
          isChecked={form.allModels}
          onChange={() => set({ allModels: true })}
        />
        <Radio
          id="policy-assets-some"
          name="policy-assets"
          label="Only chosen models"
          isChecked={!form.allModels}
          onChange={() => set({ allModels: false })}
        />
      </FormGroup>
      {!form.allModels && (
        <ChoiceField {...props} field="models" label="Chosen models" choices={models} placeholder="Choose models" />
      )}
    </>
  );
}

function Targets(props: SectionProps) {
  const groups = useGroupChoices();
  const users = useUserChoices();
  const accounts = useServiceAccountChoices();
  return (
    <>
      <ChoiceField
        {...props}
        field="groups"
        label="Groups"
        choices={groups}
        placeholder="Choose groups"
        hint="This policy will apply to all users in these groups."
      />
      <ChoiceField {...props} field="users" label="Users" choices={users} placeholder="Choose users" />
      <ChoiceField
        {...props}
        field="serviceAccounts"
        label="Service accounts"
        choices={accounts}
        placeholder="Choose service accounts"
      />
    </>
  );
}

export const AssetFields = section(Assets, ['allModels', 'models']);
export const TargetFields = section(Targets, ['groups', 'users', 'serviceAccounts']);
