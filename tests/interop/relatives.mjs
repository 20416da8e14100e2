// A relative acting for a person (亲友代办), in Chromium (npm playwright-core) with an
// unmodified relying party (npm openid-client v6):
//   1. 李奶奶 logs in and, on her relatives page, authorises 赵小六 to sign in for her;
//   2. 赵小六 logs in as himself and accepts;
//   3. at a portal that takes relatives' logins, openid-client starts a login; 赵小六
//      chooses to act for 李奶奶; openid-client validates the ID token against our
//      JWKS: `sub` is 李奶奶, `act.sub` is 赵小六 (RFC 8693), and userinfo is hers;
//   4. 李奶奶 ends the authority: the refresh token is refused, and 赵小六's next login
//      there is his own, with no one to choose;
//   5. 李奶奶's relatives page lists what 赵小六 did for her.
// axe-core and the MIIT numbers on the relatives page and the choice page in zh-CN and
// English, standard and care mode (tests/interop/page_checks.mjs).
//
// Usage: node tests/interop/relatives.mjs BASE_URL DATABASE_URL [TONGBAN_BINARY]
// (the server of tests/interop/browser.mjs will do: the people here are others).
import { chromium } from 'playwright-core';
import * as client from 'openid-client';
import { adminApi } from './admin_api.mjs';
import { axe, checks, inChromium, keyboardWalk, miit } from './page_checks.mjs';

const [base, databaseUrl, binaryArg] = process.argv.slice(2);
if (!base || !databaseUrl) {
  console.error('usage: node tests/interop/relatives.mjs BASE_URL DATABASE_URL [TONGBAN_BINARY]');
  process.exit(2);
}
const binary = binaryArg || process.env.TONGBAN_BIN || 'target/debug/tongban';
const url = (path) => new URL(path, base).href;

const GRANNY = { name: '李奶奶', id: '110105197505050121', password: 'granny keeps a long passphrase' };
const HELPER = { name: '赵小六', id: '110105198001010032', password: 'the helper has his own passphrase' };
const PORTAL = '亲友代办测试门户';
const REDIRECT = 'https://rp.example.org/relatives-cb';
const MODES = ['zh', 'en', 'zh-care', 'en-care'];

const { check, finish } = checks();

async function setUp() {
  const admin = await adminApi(base, databaseUrl, binary, 'Relatives interop admin');
  const granny = await admin.post('/api/v1/admin/persons', { name: GRANNY.name, resident_id: GRANNY.id, password: GRANNY.password });
  const helper = await admin.post('/api/v1/admin/persons', { name: HELPER.name, resident_id: HELPER.id, password: HELPER.password });
  await admin.post('/api/v1/admin/registry', {
    entries: [
      { name: GRANNY.name, resident_id: GRANNY.id },
      { name: HELPER.name, resident_id: HELPER.id },
    ],
  });
  const portal = await admin.post('/api/v1/admin/clients', {
    name: PORTAL,
    confidential: true,
    first_party: true,
    accepts_delegation: true,
    scopes: ['openid', 'profile'],
    grant_types: ['authorization_code', 'refresh_token'],
    redirect_uris: [REDIRECT],
  });
  return { grannyId: granny.id, helperId: helper.id, portal };
}

async function login(page, who) {
  await page.goto(url('/account'));
  await page.fill('#identifier', who.id);
  await page.fill('#password', who.password);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/login"] button[type=submit]')]);
}

// Every mode of the page at `path` (a path the preferences switch may return to).
async function inEveryMode(page, path, label) {
  for (const mode of MODES) {
    await page.goto(url(`/prefs?set=${mode}&back=${encodeURIComponent(path)}`));
    await axe(page, `${label} [${mode}]`, check);
    await miit(page, `${label} [${mode}]`, check);
  }
  await keyboardWalk(page, `${label} [en-care]`, check);
  await page.goto(url(`/prefs?set=zh&back=${encodeURIComponent(path)}`));
}

// The portal's browser side: the redirect back to it is caught, not fetched.
async function caughtRedirect(page, action) {
  let caught;
  await page.route('https://rp.example.org/**', async (route) => {
    caught = route.request().url();
    await route.fulfill({ status: 200, contentType: 'text/plain', body: 'back at the portal' });
  });
  await action();
  for (let i = 0; i < 50 && !caught; i += 1) await page.waitForTimeout(100);
  await page.unroute('https://rp.example.org/**');
  return caught;
}

async function startLogin(config) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const href = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'openid profile',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  }).href;
  return { href, checks: { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true } };
}

