import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, useLocation } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { adminToken, setAdminToken } from '../api/credentials';
import { ADMIN, AUDITOR, GROUP_ADMIN, INFO, mockApi, reply, USER } from '../test/render';
import { App } from './App';
import type { Me } from './roles';
import { abilities } from './roles';
import { safeNext } from './SignInPage';

function Where() {
  const location = useLocation();
  return <output aria-label="location">{`${location.pathname}${location.search}`}</output>;
}

function renderApp(path: string) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[path]}>
        <App />
        <Where />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

function signedIn(me: Me, extra: Record<string, unknown> = {}) {
  return mockApi({
    'GET /api/v1/info': INFO,
    'GET /api/v1/me': me,
    'GET /api/v1/keys': { items: [], next: null },
    'GET /api/v1/models': { items: [], next: null },
    ...extra,
  });
}

// A desktop-wide page: below PatternFly's xl breakpoint the managed sidebar starts closed (hidden);
// jsdom lays nothing out, so every element would measure 0 pixels wide.
const clientWidth = Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'clientWidth');
beforeEach(() => {
  Object.defineProperty(HTMLElement.prototype, 'clientWidth', { configurable: true, get: () => 1440 });
});
afterEach(() => {
  if (clientWidth) Object.defineProperty(HTMLElement.prototype, 'clientWidth', clientWidth);
});

const ADMIN_PAGES = ['Organization usage', 'Users', 'Groups', 'Service accounts', 'Audit log'];

describe('abilities', () => {
  it('follow the API: auditors change nothing, users manage their keys, group admins their service accounts', () => {
    expect(abilities(ADMIN)).toMatchObject({ manageCatalog: true, managePolicies: true, seeAudit: true, manageKeys: true });
    expect(abilities(AUDITOR)).toMatchObject({ manageKeys: false, manageCatalog: false, seeAudit: true, seeOrganisation: true });
    expect(abilities(USER)).toMatchObject({ manageKeys: true, manageServiceAccounts: false, seeOrganisation: false, seeAudit: false });
    expect(abilities(GROUP_ADMIN)).toMatchObject({ manageServiceAccounts: true, seeOrganisation: true, seeAudit: false });
    const viewing = abilities({ ...USER, viewing_as_by: 'admin:bootstrap' });
    expect(viewing).toMatchObject({ readOnly: true, manageKeys: false, manageServiceAccounts: false });
  });
});

