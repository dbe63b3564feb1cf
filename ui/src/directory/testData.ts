import userEvent from '@testing-library/user-event';

// Directory objects shaped as the API answers them, for this folder's tests.
import type { GroupRead, ServiceAccountRead, UserRead } from './directory';

const STAMP = '2026-01-05T10:00:00Z';

export function user(name: string, fields: Partial<UserRead> = {}): UserRead {
  return {
    name,
    email: `${name}@example.com`,
    display_name: null,
    groups: [],
    status: 'active',
    cost_center: null,
    role: 'user',
    created_at: STAMP,
    updated_at: STAMP,
    ...fields,
  };
}

export function group(name: string, fields: Partial<GroupRead> = {}): GroupRead {
  return { name, description: '', cost_center: null, admins: [], source: 'local', created_at: STAMP, updated_at: STAMP, ...fields };
}

export function account(name: string, fields: Partial<ServiceAccountRead> = {}): ServiceAccountRead {
  return {
    name,
    group: 'ml',
    description: '',
    status: 'active',
    cost_center: null,
    created_at: STAMP,
    updated_at: STAMP,
    ...fields,
  };
}

export function page<T>(items: T[]) {
  return { items, next: null };
}

/** Types into a field at once (a paste): as a user would, without a render per key. */
export async function fill(field: HTMLElement, text: string): Promise<void> {
  await userEvent.click(field);
  await userEvent.paste(text);
}