async function run(browser) {
  const { grannyId, helperId, portal } = await setUp();
  console.log('ok   set-up: two registered people and a portal that takes relatives\' logins (admin API)');
  const context = async () => {
    const ctx = await browser.newContext({ bypassCSP: true });
    const page = await ctx.newPage();
    page.setDefaultTimeout(15000);
    return { ctx, page };
  };
  const granny = await context();
  const helper = await context();

  // 1. The person authorises her relative.
  await login(granny.page, GRANNY);
  await granny.page.goto(url('/account/relatives'));
  await inEveryMode(granny.page, '/account/relatives', "the relatives page (the person's)");
  await granny.page.fill('#relative-name', HELPER.name);
  await granny.page.fill('#relative-id', HELPER.id);
  await granny.page.check('#matter-sign-in');
  await granny.page.fill('#days', '30');
  await Promise.all([granny.page.waitForNavigation(), granny.page.click('form[action="/account/relatives"] button[type=submit]')]);
  check('the person sets up the authority', (await granny.page.locator('main [role=status]').count()) === 1, (await granny.page.locator('main').innerText()).slice(0, 300));

  // 2. The relative accepts.
  await login(helper.page, HELPER);
  await helper.page.goto(url('/account/relatives'));
  await inEveryMode(helper.page, '/account/relatives', "the relatives page (the relative's)");
  await Promise.all([helper.page.waitForNavigation(), helper.page.click('button[name=answer][value=accept]')]);
  check('the relative accepts', (await helper.page.locator('main [role=status]').count()) === 1);

  // 3. openid-client at the portal; the relative acts for the person.
  const issuer = new URL(base);
  const config = await client.discovery(issuer, portal.client_id, portal.client_secret, undefined, {
    execute: [client.allowInsecureRequests],
  });
  const first = await startLogin(config);
  await helper.page.goto(first.href);
  check('the relative is asked whom the login is for', (await helper.page.locator('form[action="/authorize/act"]').count()) === 1, helper.page.url());
  await inEveryMode(helper.page, '/login', 'the choice of whom a login is for');
  await helper.page.locator('input[name=choice]').nth(1).check();
  const back = await caughtRedirect(helper.page, () => helper.page.click('form[action="/authorize/act"] button[type=submit]'));
  check('back at the portal with a code', back && new URL(back).searchParams.has('code'), back);
  const tokens = await client.authorizationCodeGrant(config, new URL(back), first.checks);
  const claims = tokens.claims();
  check('openid-client: the ID token verifies against the JWKS and names the person as sub', claims.sub === grannyId, JSON.stringify(claims));
  check('openid-client: act.sub names the relative (RFC 8693), with his name', claims.act?.sub === helperId && claims.act?.name === HELPER.name, JSON.stringify(claims.act));
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  check('userinfo is the person\'s', info.sub === grannyId && info.name === GRANNY.name, JSON.stringify(info));

  // 5 (before 4). The person sees what the relative did.
  await granny.page.goto(url('/account/relatives'));
  const listed = await granny.page.locator('#h-acts').locator('..').innerText();
  check("the person's page lists the relative's login for her at the portal", listed.includes(HELPER.name) && listed.includes(PORTAL), listed.slice(0, 300));

  // 4. The person ends it.
  await Promise.all([granny.page.waitForNavigation(), granny.page.click('form[action="/account/relatives/end"] button[type=submit]')]);
  check('the person ends the authority', (await granny.page.locator('main [role=status]').count()) === 1);
  let refused = false;
  try {
    await client.refreshTokenGrant(config, tokens.refresh_token);
  } catch (error) {
    refused = error.error === 'invalid_grant';
  }
  check('the refresh token under the ended authority is invalid_grant', refused);
  // His browser's session, as the portal's next redirect would carry it.
  const session = (await helper.ctx.cookies()).find((c) => c.name === '__Host-tongban-session');
  const second = await startLogin(config);
  const answer = await fetch(second.href, { redirect: 'manual', headers: { cookie: `${session.name}=${session.value}` } });
  const again = answer.headers.get('location');
  check('the relative\'s next login goes straight back: no one to act for', answer.status === 303 && again && new URL(again).searchParams.has('code'), `${answer.status} ${again}`);
  if (again) {
    const own = (await client.authorizationCodeGrant(config, new URL(again), second.checks)).claims();
    check('…and it is his own: sub is the relative, no act', own.sub === helperId && own.act === undefined, JSON.stringify(own));
  }
  await granny.ctx.close();
  await helper.ctx.close();
}

await inChromium(chromium, 'relatives', { check, finish }, run);
