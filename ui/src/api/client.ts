// The one client of the admin API: typed from docs/openapi.json (src/api/schema.d.ts, generated).
import createClient, { type Middleware } from 'openapi-fetch';

import { adminToken, csrfToken, viewingAs } from './credentials';
import { ApiError, apiError } from './errors';
import type { paths } from './schema';

type Listener = () => void;
const expiredListeners = new Set<Listener>();

/** Called when the API says the caller is no longer signed in (401). */
export function onSessionExpired(listener: Listener): () => void {
  expiredListeners.add(listener);
  return () => expiredListeners.delete(listener);
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export const credentials: Middleware = {
  onRequest({ request }) {
    const token = adminToken();
    if (token) request.headers.set('Authorization', `Bearer ${token}`);
    else if (!SAFE.has(request.method)) {
      const csrf = csrfToken();
      if (csrf) request.headers.set('X-CSRF-Token', csrf);
    }
    const viewed = viewingAs();
    if (viewed && SAFE.has(request.method)) request.headers.set('X-Headwater-View-As', viewed);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401) for (const listener of expiredListeners) listener();
    return response;
  },
};

export const api = createClient<paths>({
  baseUrl: window.location.origin,
  credentials: 'same-origin',
  fetch: (request) => globalThis.fetch(request), // looked up per call (tests replace it)
});
api.use(credentials);

interface Result<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a successful call, or an ApiError carrying the API's own message. */
export async function unwrap<T>(call: Promise<Result<T>>): Promise<T> {
  let result: Result<T>;
  try {
    result = await call;
  } catch {
    throw new ApiError(0, 'Headwater could not be reached.');
  }
  if (result.error !== undefined || !result.response.ok) throw apiError(result.response.status, result.error);
  return result.data as T;
}
