import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { mockApi, renderPage, reply, USER } from '../../test/render';
import KeyDetailsPage from '../KeyDetailsPage';
import { aKey, KEY_ID, KEY_PATH } from './test-fixtures';

const SECRET = 'hwk_zh0KIzjc2KaL_0123456789abcdefghijABCDEFGHIJ012345';

function open() {
  return renderPage(<KeyDetailsPage />, {
    me: USER,
    path: `/settings/api-keys/${KEY_ID}/settings`,
    route: '/settings/api-keys/:keyId/:tab',
    extra: { '/settings/api-keys': <h1>All keys</h1> },
  });
}

describe('SettingsTab', () => {
  it('rotates with the chosen grace and shows the new secret once', async () => {
    const user = userEvent.setup();
    const api = mockApi({
      [`GET ${KEY_PATH}`]: aKey(),
      [`POST ${KEY_PATH}/rotate`]: { ...aKey(), key: SECRET },
    });
    open();
    const grace = await screen.findByRole('combobox', { name: 'Grace period' });
    await user.selectOptions(grace, '1 hour');
    await user.click(screen.getByRole('button', { name: 'Rotate key' }));

    expect(await screen.findByRole('textbox', { name: 'API key secret' })).toHaveValue(SECRET);
    expect(screen.getByText(/The old secret keeps working for 1 hour/)).toBeInTheDocument();
    const rotate = api.calls.find((call) => call.method === 'POST' && call.path.endsWith('/rotate'));
    expect(rotate?.body).toEqual({ grace: '1h' });

    await user.click(screen.getByRole('button', { name: 'Done' }));
    expect(screen.queryByRole('textbox', { name: 'API key secret' })).not.toBeInTheDocument();
    expect(screen.queryByText(SECRET)).not.toBeInTheDocument();
  });

  it('shows why a rotation was refused', async () => {
    const user = userEvent.setup();
    mockApi({
      [`GET ${KEY_PATH}`]: aKey(),
      [`POST ${KEY_PATH}/rotate`]: reply(422, {
        detail: [{ loc: ['body', 'grace'], msg: 'at most 24h (HEADWATER_KEYS_MAX_ROTATION_GRACE)', type: 'value_error' }],
      }),
    });
    open();
    await user.selectOptions(await screen.findByRole('combobox', { name: 'Grace period' }), '24 hours');
    await user.click(screen.getByRole('button', { name: 'Rotate key' }));
    expect(await screen.findByText(/at most 24h/)).toBeInTheDocument();
    expect(screen.queryByRole('textbox', { name: 'API key secret' })).not.toBeInTheDocument();
  });

  it('disables an active key and enables it again', async () => {
    const user = userEvent.setup();
    let status: 'active' | 'disabled' = 'active';
    const api = mockApi({
      [`GET ${KEY_PATH}`]: () => aKey({ status }),
      [`POST ${KEY_PATH}/disable`]: () => {
        status = 'disabled';
        return aKey({ status });
      },
      [`POST ${KEY_PATH}/enable`]: () => {
        status = 'active';
        return aKey({ status });
      },
    });
    open();
    await user.click(await screen.findByRole('button', { name: 'Disable key' }));
    await user.click(await screen.findByRole('button', { name: 'Enable key' }));
    expect(await screen.findByRole('button', { name: 'Disable key' })).toBeInTheDocument();
    expect(api.calls.filter((call) => call.method === 'POST').map((call) => call.path)).toEqual([
      `${KEY_PATH}/disable`,
      `${KEY_PATH}/enable`,
    ]);
  });

  it('does not offer to enable a key an administrator disabled', async () => {
    mockApi({ [`GET ${KEY_PATH}`]: aKey({ status: 'disabled', restrictions: { disabled: true } }) });
    open();
    expect(await screen.findByText(/only an administrator can enable it again/)).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Enable key' })).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Delete API key' })).toBeInTheDocument();
  });

  it('deletes only after the exact key name is typed, then goes back to the list', async () => {
    const user = userEvent.setup();
    const api = mockApi({ [`GET ${KEY_PATH}`]: aKey(), [`POST ${KEY_PATH}/revoke`]: aKey({ status: 'revoked' }) });
    open();
    await user.click(await screen.findByRole('button', { name: 'Delete API key' }));
    const dialog = screen.getByRole('dialog', { name: /Delete API key\?/ });
    const confirm = within(dialog).getByRole('button', { name: 'Delete' });
    expect(confirm).toBeDisabled();

    const field = within(dialog).getByRole('textbox', { name: 'Type laptop to confirm' });
    await user.type(field, 'Laptop');
    expect(confirm).toBeDisabled();
    await user.clear(field);
    await user.type(field, 'laptop');
    expect(confirm).toBeEnabled();
    await user.click(confirm);

    expect(await screen.findByRole('heading', { name: 'All keys' })).toBeInTheDocument();
    await waitFor(() => expect(api.calls.some((call) => call.method === 'POST' && call.path === `${KEY_PATH}/revoke`)).toBe(true));
  });
});
