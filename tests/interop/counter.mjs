// At the counter (线下窗口协办), in Chromium (npm playwright-core) with CDP virtual
// authenticators: a clerk (staff with the counter role) signs in with a passkey, checks
// a person's ID card on /counter and prints a one-time code; on "their own phone" (a
// second browser context with its own authenticator) the person types the code on
// /enrol with their ID number, adds their first passkey there (the code makes no
// session), and then logs in alone with it at level 3 — though the identity registry does not know them. axe-core and the
// MIIT numbers on /counter, the printed slip and /enrol, in zh-CN and English, standard
// and care mode.
//
// Then an assisted session (窗口协办): the clerk asks to help the person, who confirms on
// their phone's account page with the code the clerk reads out; the clerk signs in at a
// portal and chooses the person; an unmodified relying party (npm openid-client v6)
// verifies the ID token: `sub` the person, `act.sub` the clerk. The person's account
// page lists the help. Last, the person forgot their password: the clerk prints a code
// for a new one, which the person sets on their phone, and signs in with it.
//
// Usage: node tests/interop/counter.mjs BASE_URL DATABASE_URL [TONGBAN_BINARY]
import { chromium } from 'playwright-core';
import * as client from 'openid-client';
import { adminApi } from './admin_api.mjs';
import { axe, checks, inChromium, miit } from './page_checks.mjs';

const [base, databaseUrl, binaryArg] = process.argv.slice(2);
if (!base || !databaseUrl) {
  console.error('usage: node tests/interop/counter.mjs BASE_URL DATABASE_URL [TONGBAN_BINARY]');
  process.exit(2);
}
const binary = binaryArg || process.env.TONGBAN_BIN || 'target/debug/tongban';
const url = (path) => new URL(path, base).href;

const CLERK = { name: '周窗口', id: '11010519600315011X', password: 'the clerk has a long passphrase' };
const PERSON = { name: '孙七', id: '110102195511200220', password: 'sun qi wrote this down once' };
const MODES = ['zh', 'en', 'zh-care', 'en-care'];
const REDIRECT = 'https://rp.example.org/counter-cb';
const HALL = '鼓楼区政务服务中心 5号窗口';

const { check, finish } = checks();

async function pages(page, label) {
  for (const mode of MODES) {
    await page.goto(url(`/prefs?set=${mode}&back=${encodeURIComponent(new URL(page.url()).pathname)}`));
    await axe(page, `${label} [${mode}]`, check);
    await miit(page, `${label} [${mode}]`, check);
  }
  await page.goto(url(`/prefs?set=zh&back=${encodeURIComponent(new URL(page.url()).pathname)}`));
}

// A browser context with its own platform authenticator (a phone, say).
async function device(browser) {
  const ctx = await browser.newContext({ bypassCSP: true });
  const page = await ctx.newPage();
  page.setDefaultTimeout(15000);
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  return { ctx, page };
}

async function addPasskey(page, name) {
  await page.goto(url('/account'));
  await page.fill('#passkey-name', name);
  await Promise.all([page.waitForNavigation(), page.locator('#passkey-enrol button[type=submit]').click()]);
}

async function passkeyLogin(ctx, page) {
  await ctx.clearCookies();
  await page.goto(url('/account'));
  await Promise.all([page.waitForNavigation(), page.locator('#passkey-login button[type=submit]').click()]);
}

const level = async (page) => (await page.locator('dt:has-text("本次登录的实名等级") + dd').innerText().catch(() => '')).trim();

