// The console (/console), in Chromium (npm playwright-core), page by page: a platform
// administrator (granted with `tongban admin platform-admin`) who is also a department
// administrator signs in (a password login is asked to step up; a passkey gives level 3),
// opens the desk, creates a city department and its staff and takes a role away after
// the confirmation, creates a seal and suspends it after the confirmation, registers a
// client and disables it, reads the audit trail with filters and downloads it as CSV,
// finds a person and deactivates them after the confirmation page, reactivates them and
// resets their forgotten password, imports the identity registry after its preview, and
// reads the logout notices and the overview. (The work of a department told by its
// five people, one role each, is console_story.mjs.) axe-core (WCAG 2.1 A/AA) and the
// MIIT numbers on every console page in zh-CN and English, standard and care mode; a
// keyboard-only walk of the audit page. A screenshot of each page is kept under
// $TONGBAN_ARTEFACTS (default target/interop-artefacts).
//
// Usage: node tests/interop/console.mjs BASE_URL DATABASE_URL [TONGBAN_BINARY]
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { adminApi } from './admin_api.mjs';
import { pageChecks } from './console_parts.mjs';
import { axe, checks, inChromium, keyboardWalk, miit } from './page_checks.mjs';

const [base, databaseUrl, binaryArg] = process.argv.slice(2);
if (!base || !databaseUrl) {
  console.error('usage: node tests/interop/console.mjs BASE_URL DATABASE_URL [TONGBAN_BINARY]');
  process.exit(2);
}
const binary = binaryArg || process.env.TONGBAN_BIN || 'target/debug/tongban';
const url = (path) => new URL(path, base).href;
const artefacts = process.env.TONGBAN_ARTEFACTS || fileURLToPath(new URL('../../target/interop-artefacts/', import.meta.url));
mkdirSync(artefacts, { recursive: true });

const ADMIN = { name: '钱管理', id: '110101196203070012', password: 'the administrator keeps a long passphrase' };
const CITIZEN = { name: '吴八', id: '110101198807070020', password: 'wu ba remembers this one' };

const { check, finish } = checks();
const { everyMode } = pageChecks(base, artefacts, 'console', check);

