// Certificates in the console (/console/certificates), in Chromium (npm playwright-core),
// as a department's staff use it: a department administrator who also issues signs in
// with a passkey (level 3), makes the seal that will sign, defines a type with the field
// editor, issues one certificate from the generated form (a wrong date is shown beside
// its field), uploads a 2 000-row CSV with 20 bad rows and watches the progress bar reach
// 100 %, downloads the 20 refused rows, corrects them and uploads them again, finds a
// certificate with a purpose and revokes it after the confirmation, reads the overview's
// chart of what was issued, and finds it all in the audit trail. axe-core (WCAG 2.1
// A/AA) and the MIIT numbers on each page in zh-CN and English, standard and care mode;
// screenshots under $TONGBAN_ARTEFACTS.
//
// Usage: node tests/interop/console_certificates.mjs BASE_URL DATABASE_URL [TONGBAN_BINARY]
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { adminApi } from './admin_api.mjs';
import { axe, checks, inChromium, miit } from './page_checks.mjs';

const [base, databaseUrl, binaryArg] = process.argv.slice(2);
if (!base || !databaseUrl) {
  console.error('usage: node tests/interop/console_certificates.mjs BASE_URL DATABASE_URL [TONGBAN_BINARY]');
  process.exit(2);
}
const binary = binaryArg || process.env.TONGBAN_BIN || 'target/debug/tongban';
const url = (path) => new URL(path, base).href;
const artefacts = process.env.TONGBAN_ARTEFACTS || fileURLToPath(new URL('../../target/interop-artefacts/', import.meta.url));
mkdirSync(artefacts, { recursive: true });

const ISSUER = { name: '林发证', id: '350102197204150036', password: 'lin keeps a long passphrase for work' };
const USCC = '11350100MB0366123H';
const CODE = `${USCC}001`;
const MODES = ['zh', 'en', 'zh-care', 'en-care'];
const ROWS = 2000;
const BAD = 20;

const { check, finish } = checks();

