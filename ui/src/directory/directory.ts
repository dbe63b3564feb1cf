// The directory as the admin API serves it: users, groups and service accounts, their queries and
// the changes the pages make. Types come from the generated schema only.
import { useQuery, type QueryClient } from '@tanstack/react-query';

import { api, unwrap } from '../api/client';
import type { components } from '../api/schema';

export type UserRead = components['schemas']['UserRead'];
export type UserSpec = components['schemas']['UserSpec'];
export type UserCreate = components['schemas']['UserCreate'];
export type GroupRead = components['schemas']['GroupRead'];
export type GroupSpec = components['schemas']['GroupSpec'];
export type GroupCreate = components['schemas']['GroupCreate'];
export type ServiceAccountRead = components['schemas']['ServiceAccountRead'];
export type ServiceAccountSpec = components['schemas']['ServiceAccountSpec'];
export type ServiceAccountCreate = components['schemas']['ServiceAccountCreate'];
export type QuotaRead = components['schemas']['QuotaRead'];

export const USERS = ['users'] as const;
export const GROUPS = ['groups'] as const;
export const SERVICE_ACCOUNTS = ['service-accounts'] as const;

/** Every user the caller may see (the API answers by tenant: a group admin gets their members). */
export function useUsers(enabled = true) {
  return useQuery({ queryKey: USERS, queryFn: () => unwrap(api.GET('/api/v1/users')), enabled });
}

export function useGroups(enabled = true) {
  return useQuery({ queryKey: GROUPS, queryFn: () => unwrap(api.GET('/api/v1/groups')), enabled });
}

export function useServiceAccounts() {
  return useQuery({ queryKey: SERVICE_ACCOUNTS, queryFn: () => unwrap(api.GET('/api/v1/service-accounts')) });
}

/** After a change: users, groups and service accounts refer to each other, so all three reload. */
export async function refreshDirectory(client: QueryClient): Promise<void> {
  await Promise.all([
    client.invalidateQueries({ queryKey: USERS }),
    client.invalidateQueries({ queryKey: GROUPS }),
    client.invalidateQueries({ queryKey: SERVICE_ACCOUNTS }),
  ]);
}

/** A user's stored fields as a PUT body (the API replaces the whole user). */
export function userSpec(user: UserRead, change: Partial<UserSpec> = {}): UserSpec {
  return {
    email: user.email ?? null,
    display_name: user.display_name ?? null,
    groups: user.groups ?? [],
    status: user.status,
    cost_center: user.cost_center ?? null,
    ...change,
  };
}

export function putUser(name: string, body: UserSpec) {
  return unwrap(api.PUT('/api/v1/users/{name}', { params: { path: { name } }, body }));
}

export function accountSpec(account: ServiceAccountRead, change: Partial<ServiceAccountSpec> = {}): ServiceAccountSpec {
  return {
    group: account.group,
    description: account.description,
    status: account.status,
    cost_center: account.cost_center ?? null,
    ...change,
  };
}

/** The members of a group: the users whose groups name it. */
export function membersOf(group: string, users: readonly UserRead[]): string[] {
  return users.filter((user) => (user.groups ?? []).includes(group)).map((user) => user.name);
}

/**
 * Makes `wanted` the members of `group`: membership is stored on each user, so every user who joins
 * or leaves is written (PUT /users/{name}, each on the audit trail). Stops at the first refusal,
 * whose message names the user; the users written before it stay written.
 */
export async function setMembers(group: string, wanted: readonly string[], users: readonly UserRead[]): Promise<void> {
  const want = new Set(wanted);
  for (const user of users) {
    const groups = user.groups ?? [];
    const isMember = groups.includes(group);
    if (isMember === want.has(user.name)) continue;
    const next = isMember ? groups.filter((name) => name !== group) : [...groups, group].sort();
    try {
      await putUser(user.name, userSpec(user, { groups: next }));
    } catch (error) {
      const verb = isMember ? 'remove' : 'add';
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`Could not ${verb} ${user.name} ${isMember ? 'from' : 'to'} ${group}: ${message}`);
    }
  }
}

/** The keys page, filtered to a service account's keys (the keys page reads `owner` from its URL). */
export function keysLink(account: string): string {
  return `/settings/api-keys?${new URLSearchParams({ owner: `serviceaccount:${account}` }).toString()}`;
}
