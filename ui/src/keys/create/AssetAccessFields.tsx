// "AI asset access": every model (the default, `models: null`) or the models chosen from the catalog.
import { Checkbox, FormGroup, Radio, Spinner } from '@patternfly/react-core';
import { useQuery } from '@tanstack/react-query';

import { api, unwrap } from '../../api/client';
import { messageOf } from '../../api/errors';
import type { Errors, KeyForm } from './form';
import { FieldHelp } from './FieldHelp';

interface Props {
  form: KeyForm;
  errors: Errors;
  onChange: (change: Partial<KeyForm>) => void;
}

function ModelChoices({ form, errors, onChange }: Props) {
  const models = useQuery({ queryKey: ['models'], queryFn: () => unwrap(api.GET('/api/v1/models')) });
  if (models.isPending) return <Spinner size="md" aria-label="Loading models" />;
  if (models.isError) return <FieldHelp error={`The models could not be listed: ${messageOf(models.error)}`} />;
  const names = models.data.items.map((model) => model.name);
  const toggle = (name: string, checked: boolean) => {
    const chosen = checked ? [...form.models, name] : form.models.filter((item) => item !== name);
    onChange({ models: chosen });
  };
  return (
    <FormGroup role="group" isStack label="Models" fieldId="key-models">
      {names.length === 0 && <FieldHelp help="No model is registered yet." />}
      <div style={{ maxHeight: '14rem', overflowY: 'auto' }}>
        {names.map((name, index) => (
          <Checkbox
            key={name}
            id={`key-model-${index}`}
            label={name}
            isChecked={form.models.includes(name)}
            onChange={(_event, checked) => toggle(name, checked)}
          />
        ))}
      </div>
      <FieldHelp error={errors.models} />
    </FormGroup>
  );
}

export function AssetAccessFields({ form, errors, onChange }: Props) {
  return (
    <>
      <FormGroup role="radiogroup" isInline label="Model access" fieldId="key-model-access">
        <Radio
          id="key-all-models"
          name="key-model-access"
          label="All models"
          description="Every model the owner's policies allow, now and later."
          isChecked={form.allModels}
          onChange={() => onChange({ allModels: true })}
        />
        <Radio
          id="key-chosen-models"
          name="key-model-access"
          label="Chosen models"
          isChecked={!form.allModels}
          onChange={() => onChange({ allModels: false })}
        />
      </FormGroup>
      {form.allModels ? <FieldHelp error={errors.models} /> : <ModelChoices form={form} errors={errors} onChange={onChange} />}
    </>
  );
}
