import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { ADMIN, AUDITOR, mockApi, renderPage, reply, USER } from '../test/render';
import PolicyDetailsPage from './PolicyDetailsPage';
import { CHOICES, fastUser, PAUSED, STANDARD } from './testData';

const PATH = '/settings/policies/devs-rate-limit-standard';
const ROUTE = '/settings/policies/:policyName';

function described(term: string): HTMLElement {
  const group = screen.getByText(term, { selector: 'dt *, dt' }).closest('.pf-v6-c-description-list__group');
  if (!(group instanceof HTMLElement)) throw new Error(`no ${term}`);
  return within(group).getByRole('definition');
}

describe('PolicyDetailsPage', () => {
  it('shows everything the form captures', async () => {
    mockApi({ 'GET /api/v1/policies/devs-rate-limit-standard': STANDARD });
    renderPage(<PolicyDetailsPage />, { path: PATH, route: ROUTE });

    expect(await screen.findByRole('heading', { level: 1, name: 'Developers (standard)' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Policies' })).toHaveAttribute('href', '/settings/policies');
    expect(screen.getByRole('tab', { name: 'Details' })).toHaveAttribute('aria-selected', 'true');
    expect(described('Name')).toHaveTextContent('devs-rate-limit-standard');
    expect(described('Models')).toHaveTextContent('granite-3.1-8b');
    expect(described('Token limit')).toHaveTextContent('10,000 tokens per minute, each user');
    expect(described('Rate limit')).toHaveTextContent('60 requests per minute, each user');
    expect(described('Time limit')).toHaveTextContent('Mon–Fri 08:00–18:00 (UTC)');
    expect(described('Budget')).toHaveTextContent('$100 per month, each group');
    expect(described('Budget')).toHaveTextContent('Renews on day 1 (UTC)');
    expect(described('Groups')).toHaveTextContent('devsml');
    expect(described('Users')).toHaveTextContent('alice');
    expect(described('Service accounts')).toHaveTextContent('None');
    expect(described('Over-limit behaviour')).toHaveTextContent(/^Hard: Refuse calls/);
    expect(described('Priority')).toHaveTextContent('10');
    expect(described('Cost center')).toHaveTextContent('cc-100');
    expect(screen.getByRole('button', { name: 'Edit' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Delete policy' })).toBeInTheDocument();
  });

  it('shows a policy without limits', async () => {
    mockApi({ 'GET /api/v1/policies/ci-budget': PAUSED });
    renderPage(<PolicyDetailsPage />, { path: '/settings/policies/ci-budget', route: ROUTE });
    expect(await screen.findByRole('heading', { level: 1, name: 'ci-budget' })).toBeInTheDocument();
    expect(described('Models')).toHaveTextContent('All models');
    expect(described('Token limit')).toHaveTextContent('None');
    expect(described('Time limit')).toHaveTextContent('None');
    expect(described('Budget')).toHaveTextContent('None');
    expect(described('Status')).toHaveTextContent('Inactive');
  });

  it('opens the edit form filled with the policy', async () => {
    mockApi({ 'GET /api/v1/policies/devs-rate-limit-standard': STANDARD, ...CHOICES });
    const user = fastUser();
    renderPage(<PolicyDetailsPage />, { path: PATH, route: ROUTE, me: ADMIN });
    await user.click(await screen.findByRole('button', { name: 'Edit' }));
    const dialog = await screen.findByRole('dialog', { name: 'Edit policy' });
    expect(within(dialog).getByDisplayValue('Developers (standard)')).toBeInTheDocument();
  });

  it('deletes by typed name, then goes back to the list', async () => {
    const api = mockApi({
      'GET /api/v1/policies/devs-rate-limit-standard': STANDARD,
      'DELETE /api/v1/policies/devs-rate-limit-standard': null,
    });
    const user = fastUser();
    renderPage(<PolicyDetailsPage />, {
      path: PATH,
      route: ROUTE,
      extra: { '/settings/policies': <p>The policy list</p> },
    });
    await user.click(await screen.findByRole('button', { name: 'Delete policy' }));
    const dialog = await screen.findByRole('dialog', { name: /Delete policy\?/ });
    expect(within(dialog).getByText(/its limits, budget and hours stop applying/)).toBeInTheDocument();
    await user.type(within(dialog).getByRole('textbox'), 'devs-rate-limit-standard');
    await user.click(within(dialog).getByRole('button', { name: 'Delete' }));

    expect(await screen.findByText('The policy list')).toBeInTheDocument();
    expect(api.calls.filter((call) => call.method === 'DELETE').map((call) => call.path)).toEqual([
      '/api/v1/policies/devs-rate-limit-standard',
    ]);
  });

  it.each([
    ['an auditor', AUDITOR],
    ['a user', USER],
  ])('shows %s no Edit or Delete policy', async (_who, me) => {
    mockApi({ 'GET /api/v1/policies/devs-rate-limit-standard': STANDARD });
    renderPage(<PolicyDetailsPage />, { path: PATH, route: ROUTE, me });
    expect(await screen.findByRole('heading', { level: 1, name: 'Developers (standard)' })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Edit' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Delete policy' })).not.toBeInTheDocument();
  });

  it('says when the policy does not exist or is not visible', async () => {
    mockApi({ 'GET /api/v1/policies/devs-rate-limit-standard': reply(404, { detail: 'policy devs-rate-limit-standard not found' }) });
    renderPage(<PolicyDetailsPage />, { path: PATH, route: ROUTE, me: USER });
    expect(await screen.findByRole('heading', { name: 'Policy not found' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Back to policies' })).toHaveAttribute('href', '/settings/policies');
  });
});
