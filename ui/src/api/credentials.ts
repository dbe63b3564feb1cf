// How the console proves who it is. Signed in through OIDC, the browser holds the server's session
// cookie (HttpOnly) and the console echoes the `hw_csrf` cookie on changes. Signed in with an admin
// token (no identity provider, e.g. `make run`), the token lives in this tab's sessionStorage only:
// gone when the tab closes, never in localStorage or a cookie.

const TOKEN = 'headwater.token';
const VIEW_AS = 'headwater.viewAs';

function storage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

export function adminToken(): string | null {
  return storage()?.getItem(TOKEN) ?? null;
}

export function setAdminToken(token: string | null): void {
  const store = storage();
  if (token === null) store?.removeItem(TOKEN);
  else store?.setItem(TOKEN, token);
}

/** The user an admin is viewing the console as (read-only), or null. */
export function viewingAs(): string | null {
  return storage()?.getItem(VIEW_AS) ?? null;
}

export function setViewingAs(user: string | null): void {
  const store = storage();
  if (user === null) store?.removeItem(VIEW_AS);
  else store?.setItem(VIEW_AS, user);
}

export function csrfToken(): string | null {
  for (const part of document.cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === 'hw_csrf') return decodeURIComponent(rest.join('='));
  }
  return null;
}
