// Who owns a new key. A user owns keys only as themself; a group admin also for their groups and their
// groups' service accounts; an admin for anyone (named, or picked from the directory).
import { FormGroup, FormSelect, FormSelectOption, Grid, GridItem, TextInput } from '@patternfly/react-core';
import { useQuery } from '@tanstack/react-query';

import { api, unwrap } from '../../api/client';
import { useSession } from '../../app/session';
import { type Errors, isDirectoryUser, type KeyForm, OWNER_TYPES, type OwnerType } from './form';
import { FieldHelp } from './FieldHelp';
import { OwnerNameTypeahead } from './OwnerNameTypeahead';

interface Props {
  form: KeyForm;
  errors: Errors;
  onChange: (change: Partial<KeyForm>) => void;
}

async function ownerChoices(type: OwnerType): Promise<{ name: string; group?: string }[]> {
  if (type === 'user') return (await unwrap(api.GET('/api/v1/users'))).items;
  if (type === 'group') return (await unwrap(api.GET('/api/v1/groups'))).items;
  return (await unwrap(api.GET('/api/v1/service-accounts'))).items;
}

const TYPE_LABEL: Record<OwnerType, string> = { user: 'User name', group: 'Group name', serviceaccount: 'Service account name' };

/** The caller's own name, read-only: the only owner a plain user may give. */
function Myself({ name, error }: { name: string; error: string | undefined }) {
  return (
    <FormGroup label="Owner" fieldId="key-owner-name">
      <TextInput id="key-owner-name" value={name} readOnlyVariant="default" />
      <FieldHelp error={error} help="You create keys for yourself." />
    </FormGroup>
  );
}

export function OwnerFields({ form, errors, onChange }: Props) {
  const { me, can } = useSession();
  const chooses = can.isAdmin || can.isGroupAdmin;
  const choices = useQuery({
    queryKey: ['keys', 'owner-choices', form.ownerType],
    queryFn: () => ownerChoices(form.ownerType),
    enabled: can.isAdmin || (can.isGroupAdmin && form.ownerType === 'serviceaccount'),
  });

  if (!chooses) return <Myself name={me.name} error={errors.owner} />;

  const myName = isDirectoryUser(me) ? me.name : '';
  const groupAccounts = (choices.data ?? []).filter((item) => item.group !== undefined && me.admin_of.includes(item.group));
  const setType = (type: OwnerType) => {
    let name = '';
    if (type === 'user') name = myName;
    else if (!can.isAdmin && type === 'group') name = me.admin_of[0] ?? '';
    onChange({ ownerType: type, ownerName: name });
  };
  const label = TYPE_LABEL[form.ownerType];
  const invalid = Boolean(errors.owner);

  let nameField;
  if (can.isAdmin) {
    nameField = (
      <OwnerNameTypeahead
        id="key-owner-name"
        value={form.ownerName}
        options={(choices.data ?? []).map((item) => item.name)}
        label={label}
        invalid={invalid}
        onChange={(ownerName) => onChange({ ownerName })}
      />
    );
  } else if (form.ownerType === 'user') {
    nameField = <TextInput id="key-owner-name" value={me.name} readOnlyVariant="default" />;
  } else {
    const names = form.ownerType === 'group' ? me.admin_of : groupAccounts.map((item) => item.name);
    nameField = (
      <FormSelect
        id="key-owner-name"
        value={form.ownerName}
        validated={invalid ? 'error' : 'default'}
        onChange={(_event, ownerName) => onChange({ ownerName })}
      >
        <FormSelectOption value="" label={choices.isPending && form.ownerType === 'serviceaccount' ? 'Loading…' : 'Choose one'} isPlaceholder />
        {names.map((name) => (
          <FormSelectOption key={name} value={name} label={name} />
        ))}
      </FormSelect>
    );
  }

  let help: string | undefined;
  if (can.isAdmin && form.ownerType === 'user' && !isDirectoryUser(me)) {
    help = 'Leave empty for a key with no owner: its usage is counted to the key itself.';
  } else if (!can.isAdmin && form.ownerType === 'serviceaccount' && !choices.isPending && groupAccounts.length === 0) {
    help = 'The groups you administer have no service accounts yet.';
  }

  return (
    <Grid hasGutter>
      <GridItem md={4}>
        <FormGroup label="Owner type" fieldId="key-owner-type">
          <FormSelect id="key-owner-type" value={form.ownerType} onChange={(_event, value) => setType(value as OwnerType)}>
            {OWNER_TYPES.map((type) => (
              <FormSelectOption key={type.value} value={type.value} label={type.label} />
            ))}
          </FormSelect>
        </FormGroup>
      </GridItem>
      <GridItem md={8}>
        <FormGroup label={label} fieldId="key-owner-name">
          {nameField}
          <FieldHelp error={errors.owner} help={help} />
        </FormGroup>
      </GridItem>
    </Grid>
  );
}
