// What the console shows each caller: the same rules as the API (src/headwater/identity/access.py),
// so nobody is offered an action the API would refuse. The API stays the authority: a page hidden
// here is also refused there.
import type { components } from '../api/schema';

export type Me = components['schemas']['MeRead'];

export interface Abilities {
  isAdmin: boolean;
  isAuditor: boolean;
  /** A user who administers at least one group. */
  isGroupAdmin: boolean;
  /** An admin viewing the console as another user: nothing may change. */
  readOnly: boolean;
  /** Sees every tenant (admins and auditors). */
  readsEverything: boolean;
  /** May create, change, rotate and revoke keys (their own; admins any). Auditors only read. */
  manageKeys: boolean;
  manageCatalog: boolean;
  managePolicies: boolean;
  manageDirectory: boolean;
  /** May create and change service accounts (admins; group admins in their groups). */
  manageServiceAccounts: boolean;
  /** The organisation-wide pages: users, groups, service accounts, usage of others. */
  seeOrganisation: boolean;
  seeAudit: boolean;
  /** The stored upstream credentials (never their values): admins and auditors. */
  seeCredentials: boolean;
  manageCredentials: boolean;
}

export function abilities(me: Me): Abilities {
  const readOnly = Boolean(me.viewing_as_by);
  const isAdmin = me.role === 'admin';
  const isAuditor = me.role === 'auditor';
  const isGroupAdmin = me.role === 'user' && me.admin_of.length > 0;
  const writes = !readOnly;
  return {
    isAdmin,
    isAuditor,
    isGroupAdmin,
    readOnly,
    readsEverything: isAdmin || isAuditor,
    manageKeys: writes && (isAdmin || me.role === 'user'),
    manageCatalog: writes && isAdmin,
    managePolicies: writes && isAdmin,
    manageDirectory: writes && isAdmin,
    manageServiceAccounts: writes && (isAdmin || isGroupAdmin),
    seeOrganisation: isAdmin || isAuditor || isGroupAdmin,
    seeAudit: isAdmin || isAuditor,
    seeCredentials: isAdmin || isAuditor,
    manageCredentials: writes && isAdmin,
  };
}

export function roleLabel(me: Me): string {
  if (me.role === 'admin') return 'Administrator';
  if (me.role === 'auditor') return 'Auditor';
  if (me.admin_of.length > 0) return 'Group administrator';
  return 'User';
}
