// A real OpenID Connect provider (panva/oidc-provider, OpenID certified) for Headwater's tests.
//
//   node tests/oidc/provider.mjs CONFIG.json [PORT]        (PORT also from $PORT or config.port)
//
// CONFIG.json (written by tests/oidc_provider.py):
//   { "users":   [{"username", "password", "email", "groups": [..]}],
//     "clients": [{"client_id", "client_secret", "redirect_uris": [..], "grant_types": [..],
//                  "token_endpoint_auth_method"?}],
//     "audience": "headwater-api",      // the `aud` of JWT access tokens (RFC 9068)
//     "resource": "urn:headwater-api",  // optional resource indicator (must be an absolute URI)
//     "access_token_ttl": 3600 }        // optional
//
// Users log in through /interaction/:uid (a plain HTML form, POST username + password); consent is
// granted automatically. Every access token is a JWT for the configured audience, whether or not
// the client sends `resource`. Test-only endpoints:
//   POST /__test/rotate[?drop_old=1]  new RSA signing key, published first and used from now on;
//                                     the old ones stay in the JWKS unless drop_old is given.
//   GET  /__test/keys                 {"kids": [...]} (signing key ids, newest first)
//   POST /__test/redirect_uris        {"client_id", "redirect_uris", "post_logout_redirect_uris"?}
//                                     replaces a client's registered URIs
//   POST /__test/users                {"username", "password"?, "email"?, "groups"?}: adds a user, or
//                                     changes one (fields not given are kept); later tokens show it
// Prints `ready http://127.0.0.1:PORT` once listening; exits cleanly on SIGTERM/SIGINT.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';

import Provider, { errors } from 'oidc-provider';

const configPath = process.argv[2];
if (!configPath) {
  console.error('usage: node provider.mjs CONFIG.json [PORT]');
  process.exit(2);
}
const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
const port = Number(process.argv[3] || process.env.PORT || config.port);
if (!Number.isInteger(port) || port <= 0) {
  console.error('a port is needed: argv[3], $PORT or "port" in the config');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const audience = config.audience || 'headwater-api';
const resource = config.resource || (URL.canParse(audience) ? audience : `urn:${audience}`);
const accessTokenTTL = config.access_token_ttl || 3600;

const users = new Map(config.users.map((u) => [`sub-${u.username}`, u]));
const userByName = new Map(config.users.map((u) => [u.username, u]));

// ---- signing keys: RSA keys (newest first, RS256) and one ES256 key --------------------------
let rsaCounter = 0;
function newRsaKey() {
  rsaCounter += 1;
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = `rsa-${rsaCounter}-${crypto.randomBytes(4).toString('hex')}`;
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
}
const ecKey = (() => {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), kid: 'ec-1', alg: 'ES256', use: 'sig' };
})();
let rsaKeys = [newRsaKey()];

// Cookies must stay valid across provider rebuilds (key rotation), so their keys are fixed here.
const cookieKeys = [crypto.randomBytes(32).toString('hex')];

// ---- accounts ----------------------------------------------------------------------------------
function claimsOf(user) {
  return {
    sub: `sub-${user.username}`,
    email: user.email,
    email_verified: user.email_verified !== false,
    preferred_username: user.username,
    name: user.name || user.username,
    groups: [...(user.groups || [])],
  };
}

async function findAccount(_ctx, sub) {
  const user = users.get(sub);
  if (!user) return undefined;
  return { accountId: sub, claims: async () => claimsOf(user) };
}

// ---- the provider (rebuilt on key rotation; its state lives in the module-level memory adapter) --
function buildProvider() {
  const provider = new Provider(issuer, {
    clients: config.clients.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      redirect_uris: c.redirect_uris,
      grant_types: c.grant_types || ['authorization_code', 'refresh_token'],
      response_types: (c.grant_types || ['authorization_code']).includes('authorization_code') ? ['code'] : [],
      token_endpoint_auth_method: c.token_endpoint_auth_method || 'client_secret_basic',
      post_logout_redirect_uris: c.post_logout_redirect_uris || [],
    })),
    jwks: { keys: [...rsaKeys, ecKey] },
    cookies: { keys: cookieKeys },
    findAccount,
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username', 'name', 'groups'],  // like IdPs that map groups unconditionally
      groups: ['groups'],
    },
    scopes: ['openid', 'offline_access', 'api'],
    // scope claims go into the ID token too, not only the userinfo response
    conformIdTokenClaims: false,
    responseTypes: ['code', 'none'],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => (!oneOf || oneOf.includes(resource) ? resource : oneOf),
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, indicator) => {
          if (indicator !== resource && indicator !== audience) {
            throw new errors.InvalidTarget(`unknown resource ${indicator}`);
          }
          return {
            scope: 'api',
            audience,
            accessTokenTTL,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    extraTokenClaims: async (_ctx, token) => {
      const user = token.accountId && users.get(token.accountId);
      if (!user) return undefined;
      const { email, email_verified, preferred_username, groups, name } = claimsOf(user);
      return { email, email_verified, preferred_username, name, groups };
    },
    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: accessTokenTTL,
      AuthorizationCode: 60,
      ClientCredentials: accessTokenTTL,
      IdToken: 3600,
      RefreshToken: 86400,
      Interaction: 3600,
      Session: 86400,
      Grant: 86400,
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Error', `<pre id="error">${escape(JSON.stringify(out, null, 2))}</pre>`);
    },
  });
  provider.on('server_error', (_ctx, err) => console.error('server_error', err));
  return { provider, handler: provider.callback() };
}