async function run(browser) {
  const admin = await adminApi(base, databaseUrl, binary, 'Console interop admin');
  const staff = await admin.post('/api/v1/admin/persons', { name: ADMIN.name, resident_id: ADMIN.id, password: ADMIN.password });
  const citizen = await admin.post('/api/v1/admin/persons', { name: CITIZEN.name, resident_id: CITIZEN.id, password: CITIZEN.password });
  await admin.post('/api/v1/admin/registry', { entries: [{ name: ADMIN.name, resident_id: ADMIN.id }] });
  const department = await admin.post('/api/v1/admin/departments', { name: '福建省市场监督管理局', uscc: '11350000003592744G', level: 'province' });
  await admin.post(`/api/v1/admin/departments/${department.id}/staff`, { subject_id: staff.id, staff_number: 'FJ-001', roles: ['dept-admin', 'seal-admin', 'seal-user'] });
  const granted = execFileSync(binary, ['admin', 'platform-admin', '--resident-id', ADMIN.id], {
    env: { ...process.env, TONGBAN_DATABASE_URL: databaseUrl }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  });
  check('the operator makes a platform administrator with the CLI', granted.includes('platform administrator'), granted);

  const ctx = await browser.newContext({ bypassCSP: true, acceptDownloads: true });
  const page = await ctx.newPage();
  page.setDefaultTimeout(15000);
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });

  // Not signed in: the console sends to the account page, which asks to sign in.
  await page.goto(url('/console'));
  check('signed out, /console leads to the login form', new URL(page.url()).pathname === '/account' && (await page.locator('#identifier').count()) === 1, page.url());
  await page.fill('#identifier', ADMIN.id);
  await page.fill('#password', ADMIN.password);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/login"] button[type=submit]')]);
  await page.goto(url('/console'));
  const stepUp = await page.locator('main').innerText();
  check('after a password login (level 2) the desk asks for a stronger sign-in to manage people', stepUp.includes('请重新登录'), stepUp.slice(0, 300));
  await page.goto(url('/account'));
  await page.fill('#passkey-name', 'console desk');
  await Promise.all([page.waitForNavigation(), page.locator('#passkey-enrol button[type=submit]').click()]);
  await ctx.clearCookies();
  await page.goto(url('/account'));
  await Promise.all([page.waitForNavigation(), page.locator('#passkey-login button[type=submit]').click()]);

  await page.goto(url('/console'));
  const desk = await page.locator('main').innerText();
  check('the desk names the department and the roles, with the trail and people', desk.includes('福建省市场监督管理局') && desk.includes('部门管理员') && (await page.locator('a[href="/console/people"]').count()) === 1, desk.slice(0, 300));
  await everyMode(page, 'the console desk', 'desk');

  // Departments: a city department under the province, and its staff.
  await page.click('a[href="/console/departments"]');
  await page.fill('#d-name', '福州市市场监督管理局');
  await page.fill('#d-uscc', '11350100003592751D');
  await page.selectOption('#d-level', 'city');
  await page.selectOption('#d-parent', department.id);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/console/departments"] button[type=submit]')]);
  const tree = await page.locator('table').innerText().catch(() => '');
  check('a city department is created under the province', tree.includes('福州市市场监督管理局') && (await page.locator('[role=status]').count()) === 1, tree.slice(0, 300));
  await everyMode(page, 'the departments', 'departments');
  await Promise.all([page.waitForNavigation(), page.click('a[aria-label*="福州市"]')]);
  await page.fill('#s-resident-id', ADMIN.id);
  await page.fill('#s-name', ADMIN.name);
  await page.fill('#s-number', 'FZ-001');
  await page.check('#role-issuer');
  await page.check('#role-seal-user');
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/staff"] button[type=submit]')]);
  const members = await page.locator('table').innerText().catch(() => '');
  check('a staff member is added with two roles', members.includes('FZ-001') && members.includes('签发电子证照') && members.includes('使用印章'), members.slice(0, 300));
  await everyMode(page, 'the staff of a department', 'staff');
  const staffPath = new URL(page.url()).pathname;
  const askRemoval = async () => {
    await page.goto(url(staffPath));
    await page.selectOption('form[action$="/remove"] select', 'seal-user');
    await Promise.all([page.waitForNavigation(), page.click('form[action$="/remove"] button[type=submit]')]);
  };
  await everyMode(page, 'the removal confirmation', 'remove', askRemoval);
  await askRemoval();
  await Promise.all([page.waitForNavigation(), page.click('main form button[type=submit]')]);
  const left = await page.locator('table').innerText().catch(() => '');
  check('after confirming, the role is taken away and the other stays', left.includes('签发电子证照') && !left.includes('使用印章'), left.slice(0, 300));

  // Seals: a new contract seal, suspended after a confirmation.
  await page.goto(url('/console'));
  await page.click('a[href="/console/seals"]');
  await page.fill('#seal-name', '福建省市场监督管理局合同专用章');
  await page.selectOption('#seal-kind', 'contract');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/console/seals"] button[type=submit]')]);
  const sealPath = new URL(page.url()).pathname;
  check('a seal is created, with its own certificate', (await page.locator('main').innerText()).includes('印章已创建') && sealPath.startsWith('/console/seals/'), page.url());
  await page.goto(url('/console/seals'));
  await everyMode(page, 'the seals', 'seals');
  const askSuspend = async () => {
    await page.goto(url(sealPath));
    await page.selectOption('#seal-status', 'suspended');
    await page.fill('#seal-reason', '年度盘点');
    await Promise.all([page.waitForNavigation(), page.click('form[action$="/status"] button[type=submit]')]);
  };
  await everyMode(page, 'the status confirmation', 'seal-status', askSuspend);
  await askSuspend();
  await Promise.all([page.waitForNavigation(), page.click('main form button[type=submit]')]);
  check('after confirming, the seal is suspended', (await page.locator('main').innerText()).includes('已暂停'));

  // Clients: a department's system registered (its secret shown once), then disabled.
  await page.goto(url('/console'));
  await page.click('a[href="/console/clients"]');
  await page.fill('#c-name', '福建省证照业务系统');
  await page.check('#c-system');
  await page.fill('#c-scopes', 'seal:use');
  await page.selectOption('#c-department', department.id);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/console/clients"] button[type=submit]')]);
  const secret = (await page.locator('#client-secret').innerText().catch(() => '')).trim();
  check('a client is registered, its secret shown once', secret.length > 20);
  await axe(page, 'the client secret page [zh]', check);
  await miit(page, 'the client secret page [zh]', check);
  await page.screenshot({ path: `${artefacts}/console-client-secret-zh.png`, fullPage: true });
  await page.goto(url('/console/clients'));
  await everyMode(page, 'the clients', 'clients');
  const clientRow = page.locator('tr', { hasText: '福建省证照业务系统' });
  const askDisable = async () => {
    await page.goto(url('/console/clients'));
    await Promise.all([page.waitForNavigation(), clientRow.locator('form[action$="/disable"] button').click()]);
  };
  await everyMode(page, 'the client confirmation', 'client-confirm', askDisable);
  await askDisable();
  await Promise.all([page.waitForNavigation(), page.click('main form button[type=submit]')]);
  check('after confirming, the client is disabled, said in words', (await page.locator('[role=status]').innerText().catch(() => '')).includes('已停用'));

  await page.goto(url('/console'));
  await page.click('a[href="/console/audit"]');
  await page.fill('#action', 'staff.*');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/console/audit"] button[type=submit]')]);
  const trail = await page.locator('table').innerText().catch(() => '');
  check('the audit trail, filtered by action, shows the staff change of the department', trail.includes('staff.added') && !trail.includes('client.created'), trail.slice(0, 300));
  await everyMode(page, 'the audit trail', 'audit');
  await keyboardWalk(page, 'the audit trail', check);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('a[href^="/console/audit/export"]')]);
  const csv = await (await download.createReadStream()).toArray().then((chunks) => Buffer.concat(chunks).toString('utf8'));
  check('the export is CSV of the same events', csv.startsWith('id,occurred_at,actor,action') && csv.includes('staff.added') && !csv.includes('client.created'), csv.slice(0, 200));

  await page.goto(url('/console/people'));
  await page.fill('#q', CITIZEN.name);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/console/people"] button[type=submit]')]);
  const found = await page.locator('table').innerText().catch(() => '');
  check('people: found by name, the ID number masked', found.includes(CITIZEN.name) && found.includes('110101********0020') && !found.includes(CITIZEN.id), found.slice(0, 300));
  await everyMode(page, 'the people page', 'people');
  const ask = () => Promise.all([page.waitForNavigation(), page.click(`form[action="/console/people/${citizen.id}/deactivate"] button[type=submit]`)]);
  // The confirmation page answers a form: each mode posts it again from the list.
  await everyMode(page, 'the confirmation page', 'confirm', ask);
  await ask();
  const question = await page.locator('main').innerText();
  check('deactivating asks first, naming the person', question.includes('确定停用') && question.includes(CITIZEN.name), question.slice(0, 300));
  await Promise.all([page.waitForNavigation(), page.click('main form button[type=submit]')]);
  const done = await page.locator('main').innerText();
  check('after confirming: deactivated, said in words', done.includes('已停用') && (await page.locator('[role=status]').count()) >= 1, done.slice(0, 300));

  const other = await browser.newContext({ bypassCSP: true });
  const theirs = await other.newPage();
  await theirs.goto(url('/account'));
  await theirs.fill('#identifier', CITIZEN.id);
  await theirs.fill('#password', CITIZEN.password);
  await Promise.all([theirs.waitForNavigation(), theirs.click('form[action="/login"] button[type=submit]')]);
  check('a deactivated person cannot sign in', (await theirs.locator('form[action="/account/sessions/end-all"]').count()) === 0);
  await Promise.all([page.waitForNavigation(), page.click(`form[action="/console/people/${citizen.id}/reactivate"] button[type=submit]`)]);
  await Promise.all([page.waitForNavigation(), page.click('main form button[type=submit]')]);
  await theirs.goto(url('/account'));
  await theirs.fill('#identifier', CITIZEN.id);
  await theirs.fill('#password', CITIZEN.password);
  await Promise.all([theirs.waitForNavigation(), theirs.click('form[action="/login"] button[type=submit]')]);
  check('reactivated, they sign in again', (await theirs.locator('form[action="/account/sessions/end-all"]').count()) === 1);
  await other.close();

  // The citizen forgot the password: a one-time password, shown once, that works.
  await page.goto(url(`/console/people?q=${encodeURIComponent(CITIZEN.name)}`));
  const askReset = () => Promise.all([page.waitForNavigation(), page.click(`form[action="/console/people/${citizen.id}/password-reset"] button[type=submit]`)]);
  await everyMode(page, 'the password reset confirmation', 'reset-confirm', askReset);
  await askReset();
  await Promise.all([page.waitForNavigation(), page.click('main form button[type=submit]')]);
  const temporary = (await page.locator('p.secret code').innerText()).trim();
  await axe(page, 'the one-time password page [zh]', check);
  await miit(page, 'the one-time password page [zh]', check);
  await page.screenshot({ path: `${artefacts}/console-reset-done-zh.png`, fullPage: true });
  const reset = await browser.newContext({ bypassCSP: true });
  const citizenPage = await reset.newPage();
  await citizenPage.goto(url('/account'));
  await citizenPage.fill('#identifier', CITIZEN.id);
  await citizenPage.fill('#password', temporary);
  await Promise.all([citizenPage.waitForNavigation(), citizenPage.click('form[action="/login"] button[type=submit]')]);
  check('the one-time password opens no session, only the choice of their own password', temporary.length >= 12
    && (await citizenPage.locator('form[action="/enrol/password"]').count()) === 1 && (await citizenPage.locator('form[action="/account/sessions/end-all"]').count()) === 0, temporary);
  await axe(citizenPage, 'the new password form after a one-time password [zh]', check);
  await miit(citizenPage, 'the new password form after a one-time password [zh]', check);
  await citizenPage.screenshot({ path: `${artefacts}/console-reset-choose-zh.png`, fullPage: true });
  const chosen = 'wu ba chose this one herself';
  await citizenPage.fill('#new', chosen);
  await citizenPage.fill('#confirm', chosen);
  await Promise.all([citizenPage.waitForNavigation(), citizenPage.click('form[action="/enrol/password"] button[type=submit]')]);
  await citizenPage.goto(url('/account'));
  await citizenPage.fill('#identifier', CITIZEN.id);
  await citizenPage.fill('#password', chosen);
  await Promise.all([citizenPage.waitForNavigation(), citizenPage.click('form[action="/login"] button[type=submit]')]);
  check('and with the password they chose, they are signed in', (await citizenPage.locator('form[action="/account/sessions/end-all"]').count()) === 1);
  await reset.close();

  // The identity registry: a file read and previewed, then imported.
  await page.goto(url('/console/registry'));
  await everyMode(page, 'the registry import', 'registry');
  await page.setInputFiles('#csv', { name: 'registry.csv', mimeType: 'text/csv', buffer: Buffer.from(`name,resident_id\n${CITIZEN.name},${CITIZEN.id}\n新来的,110101198501010025\n`) });
  await Promise.all([page.waitForNavigation(), page.click('form[action="/console/registry"] button[type=submit]')]);
  const previewed = await page.locator('#preview-summary').innerText().catch(() => '');
  check('the registry file is previewed line by line before anything is written', previewed.includes('共 2 行') && previewed.includes('新增 2 行'), previewed);
  await axe(page, 'the registry preview [zh]', check);
  await miit(page, 'the registry preview [zh]', check);
  await page.screenshot({ path: `${artefacts}/console-registry-preview-zh.png`, fullPage: true });
  await Promise.all([page.waitForNavigation(), page.click('form[action="/console/registry/import"] button[type=submit]')]);
  check('and imported', (await page.locator('[role=status]').innerText().catch(() => '')).includes('已导入 2 条'));

  // The logout notices sent to portals, and the platform's overview.
  await page.goto(url('/console/deliveries'));
  await everyMode(page, 'the logout notices', 'deliveries');
  await page.goto(url('/console/overview'));
  await everyMode(page, 'the platform overview', 'overview');

  await page.goto(url('/console/audit?action=person.*'));
  const recorded = await page.locator('table').innerText().catch(() => '');
  check('the trail holds the deactivation, the reactivation and the reset', recorded.includes('person.deactivated') && recorded.includes('person.reactivated') && recorded.includes('person.password_reset'), recorded.slice(0, 300));
  await ctx.close();
}

await inChromium(chromium, 'console', { check, finish }, run);