// A resident ID number (GB 11643, check character ISO 7064 MOD 11-2) for holder `i`.
function residentId(i) {
  const day = String(1 + Math.floor(i / 999)).padStart(2, '0');
  const body = `35010219900${3}${day}${String((i % 999) + 1).padStart(3, '0')}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((s, c, k) => s + Number(c) * weights[k], 0);
  return body + '10X98765432'[sum % 11];
}

async function everyMode(page, label, shot, reach) {
  const path = new URL(page.url()).pathname + new URL(page.url()).search;
  for (const mode of MODES) {
    await page.goto(url(`/prefs?set=${mode}&back=${encodeURIComponent(path)}`));
    if (reach) await reach();
    await axe(page, `${label} [${mode}]`, check);
    await miit(page, `${label} [${mode}]`, check);
    await page.screenshot({ path: `${artefacts}/console-certificates-${shot}-${mode}.png`, fullPage: true });
  }
  await page.goto(url(`/prefs?set=zh&back=${encodeURIComponent(path)}`));
}

// axe, MIIT and a screenshot of the page as it is (a page that answers a form).
async function thisPage(page, label, shot) {
  await axe(page, `${label} [zh]`, check);
  await miit(page, `${label} [zh]`, check);
  await page.screenshot({ path: `${artefacts}/console-certificates-${shot}-zh.png`, fullPage: true });
}

async function downloaded(page, selector) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const chunks = await (await download.createReadStream()).toArray();
  return Buffer.concat(chunks).toString('utf8');
}

// Uploads `csv` on the batch page and follows the job to its end, sampling the bar.
async function runBatch(page, csv, name) {
  await page.setInputFiles('#csv', { name, mimeType: 'text/csv', buffer: Buffer.from(csv, 'utf8') });
  await Promise.all([page.waitForNavigation(), page.click('form[enctype="multipart/form-data"] button[type=submit]')]);
  const jobPath = new URL(page.url()).pathname;
  const seen = [];
  for (let i = 0; i < 600; i += 1) {
    const bar = page.locator('#job-progress');
    const value = Number(await bar.getAttribute('value').catch(() => '0'));
    const max = Number(await bar.getAttribute('max').catch(() => '0'));
    if (seen.length === 0 || seen[seen.length - 1] !== value) seen.push(value);
    if ((await bar.getAttribute('data-done').catch(() => 'no')) === 'yes' && value === max) {
      return { jobPath, seen, max };
    }
    await page.waitForTimeout(200);
  }
  throw new Error(`the batch at ${jobPath} did not finish; bar values seen: ${seen}`);
}

async function run(browser) {
  const admin = await adminApi(base, databaseUrl, binary, 'Console certificates interop admin');
  const staff = await admin.post('/api/v1/admin/persons', { name: ISSUER.name, resident_id: ISSUER.id, password: ISSUER.password });
  await admin.post('/api/v1/admin/registry', { entries: [{ name: ISSUER.name, resident_id: ISSUER.id }] });
  const department = await admin.post('/api/v1/admin/departments', { name: '福建省药品监督管理局', uscc: USCC, level: 'province' });
  await admin.post(`/api/v1/admin/departments/${department.id}/staff`, { subject_id: staff.id, staff_number: 'GL-001', roles: ['dept-admin', 'issuer', 'seal-admin'] });

  const ctx = await browser.newContext({ bypassCSP: true, acceptDownloads: true });
  const page = await ctx.newPage();
  page.setDefaultTimeout(15000);
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  await page.goto(url('/account'));
  await page.fill('#identifier', ISSUER.id);
  await page.fill('#password', ISSUER.password);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/login"] button[type=submit]')]);
  await page.fill('#passkey-name', 'issuing desk');
  await Promise.all([page.waitForNavigation(), page.locator('#passkey-enrol button[type=submit]').click()]);
  await ctx.clearCookies();
  await page.goto(url('/account'));
  await Promise.all([page.waitForNavigation(), page.locator('#passkey-login button[type=submit]').click()]);

  // The seal that will sign what the department issues.
  await page.goto(url('/console/seals'));
  await page.fill('#seal-name', '福建省药品监督管理局电子证照专用章');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/console/seals"] button[type=submit]')]);
  check('the signing seal is created', (await page.locator('main').innerText()).includes('印章已创建'), page.url());

  // The type, with the field editor.
  await page.goto(url('/console'));
  await Promise.all([page.waitForNavigation(), page.click('a[href="/console/certificates"]')]);
  check('no type yet', (await page.locator('main').innerText()).includes('尚未定义'));
  await Promise.all([page.waitForNavigation(), page.click('a[href^="/console/certificates/types/new"]')]);
  await everyMode(page, 'the field editor', 'type');
  await page.fill('#t-name-zh', '食品经营许可证');
  await page.fill('#t-name-en', 'Food business licence');
  await page.fill('#t-sequence', '001');
  await page.fill('#t-validity', '1825');
  const rows = [
    ['licence_no', '许可证编号', 'text', true, ''],
    ['issued_on', '发证日期', 'date', true, ''],
    ['grade', '等级', 'choice', false, 'A级，B级'],
  ];
  for (const [n, [name, title, kind, required, options]] of rows.entries()) {
    await page.fill(`#fname-${n}`, name);
    await page.fill(`#ftitle-${n}`, title);
    await page.selectOption(`#fkind-${n}`, kind);
    if (options) await page.fill(`#foptions-${n}`, options);
    if (required) await page.check(`#frequired-${n}`);
  }
  // The pasted schema is checked as it is typed (console.js), then emptied again.
  await page.click('details summary');
  await page.fill('#schema', '{"type": "object",');
  const live = await page.locator('#schema-check').innerText();
  check('a pasted schema is checked as JSON while typed', live.includes('不正确'), live);
  await page.fill('#schema', '');
  await Promise.all([page.waitForNavigation(), page.click('button[name=step][value=check]')]);
  const preview = await page.locator('#h-preview + div').innerText().catch(() => '');
  check('"Check" shows the JSON Schema the rows write', preview.includes('"licence_no"') && preview.includes('"format": "date"') && preview.includes('B级'), preview.slice(0, 300));
  await thisPage(page, 'the field editor with its schema', 'type-checked');
  await Promise.all([page.waitForNavigation(), page.click('button[name=step][value=define]')]);
  const list = await page.locator('main').innerText();
  check('the type is defined and listed with its code', list.includes('证照类型已定义') && list.includes(CODE), list.slice(0, 400));
  await everyMode(page, 'the certificates page', 'list');

  // One certificate from the generated form.
  await Promise.all([page.waitForNavigation(), page.click(`a[href^="/console/certificates/issue/${CODE}"]`)]);
  await everyMode(page, 'the issuance form', 'issue');
  await page.fill('#holder-number', residentId(0));
  await page.fill('#holder-name', '持证人0');
  await page.fill('#f-licence_no', 'JY13501020000000');
  await page.evaluate(() => { document.getElementById('f-issued_on').type = 'text'; });
  await page.fill('#f-issued_on', '2026-13-01');
  await page.selectOption('#f-grade', 'A级');
  await Promise.all([page.waitForNavigation(), page.click('main form button[type=submit]')]);
  const wrong = await page.locator('#f-issued_on-error').innerText().catch(() => '');
  check('a wrong date is refused, the error beside its field', wrong.length > 0 && (await page.locator('#f-issued_on[aria-invalid=true]').count()) === 1, wrong);
  await thisPage(page, 'the issuance form with an error', 'issue-error');
  await page.evaluate(() => { document.getElementById('f-issued_on').type = 'text'; });
  await page.fill('#f-issued_on', '2026-12-04');
  await Promise.all([page.waitForNavigation(), page.click('main form button[type=submit]')]);
  const issued = await page.locator('main').innerText();
  check('the certificate is issued, its number shown', issued.includes('证照已签发') && issued.includes('持证人0'), issued.slice(0, 300));
  await thisPage(page, 'the issued certificate', 'issued');

  // A batch of 2 000 rows, 20 of them with an impossible date.
  await page.goto(url('/console/certificates'));
  await Promise.all([page.waitForNavigation(), page.click(`a[href^="/console/certificates/batch/${CODE}"]`)]);
  await everyMode(page, 'the batch page', 'batch');
  const template = await downloaded(page, 'a[href$="/template.csv"]');
  const columns = template.replace(/^\uFEFF/, '').trim().split(',');
  check('the template names the holder and the type\'s fields', columns[0] === 'id_number' && columns.includes('licence_no') && columns.includes('issued_on'), template);
  const bad = new Set(Array.from({ length: BAD }, (_, k) => 7 + k * 97));
  const lines = [template.replace(/^\uFEFF/, '').trim()];
  for (let i = 1; i <= ROWS; i += 1) {
    lines.push(columns.map((c) => ({
      id_number: residentId(i),
      name: `持证人${i}`,
      licence_no: `JY${String(13501020000000 + i).padStart(14, '0')}`,
      issued_on: bad.has(i) ? '2026-13-01' : '2026-12-01',
      grade: i % 2 ? 'A级' : 'B级',
    })[c] ?? '').join(','));
  }
  const first = await runBatch(page, `${lines.join('\n')}\n`, 'licences.csv');
  check(`the progress bar reaches 100 % (values seen: ${first.seen.join(' → ')} of ${first.max})`, first.max === ROWS && first.seen[first.seen.length - 1] === ROWS);
  const summary = await page.locator('#job-summary').innerText();
  check(`the job issued ${ROWS - BAD} and refused ${BAD}`, summary.includes(`签发 ${ROWS - BAD} 张`) && summary.includes(`退回 ${BAD} 行`), summary);
  await everyMode(page, 'the finished batch', 'job');
  const errors = await downloaded(page, 'a[href$="/errors.csv"]');
  const errorLines = errors.trim().split('\n');
  check(`the error file holds the ${BAD} refused rows, each with why`, errorLines.length === BAD + 1 && errorLines[0].endsWith('#errors') && errorLines[1].includes('issued_on'), errors.slice(0, 300));
  await Promise.all([page.waitForNavigation(), page.click('a[href^="/console/certificates/batch/"]')]);
  const second = await runBatch(page, `${errors.replaceAll('2026-13-01', '2026-12-02')}`, 'fixed.csv');
  const fixed = await page.locator('#job-summary').innerText();
  check('the corrected rows are issued on upload', second.max === BAD && fixed.includes(`签发 ${BAD} 张`) && fixed.includes('退回 0 行'), fixed);

  // Found with a purpose, revoked after the confirmation.
  await page.goto(url('/console/certificates'));
  await page.fill('#q', residentId(5));
  await page.fill('#purpose', '日常监督检查');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/console/certificates"] button[type=submit]')]);
  const found = await page.locator('table:has(#found-caption)').innerText().catch(() => '');
  check('the holder\'s certificate is found', found.includes('持证人5') && found.includes('有效'), found.slice(0, 300));
  await everyMode(page, 'the lookup', 'found');
  const askRevoke = () => Promise.all([page.waitForNavigation(), page.click('form input[name=change][value=revoke] ~ button')]);
  await everyMode(page, 'the revocation confirmation', 'revoke', askRevoke);
  await askRevoke();
  await page.fill('#reason', '经营者申请注销');
  await Promise.all([page.waitForNavigation(), page.click('main form button[type=submit]')]);
  check('after confirming, the certificate is revoked, said in words', (await page.locator('[role=status]').innerText().catch(() => '')).includes('证照已撤销'));

  // The department head's overview: today's bar holds every certificate issued above
  // (one from the form, the batch's rows and the corrected ones).
  const issuedToday = 1 + ROWS;
  await page.goto(url('/console'));
  await Promise.all([page.waitForNavigation(), page.click('a[href="/console/overview"]')]);
  // The numbers are wrapped in Unicode isolates (U+2068 … U+2069) for bidi text.
  const issuedSummary = (await page.locator('#issued-summary').innerText()).replace(/[\u2068\u2069]/g, '');
  const issuedBars = await page.locator('section:has(#issued-title) svg rect').count();
  await page.click('section:has(#issued-title) summary');
  const totals = await page.locator('section:has(#issued-title) tbody tr td:last-child').allInnerTexts();
  const tableTotal = totals.reduce((sum, cell) => sum + Number(cell), 0);
  check(`the overview's chart of issuance shows today's ${issuedToday}, its table too`, issuedSummary.includes(`30 天合计 ${issuedToday}`) && issuedBars >= 1 && issuedBars <= 2 && tableTotal === issuedToday, `${issuedSummary} | ${issuedBars} bar(s) | table ${tableTotal}`);
  await everyMode(page, 'the overview', 'overview');

  // Thousands of issuances later, the trail still finds the type's definition by its action.
  await page.goto(url('/console/audit?action=ecert.type_defined'));
  const defined = await page.locator('table').innerText().catch(() => '');
  check('the audit trail holds the type\'s definition', defined.includes('ecert.type_defined') && defined.includes(CODE), defined.slice(0, 300));
  await page.goto(url('/console/audit?action=ecert.revoked'));
  const trail = await page.locator('table').innerText().catch(() => '');
  check('and the revocation', trail.includes('ecert.revoked'), trail.slice(0, 300));
  const exported = await downloaded(page, 'a[href^="/console/audit/export"]');
  check('and exports them', exported.includes('ecert.revoked'), exported.slice(0, 200));
  await ctx.close();
}

await inChromium(chromium, 'console certificates', { check, finish }, run);
