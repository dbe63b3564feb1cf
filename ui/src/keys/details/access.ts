// Which key actions this caller is offered: the API's own rules (src/headwater/identity/access.py and
// docs/keys.md), so nothing is shown that the API would refuse.
import type { components } from '../../api/schema';
import type { Abilities, Me } from '../../app/roles';

export type Key = components['schemas']['KeyRead'];

export interface KeyActions {
  /** Change the name and description. */
  edit: boolean;
  rotate: boolean;
  disable: boolean;
  enable: boolean;
  /** Revoke (the console's "Delete API key"). */
  remove: boolean;
}

export const NO_ACTIONS: KeyActions = { edit: false, rotate: false, disable: false, enable: false, remove: false };

/**
 * Whether the caller may change this key. Admins manage every key; a user their own personal keys; a
 * group admin also the keys of their groups and of their groups' service accounts, which are the only
 * non-personal keys they can see at all (any other answers 404). A member's personal key, which a group
 * admin sees, is never theirs to change; auditors and an admin viewing as someone change nothing.
 */
export function managesKey(key: Key, me: Me, can: Abilities): boolean {
  if (!can.manageKeys) return false;
  if (can.isAdmin) return true;
  if (key.owner === null) return false;
  if (key.owner.startsWith('user:')) return key.owner === `user:${me.name}`;
  return true;
}

export function keyActions(key: Key, me: Me, can: Abilities): KeyActions {
  if (key.status === 'revoked' || !managesKey(key, me, can)) return NO_ACTIONS;
  // A key an admin disabled may be enabled again only by an admin.
  const lockedByAdmin = Boolean(key.restrictions?.disabled) && !can.isAdmin;
  return {
    edit: true,
    rotate: key.status === 'active' || key.status === 'disabled',
    disable: key.status === 'active',
    enable: key.status === 'disabled' && !lockedByAdmin,
    remove: true,
  };
}
