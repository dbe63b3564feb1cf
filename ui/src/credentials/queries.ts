// Stored upstream credentials (/api/v1/credentials): the list and the changes an admin makes. No
// call answers a value: a read says only that one is set, when it changed and which models use it.
import { type QueryClient, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { api, unwrap } from '../api/client';
import type { components } from '../api/schema';

export type Credential = components['schemas']['CredentialRead'];
export type CredentialPut = components['schemas']['CredentialPut'];

export const CREDENTIALS_KEY = ['credentials'] as const;

export function useCredentials(enabled = true) {
  return useQuery({
    queryKey: CREDENTIALS_KEY,
    queryFn: () => unwrap(api.GET('/api/v1/credentials')),
    enabled,
  });
}

function refresh(client: QueryClient) {
  return client.invalidateQueries({ queryKey: CREDENTIALS_KEY });
}

export function usePutCredential() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ name, body }: { name: string; body: CredentialPut }) =>
      unwrap(api.PUT('/api/v1/credentials/{name}', { params: { path: { name } }, body })),
    onSuccess: () => refresh(client),
  });
}

export function useDeleteCredential() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => unwrap(api.DELETE('/api/v1/credentials/{name}', { params: { path: { name } } })),
    onSuccess: () => refresh(client),
  });
}
