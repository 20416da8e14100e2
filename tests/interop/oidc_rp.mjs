// An unmodified relying party — npm openid-client v6 — against Tongban: discovery,
// authorization code + PKCE with a real login form post, ID token validation against
// our JWKS, userinfo, refresh with rotation, introspection and revocation; then a
// second client gets a code with no login (single sign-on); then the first portal logs
// the person out (RP-initiated logout) and each portal receives exactly one
// back-channel logout token for the session, verified with npm jose against the JWKS.
//
// Configuration from the environment (set by tests/interop/oidc.rs and cluster.rs):
//   ISSUER, A_ID, A_SECRET, A_REDIRECT, A_LOGGED_OUT, the same for B, LOGIN, PASSWORD,
//   BACKCHANNEL_PORT (the portals' back-channel logout URIs are
//   http://127.0.0.1:PORT/A/backchannel and …/B/backchannel);
//   EXPECT_BALANCED (two instances behind a load balancer naming them in x-served-by)
// Prints one line per check; exits 1 on the first failure.
import { createServer } from 'node:http';
import * as jose from 'jose';
import * as client from 'openid-client';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`missing ${name}`);
  return value;
};
const check = (name, condition, detail = '') => {
  if (!condition) {
    console.log(`FAIL ${name} ${detail}`);
    process.exit(1);
  }
  console.log(`ok   ${name}`);
};
const cookieOf = (response, name) => {
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const [key, value] = pair.split('=');
    if (key === name) return value;
  }
  return undefined;
};

const issuer = new URL(env('ISSUER'));
const discover = (id, secret) =>
  client.discovery(issuer, id, secret, undefined, { execute: [client.allowInsecureRequests] });

async function authorize(config, redirect, sessionCookie) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirect,
    scope: 'openid profile',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const headers = sessionCookie ? { cookie: `__Host-tongban-session=${sessionCookie}` } : {};
  return { verifier, state, nonce, response: await fetch(url, { redirect: 'manual', headers }) };
}

