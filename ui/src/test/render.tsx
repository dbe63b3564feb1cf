// Rendering a page in a test: a signed-in session of the chosen role, a router at the given path,
// and the admin API answered by `mockApi` (component tests only; the end-to-end tests in
// tests/console/ drive a real server in a real browser).
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, type RenderResult } from '@testing-library/react';
import type { ReactElement } from 'react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { vi } from 'vitest';

import { abilities, type Me } from '../app/roles';
import { type Info, type Session, SessionContext } from '../app/session';

export const ADMIN: Me = { actor: 'admin:bootstrap', name: 'bootstrap', role: 'admin', via: 'token', groups: [], admin_of: [], viewing_as_by: null };
export const AUDITOR: Me = { actor: 'user:audrey', name: 'audrey', role: 'auditor', via: 'session', groups: ['auditors'], admin_of: [], viewing_as_by: null };
export const GROUP_ADMIN: Me = { actor: 'user:gina', name: 'gina', role: 'user', via: 'session', groups: ['ml'], admin_of: ['ml'], viewing_as_by: null };
export const USER: Me = { actor: 'user:alice', name: 'alice', role: 'user', via: 'session', groups: ['ml'], admin_of: [], viewing_as_by: null };

export const INFO: Info = {
  version: '0.1.0',
  gateway_url: 'http://gateway.test',
  sign_in: { oidc: false, token: true },
  dashboard_url: null,
};

export interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  headers: Headers;
}

/** A JSON body, a Reply, null (204), or a function of the call giving one. */
type Answer = unknown;

/** A JSON reply with a status other than 200 (e.g. `reply(422, {detail: [...]})`). */
export class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

export function reply(status: number, body: unknown): Reply {
  return new Reply(status, body);
}

/**
 * Answers admin API calls by "METHOD /path" (the path without the query); an unanswered call fails
 * the test with 599 and is listed in `unanswered`. Returns every call made, for assertions.
 */
export function mockApi(routes: Record<string, Answer>) {
  const calls: Call[] = [];
  const unanswered: string[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const url = new URL(request.url);
    const text = request.method === 'GET' || request.method === 'HEAD' ? '' : await request.text();
    const call: Call = {
      method: request.method,
      path: decodeURIComponent(url.pathname),
      query: url.searchParams,
      body: text ? (JSON.parse(text) as unknown) : undefined,
      headers: request.headers,
    };
    calls.push(call);
    const key = `${call.method} ${call.path}`;
    if (!(key in routes)) {
      unanswered.push(key);
      return new Response(JSON.stringify({ detail: `no mock for ${key}` }), { status: 599 });
    }
    const answer = routes[key];
    const value: unknown = typeof answer === 'function' ? (answer as (c: Call) => unknown)(call) : answer;
    if (value instanceof Reply) {
      return new Response(JSON.stringify(value.body), { status: value.status, headers: { 'content-type': 'application/json' } });
    }
    if (value === null) return new Response(null, { status: 204 });
    return new Response(JSON.stringify(value), { status: 200, headers: { 'content-type': 'application/json' } });
  });
  vi.stubGlobal('fetch', fetchMock);
  return { calls, unanswered, fetchMock };
}

export interface PageOptions {
  me?: Me;
  info?: Info;
  /** The URL the router starts at. */
  path?: string;
  /** The route pattern the page is mounted under (defaults to `path`). */
  route?: string;
  /** Extra routes (e.g. where the page navigates to). */
  extra?: Record<string, ReactElement>;
}

export function renderPage(page: ReactElement, options: PageOptions = {}): RenderResult & { session: Session; client: QueryClient } {
  const me = options.me ?? ADMIN;
  const path = options.path ?? '/';
  const session: Session = {
    me,
    info: options.info ?? INFO,
    can: abilities(me),
    signOut: vi.fn(() => Promise.resolve()),
    viewAs: vi.fn(() => Promise.resolve()),
  };
  const client = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  const result = render(
    <QueryClientProvider client={client}>
      <SessionContext.Provider value={session}>
        <MemoryRouter initialEntries={[path]}>
          <Routes>
            <Route path={options.route ?? path.split('?')[0]} element={page} />
            {Object.entries(options.extra ?? {}).map(([route, element]) => (
              <Route key={route} path={route} element={element} />
            ))}
          </Routes>
        </MemoryRouter>
      </SessionContext.Provider>
    </QueryClientProvider>,
  );
  return { ...result, session, client };
}
