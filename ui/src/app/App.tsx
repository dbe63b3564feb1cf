import { Suspense } from 'react';
import { Route, Routes, useLocation } from 'react-router-dom';

import { ErrorBoundary } from '../components/ErrorBoundary';
import { LoadingState } from '../components/states';
import { AppLayout } from './AppLayout';
import { NotFoundPage } from './NotFoundPage';
import { ROUTES } from './routes';
import { SessionGate } from './SessionGate';
import { useSession } from './session';
import { SignInPage } from './SignInPage';

function Guarded({ entry }: { entry: (typeof ROUTES)[number] }) {
  const { can } = useSession();
  if (entry.allow && !entry.allow(can)) return <NotFoundPage />;
  const Page = entry.page;
  return <Page />;
}

function Console() {
  const location = useLocation();
  return (
    <SessionGate>
      <AppLayout>
        <ErrorBoundary resetKey={location.pathname}>
          <Suspense fallback={<LoadingState />}>
            <Routes>
              {ROUTES.map((entry) => (
                <Route key={entry.path} path={entry.path} element={<Guarded entry={entry} />} />
              ))}
              <Route path="*" element={<NotFoundPage />} />
            </Routes>
          </Suspense>
        </ErrorBoundary>
      </AppLayout>
    </SessionGate>
  );
}

export function App() {
  return (
    <Routes>
      <Route path="/signin" element={<SignInPage />} />
      <Route path="*" element={<Console />} />
    </Routes>
  );
}
