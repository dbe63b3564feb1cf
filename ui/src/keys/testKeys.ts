// Keys as the API returns them (KeyRead), for this folder's component tests.
import type { Key } from './keyFields';

export function aKey(fields: Partial<Key> & { id: string; name: string }): Key {
  return {
    prefix: `hwk_${fields.id}`,
    description: '',
    owner: 'user:alice',
    models: null,
    status: 'active',
    expires_at: null,
    last_used_at: null,
    created_by: 'user:alice',
    created_at: '2025-01-01T00:00:00Z',
    revoked_at: null,
    limits: null,
    restrictions: null,
    ...fields,
  };
}
