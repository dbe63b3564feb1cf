// What the policy form offers to choose from: the catalog's models and the directory's groups,
// users and service accounts (loaded only while the form is open).
import { useQuery } from '@tanstack/react-query';

import { api, unwrap } from '../api/client';
import type { Choice } from './MultiTypeahead';

export interface Choices {
  items: Choice[];
  isLoading: boolean;
  error: unknown;
}

function choices<T>(query: { data?: T[]; isPending: boolean; error: unknown }, of: (item: T) => Choice): Choices {
  return { items: (query.data ?? []).map(of), isLoading: query.isPending, error: query.error };
}

export function useModelChoices(): Choices {
  const query = useQuery({
    queryKey: ['policy-form', 'models'],
    queryFn: async () => (await unwrap(api.GET('/api/v1/models'))).items,
  });
  return choices(query, (model) => ({
    value: model.name,
    description: model.access === 'restricted' ? 'Restricted: only policies that list it grant it' : undefined,
  }));
}

export function useGroupChoices(): Choices {
  const query = useQuery({
    queryKey: ['policy-form', 'groups'],
    queryFn: async () => (await unwrap(api.GET('/api/v1/groups'))).items,
  });
  return choices(query, (group) => ({ value: group.name, description: group.description || undefined }));
}

export function useUserChoices(): Choices {
  const query = useQuery({
    queryKey: ['policy-form', 'users'],
    queryFn: async () => (await unwrap(api.GET('/api/v1/users'))).items,
  });
  return choices(query, (user) => ({
    value: user.name,
    description: [user.display_name, user.email].filter(Boolean).join(' · ') || undefined,
  }));
}

export function useServiceAccountChoices(): Choices {
  const query = useQuery({
    queryKey: ['policy-form', 'service-accounts'],
    queryFn: async () => (await unwrap(api.GET('/api/v1/service-accounts'))).items,
  });
  return choices(query, (account) => ({ value: account.name, description: `Group ${account.group}` }));
}
