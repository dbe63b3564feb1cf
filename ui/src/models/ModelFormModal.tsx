// "Add asset" (a new model: an internal server or an external provider: OpenAI-compatible, Azure
// OpenAI, Anthropic or AWS Bedrock) and
// "Edit model" (the same fields; what the form does not show is kept as it was).
import {
  Alert,
  Button,
  Form,
  FormAlert,
  FormGroup,
  FormSection,
  FormSelect,
  FormSelectOption,
  Grid,
  GridItem,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  Radio,
} from '@patternfly/react-core';
import { PlusCircleIcon } from '@patternfly/react-icons';
import { useState } from 'react';

import { ApiError, messageOf } from '../api/errors';
import { DeploymentFields } from './DeploymentFields';
import { TextField } from './fields';
import { KINDS, type Model, type ModelKind, specOf } from './model';
import {
  createBody,
  draftOf,
  emptyDraft,
  type FieldErrors,
  MAX_DEPLOYMENTS,
  type ModelDraft,
  newDeployment,
  type Source,
  specBody,
  validate,
} from './modelForm';
import { useCreateModel, usePutModel } from './queries';

export interface ModelFormModalProps {
  /** The model to edit; a new asset when absent. */
  model?: Model;
  onClose: () => void;
}

const SOURCES: { value: Source; label: string; description: string }[] = [
  {
    value: 'internal',
    label: 'Internal server (OpenAI-compatible: vLLM, TGI, Ollama, …)',
    description: 'A model server your organization runs, reached at its /v1 URL.',
  },
  {
    value: 'external',
    label: 'External provider',
    description:
      'A hosted API (OpenAI, Azure OpenAI, Anthropic, AWS Bedrock), called with a credential stored in Headwater or held in its environment.',
  },
];

