import { screen, within } from '@testing-library/react';
import axe from 'axe-core';
import { describe, expect, it, vi } from 'vitest';

import { ADMIN, AUDITOR, GROUP_ADMIN, mockApi, renderPage, USER } from '../test/render';
import PoliciesPage from './PoliciesPage';
import { CHOICES, fastUser, page, PAUSED, STANDARD } from './testData';

const PATH = '/settings/policies';

async function table() {
  return screen.findByRole('grid', { name: 'Policies' }).catch(() => screen.findByRole('table', { name: 'Policies' }));
}

describe('PoliciesPage', () => {
  it('lists name, description, status, targets and rules', async () => {
    mockApi({ 'GET /api/v1/policies': page([STANDARD, PAUSED]) });
    renderPage(<PoliciesPage />, { path: PATH });

    expect(screen.getByRole('heading', { level: 1, name: 'Policies' })).toBeInTheDocument();
    const grid = await table();
    const headers = within(grid).getAllByRole('columnheader').map((cell) => cell.textContent);
    expect(headers.slice(0, 5)).toEqual(['Name', 'Description', 'Status', 'Targets', 'Rules']);

    const [, firstRow, secondRow] = within(grid).getAllByRole('row');
    if (!firstRow || !secondRow) throw new Error('two rows expected');
    const first = within(firstRow);
    expect(first.getByRole('link', { name: 'devs-rate-limit-standard' })).toHaveAttribute(
      'href',
      '/settings/policies/devs-rate-limit-standard',
    );
    expect(first.getByText('Standard developer tier')).toBeInTheDocument();
    expect(first.getByText('Active')).toBeInTheDocument();
    expect(first.getByText('2 groups, 1 user')).toBeInTheDocument();
    for (const rule of ['10k tokens / 1 min', '60 requests / 1 min', '$100 / month', 'Mon–Fri 08:00–18:00']) {
      expect(first.getByText(rule)).toBeInTheDocument();
    }
    const second = within(secondRow);
    expect(second.getByText('Inactive')).toBeInTheDocument();
    expect(second.getByText('1 service account')).toBeInTheDocument();
    expect(second.getByText('No limits')).toBeInTheDocument();
  });

  it('filters by text and status', async () => {
    mockApi({ 'GET /api/v1/policies': page([STANDARD, PAUSED]) });
    const user = fastUser();
    renderPage(<PoliciesPage />, { path: PATH });
    await table();

    await user.type(screen.getByRole('textbox', { name: 'Search policies' }), 'ci-');
    expect(screen.queryByRole('link', { name: 'devs-rate-limit-standard' })).not.toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'ci-budget' })).toBeInTheDocument();

    await user.clear(screen.getByRole('textbox', { name: 'Search policies' }));
    await user.click(screen.getByRole('button', { name: 'Filter by status' }));
    await user.click(await screen.findByRole('checkbox', { name: 'Active' }));
    expect(screen.getByRole('link', { name: 'devs-rate-limit-standard' })).toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'ci-budget' })).not.toBeInTheDocument();
  });

  it('offers Create policy, Edit and Delete policy to admins', async () => {
    mockApi({ 'GET /api/v1/policies': page([STANDARD]), ...CHOICES });
    const user = fastUser();
    renderPage(<PoliciesPage />, { path: PATH, me: ADMIN });
    await table();

    expect(screen.getByRole('button', { name: 'Create policy' })).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Actions for devs-rate-limit-standard' }));
    expect(await screen.findByRole('menuitem', { name: 'Edit' })).toBeInTheDocument();
    expect(screen.getByRole('menuitem', { name: 'Delete policy' })).toBeInTheDocument();

    await user.click(screen.getByRole('menuitem', { name: 'Edit' }));
    const dialog = await screen.findByRole('dialog', { name: 'Edit policy' });
    expect(within(dialog).getByLabelText(/^Name/)).toHaveValue('devs-rate-limit-standard');
    expect(within(dialog).getByLabelText(/^Name/)).toHaveAttribute('readonly');
  });

  it('deletes a policy once its name is typed', async () => {
    const api = mockApi({
      'GET /api/v1/policies': page([STANDARD]),
      'DELETE /api/v1/policies/devs-rate-limit-standard': null,
    });
    const user = fastUser();
    renderPage(<PoliciesPage />, { path: PATH });
    await table();

    await user.click(screen.getByRole('button', { name: 'Actions for devs-rate-limit-standard' }));
    await user.click(await screen.findByRole('menuitem', { name: 'Delete policy' }));
    const dialog = await screen.findByRole('dialog', { name: /Delete policy\?/ });
    const confirm = within(dialog).getByRole('button', { name: 'Delete' });
    expect(confirm).toBeDisabled();
    await user.type(within(dialog).getByRole('textbox'), 'devs-rate-limit');
    expect(confirm).toBeDisabled();
    await user.type(within(dialog).getByRole('textbox'), '-standard');
    await user.click(confirm);

    // the list is read again once the policy is gone
    await vi.waitFor(() => expect(api.calls.filter((call) => call.method === 'GET')).toHaveLength(2));
    expect(api.calls.filter((call) => call.method === 'DELETE').map((call) => call.path)).toEqual([
      '/api/v1/policies/devs-rate-limit-standard',
    ]);
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
  });

  it.each([
    ['an auditor', AUDITOR],
    ['a group admin', GROUP_ADMIN],
    ['a user', USER],
  ])('shows %s the policies read-only', async (_who, me) => {
    mockApi({ 'GET /api/v1/policies': page([STANDARD]) });
    renderPage(<PoliciesPage />, { path: PATH, me });
    await table();

    expect(screen.getByRole('link', { name: 'devs-rate-limit-standard' })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Create policy' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /Actions for/ })).not.toBeInTheDocument();
  });

  it('has an empty state with the primary action for admins only', async () => {
    mockApi({ 'GET /api/v1/policies': page([]) });
    renderPage(<PoliciesPage />, { path: PATH, me: ADMIN });
    expect(await screen.findByRole('heading', { name: 'No policies yet' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Create policy' })).toBeInTheDocument();
  });

  it('tells a user when no policy applies to them', async () => {
    mockApi({ 'GET /api/v1/policies': page([]) });
    renderPage(<PoliciesPage />, { path: PATH, me: USER });
    expect(await screen.findByRole('heading', { name: 'No policy applies to you' })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Create policy' })).not.toBeInTheDocument();
  });

  it('shows the API error with a retry', async () => {
    mockApi({});
    renderPage(<PoliciesPage />, { path: PATH });
    expect(await screen.findByRole('heading', { name: 'Something went wrong' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Try again' })).toBeInTheDocument();
  });

  it('has no serious accessibility violations, with the form open', async () => {
    mockApi({ 'GET /api/v1/policies': page([STANDARD, PAUSED]), ...CHOICES });
    const user = fastUser();
    const { baseElement } = renderPage(<PoliciesPage />, { path: PATH });
    await table();
    await user.click(screen.getByRole('button', { name: 'Create policy' }));
    await screen.findByRole('dialog', { name: 'Create policy' });
    await user.click(screen.getByRole('radio', { name: 'Days and hours' }));
    await user.type(screen.getByLabelText('Budget'), '10');

    const results = await axe.run(baseElement, { rules: { 'color-contrast': { enabled: false } } });
    const serious = results.violations.filter((violation) => ['serious', 'critical'].includes(violation.impact ?? ''));
    expect(serious.map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.html).join(' | ')}`)).toEqual(
      [],
    );
  });
});
