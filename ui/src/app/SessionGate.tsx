// Loads the caller and the server facts, then renders the signed-in console; sends anyone not (or
// no longer) signed in to /signin, remembering the page they were on.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useCallback, useEffect, useMemo, useRef } from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router-dom';

import { api, onSessionExpired, unwrap } from '../api/client';
import { adminToken, csrfToken, setAdminToken, setViewingAs } from '../api/credentials';
import { ApiError } from '../api/errors';
import { ErrorState, LoadingState } from '../components/states';
import { abilities } from './roles';
import { type Session, SessionContext } from './session';

export function signInPath(location: { pathname: string; search: string }, expired = false): string {
  const next = `${location.pathname}${location.search}`;
  const params = new URLSearchParams({ next });
  if (expired) params.set('expired', '1');
  return `/signin?${params.toString()}`;
}

export function useInfo() {
  return useQuery({
    queryKey: ['info'],
    queryFn: () => unwrap(api.GET('/api/v1/info')),
    staleTime: 5 * 60_000,
  });
}

export function SessionGate({ children }: { children: ReactNode }) {
  const location = useLocation();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const info = useInfo();
  const me = useQuery({ queryKey: ['me'], queryFn: () => unwrap(api.GET('/api/v1/me')), staleTime: 60_000 });

  // Where the caller is, and whether they were signed in: a 401 after that means the session ended
  // (expired, signed out elsewhere, disabled), and signing in again returns to this page.
  const here = useRef(location);
  const signedIn = useRef(false);
  useEffect(() => {
    here.current = location;
  }, [location]);
  useEffect(() => {
    if (me.data) signedIn.current = true;
  }, [me.data]);
  useEffect(
    () =>
      onSessionExpired(() => {
        if (!signedIn.current) return; // never signed in: the redirect below handles it
        signedIn.current = false;
        setAdminToken(null);
        setViewingAs(null);
        queryClient.clear();
        void navigate(signInPath(here.current, true), { replace: true });
      }),
    [navigate, queryClient],
  );

  const signOut = useCallback(async () => {
    if (adminToken() === null) {
      const csrf = csrfToken();
      await fetch('/auth/logout', {
        method: 'POST',
        credentials: 'same-origin',
        headers: csrf ? { 'X-CSRF-Token': csrf } : {},
      }).catch(() => undefined);
    }
    setAdminToken(null);
    setViewingAs(null);
    queryClient.clear();
    void navigate('/signin', { replace: true });
  }, [navigate, queryClient]);

  const viewAs = useCallback(
    async (user: string | null) => {
      if (user !== null) {
        await unwrap(api.POST('/api/v1/users/{name}/view-as', { params: { path: { name: user } } }));
      }
      setViewingAs(user);
      queryClient.clear();
      void navigate('/', { replace: true });
    },
    [navigate, queryClient],
  );

  const session = useMemo<Session | null>(() => {
    if (!me.data || !info.data) return null;
    return { me: me.data, info: info.data, can: abilities(me.data), signOut, viewAs };
  }, [me.data, info.data, signOut, viewAs]);

  if (me.error instanceof ApiError && me.error.status === 401) {
    return <Navigate to={signInPath(location)} replace />;
  }
  if (me.error || info.error) {
    return <ErrorState error={me.error ?? info.error} onRetry={() => void me.refetch()} />;
  }
  if (session === null) return <LoadingState />;
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}
