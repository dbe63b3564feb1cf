import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import AuditPage from '../audit/AuditPage';
import { ADMIN, mockApi, renderPage } from '../test/render';
import { seriousViolations } from './a11y';
import { group, page, user } from './testData';
import UsersPage from './UsersPage';

describe('accessibility', () => {
  it('users page and its form', async () => {
    mockApi({ 'GET /api/v1/users': page([user('alice', { groups: ['ml'] })]), 'GET /api/v1/groups': page([group('ml')]) });
    renderPage(<UsersPage />, { me: ADMIN });
    await screen.findByRole('grid', { name: 'Users' });
    expect(await seriousViolations()).toEqual([]);
    await userEvent.click(screen.getByRole('button', { name: 'Add user' }));
    await userEvent.click(screen.getByRole('combobox', { name: 'Groups' }));
    expect(await seriousViolations()).toEqual([]);
  });

  it('audit log', async () => {
    mockApi({
      'GET /api/v1/audit/events': {
        items: [
          {
            seq: 1, ts: '2026-01-05T10:00:00Z', actor: 'user:alice', action: 'key.update', target_type: 'key', target_id: 'k1',
            outcome: 'success', request_id: 'r1', source_ip: null, detail: null, before: { a: 1 }, after: { a: 2 },
            hash: 'a', prev_hash: 'b',
          },
        ],
        next: null,
      },
    });
    renderPage(<AuditPage />, { me: ADMIN, path: '/settings/audit' });
    await userEvent.click(await screen.findByRole('button', { name: 'Details' }));
    expect(await seriousViolations()).toEqual([]);
  });
});
