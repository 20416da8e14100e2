// An unmodified relying party — npm openid-client v6 — against Tongban's Pushed
// Authorization Requests (RFC 9126) and DPoP (RFC 9449):
//   1. discovery lists pushed_authorization_request_endpoint and
//      dpop_signing_alg_values_supported;
//   2. buildAuthorizationUrlWithPAR with PKCE S256, state and nonce, the PAR request
//      carrying a DPoP proof: the authorization URL holds client_id and request_uri only;
//      the login form is then posted as a browser would, ending in a 303 to the client
//      with code, state and iss;
//   3. the code is exchanged with a DPoP proof from the same key (server-provided DPoP
//      nonces, which openid-client retries by itself): token_type DPoP;
//   4. userinfo with the DPoP-bound access token, and a refresh bound to the same key;
//   5. refused: the access token as a Bearer token, as a DPoP token with no proof, the
//      refresh token with a proof from another key (invalid_grant), and a code whose PAR
//      request carried a proof, exchanged with another key (RFC 9449 §10.1);
//   6. a client registered with require_pushed_authorization_requests: a plain
//      (non-PAR) authorization request is refused.
//
// Usage: node tests/interop/oidc_par_dpop.mjs BASE_URL DATABASE_URL [TONGBAN_BINARY]
//   BASE_URL      the server's public URL (its TONGBAN_PUBLIC_URL), e.g. http://127.0.0.1:8080
//   DATABASE_URL  the server's database (sqlite:///…), on which the CLI registers an admin
//                 client; the person and the clients are created through the admin REST API
//   TONGBAN_BINARY  default target/debug/tongban (or $TONGBAN_BIN)
// Wants a fresh database (the person it registers must not exist yet). Prints one line
// per check; exits 1 if any failed. On a failure it prints the HTTP exchanges
// openid-client made, as sent and as answered.
import { execFileSync } from 'node:child_process';
import * as client from 'openid-client';

const [base, databaseUrl, binaryArg] = process.argv.slice(2);
if (!base || !databaseUrl) {
  console.error('usage: node tests/interop/oidc_par_dpop.mjs BASE_URL DATABASE_URL [TONGBAN_BINARY]');
  process.exit(2);
}
const binary = binaryArg || process.env.TONGBAN_BIN || 'target/debug/tongban';
const url = (path) => new URL(path, base).href;

const RESIDENT_ID = '32010619850512301X';
const PASSWORD = 'a long and unusual interop passphrase';
const REDIRECT = 'http://127.0.0.1:9999/cb';
const REDIRECT_PAR_ONLY = 'http://127.0.0.1:9999/par-only/cb';

let failures = 0;
const check = (name, condition, detail = '') => {
  if (condition) {
    console.log(`ok   ${name}`);
  } else {
    failures += 1;
    console.log(`FAIL ${name}${detail ? ` — ${detail}` : ''}`);
    dumpExchanges();
  }
  seen = sequence;
  return Boolean(condition);
};

// --- What openid-client sent and what it got back, printed on a failure. ---

// The last few of openid-client's exchanges; on a FAIL, those since the previous check.
const exchanges = [];
let sequence = 0;
let seen = 0;
const short = (text, n = 600) => (text.length > n ? `${text.slice(0, n)}…` : text);
async function recordingFetch(input, init = {}) {
  const response = await fetch(input, init);
  const sent = new Headers(init.headers);
  const body = init.body === undefined ? '' : String(init.body);
  const copy = response.clone();
  exchanges.push({
    sequence: ++sequence,
    request: `${init.method ?? 'GET'} ${input}`,
    sent: [...sent.entries()].map(([k, v]) => `${k}: ${k === 'authorization' ? v.replace(/ .*/, ' …') : v}`),
    body: body.replace(/(client_secret|password)=[^&]*/g, '$1=…'),
    status: response.status,
    received: [...response.headers.entries()].map(([k, v]) => `${k}: ${v}`),
    answer: short(await copy.text().catch(() => '')),
  });
  if (exchanges.length > 8) exchanges.shift();
  return response;
}
function dumpExchanges() {
  for (const x of exchanges.filter((e) => e.sequence > seen)) {
    console.log(`     > ${x.request}`);
    for (const h of x.sent) console.log(`     >   ${h}`);
    if (x.body) console.log(`     >   ${short(x.body, 400)}`);
    console.log(`     < ${x.status}`);
    for (const h of x.received) console.log(`     <   ${h}`);
    if (x.answer) console.log(`     <   ${x.answer}`);
  }
}
const describe = (error) =>
  [error?.code, error?.error, error?.error_description, error?.message, error?.cause?.message]
    .filter(Boolean)
    .join(' | ');

