// The Create policy / Edit policy modal: every field of a policy, checked as the API checks it, then
// POST /api/v1/policies (create) or PUT /api/v1/policies/{name} (edit); 422s land on their field.
import {
  Alert,
  Button,
  Form,
  FormGroup,
  FormSection,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  NumberInput,
  Radio,
  TextArea,
  TextInput,
} from '@patternfly/react-core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef, useState } from 'react';

import { ApiError, messageOf } from '../api/errors';
import { BudgetFields } from './BudgetFields';
import { AssetFields, TargetFields } from './ChoiceFields';
import { FieldHelp, section, type SectionProps, validated } from './fields';
import { emptyForm, type FormErrors, formErrorsOf, formOf, type PolicyForm, specOf, validate } from './form';
import { LimitRows } from './LimitRows';
import { createPolicy, POLICIES, replacePolicy } from './queries';
import { OVER_LIMIT, type Policy } from './rules';
import { ScheduleFields } from './ScheduleFields';

export interface PolicyModalProps {
  /** The policy to edit; a new one is created when absent. */
  policy?: Policy;
  onClose: () => void;
  onSaved?: (policy: Policy) => void;
}

function General({ form, set, errors, editing }: SectionProps & { editing: boolean }) {
  return (
    <>
      <FormGroup label="Name" isRequired fieldId="policy-name">
        <TextInput
          id="policy-name"
          isRequired
          value={form.name}
          readOnlyVariant={editing ? 'default' : undefined}
          onChange={(_event, value) => set({ name: value })}
          validated={validated(errors.name)}
        />
        <FieldHelp error={errors.name}>
          {editing ? 'The name identifies the policy and cannot change.' : 'Lowercase with dashes, e.g. devs-rate-limit-standard.'}
        </FieldHelp>
      </FormGroup>
      <FormGroup label="Display name" fieldId="policy-display-name">
        <TextInput
          id="policy-display-name"
          value={form.displayName}
          onChange={(_event, value) => set({ displayName: value })}
          validated={validated(errors.displayName)}
        />
        <FieldHelp error={errors.displayName} />
      </FormGroup>
      <FormGroup label="Description" fieldId="policy-description">
        <TextArea
          id="policy-description"
          value={form.description}
          onChange={(_event, value) => set({ description: value })}
          validated={validated(errors.description)}
          resizeOrientation="vertical"
          placeholder="Describe who this policy is for and what it allows."
        />
        <FieldHelp error={errors.description} />
      </FormGroup>
      <FormGroup label="Status" role="radiogroup" fieldId="policy-status" isInline>
        <Radio
          id="policy-status-active"
          name="policy-status"
          label="Active"
          isChecked={form.status === 'active'}
          onChange={() => set({ status: 'active' })}
        />
        <Radio
          id="policy-status-inactive"
          name="policy-status"
          label="Inactive"
          isChecked={form.status === 'inactive'}
          onChange={() => set({ status: 'inactive' })}
        />
      </FormGroup>
    </>
  );
}

function Behaviour({ form, set, errors }: SectionProps) {
  const priority = form.priority === '' ? 0 : form.priority;
  return (
    <>
      <FormGroup label="Over-limit behaviour" role="radiogroup" fieldId="policy-over-limit">
        {(Object.keys(OVER_LIMIT) as Policy['overLimit'][]).map((value) => (
          <Radio
            key={value}
            id={`policy-over-limit-${value}`}
            name="policy-over-limit"
            label={OVER_LIMIT[value].title}
            description={OVER_LIMIT[value].description}
            isChecked={form.overLimit === value}
            onChange={() => set({ overLimit: value })}
          />
        ))}
      </FormGroup>
      <FormGroup label="Priority" fieldId="policy-priority">
        <NumberInput
          value={form.priority}
          min={-1000}
          max={1000}
          inputAriaLabel="Priority"
          inputProps={{ id: 'policy-priority' }}
          minusBtnAriaLabel="Lower priority"
          plusBtnAriaLabel="Raise priority"
          validated={validated(errors.priority)}
          onMinus={() => set({ priority: Math.max(-1000, priority - 1) })}
          onPlus={() => set({ priority: Math.min(1000, priority + 1) })}
          onChange={(event) => {
            const text = (event.target as HTMLInputElement).value;
            set({ priority: text === '' || text === '-' ? '' : Number(text) });
          }}
        />
        <FieldHelp error={errors.priority}>
          When several active policies apply to a caller and a model, the highest priority wins (ties: the first name
          alphabetically).
        </FieldHelp>
      </FormGroup>
      <FormGroup label="Cost center" fieldId="policy-cost-center">
        <TextInput
          id="policy-cost-center"
          value={form.costCenter}
          onChange={(_event, value) => set({ costCenter: value })}
          validated={validated(errors.costCenter)}
        />
        <FieldHelp error={errors.costCenter}>
          Charged for the calls this policy admits when neither the caller nor its groups have a cost center.
        </FieldHelp>
      </FormGroup>
    </>
  );
}

