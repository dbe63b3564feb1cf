// How a key's owner, assets and prefix read in the API keys list.
import type { components } from '../api/schema';

export type Key = components['schemas']['KeyRead'];
export type KeyStatus = Key['status'];

const OWNER_TYPES: Record<string, string> = { user: 'User', group: 'Group', serviceaccount: 'Service account' };

/** "user:alice" → { name: "alice", type: "User" }; null for a key without an owner. */
export function ownerParts(owner: string | null): { name: string; type: string } | null {
  if (owner === null) return null;
  const [kind = '', ...rest] = owner.split(':');
  const type = OWNER_TYPES[kind];
  return type ? { name: rest.join(':'), type } : { name: owner, type: '' };
}

/** The key's models, or "All models" for a key that may call every model its owner may. */
export function assetsText(models: string[] | null, shown = 2): string {
  if (models === null) return 'All models';
  if (models.length === 0) return 'No models';
  const head = models.slice(0, shown).join(', ');
  return models.length > shown ? `${head} +${models.length - shown} more` : head;
}

/** The start of the key, as shown in lists ("hwk_abc123…"): never the secret. */
export function prefixText(prefix: string): string {
  return `${prefix}…`;
}

/**
 * What the owner filter sends: "user:alice", "group:ml", "serviceaccount:ci", or a bare name read as
 * a user. '' for no filter; null for text the API would refuse.
 */
export function ownerQuery(text: string): string | null {
  const value = text.trim();
  if (value === '') return '';
  const owner = value.includes(':') ? value : `user:${value}`;
  return /^(user|group|serviceaccount):[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/.test(owner) ? owner : null;
}
