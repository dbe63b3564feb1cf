// The signed-in caller (GET /api/v1/me) and the server's public facts (GET /api/v1/info), for every page.
import { createContext, useContext } from 'react';

import type { components } from '../api/schema';
import type { Abilities, Me } from './roles';

export type Info = components['schemas']['InfoRead'];

export interface Session {
  me: Me;
  info: Info;
  can: Abilities;
  signOut: () => Promise<void>;
  /** Start (a user name) or stop (null) viewing the console as another user. */
  viewAs: (user: string | null) => Promise<void>;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession outside a signed-in page');
  return session;
}

/** The OpenAI-compatible base URL callers use (gateway URL + /v1). */
export function openaiBaseUrl(info: Info): string {
  return `${info.gateway_url}/v1`;
}