const GeneralFields = section(General, ['name', 'displayName', 'description', 'status']);
const BehaviourFields = section(Behaviour, ['overLimit', 'priority', 'costCenter']);

export function PolicyModal({ policy, onClose, onSaved }: PolicyModalProps) {
  const editing = policy !== undefined;
  const queryClient = useQueryClient();
  const [form, setForm] = useState<PolicyForm>(() => (policy ? formOf(policy) : emptyForm()));
  const [errors, setErrors] = useState<FormErrors>({});
  const [failure, setFailure] = useState<string | null>(null);
  const top = useRef<HTMLDivElement>(null);
  const formRef = useRef<HTMLFormElement>(null);
  // After a refusal, focus (and so scroll to) the first field in error, else the message on top.
  const [refused, setRefused] = useState(0);
  useEffect(() => {
    if (refused === 0) return;
    const invalid = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]');
    (invalid ?? top.current)?.focus();
  }, [refused]);

  const set = useCallback((change: Partial<PolicyForm>) => setForm((current) => ({ ...current, ...change })), []);

  const save = useMutation({
    mutationFn: () => {
      const { spec } = specOf(form);
      return policy ? replacePolicy(policy.name, spec) : createPolicy({ ...spec, name: form.name.trim() });
    },
    onSuccess: async (saved) => {
      await queryClient.invalidateQueries({ queryKey: POLICIES });
      onSaved?.(saved);
      onClose();
    },
    onError: (error) => {
      const fields = error instanceof ApiError ? formErrorsOf(error.fields, specOf(form).limitFields) : {};
      setErrors(fields);
      setFailure(messageOf(error));
      setRefused((count) => count + 1);
    },
  });

  const submit = () => {
    const found = validate(form, !editing);
    setErrors(found);
    if (Object.keys(found).length > 0) {
      setFailure('Correct the fields marked below.');
      setRefused((count) => count + 1);
      return;
    }
    setFailure(null);
    save.mutate();
  };

  const props: SectionProps = { form, set, errors };
  const title = editing ? 'Edit policy' : 'Create policy';
  return (
    <Modal
      variant="large"
      isOpen
      onClose={onClose}
      aria-labelledby="policy-modal-title"
      aria-describedby="policy-modal-description"
      onEscapePress={() => {
        // Escape in an open menu of the form closes that menu, not the whole form.
        if (!formRef.current?.querySelector('[aria-expanded="true"]')) onClose();
      }}
    >
      <ModalHeader
        title={title}
        labelId="policy-modal-title"
        descriptorId="policy-modal-description"
        description="Who may use which models, and how much: limits, budget and hours."
      />
      <ModalBody>
        <Form
          id="policy-form"
          ref={formRef}
          onSubmit={(event) => {
            event.preventDefault();
            submit();
          }}
        >
          {failure && (
            <div ref={top} tabIndex={-1}>
              <Alert variant="danger" isInline title={failure} />
            </div>
          )}
          <GeneralFields {...props} editing={editing} />
          <FormSection title="Available assets" titleElement="h2">
            <AssetFields {...props} />
          </FormSection>
          <FormSection title="Limits" titleElement="h2">
            <LimitRows kind="token" {...props} />
            <LimitRows kind="rate" {...props} />
            <ScheduleFields {...props} />
            <BudgetFields {...props} />
            {errors.limits && <FieldHelp error={errors.limits} />}
          </FormSection>
          <FormSection title="Targets" titleElement="h2">
            <TargetFields {...props} />
          </FormSection>
          <FormSection title="Behaviour" titleElement="h2">
            <BehaviourFields {...props} />
          </FormSection>
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button variant="primary" type="submit" form="policy-form" isLoading={save.isPending} isDisabled={save.isPending}>
          {editing ? 'Save' : 'Create'}
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