async function run(browser) {
  const admin = await adminApi(base, databaseUrl, binary, 'Counter interop admin');
  const clerk = await admin.post('/api/v1/admin/persons', { name: CLERK.name, resident_id: CLERK.id, password: CLERK.password });
  const person = await admin.post('/api/v1/admin/persons', { name: PERSON.name, resident_id: PERSON.id, password: PERSON.password });
  const portal = await admin.post('/api/v1/admin/clients', {
    name: '窗口协办测试门户', confidential: true, first_party: true, accepts_delegation: true,
    scopes: ['openid', 'profile'], grant_types: ['authorization_code'], redirect_uris: [REDIRECT],
  });
  await admin.post('/api/v1/admin/registry', { entries: [{ name: CLERK.name, resident_id: CLERK.id }] });
  const hall = await admin.post('/api/v1/admin/departments', { name: '湖南省政务服务中心', uscc: '11430000006122244L', level: 'province' });
  await admin.post(`/api/v1/admin/departments/${hall.id}/staff`, { subject_id: clerk.id, staff_number: 'C-001', roles: ['counter'] });
  console.log('ok   set-up: a counter clerk, a person unknown to the registry (admin API)');

  // The clerk: password once to add a passkey, then the passkey (level 3).
  const desk = await device(browser);
  await desk.page.goto(url('/account'));
  await desk.page.fill('#identifier', CLERK.id);
  await desk.page.fill('#password', CLERK.password);
  await Promise.all([desk.page.waitForNavigation(), desk.page.click('form[action="/login"] button[type=submit]')]);
  await addPasskey(desk.page, 'counter desk 窗口');
  await passkeyLogin(desk.ctx, desk.page);
  check('the clerk signs in with a passkey at level 3', (await level(desk.page)).startsWith('三级'), await level(desk.page));
  await desk.page.goto(url('/counter'));
  check('the counter page shows the clerk\'s form', (await desk.page.locator('form[action="/counter/verify"]').count()) === 1);
  await pages(desk.page, 'the counter page');
  await desk.page.fill('#hall', '鼓楼区政务服务中心 3号窗口');
  await desk.page.fill('#resident-id', PERSON.id);
  await desk.page.fill('#person-name', PERSON.name);
  await desk.page.check('#method-seen');
  await Promise.all([desk.page.waitForNavigation(), desk.page.click('form[action="/counter/verify"] button[type=submit]')]);
  const code = (await desk.page.locator('p.code strong').innerText().catch(() => '')).trim();
  check('the slip shows the person\'s one-time code', /^[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(code), code);
  await axe(desk.page, 'the printed slip [zh]', check);
  await miit(desk.page, 'the printed slip [zh]', check);

  // The person, on their own phone.
  const phone = await device(browser);
  await phone.page.goto(url('/enrol'));
  await pages(phone.page, 'the code page');
  await phone.page.fill('#resident-id', PERSON.id);
  await phone.page.fill('#code', code.toLowerCase());
  await Promise.all([phone.page.waitForNavigation(), phone.page.click('form[action="/enrol"] button[type=submit]')]);
  const whose = await phone.page.locator('main').innerText();
  check('the code opens the passkey enrolment, naming whose account it is', whose.includes(PERSON.name) && (await phone.page.locator('#passkey-enrol').isVisible()), whose.slice(0, 200));
  await axe(phone.page, 'the passkey enrolment page [zh]', check);
  await miit(phone.page, 'the passkey enrolment page [zh]', check);
  check('no session is made by the code', !(await phone.ctx.cookies()).some((c) => c.name === '__Host-tongban-session'));
  await phone.page.fill('#passkey-name', '我的手机');
  await Promise.all([phone.page.waitForNavigation(), phone.page.locator('#passkey-enrol button[type=submit]').click()]);
  check('the first passkey is added', (await phone.page.locator('main [role=status]').count()) === 1, (await phone.page.locator('main').innerText()).slice(0, 200));
  await passkeyLogin(phone.ctx, phone.page);
  check('the person logs in alone with the new passkey at level 3', (await level(phone.page)).startsWith('三级'), await level(phone.page));

  await assisted(desk, phone, { clerkId: clerk.id, personId: person.id, portal });
  await newPassword(browser, desk);
  await desk.ctx.close();
  await phone.ctx.close();
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

async function assisted(desk, phone, { clerkId, personId, portal }) {
  await desk.page.goto(url('/counter'));
  await desk.page.fill('#s-hall', HALL);
  await desk.page.fill('#s-resident-id', PERSON.id);
  await desk.page.fill('#s-name', PERSON.name);
  await Promise.all([desk.page.waitForNavigation(), desk.page.click('form[action="/counter/assist"] button[type=submit]')]);
  const code = (await desk.page.locator('p.code strong').innerText().catch(() => '')).replace(/\s/g, '');
  check('the clerk gets a six-digit code to read out', /^[0-9]{6}$/.test(code), code);
  await axe(desk.page, 'the assisted session code [zh]', check);
  await miit(desk.page, 'the assisted session code [zh]', check);
  const follow = await desk.page.locator('a[href^="/counter/assist/"]').getAttribute('href');
  await desk.page.goto(url(follow));
  await pages(desk.page, 'the assisted session, waiting');

  // On the person's phone: the request, and the code typed.
  await phone.page.goto(url('/account'));
  const asked = await phone.page.locator('#h-assists').locator('..').innerText().catch(() => '');
  check('the person\'s account page shows the clerk\'s request', asked.includes(CLERK.name) && asked.includes(HALL), asked.slice(0, 200));
  await pages(phone.page, 'the account page with a request');
  await phone.page.locator('form[action="/account/assist"] input[name=code]').fill(code);
  await Promise.all([phone.page.waitForNavigation(), phone.page.click('form[action="/account/assist"] button[type=submit]')]);
  check('the person agrees', (await phone.page.locator('main [role=status]').count()) >= 1, (await phone.page.locator('main').innerText()).slice(0, 200));
  await desk.page.goto(url(follow));
  await pages(desk.page, 'the assisted session, in progress');

  // At the portal, with openid-client: the clerk acts for the person.
  const config = await client.discovery(new URL(base), portal.client_id, portal.client_secret, undefined, {
    execute: [client.allowInsecureRequests],
  });
  const verifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const state = client.randomState();
  const href = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope: 'openid profile', state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  }).href;
  await desk.page.goto(href);
  const choice = await desk.page.locator('main').innerText();
  check('the clerk is asked whom the login is for, the person among the choices', choice.includes(PERSON.name), choice.slice(0, 200));
  await desk.page.locator('input[name=choice]').nth(1).check();
  const back = await caughtRedirect(desk.page, () => desk.page.click('form[action="/authorize/act"] button[type=submit]'));
  check('back at the portal with a code', back && new URL(back).searchParams.has('code'), back);
  const tokens = await client.authorizationCodeGrant(config, new URL(back), {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
  });
  const claims = tokens.claims();
  check('openid-client: the ID token names the person as sub', claims.sub === personId, JSON.stringify(claims));
  check('openid-client: act.sub names the clerk (RFC 8693), with his name', claims.act?.sub === clerkId && claims.act?.name === CLERK.name, JSON.stringify(claims.act));

  await phone.page.goto(url('/account'));
  const listed = await phone.page.locator('#h-visits').locator('..').innerText().catch(() => '');
  check('the person\'s account page lists the help, with the clerk', listed.includes(CLERK.name) && listed.includes(HALL), listed.slice(0, 300));
}

