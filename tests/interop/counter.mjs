// At the counter (线下窗口协办), in Chromium (npm playwright-core) with CDP virtual
// authenticators: a clerk (staff with the counter role) signs in with a passkey, checks
// a person's ID card on /counter and prints a one-time code; on "their own phone" (a
// second browser context with its own authenticator) the person types the code on
// /enrol with their ID number, adds their first passkey there (the code makes no
// session), and then logs in alone with it at level 3 — though the identity registry does not know them. axe-core and the
// MIIT numbers on /counter, the printed slip and /enrol, in zh-CN and English, standard
// and care mode.
//
// Usage: node tests/interop/counter.mjs BASE_URL DATABASE_URL [TONGBAN_BINARY]
import { chromium } from 'playwright-core';
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
  await admin.post('/api/v1/admin/persons', { name: PERSON.name, resident_id: PERSON.id, password: PERSON.password });
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
  await desk.ctx.close();
  await phone.ctx.close();
}

await inChromium(chromium, 'counter', { check, finish }, run);
