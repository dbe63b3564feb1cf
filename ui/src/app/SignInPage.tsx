// Sign-in: single sign-on through the organisation's identity provider (OIDC, the normal way), or an
// admin token where no identity provider is configured (the `make run` demo) or in an emergency.
import {
  ActionGroup,
  Alert,
  Button,
  Content,
  Divider,
  Form,
  FormGroup,
  FormHelperText,
  HelperText,
  HelperTextItem,
  LoginPage,
  TextInput,
  Title,
} from '@patternfly/react-core';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router-dom';

import { api, unwrap } from '../api/client';
import { setAdminToken, setViewingAs } from '../api/credentials';
import { ApiError, messageOf } from '../api/errors';
import { LoadingState } from '../components/states';
import { useInfo } from './SessionGate';

/** Only a path on this site (never an open redirect). */
export function safeNext(value: string | null): string {
  if (value && value.startsWith('/') && !value.startsWith('//') && !value.startsWith('/\\') && !value.startsWith('/signin')) {
    return value;
  }
  return '/';
}

export function SignInPage() {
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'));
  const expired = params.get('expired') === '1';
  const info = useInfo();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const signInWithToken = async () => {
    if (!token.trim()) {
      setError('Enter the admin token.');
      return;
    }
    setBusy(true);
    setError(null);
    setViewingAs(null);
    setAdminToken(token.trim());
    try {
      await unwrap(api.GET('/api/v1/me'));
      queryClient.clear();
      void navigate(next, { replace: true });
    } catch (caught) {
      setAdminToken(null);
      setError(caught instanceof ApiError && caught.status === 401 ? 'That token is not valid.' : messageOf(caught));
      setBusy(false);
    }
  };

  if (info.isPending) return <LoadingState />;
  const oidc = info.data?.sign_in.oidc ?? false;
  return (
    <LoginPage loginTitle="" brandImgSrc="/favicon.svg" brandImgAlt="Headwater">
      {/* The page's h1 (PatternFly's loginTitle would be an h2). */}
      <Title headingLevel="h1" size="2xl">
        Sign in to Headwater
      </Title>
      <Content component="p" className="pf-v6-u-mb-lg pf-v6-u-text-color-subtle">
        Models as a service: one governed endpoint for every model.
      </Content>
      {expired && (
        <Alert variant="info" isInline title="Your session has ended. Sign in again to go back to where you were." className="pf-v6-u-mb-md" />
      )}
      {info.error && <Alert variant="danger" isInline title={messageOf(info.error)} className="pf-v6-u-mb-md" />}
      {oidc && (
        <>
          <Button component="a" href={`/auth/login?return_to=${encodeURIComponent(next)}`} variant="primary" isBlock>
            Sign in with single sign-on
          </Button>
          <Divider className="pf-v6-u-my-lg" />
        </>
      )}
      <Form
        onSubmit={(event) => {
          event.preventDefault();
          void signInWithToken();
        }}
      >
        <FormGroup label="Admin token" fieldId="admin-token">
          <TextInput
            id="admin-token"
            type="password"
            value={token}
            onChange={(_event, value) => setToken(value)}
            validated={error ? 'error' : 'default'}
            autoComplete="off"
          />
          <FormHelperText>
            <HelperText>
              <HelperTextItem variant={error ? 'error' : 'default'}>
                {error ??
                  (oidc
                    ? 'For administrators without single sign-on.'
                    : 'The token from HEADWATER_ADMIN_TOKEN (with make run: .headwater/admin-token). It stays in this tab only.')}
              </HelperTextItem>
            </HelperText>
          </FormHelperText>
        </FormGroup>
        <ActionGroup>
          <Button type="submit" variant={oidc ? 'secondary' : 'primary'} isBlock isLoading={busy} isDisabled={busy}>
            Sign in with token
          </Button>
        </ActionGroup>
      </Form>
    </LoginPage>
  );
}
