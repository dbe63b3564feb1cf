// How a dimension's value reads: usage answers name an API key by its id, which the keys the caller
// may list turn into the key's name; "unassigned" (a call without a value) reads as such.
import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';

import { api, unwrap } from '../api/client';
import type { Dimension } from './dimensions';

export type KeyNames = ReadonlyMap<string, string>;

/** The names of the keys the caller may list (up to 500), once a page shows keys. */
export function useKeyNames(enabled: boolean): KeyNames {
  const keys = useQuery({
    queryKey: ['keys', 'names'],
    queryFn: () => unwrap(api.GET('/api/v1/keys', { params: { query: { limit: 500 } } })),
    enabled,
    staleTime: 60_000,
  });
  return useMemo(() => new Map((keys.data?.items ?? []).map((key) => [key.id, key.name])), [keys.data]);
}

export function valueLabel(dimension: Dimension, value: string | undefined, keyNames: KeyNames): string {
  if (value === undefined || value === '') return 'Unassigned';
  if (value === 'unassigned') return 'Unassigned';
  if (dimension === 'key') return keyNames.get(value) ?? value;
  return value;
}