async function main() {
  const a = await discover(env('A_ID'), env('A_SECRET'));
  check('discovery', a.serverMetadata().issuer === issuer.href.replace(/\/$/, ''), a.serverMetadata().issuer);

  // Authorization code + PKCE, logging in through the HTML form as a browser would.
  const first = await authorize(a, env('A_REDIRECT'));
  check('login form shown', first.response.status === 200, String(first.response.status));
  const html = await first.response.text();
  const csrf = /name="csrf_token" value="([^"]+)"/.exec(html)?.[1];
  const flow = cookieOf(first.response, '__Host-tongban-flow');
  check('form carries a CSRF token and a flow cookie', csrf && flow);
  const posted = await fetch(new URL('/login', issuer), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `__Host-tongban-flow=${flow}` },
    body: new URLSearchParams({ csrf_token: csrf, identifier: env('LOGIN'), password: env('PASSWORD') }),
  });
  check('login answers 303 to the client', posted.status === 303, String(posted.status));
  if (process.env.EXPECT_BALANCED) {
    // Behind the load balancer: the form from one instance, its post to the other.
    const [shown, answered] = [first.response.headers.get('x-served-by'), posted.headers.get('x-served-by')];
    check(`the login started on ${shown} finishes on ${answered}`, shown && answered && shown !== answered);
  }
  const session = cookieOf(posted, '__Host-tongban-session');
  const tokens = await client.authorizationCodeGrant(a, new URL(posted.headers.get('location')), {
    pkceCodeVerifier: first.verifier,
    expectedState: first.state,
    expectedNonce: first.nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  check('ID token validated by openid-client against our JWKS', claims && claims.sub && claims.iss === a.serverMetadata().issuer);

  const info = await client.fetchUserInfo(a, tokens.access_token, claims.sub);
  check('userinfo', info.sub === claims.sub && typeof info.name === 'string', JSON.stringify(info));

  const refreshed = await client.refreshTokenGrant(a, tokens.refresh_token);
  check('refresh rotates the refresh token', refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token);
  let reuseRefused = false;
  try {
    await client.refreshTokenGrant(a, tokens.refresh_token);
  } catch (error) {
    reuseRefused = error.error === 'invalid_grant';
  }
  check('a reused refresh token is invalid_grant', reuseRefused);

  const live = await client.tokenIntrospection(a, refreshed.access_token);
  check('introspection: active', live.active === true && live.sub === claims.sub);
  await client.tokenRevocation(a, refreshed.access_token);
  const dead = await client.tokenIntrospection(a, refreshed.access_token);
  check('revocation, then introspection: inactive', dead.active === false);

  // Single sign-on: the second portal gets a code with the session cookie alone.
  const b = await discover(env('B_ID'), env('B_SECRET'));
  const second = await authorize(b, env('B_REDIRECT'), session);
  check('SSO: second client redirected with no login', second.response.status === 303, String(second.response.status));
  const tokensB = await client.authorizationCodeGrant(b, new URL(second.response.headers.get('location')), {
    pkceCodeVerifier: second.verifier,
    expectedState: second.state,
    expectedNonce: second.nonce,
    idTokenExpected: true,
  });
  const claimsB = tokensB.claims();
  check('SSO: same subject and session', claimsB.sub === claims.sub && claimsB.sid === claims.sid);

  // RP-initiated logout from portal A, with its ID token as the hint and the browser's
  // session cookie: the session ends at once and the browser returns to A with state.
  const logoutState = client.randomState();
  const endSession = client.buildEndSessionUrl(a, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: env('A_LOGGED_OUT'),
    state: logoutState,
  });
  const loggedOut = await fetch(endSession, { redirect: 'manual', headers: { cookie: `__Host-tongban-session=${session}` } });
  const back = new URL(loggedOut.headers.get('location') ?? 'about:blank');
  check(
    'RP-initiated logout returns to the portal with its state',
    loggedOut.status === 303 && back.href.startsWith(env('A_LOGGED_OUT')) && back.searchParams.get('state') === logoutState,
    `${loggedOut.status} ${back.href}`,
  );
  const again = await authorize(a, env('A_REDIRECT'), session);
  check('after logout the session cookie signs nobody in', again.response.status === 200, String(again.response.status));

  // Back-channel logout: each portal that took part in the session gets one token.
  const received = await backchannel.settle();
  const jwks = jose.createRemoteJWKSet(new URL(a.serverMetadata().jwks_uri));
  for (const [portal, clientId] of [['A', env('A_ID')], ['B', env('B_ID')]]) {
    const tokensFor = received.filter((r) => r.portal === portal);
    check(`back-channel: portal ${portal} received exactly one logout token`, tokensFor.length === 1, `${tokensFor.length} received`);
    const { payload, protectedHeader } = await jose.jwtVerify(tokensFor[0].token, jwks, {
      issuer: a.serverMetadata().issuer,
      audience: clientId,
      typ: 'logout+jwt',
    });
    check(
      `back-channel: portal ${portal}'s logout token verifies (jose) and names the session`,
      payload.sid === claims.sid && payload.sub === claims.sub && payload.nonce === undefined
        && typeof payload.events?.['http://schemas.openid.net/event/backchannel-logout'] === 'object'
        && protectedHeader.alg === 'ES256',
      JSON.stringify(payload),
    );
  }
  backchannel.close();
}

/// The portals' back-channel logout endpoint: records each token posted to
/// /A/backchannel or /B/backchannel, answers 200.
function backchannelReceiver(port) {
  const received = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => {
      const portal = /^\/(A|B)\/backchannel$/.exec(request.url)?.[1];
      const token = new URLSearchParams(body).get('logout_token');
      if (request.method === 'POST' && portal && token) {
        received.push({ portal, token, at: Date.now() });
        response.writeHead(200).end();
      } else {
        response.writeHead(400).end();
      }
    });
  });
  server.listen(port, '127.0.0.1');
  return {
    // Waits until both portals have a token, then three more delivery rounds (the
    // instances look at the queue every 0.5 s) for any duplicate to arrive.
    async settle() {
      const until = Date.now() + 15000;
      while (Date.now() < until && new Set(received.map((r) => r.portal)).size < 2) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await new Promise((resolve) => setTimeout(resolve, 1500));
      return received;
    },
    close: () => server.close(),
  };
}

const backchannel = backchannelReceiver(Number(env('BACKCHANNEL_PORT')));

main().catch((error) => {
  console.log(`FAIL ${error?.stack ?? error}`);
  process.exit(1);
});
