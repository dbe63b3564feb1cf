import { fireEvent, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';

import { mockApi, renderPage, reply } from '../test/render';
import { PolicyModal } from './PolicyModal';
import { CHOICES, fastUser, STANDARD } from './testData';

type User = ReturnType<typeof fastUser>;

function field(label: string): HTMLElement {
  // A required field's label ends with an asterisk (hidden from assistive technology).
  return screen.getByLabelText((content) => content.replace(/\s*\*$/, '').trim() === label);
}

function fill(label: string, value: string) {
  fireEvent.change(field(label), { target: { value } });
}

/** Chooses an option of a native select by its text. */
function pick(label: string, text: string) {
  const select = field(label) as HTMLSelectElement;
  const option = Array.from(select.options).find((item) => item.text === text);
  if (!option) throw new Error(`${label} has no option ${text}`);
  fireEvent.change(select, { target: { value: option.value } });
}

async function choose(user: User, box: string, option: string) {
  await user.click(screen.getByRole('combobox', { name: box }));
  await user.click(await screen.findByRole('option', { name: new RegExp(`^${option}`) }));
  await user.keyboard('{Escape}');
}

function render(policy = undefined as typeof STANDARD | undefined) {
  const onClose = vi.fn();
  const onSaved = vi.fn();
  renderPage(<PolicyModal policy={policy} onClose={onClose} onSaved={onSaved} />);
  return { onClose, onSaved };
}

const created = (body: unknown) => ({ ...(body as object), created_at: STANDARD.created_at, updated_at: STANDARD.updated_at });

/** What the form sends for the fields left as they open. */
const DEFAULTS = {
  displayName: null,
  description: '',
  status: 'active',
  assets: { models: 'all' },
  targets: { groups: [], users: [], serviceAccounts: [] },
  limits: [],
  budget: null,
  schedule: null,
  overLimit: 'hard',
  priority: 0,
  costCenter: null,
};

describe('PolicyModal', () => {
  it('checks the fields as the API does before sending anything', async () => {
    const api = mockApi({ ...CHOICES });
    const user = fastUser();
    render();
    const dialog = await screen.findByRole('dialog', { name: 'Create policy' });

    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    expect(await screen.findByText('Enter a name.')).toBeInTheDocument();
    expect(screen.getByText('Correct the fields marked below.')).toBeInTheDocument();
    expect(field('Name')).toHaveFocus();

    fill('Name', '-bad name');
    await user.click(screen.getByRole('radio', { name: 'Only chosen models' }));
    await user.click(screen.getByRole('button', { name: 'Add token limit' }));
    fill('Token limit 1 amount', '1.5');
    await user.click(screen.getByRole('button', { name: 'Add rate limit' }));
    fill('Rate limit 1 amount', '60');
    fill('Rate limit 1 window length', '0');
    await user.click(screen.getByRole('radio', { name: 'Days and hours' }));
    fill('To', '08:00');
    fill('Time zone', 'Mars/Olympus');
    fill('Budget', '-5');
    fill('Currency', 'us');
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));

    expect(screen.getByText(/^Start with a letter or digit/)).toBeInTheDocument();
    expect(screen.getByText('Choose at least one model, or All models.')).toBeInTheDocument();
    expect(screen.getByText(/^Enter a whole number of tokens/)).toBeInTheDocument();
    expect(screen.getByText(/^Enter a whole number of time units/)).toBeInTheDocument();
    expect(screen.getByText('The end must differ from the start.')).toBeInTheDocument();
    expect(screen.getAllByText('Use an IANA time zone, e.g. Europe/Berlin.')).toHaveLength(1);
    expect(screen.getByText(/^Enter an amount above 0/)).toBeInTheDocument();
    expect(screen.getByText('Use a 3-letter currency code, e.g. USD.')).toBeInTheDocument();
    expect(api.calls.filter((call) => call.method !== 'GET')).toEqual([]);
  });

  it('sends the limits, time limit and budget', async () => {
    const api = mockApi({ ...CHOICES, 'POST /api/v1/policies': (call: { body: unknown }) => created(call.body) });
    const user = fastUser();
    const { onClose } = render();
    await screen.findByRole('dialog', { name: 'Create policy' });

    fill('Name', 'devs-standard');
    await user.click(screen.getByRole('button', { name: 'Add token limit' }));
    fill('Token limit 1 amount', '10000');
    await user.click(screen.getByRole('button', { name: 'Add token limit' }));
    fill('Token limit 2 amount', '2000000');
    pick('Token limit 2 counts', 'output tokens');
    pick('Token limit 2 window unit', 'days');
    pick('Token limit 2 counted for', 'Shared by everyone');
    await user.click(screen.getByRole('button', { name: 'Add rate limit' }));
    fill('Rate limit 1 amount', '60');
    fill('Rate limit 1 window length', '5');
    pick('Rate limit 1 counted for', 'Each key');

    await user.click(screen.getByRole('radio', { name: 'Days and hours' }));
    await user.click(screen.getByRole('checkbox', { name: 'Fri' }));
    fill('From', '09:00');
    fill('To', '17:30');
    fill('Time zone', 'Europe/Berlin');

    fill('Budget', '100.50');
    pick('Renews on day', '15');
    pick('Budget counted for', 'Each group');
    await user.click(screen.getByRole('button', { name: 'Create' }));

    await vi.waitFor(() => expect(onClose).toHaveBeenCalled());
    expect(api.calls.filter((call) => call.method === 'POST').map((call) => call.body)).toEqual([
      {
        ...DEFAULTS,
        name: 'devs-standard',
        limits: [
          { tokens: 10000, window: '1m', scope: 'user' },
          { outputTokens: 2000000, window: '1d', scope: 'policy' },
          { requests: 60, window: '5m', scope: 'key' },
        ],
        budget: { amount: '100.50', currency: 'USD', period: 'monthly', renewsOn: 15, scope: 'group', timezone: 'UTC' },
        schedule: { days: ['mon', 'tue', 'wed', 'thu'], start: '09:00', end: '17:30', timezone: 'Europe/Berlin' },
      },
    ]);
  });

  it('sends the assets, targets and behaviour', async () => {
    const api = mockApi({ ...CHOICES, 'POST /api/v1/policies': (call: { body: unknown }) => created(call.body) });
    const user = fastUser();
    const { onClose, onSaved } = render();
    await screen.findByRole('dialog', { name: 'Create policy' });

    fill('Name', 'devs-standard');
    fill('Display name', 'Developers');
    fill('Description', 'Standard tier');
    await user.click(screen.getByRole('radio', { name: 'Inactive' }));
    await user.click(screen.getByRole('radio', { name: 'Only chosen models' }));
    await choose(user, 'Chosen models', 'gpt-oss-20b');
    expect(screen.getByText('This policy will apply to all users in these groups.')).toBeInTheDocument();
    await choose(user, 'Groups', 'devs');
    await choose(user, 'Users', 'bob');
    await choose(user, 'Service accounts', 'ci-bot');
    await user.click(screen.getByRole('radio', { name: /^Soft/ }));
    fill('Priority', '5');
    fill('Cost center', 'cc-7');
    await user.click(screen.getByRole('button', { name: 'Create' }));

    await vi.waitFor(() => expect(onClose).toHaveBeenCalledTimes(1));
    expect(api.calls.filter((call) => call.method === 'POST').map((call) => call.body)).toEqual([
      {
        ...DEFAULTS,
        name: 'devs-standard',
        displayName: 'Developers',
        description: 'Standard tier',
        status: 'inactive',
        assets: { models: ['gpt-oss-20b'] },
        targets: { groups: ['devs'], users: ['bob'], serviceAccounts: ['ci-bot'] },
        overLimit: 'soft',
        priority: 5,
        costCenter: 'cc-7',
      },
    ]);
    expect(onSaved).toHaveBeenCalledWith(expect.objectContaining({ name: 'devs-standard' }));
  });

  it('sends the defaults for a policy with only a name', async () => {
    const api = mockApi({ ...CHOICES, 'POST /api/v1/policies': (call: { body: unknown }) => created(call.body) });
    const user = fastUser();
    const { onClose } = render();
    await screen.findByRole('dialog', { name: 'Create policy' });
    fill('Name', 'everyone');
    await user.click(screen.getByRole('button', { name: 'Create' }));
    await vi.waitFor(() => expect(onClose).toHaveBeenCalled());
    expect(api.calls.find((call) => call.method === 'POST')?.body).toEqual({ ...DEFAULTS, name: 'everyone' });
  });

  it("shows the API's 422 errors on their fields and keeps the form open", async () => {
    mockApi({
      ...CHOICES,
      'POST /api/v1/policies': reply(422, {
        detail: [
          { loc: ['body', 'limits', 1, 'requests'], msg: 'Input should be less than or equal to 1000000000000', type: 'x' },
          { loc: ['body', 'targets', 'groups', 0], msg: "unknown group 'devs'", type: 'x' },
        ],
      }),
    });
    const user = fastUser();
    const { onClose } = render();
    await screen.findByRole('dialog', { name: 'Create policy' });
    fill('Name', 'p1');
    await user.click(screen.getByRole('button', { name: 'Add token limit' }));
    fill('Token limit 1 amount', '5');
    await user.click(screen.getByRole('button', { name: 'Add rate limit' }));
    fill('Rate limit 1 amount', '7');
    await choose(user, 'Groups', 'devs');
    await user.click(screen.getByRole('button', { name: 'Create' }));

    const groupHelp = await screen.findByText("unknown group 'devs'", { selector: '#policy-groups-help *' });
    expect(groupHelp).toBeInTheDocument();
    expect(screen.getAllByText('Input should be less than or equal to 1000000000000').length).toBeGreaterThan(0);
    expect(field('Rate limit 1 amount')).toHaveAttribute('aria-invalid', 'true');
    expect(field('Token limit 1 amount')).not.toHaveAttribute('aria-invalid', 'true');
    expect(onClose).not.toHaveBeenCalled();
  });

  it('shows a conflict from the API', async () => {
    mockApi({ ...CHOICES, 'POST /api/v1/policies': reply(409, { detail: 'policy p1 already exists (use PUT to replace it)' }) });
    const user = fastUser();
    render();
    await screen.findByRole('dialog', { name: 'Create policy' });
    fill('Name', 'p1');
    await user.click(screen.getByRole('button', { name: 'Create' }));
    expect(await screen.findByText('policy p1 already exists (use PUT to replace it)')).toBeInTheDocument();
  });

  it('edits: pre-fills every field, keeps the name and PUTs the spec', async () => {
    const api = mockApi({
      ...CHOICES,
      'PUT /api/v1/policies/devs-rate-limit-standard': (call: { body: unknown }) => ({ ...STANDARD, ...(call.body as object) }),
    });
    const user = fastUser();
    const { onClose } = render(STANDARD);
    const dialog = await screen.findByRole('dialog', { name: 'Edit policy' });

    expect(field('Name')).toHaveValue('devs-rate-limit-standard');
    expect(field('Name')).toHaveAttribute('readonly');
    expect(field('Display name')).toHaveValue('Developers (standard)');
    expect(field('Token limit 1 amount')).toHaveValue('10000');
    expect(field('Rate limit 1 amount')).toHaveValue('60');
    expect(screen.getByRole('radio', { name: 'Days and hours' })).toBeChecked();
    expect(field('Budget')).toHaveValue('100');
    expect(screen.getByRole('radio', { name: 'Only chosen models' })).toBeChecked();
    const groups = screen.getByRole('list', { name: 'Chosen groups' });
    expect(within(groups).getByText('devs')).toBeInTheDocument();
    expect(within(groups).getByText('ml')).toBeInTheDocument();
    expect(field('Priority')).toHaveValue(10);

    fill('Description', 'Standard developer tier, weekdays');
    await user.click(screen.getByRole('button', { name: 'Remove ml' }));
    await user.click(screen.getByRole('button', { name: 'Raise priority' }));
    await user.click(within(dialog).getByRole('button', { name: 'Save' }));

    await vi.waitFor(() => expect(onClose).toHaveBeenCalled());
    const put = api.calls.filter((call) => call.method === 'PUT');
    expect(put.map((call) => call.body)).toEqual([
      {
        displayName: 'Developers (standard)',
        description: 'Standard developer tier, weekdays',
        status: 'active',
        assets: { models: ['granite-3.1-8b'] },
        targets: { groups: ['devs'], users: ['alice'], serviceAccounts: [] },
        limits: [
          { tokens: 10000, window: '1m', scope: 'user' },
          { requests: 60, window: '1m', scope: 'user' },
        ],
        budget: { amount: '100', currency: 'USD', period: 'monthly', renewsOn: 1, scope: 'group', timezone: 'UTC' },
        schedule: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', end: '18:00', timezone: 'UTC' },
        overLimit: 'hard',
        priority: 11,
        costCenter: 'cc-100',
      },
    ]);
  });
});
