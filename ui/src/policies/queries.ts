// The policy calls of the admin API, as TanStack Query keys and functions shared by the pages.
import { api, unwrap } from '../api/client';
import type { PolicyCreate, PolicySpec } from './form';

export const POLICIES = ['policies'] as const;

export function policyKey(name: string) {
  return [...POLICIES, name] as const;
}

export function listPolicies() {
  return unwrap(api.GET('/api/v1/policies'));
}

export function getPolicy(name: string) {
  return unwrap(api.GET('/api/v1/policies/{name}', { params: { path: { name } } }));
}

export function createPolicy(body: PolicyCreate) {
  return unwrap(api.POST('/api/v1/policies', { body }));
}

export function replacePolicy(name: string, body: PolicySpec) {
  return unwrap(api.PUT('/api/v1/policies/{name}', { params: { path: { name } }, body }));
}

export function deletePolicy(name: string) {
  return unwrap(api.DELETE('/api/v1/policies/{name}', { params: { path: { name } } }));
}