describe('the console frame', () => {
  it('shows an admin every page in the navigation', async () => {
    signedIn(ADMIN);
    renderApp('/');
    const nav = await screen.findByRole('navigation', { name: 'Headwater' });
    for (const name of ['Home', 'Models', 'My usage', 'API keys', 'Policies', ...ADMIN_PAGES]) {
      expect(within(nav).getByRole('link', { name })).toBeInTheDocument();
    }
  });

  it('hides the admin pages from a user, and opening one by URL shows the 404 page', async () => {
    signedIn(USER);
    renderApp('/settings/audit');
    expect(await screen.findByRole('heading', { name: /404/ })).toBeInTheDocument();
    const nav = screen.getByRole('navigation', { name: 'Headwater' });
    for (const name of ADMIN_PAGES) expect(within(nav).queryByRole('link', { name })).not.toBeInTheDocument();
    expect(within(nav).getByRole('link', { name: 'API keys' })).toBeInTheDocument();
  });

  it('shows a group admin the organisation pages but not the audit log', async () => {
    signedIn(GROUP_ADMIN);
    renderApp('/settings/audit');
    expect(await screen.findByRole('heading', { name: /404/ })).toBeInTheDocument();
    const nav = screen.getByRole('navigation', { name: 'Headwater' });
    expect(within(nav).getByRole('link', { name: 'Service accounts' })).toBeInTheDocument();
    expect(within(nav).queryByRole('link', { name: 'Audit log' })).not.toBeInTheDocument();
  });

  it('sends a caller who is not signed in to /signin, remembering the page', async () => {
    mockApi({ 'GET /api/v1/info': INFO, 'GET /api/v1/me': reply(401, { detail: 'Sign in.' }) });
    renderApp('/settings/api-keys?status=active');
    await waitFor(() =>
      expect(screen.getByRole('status', { name: 'location' })).toHaveTextContent(
        '/signin?next=%2Fsettings%2Fapi-keys%3Fstatus%3Dactive',
      ),
    );
    expect(await screen.findByRole('button', { name: 'Sign in with token' })).toBeInTheDocument();
  });

  it('shows the view-as banner, read-only', async () => {
    signedIn({ ...USER, viewing_as_by: 'admin:bootstrap' });
    renderApp('/');
    expect(await screen.findByText(/read-only \(you are admin:bootstrap\)/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Stop viewing as alice' })).toBeInTheDocument();
  });
});

describe('signing in', () => {
  it('with the admin token: keeps it in this tab and returns to the page asked for', async () => {
    const api = mockApi({
      'GET /api/v1/info': INFO,
      'GET /api/v1/me': (call: { headers: Headers }) =>
        call.headers.get('authorization') === 'Bearer hwadm_right' ? ADMIN : reply(401, { detail: 'Invalid bearer token.' }),
      'GET /api/v1/keys': { items: [], next: null },
    });
    renderApp('/signin?next=%2Fsettings%2Fapi-keys');
    const field = await screen.findByLabelText('Admin token');
    await userEvent.type(field, 'hwadm_wrong');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in with token' }));
    expect(await screen.findByText('That token is not valid.')).toBeInTheDocument();
    expect(adminToken()).toBeNull();

    await userEvent.clear(field);
    await userEvent.type(field, 'hwadm_right');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in with token' }));
    await waitFor(() => expect(screen.getByRole('status', { name: 'location' })).toHaveTextContent('/settings/api-keys'));
    expect(adminToken()).toBe('hwadm_right');
    await waitFor(() =>
      expect(api.calls.some((call) => call.path === '/api/v1/keys' && call.headers.get('authorization') === 'Bearer hwadm_right')).toBe(true),
    );
  });

  it('offers single sign-on when the server has an identity provider, returning to the page', async () => {
    mockApi({ 'GET /api/v1/info': { ...INFO, sign_in: { oidc: true, token: true } } });
    renderApp('/signin?next=%2Fusage&expired=1');
    const button = await screen.findByRole('link', { name: 'Sign in with single sign-on' });
    expect(button).toHaveAttribute('href', '/auth/login?return_to=%2Fusage');
    expect(screen.getByText(/Your session has ended/)).toBeInTheDocument();
  });

  it('a session that ends mid-use leads back to sign-in, the token forgotten', async () => {
    setAdminToken('hwadm_old');
    let valid = true;
    mockApi({
      'GET /api/v1/info': INFO,
      'GET /api/v1/me': () => (valid ? ADMIN : reply(401, { detail: 'Your session has ended.' })),
      'GET /api/v1/keys': () => (valid ? { items: [], next: null } : reply(401, { detail: 'Your session has ended.' })),
      'GET /api/v1/models': { items: [], next: null },
    });
    renderApp('/');
    await screen.findByRole('heading', { name: 'Welcome, administrator' });
    valid = false;
    await userEvent.click(within(screen.getByRole('navigation', { name: 'Headwater' })).getByRole('link', { name: 'API keys' }));
    await waitFor(() =>
      expect(screen.getByRole('status', { name: 'location' })).toHaveTextContent('/signin?next=%2Fsettings%2Fapi-keys&expired=1'),
    );
    expect(adminToken()).toBeNull();
  });

  it('never follows a next that leaves the site', () => {
    expect(safeNext('/settings/api-keys?x=1')).toBe('/settings/api-keys?x=1');
    for (const bad of ['//evil.example', '/\\evil.example', 'https://evil.example', null, '', '/signin?next=/x']) {
      expect(safeNext(bad)).toBe('/');
    }
  });
});