let current = buildProvider();

// ---- interactions: login form (checks passwords) and automatic consent --------------------------
function escape(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head>`
    + `<body><h1>${title}</h1>${body}</body></html>`;
}

function loginForm(uid, { username = '', error = '' } = {}) {
  return page('Sign in', `${error ? `<p id="error" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login" autocomplete="off">
  <label>Username <input name="username" value="${escape(username)}" autofocus></label>
  <label>Password <input name="password" type="password"></label>
  <button type="submit">Sign in</button>
</form>`);
}

function send(res, status, body, type = 'text/html; charset=utf-8') {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function grantConsent(provider, req, res, details) {
  const { prompt, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const saved = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId: saved } }, { mergeWithLastSubmission: true });
}

async function interaction(req, res, uid, action) {
  const { provider } = current;
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    send(res, 400, page('Error', `<p id="error">${escape(err.message)}</p>`));
    return;
  }
  if (details.uid !== uid) {
    send(res, 400, page('Error', '<p id="error">interaction mismatch</p>'));
    return;
  }
  if (details.prompt.name === 'consent') {
    await grantConsent(provider, req, res, details);
    return;
  }
  if (details.prompt.name !== 'login') {
    send(res, 400, page('Error', `<p id="error">unsupported prompt ${escape(details.prompt.name)}</p>`));
    return;
  }
  if (action === undefined && req.method === 'GET') {
    send(res, 200, loginForm(uid));
    return;
  }
  if (action !== 'login' || req.method !== 'POST') {
    send(res, 405, page('Error', '<p id="error">method not allowed</p>'));
    return;
  }
  const form = await readForm(req);
  const username = form.get('username') || '';
  const user = userByName.get(username);
  const password = Buffer.from(form.get('password') || '');
  const expected = Buffer.from(user ? user.password : crypto.randomBytes(16).toString('hex'));
  const ok = user && password.length === expected.length && crypto.timingSafeEqual(password, expected);
  if (!ok) {
    send(res, 401, loginForm(uid, { username, error: 'Invalid username or password.' }));
    return;
  }
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: `sub-${username}` } },
    { mergeWithLastSubmission: false },
  );
}

// ---- test-only admin endpoints ------------------------------------------------------------------
function kids() {
  return rsaKeys.map((k) => k.kid).concat(ecKey.kid);
}

function rotate(dropOld) {
  const key = newRsaKey();
  rsaKeys = dropOld ? [key] : [key, ...rsaKeys];
  current = buildProvider();
  console.log(`rotated signing keys: ${kids().join(', ')}`);
  return { kid: key.kid, kids: kids() };
}

function setRedirectUris(body) {
  const client = config.clients.find((c) => c.client_id === body.client_id);
  if (!client) return undefined;
  client.redirect_uris = body.redirect_uris;
  if (body.post_logout_redirect_uris) client.post_logout_redirect_uris = body.post_logout_redirect_uris;
  current = buildProvider();
  return { client_id: client.client_id, redirect_uris: client.redirect_uris };
}

function upsertUser(body) {
  if (!body || typeof body.username !== 'string' || !body.username) return undefined;
  const known = userByName.get(body.username);
  const user = known || { username: body.username, password: '', email: `${body.username}@example.com`, groups: [] };
  if (typeof body.password === 'string') user.password = body.password;
  if (typeof body.email === 'string') user.email = body.email;
  if (typeof body.email_verified === 'boolean') user.email_verified = body.email_verified;
  if (Array.isArray(body.groups)) user.groups = body.groups.map(String);
  userByName.set(user.username, user);
  users.set(`sub-${user.username}`, user);
  return { username: user.username, email: user.email, groups: user.groups };
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

// ---- the HTTP server ----------------------------------------------------------------------------
const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    const match = url.pathname.match(/^\/interaction\/([^/]+)(?:\/([a-z]+))?$/);
    if (match) {
      await interaction(req, res, match[1], match[2]);
    } else if (url.pathname === '/__test/rotate' && req.method === 'POST') {
      const dropOld = ['1', 'true', 'yes'].includes(url.searchParams.get('drop_old') || '');
      send(res, 200, JSON.stringify(rotate(dropOld)), 'application/json');
    } else if (url.pathname === '/__test/redirect_uris' && req.method === 'POST') {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      const result = setRedirectUris(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      send(res, result ? 200 : 404, JSON.stringify(result || { error: 'unknown client' }), 'application/json');
    } else if (url.pathname === '/__test/users' && req.method === 'POST') {
      const result = upsertUser(await readJson(req));
      send(res, result ? 200 : 400, JSON.stringify(result || { error: 'username needed' }), 'application/json');
    } else if (url.pathname === '/__test/keys' && req.method === 'GET') {
      send(res, 200, JSON.stringify({ kids: kids() }), 'application/json');
    } else {
      current.handler(req, res);
    }
  } catch (err) {
    console.error('request failed', err);
    if (!res.headersSent) send(res, 500, page('Error', `<p id="error">${escape(err.message)}</p>`));
    else res.end();
  }
});

function shutdown(signal) {
  console.log(`${signal}: shutting down`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

server.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
