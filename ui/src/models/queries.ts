// The catalog's server state: the list, one model, its runtime, and the changes an admin makes.
import { type QueryClient, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { api, unwrap } from '../api/client';
import type { Model, ModelCreate, ModelSpec } from './model';

export const MODELS_KEY = ['models'] as const;
const RUNTIME_REFRESH_MS = 30_000;

export function useModels() {
  return useQuery({
    queryKey: MODELS_KEY,
    queryFn: () => unwrap(api.GET('/api/v1/models')),
  });
}

export function useModel(name: string) {
  return useQuery({
    queryKey: [...MODELS_KEY, 'one', name],
    queryFn: () => unwrap(api.GET('/api/v1/models/{name}', { params: { path: { name } } })),
  });
}

export function runtimeQuery(name: string, enabled: boolean) {
  return {
    queryKey: [...MODELS_KEY, 'runtime', name],
    queryFn: () => unwrap(api.GET('/api/v1/models/{name}/runtime', { params: { path: { name } } })),
    enabled,
    refetchInterval: RUNTIME_REFRESH_MS,
  };
}

export function useModelRuntime(name: string, enabled: boolean) {
  return useQuery(runtimeQuery(name, enabled));
}

function refresh(client: QueryClient) {
  return client.invalidateQueries({ queryKey: MODELS_KEY });
}

export function useCreateModel() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: ModelCreate) => unwrap(api.POST('/api/v1/models', { body })),
    onSuccess: () => refresh(client),
  });
}

export function usePutModel() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ name, spec }: { name: string; spec: ModelSpec }) =>
      unwrap(api.PUT('/api/v1/models/{name}', { params: { path: { name } }, body: spec })),
    onSuccess: () => refresh(client),
  });
}

export function useDeleteModel() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (model: Model) => unwrap(api.DELETE('/api/v1/models/{name}', { params: { path: { name: model.name } } })),
    onSuccess: async (_data, model) => {
      // The model is gone: its own queries are dropped rather than asked again (a 404).
      client.removeQueries({ queryKey: [...MODELS_KEY, 'one', model.name] });
      client.removeQueries({ queryKey: [...MODELS_KEY, 'runtime', model.name] });
      await client.invalidateQueries({ queryKey: MODELS_KEY, exact: true });
    },
  });
}