async function newPassword(browser, desk) {
  await desk.page.goto(url('/counter'));
  await desk.page.fill('#hall', HALL);
  await desk.page.fill('#resident-id', PERSON.id);
  await desk.page.fill('#person-name', PERSON.name);
  await desk.page.check('#method-reader');
  await desk.page.check('#new-password');
  await Promise.all([desk.page.waitForNavigation(), desk.page.click('form[action="/counter/verify"] button[type=submit]')]);
  const code = (await desk.page.locator('p.code strong').innerText().catch(() => '')).trim();
  check('the slip shows a code for a new password', /^[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(code), code);
  const other = await browser.newContext({ bypassCSP: true });
  const page = await other.newPage();
  page.setDefaultTimeout(15000);
  await page.goto(url('/enrol'));
  await page.fill('#resident-id', PERSON.id);
  await page.fill('#code', code);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/enrol"] button[type=submit]')]);
  check('the code opens the new password form, naming whose account it is', (await page.locator('form[action="/enrol/password"]').count()) === 1 && (await page.locator('main').innerText()).includes(PERSON.name));
  await axe(page, 'the new password page [zh]', check);
  await miit(page, 'the new password page [zh]', check);
  const fresh = 'sun qi chose a new long passphrase';
  await page.fill('#new', fresh);
  await page.fill('#confirm', fresh);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/enrol/password"] button[type=submit]')]);
  check('the new password is set', (await page.locator('main [role=status]').count()) === 1, (await page.locator('main').innerText()).slice(0, 200));
  await axe(page, 'the new password done page [zh]', check);
  await page.goto(url('/account'));
  await page.fill('#identifier', PERSON.id);
  await page.fill('#password', fresh);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/login"] button[type=submit]')]);
  check('the person signs in with the new password', (await page.locator('#h-profile').count()) === 1, (await page.locator('main').innerText()).slice(0, 200));
  await other.close();
}

await inChromium(chromium, 'counter', { check, finish }, run);