// --- Set-up: an admin client from the CLI, then a person and two clients. ---

async function json(response, what) {
  const text = await response.text();
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status}: ${text}`);
  return JSON.parse(text);
}

async function setUp() {
  const out = execFileSync(
    binary,
    ['admin', 'client-create', '--name', 'PAR/DPoP interop admin', '--scope', 'admin', '--grant', 'client_credentials'],
    { env: { ...process.env, TONGBAN_DATABASE_URL: databaseUrl }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const admin = JSON.parse(out.trim().split('\n').find((line) => line.startsWith('{')));
  const token = await json(
    await fetch(url('/token'), {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(admin.client_id)}:${encodeURIComponent(admin.client_secret)}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'admin' }),
    }),
    'POST /token',
  );
  const api = async (path, body) =>
    json(
      await fetch(url(path), {
        method: 'POST',
        headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
      `POST ${path}`,
    );
  await api('/api/v1/admin/persons', { name: '张三', resident_id: RESIDENT_ID, password: PASSWORD });
  const portal = await api('/api/v1/admin/clients', {
    name: 'PAR/DPoP interop portal',
    confidential: true,
    first_party: true,
    scopes: ['openid', 'profile'],
    grant_types: ['authorization_code', 'refresh_token'],
    redirect_uris: [REDIRECT],
  });
  const parOnly = await api('/api/v1/admin/clients', {
    name: 'PAR-only interop portal',
    confidential: true,
    first_party: true,
    scopes: ['openid', 'profile'],
    grant_types: ['authorization_code', 'refresh_token'],
    redirect_uris: [REDIRECT_PAR_ONLY],
    require_pushed_authorization_requests: true,
  });
  return { portal, parOnly };
}

const discover = async (registered) => {
  const config = await client.discovery(new URL(base), registered.client_id, registered.client_secret, undefined, {
    execute: [client.allowInsecureRequests],
  });
  config[client.customFetch] = recordingFetch;
  return config;
};

const cookieOf = (response, name) => {
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const at = pair.indexOf('=');
    if (pair.slice(0, at).trim() === name) return pair.slice(at + 1);
  }
  return undefined;
};

// PAR with a DPoP proof, then the login form as a browser would post it. Returns the
// callback URL and the checks' values, or undefined (after a FAIL line) if it broke.
async function pushAndLogIn(config, meta, DPoP, report) {
  const say = report ? check : (name, condition, detail) => condition || check(name, condition, detail);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  let authorizationUrl;
  try {
    authorizationUrl = await client.buildAuthorizationUrlWithPAR(
      config,
      {
        redirect_uri: REDIRECT,
        scope: 'openid profile',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      },
      { DPoP },
    );
  } catch (error) {
    check('PAR: openid-client pushes the request (with a DPoP proof)', false, describe(error));
    return undefined;
  }
  const names = [...authorizationUrl.searchParams.keys()].sort();
  say(
    'PAR: the authorization URL carries only client_id and request_uri',
    names.join(',') === 'client_id,request_uri' && authorizationUrl.searchParams.get('request_uri').startsWith('urn:ietf:params:oauth:request_uri:'),
    authorizationUrl.href,
  );
  const form = await fetch(authorizationUrl, { redirect: 'manual' });
  const html = await form.text();
  const csrf = /name="csrf_token" value="([^"]+)"/.exec(html)?.[1];
  const flow = cookieOf(form, '__Host-tongban-flow');
  say('PAR: the request_uri opens the login form with a CSRF token and a flow cookie', form.status === 200 && csrf && flow, `${form.status} ${short(html, 300)}`);
  if (!csrf || !flow) return undefined;
  const posted = await fetch(url('/login'), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `__Host-tongban-flow=${flow}` },
    body: new URLSearchParams({ csrf_token: csrf, identifier: RESIDENT_ID, password: PASSWORD }),
  });
  const location = posted.headers.get('location');
  const callback = location ? new URL(location, base) : undefined;
  say(
    'login answers 303 to the redirect_uri with code, state and iss',
    posted.status === 303 &&
      callback?.href.startsWith(`${REDIRECT}?`) &&
      callback.searchParams.get('code') &&
      callback.searchParams.get('state') === state &&
      callback.searchParams.get('iss') === meta.issuer,
    `${posted.status} ${location}`,
  );
  if (!callback?.searchParams.get('code')) return undefined;
  return { callback, verifier, state, nonce };
}

// --- The checks. ---

async function main() {
  const { portal, parOnly } = await setUp();

  // 1. Discovery.
  const config = await discover(portal);
  const meta = config.serverMetadata();
  check(
    'discovery lists pushed_authorization_request_endpoint (/par)',
    typeof meta.pushed_authorization_request_endpoint === 'string' && new URL(meta.pushed_authorization_request_endpoint).pathname === '/par',
    String(meta.pushed_authorization_request_endpoint),
  );
  check(
    'discovery lists dpop_signing_alg_values_supported with ES256',
    Array.isArray(meta.dpop_signing_alg_values_supported) && meta.dpop_signing_alg_values_supported.includes('ES256'),
    JSON.stringify(meta.dpop_signing_alg_values_supported),
  );

  await dpopFlow(config, meta);
  await parRequired(parOnly);
}

async function dpopFlow(config, meta) {
  // 2. PAR, with the DPoP key bound from the start, then the login form.
  const keyPair = await client.randomDPoPKeyPair('ES256');
  const DPoP = client.getDPoPHandle(config, keyPair);
  const first = await pushAndLogIn(config, meta, DPoP, true);
  if (!first) return;
  const { callback, verifier, state, nonce } = first;

  // 3. Code exchange with a DPoP proof from the same key.
  let tokens;
  try {
    tokens = await client.authorizationCodeGrant(
      config,
      callback,
      { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true },
      undefined,
      { DPoP },
    );
  } catch (error) {
    check('DPoP: openid-client exchanges the code', false, describe(error));
    return;
  }
  check('DPoP: token_type is DPoP', String(tokens.token_type).toLowerCase() === 'dpop', String(tokens.token_type));
  const claims = tokens.claims();
  check('DPoP: ID token validated by openid-client, with our nonce', claims?.sub && claims.nonce === nonce, JSON.stringify(claims));
  check('DPoP: a refresh token was issued', typeof tokens.refresh_token === 'string');

  // 4. Userinfo with the bound access token, and a bound refresh.
  try {
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub, { DPoP });
    check('DPoP: userinfo answers for the expected subject', info.sub === claims.sub && typeof info.name === 'string', JSON.stringify(info));
  } catch (error) {
    check('DPoP: userinfo answers for the expected subject', false, describe(error));
  }
  let refreshed;
  try {
    refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP });
    check(
      'DPoP: refresh with the same key gives a new DPoP token',
      String(refreshed.token_type).toLowerCase() === 'dpop' && refreshed.access_token && refreshed.access_token !== tokens.access_token,
      String(refreshed.token_type),
    );
  } catch (error) {
    check('DPoP: refresh with the same key gives a new DPoP token', false, describe(error));
  }
  if (refreshed) {
    try {
      const info = await client.fetchUserInfo(config, refreshed.access_token, claims.sub, { DPoP });
      check('DPoP: userinfo with the refreshed access token', info.sub === claims.sub, JSON.stringify(info));
    } catch (error) {
      check('DPoP: userinfo with the refreshed access token', false, describe(error));
    }
  }

  // 5. Without the proof, or with another key: refused.
  const token = refreshed?.access_token ?? tokens.access_token;
  const bearer = await fetch(url('/userinfo'), { headers: { authorization: `Bearer ${token}` } });
  check('refused: the DPoP-bound access token sent as a Bearer token (401)', bearer.status === 401, `${bearer.status} ${short(await bearer.text(), 200)}`);
  const proofless = await fetch(url('/userinfo'), { headers: { authorization: `DPoP ${token}` } });
  check('refused: the DPoP-bound access token with no DPoP proof (401)', proofless.status === 401, `${proofless.status} ${short(await proofless.text(), 200)}`);
  const otherKey = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
  const refreshToken = refreshed?.refresh_token ?? tokens.refresh_token;
  try {
    await client.refreshTokenGrant(config, refreshToken, undefined, { DPoP: otherKey });
    check('refused: the refresh token with a proof from another key (invalid_grant)', false, 'the server issued tokens');
  } catch (error) {
    check('refused: the refresh token with a proof from another key (invalid_grant)', error?.error === 'invalid_grant', describe(error));
  }
  // That failed attempt must not have spent the token for its rightful holder.
  try {
    const again = await client.refreshTokenGrant(config, refreshToken, undefined, { DPoP });
    check('the rightful key can still refresh after the refused attempt', String(again.token_type).toLowerCase() === 'dpop', String(again.token_type));
  } catch (error) {
    check('the rightful key can still refresh after the refused attempt', false, describe(error));
  }

  // A code whose PAR request carried a DPoP proof is bound to that key (RFC 9449 §10.1).
  const second = await pushAndLogIn(config, meta, DPoP, false);
  if (second) {
    try {
      await client.authorizationCodeGrant(
        config,
        second.callback,
        { pkceCodeVerifier: second.verifier, expectedState: second.state, expectedNonce: second.nonce },
        undefined,
        { DPoP: client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256')) },
      );
      check('refused: a code pushed with one DPoP key, exchanged with another (invalid_grant)', false, 'the server issued tokens');
    } catch (error) {
      check('refused: a code pushed with one DPoP key, exchanged with another (invalid_grant)', error?.error === 'invalid_grant', describe(error));
    }
  }

}

async function parRequired(parOnly) {
  // 6. A client that requires PAR: a plain authorization request is refused.
  const parOnlyConfig = await discover(parOnly);
  const plain = client.buildAuthorizationUrl(parOnlyConfig, {
    redirect_uri: REDIRECT_PAR_ONLY,
    scope: 'openid profile',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    state: client.randomState(),
    nonce: client.randomNonce(),
  });
  const refused = await fetch(plain, { redirect: 'manual' });
  const refusedAt = refused.headers.get('location');
  const refusedUrl = refusedAt ? new URL(refusedAt, base) : undefined;
  const refusedBody = await refused.text();
  const redirectedError =
    refused.status >= 300 && refused.status < 400 && refusedUrl?.href.startsWith(`${REDIRECT_PAR_ONLY}?`) && refusedUrl.searchParams.get('error') === 'invalid_request';
  const shownError = refused.status >= 400 && !/name="csrf_token"/.test(refusedBody);
  check(
    'require_pushed_authorization_requests: a plain /authorize request is refused',
    redirectedError || shownError,
    `${refused.status} ${refusedAt ?? short(refusedBody, 200)}`,
  );
  if (redirectedError) console.log(`     (redirected back with error=invalid_request: ${refusedUrl.searchParams.get('error_description') ?? ''})`);
  try {
    const viaPar = await client.buildAuthorizationUrlWithPAR(parOnlyConfig, {
      redirect_uri: REDIRECT_PAR_ONLY,
      scope: 'openid profile',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const shown = await fetch(viaPar, { redirect: 'manual' });
    check('require_pushed_authorization_requests: the same request through PAR shows the login form', shown.status === 200 && /name="csrf_token"/.test(await shown.text()), String(shown.status));
  } catch (error) {
    check('require_pushed_authorization_requests: the same request through PAR shows the login form', false, describe(error));
  }
}

main()
  .catch((error) => {
    failures += 1;
    console.log(`FAIL ${error?.stack ?? error}`);
    dumpExchanges();
  })
  .finally(() => {
    process.exit(failures === 0 ? 0 : 1);
  });