export function ModelFormModal({ model, onClose }: ModelFormModalProps) {
  const isNew = model === undefined;
  const [draft, setDraft] = useState<ModelDraft>(() => (model ? draftOf(model) : emptyDraft()));
  const [attempted, setAttempted] = useState(false);
  const [extra, setExtra] = useState<FieldErrors>({});
  const create = useCreateModel();
  const put = usePutModel();
  const saving = create.isPending || put.isPending;
  const failure = create.error ?? put.error;

  const errors: FieldErrors = { ...extra, ...(attempted ? validate(draft, isNew) : {}) };
  const change = (next: Partial<ModelDraft>) => {
    setDraft((current) => ({ ...current, ...next }));
    setExtra({});
  };

  const save = () => {
    setAttempted(true);
    if (Object.keys(validate(draft, isNew)).length > 0) return;
    const done = {
      onSuccess: onClose,
      onError: (error: unknown) => {
        if (error instanceof ApiError) setExtra(error.fields);
      },
    };
    if (model) put.mutate({ name: model.name, spec: specBody(draft, specOf(model)) }, done);
    else create.mutate(createBody(draft), done);
  };

  const text = (label: string, field: keyof ModelDraft, apiField: string, extraProps: Partial<Parameters<typeof TextField>[0]> = {}) => (
    <TextField
      label={label}
      fieldId={`model-${apiField.replace(/[._]/g, '-')}`}
      value={draft[field] as string}
      onChange={(value) => change({ [field]: value })}
      error={errors[apiField]}
      {...extraProps}
    />
  );

  return (
    <Modal variant="medium" isOpen onClose={onClose} aria-labelledby="model-form-title">
      <ModalHeader
        title={isNew ? 'Add asset' : `Edit ${model.name}`}
        labelId="model-form-title"
        description={isNew ? 'Add a model to the catalog: callers reach it through the gateway with their API keys.' : undefined}
      />
      <ModalBody>
        <Form
          id="model-form"
          onSubmit={(event) => {
            event.preventDefault();
            save();
          }}
        >
          {failure && (
            <FormAlert>
              <Alert component="p" variant="danger" isInline title={isNew ? 'The model was not added' : 'The model was not saved'}>
                {messageOf(failure)}
              </Alert>
            </FormAlert>
          )}
          {isNew && (
            <FormGroup role="radiogroup" isStack fieldId="model-source" label="Asset type" isRequired>
              {SOURCES.map((source) => (
                <Radio
                  key={source.value}
                  id={`model-source-${source.value}`}
                  name="model-source"
                  label={source.label}
                  description={source.description}
                  isChecked={draft.source === source.value}
                  onChange={() => change({ source: source.value })}
                />
              ))}
            </FormGroup>
          )}
          {isNew &&
            text('Name', 'name', 'name', {
              isRequired: true,
              placeholder: draft.source === 'external' ? 'gpt-4o-mini' : 'granite-3.1-8b',
              helper: 'The name callers use, such as granite-3.1-8b or meta-llama/Llama-3.1-8B-Instruct.',
            })}
          <Grid hasGutter md={6}>
            <GridItem>
              <FormGroup label="Kind" fieldId="model-kind">
                <FormSelect id="model-kind" value={draft.kind} onChange={(_event, value) => change({ kind: value as ModelKind })}>
                  {KINDS.map((kind) => (
                    <FormSelectOption key={kind.value} value={kind.value} label={kind.label} />
                  ))}
                </FormSelect>
              </FormGroup>
            </GridItem>
            <GridItem>
              <FormGroup label="Access" fieldId="model-access">
                <FormSelect
                  id="model-access"
                  value={draft.access}
                  onChange={(_event, value) => change({ access: value === 'restricted' ? 'restricted' : 'open' })}
                >
                  <FormSelectOption value="open" label="Open: every key may call it" />
                  <FormSelectOption value="restricted" label="Restricted: only keys a policy names" />
                </FormSelect>
              </FormGroup>
            </GridItem>
          </Grid>
          {text('Description', 'description', 'description', { multiline: true })}
          {errors.deployments && <Alert component="p" variant="danger" isInline isPlain title={errors.deployments} />}
          {draft.deployments.map((deployment, index) => (
            <DeploymentFields
              key={deployment.id}
              index={index}
              count={draft.deployments.length}
              deployment={deployment}
              source={draft.source}
              errors={errors}
              onChange={(next) => change({ deployments: draft.deployments.map((item) => (item.id === next.id ? next : item)) })}
              onRemove={() => change({ deployments: draft.deployments.filter((item) => item.id !== deployment.id) })}
              onFieldErrors={(found) => setExtra((current) => ({ ...current, ...found }))}
            />
          ))}
          {draft.deployments.length < MAX_DEPLOYMENTS && (
            <div>
              <Button variant="link" isInline icon={<PlusCircleIcon />} onClick={() => change({ deployments: [...draft.deployments, newDeployment()] })}>
                Add deployment
              </Button>
            </div>
          )}
          <FormSection title="Pricing" titleElement="h2">
            <Grid hasGutter md={4}>
              <GridItem>{text('Input per 1M tokens', 'inputPerMillion', 'pricing.input_per_million', { inputMode: 'decimal' })}</GridItem>
              <GridItem>{text('Output per 1M tokens', 'outputPerMillion', 'pricing.output_per_million', { inputMode: 'decimal' })}</GridItem>
              <GridItem>{text('Currency', 'currency', 'pricing.currency', { isRequired: true })}</GridItem>
            </Grid>
          </FormSection>
          <FormSection title="Tokens" titleElement="h2">
            <Grid hasGutter md={6}>
              <GridItem>{text('Context window', 'contextWindow', 'context_window', { inputMode: 'numeric', helper: 'Tokens; optional.' })}</GridItem>
              <GridItem>
                {text('Max output tokens', 'maxOutputTokens', 'max_output_tokens', {
                  inputMode: 'numeric',
                  helper: 'The most one call may generate; optional.',
                })}
              </GridItem>
            </Grid>
          </FormSection>
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button variant="primary" type="submit" form="model-form" isLoading={saving} isDisabled={saving}>
          {isNew ? 'Add' : 'Save'}
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
