// The console as one story, in Chromium (npm playwright-core), told by five people, each
// at their own browser with their own passkey (level 3):
//   郭建平, platform administrator: creates the provincial drug administration and adds
//     its staff, each with their role;
//   黄丽娟, its seal administrator: creates the seal that signs certificates and the
//     contract seal, uploads the contract seal's image and grants it to 郑伟;
//   林秀英, its department administrator: defines a certificate type with the field
//     editor, choosing the seal that signs;
//   陈志强, its issuer: issues one certificate from the generated form (a wrong date is
//     shown beside its field), uploads a 2 000-row CSV with 20 bad rows and watches the
//     progress bar reach 100 %, downloads the 20 refused rows, corrects and uploads them
//     again, finds a certificate with a purpose and revokes it after the confirmation;
//   郑伟, seal user: places the contract seal on page 2 of a PDF on its preview (pdf.js
//     under the page's strict CSP) and downloads it sealed (pdfsig and pyHanko judge it);
// then 林秀英 reads the department's overview, and 郭建平 finds every step in the audit
// trail, each by the person who took it, and exports it. What each person may not do
// is tried on the way (403). axe-core (WCAG 2.1 A/AA) and the MIIT numbers on each page
// in zh-CN and English, standard and care mode; screenshots under $TONGBAN_ARTEFACTS.
//
// The five have accounts already (created through the admin API, as the population
// registry would): the story starts where the console does.
//
// Usage: node tests/interop/console_story.mjs BASE_URL DATABASE_URL [TONGBAN_BINARY]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { adminApi } from './admin_api.mjs';
import { downloaded, MODES, ownDesk, pageChecks, ringPng, samplePdf, withCheck } from './console_parts.mjs';
import { axe, checks, inChromium, keyboardWalk, miit } from './page_checks.mjs';

const [base, databaseUrl, binaryArg] = process.argv.slice(2);
if (!base || !databaseUrl) {
  console.error('usage: node tests/interop/console_story.mjs BASE_URL DATABASE_URL [TONGBAN_BINARY]');
  process.exit(2);
}
const binary = binaryArg || process.env.TONGBAN_BIN || 'target/debug/tongban';
const url = (path) => new URL(path, base).href;
const artefacts = process.env.TONGBAN_ARTEFACTS || fileURLToPath(new URL('../../target/interop-artefacts/', import.meta.url));
mkdirSync(artefacts, { recursive: true });
const PYTHON = process.env.TONGBAN_INTEROP_PYTHON || 'tests/interop/.venv/bin/python';

const PLATFORM = { name: '郭建平', id: withCheck('35010219650302003'), password: 'guo keeps the platform passphrase' };
const HEAD = { name: '林秀英', id: withCheck('35010219700415002'), password: 'lin keeps a long passphrase for work', number: 'YJ-001', role: 'dept-admin' };
const ISSUER = { name: '陈志强', id: withCheck('35010219780611003'), password: 'chen issues licences all day long', number: 'YJ-002', role: 'issuer' };
const SEALS = { name: '黄丽娟', id: withCheck('35010219820923004'), password: 'huang keeps the seals locked away', number: 'YJ-003', role: 'seal-admin' };
const STAMPER = { name: '郑伟', id: withCheck('35010219881130005'), password: 'zheng stamps the contracts carefully', number: 'YJ-004', role: 'seal-user' };
const STAFF = [HEAD, ISSUER, SEALS, STAMPER];
const DEPARTMENT = '福建省药品监督管理局';
const USCC = '11350100MB0366123H';
const CODE = `${USCC}001`;
const CERT_SEAL = '福建省药品监督管理局电子证照专用章';
const CONTRACT_SEAL = '福建省药品监督管理局合同专用章';
const ROWS = 2000;
const BAD = 20;

const { check, finish } = checks();
const { everyMode, thisPage } = pageChecks(base, artefacts, 'console-story', check);

// Holder `i`'s resident ID number (born in March 1990).
const holderId = (i) => withCheck(`35010219900${3}${String(1 + Math.floor(i / 999)).padStart(2, '0')}${String((i % 999) + 1).padStart(3, '0')}`);

// The status code of a GET of `path` in `page`'s session.
const statusOf = async (page, path) => (await page.goto(url(path))).status();

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

// 郭建平 creates the department and adds its four staff, one role each.
async function platformAdministrator(page) {
  await page.goto(url('/console'));
  const desk = await page.locator('main').innerText();
  check('郭建平\'s desk: platform administration, no department of his own', (await page.locator('a[href="/console/departments"]').count()) === 1 && !desk.includes(DEPARTMENT), desk.slice(0, 300));
  await Promise.all([page.waitForNavigation(), page.click('a[href="/console/departments"]')]);
  await page.fill('#d-name', DEPARTMENT);
  await page.fill('#d-uscc', USCC);
  await page.selectOption('#d-level', 'province');
  await page.selectOption('#d-parent', '');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/console/departments"] button[type=submit]')]);
  const tree = await page.locator('table').innerText().catch(() => '');
  check('郭建平 creates the department', tree.includes(DEPARTMENT) && (await page.locator('[role=status]').count()) === 1, tree.slice(0, 300));
  await Promise.all([page.waitForNavigation(), page.click(`a[aria-label*="${DEPARTMENT}"]`)]);
  const staffPath = new URL(page.url()).pathname;
  for (const person of STAFF) {
    await page.fill('#s-resident-id', person.id);
    await page.fill('#s-name', person.name);
    await page.fill('#s-number', person.number);
    await page.check(`#role-${person.role}`);
    await Promise.all([page.waitForNavigation(), page.click('form[action$="/staff"] button[type=submit]')]);
  }
  const members = await page.locator('table').innerText().catch(() => '');
  const listed = STAFF.every((p) => members.includes(p.name) && members.includes(p.number));
  check('and adds its four staff, one role each', listed && ['部门管理员', '签发电子证照', '管理印章', '使用印章'].every((r) => members.includes(r)), members.slice(0, 500));
  await everyMode(page, 'the department\'s staff', 'staff');
  return staffPath.split('/')[3];
}

// 黄丽娟 makes the two seals, gives the contract seal its image, grants it to 郑伟.
async function sealAdministrator(page, staffIds) {
  await page.goto(url('/console'));
  const desk = await page.locator('main').innerText();
  check('黄丽娟\'s desk: the department\'s seals, no certificates, no administration', (await page.locator('a[href="/console/seals"]').count()) === 1
    && (await page.locator('a[href="/console/certificates"]').count()) === 0 && (await page.locator('a[href="/console/departments"]').count()) === 0, desk.slice(0, 300));
  await everyMode(page, 'the seal administrator\'s desk', 'desk-seal-admin');
  await page.goto(url('/console/seals'));
  await page.fill('#seal-name', CERT_SEAL);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/console/seals"] button[type=submit]')]);
  check('黄丽娟 creates the seal that will sign certificates', (await page.locator('main').innerText()).includes('印章已创建'), page.url());
  await page.goto(url('/console/seals'));
  await page.fill('#seal-name', CONTRACT_SEAL);
  await page.selectOption('#seal-kind', 'contract');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/console/seals"] button[type=submit]')]);
  const sealPath = new URL(page.url()).pathname;
  check('and the contract seal', (await page.locator('main').innerText()).includes('印章已创建') && sealPath.startsWith('/console/seals/'), page.url());
  await page.setInputFiles('#seal-image', { name: 'seal.png', mimeType: 'image/png', buffer: ringPng(200) });
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/image"] button[type=submit]')]);
  const drawn = await page.locator('figure.stamp-preview img').evaluate((img) => img.complete && img.naturalWidth).catch(() => 0);
  check('she uploads its image, shown as it will stamp', drawn === 200 && (await page.locator('main').innerText()).includes('图像已上传'), `natural width ${drawn}`);
  await page.selectOption('#grant-staff', staffIds[STAMPER.id]);
  await page.check('#grant-purpose');
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/grants"] button[type=submit]')]);
  const grants = await page.locator('table').first().innerText().catch(() => '');
  check('and grants it to 郑伟, a purpose asked for each use', grants.includes(STAMPER.name) && grants.includes('是'), grants.slice(0, 300));
  await everyMode(page, 'a seal with its image and grant', 'seal');
  await page.goto(url('/console/seals'));
  await everyMode(page, 'the seals', 'seals');
  check('a seal administrator may not add staff (403)', (await statusOf(page, '/console/departments')) === 403);
  return sealPath;
}

// 林秀英 defines the certificate type with the field editor.
async function departmentAdministrator(page) {
  await page.goto(url('/console'));
  await everyMode(page, 'the department administrator\'s desk', 'desk-head');
  await Promise.all([page.waitForNavigation(), page.click('a[href="/console/certificates"]')]);
  check('no type yet', (await page.locator('main').innerText()).includes('尚未定义'));
  await Promise.all([page.waitForNavigation(), page.click('a[href^="/console/certificates/types/new"]')]);
  await everyMode(page, 'the field editor', 'type');
  await page.fill('#t-name-zh', '药品经营许可证');
  await page.fill('#t-name-en', 'Drug business licence');
  await page.fill('#t-sequence', '001');
  await page.fill('#t-validity', '1825');
  // Names are wrapped in Unicode isolates (U+2068 … U+2069) for bidi text.
  await page.selectOption('#t-seal', { label: `\u2068${CERT_SEAL}\u2069` });
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
  check('林秀英 defines the type, listed with its code', list.includes('证照类型已定义') && list.includes(CODE), list.slice(0, 400));
  check('a department administrator does not issue: no "issue one" link', (await page.locator(`a[href^="/console/certificates/issue/${CODE}"]`).count()) === 0);
  await everyMode(page, 'the certificates page', 'list');
}

// 陈志强 issues one certificate, a batch, the corrected rows, and revokes one.
async function issuer(page) {
  check('an issuer may not define types (403)', (await statusOf(page, `/console/certificates/types/new`)) === 403);
  await page.goto(url('/console/certificates'));
  await Promise.all([page.waitForNavigation(), page.click(`a[href^="/console/certificates/issue/${CODE}"]`)]);
  await everyMode(page, 'the issuance form', 'issue');
  await page.fill('#holder-number', holderId(0));
  await page.fill('#holder-name', '持证人0');
  await page.fill('#f-licence_no', 'YJ13501020000000');
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
  check('陈志强 issues the certificate, its number shown', issued.includes('证照已签发') && issued.includes('持证人0'), issued.slice(0, 300));
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
      id_number: holderId(i),
      name: `持证人${i}`,
      licence_no: `YJ${String(13501020000000 + i).padStart(14, '0')}`,
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
  await page.fill('#q', holderId(5));
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
  check('an issuer does not read the overview (403)', (await statusOf(page, '/console/overview')) === 403);
}

// 郑伟 puts the contract seal on page 2 of a three-page contract, on its preview.
async function sealUser(browser, ctx, page, sealPath) {
  const contract = { name: 'contract.pdf', mimeType: 'application/pdf', buffer: samplePdf(3) };
  const choosePage2 = async (p) => {
    await p.setInputFiles('#pdf', contract);
    await p.fill('#page', '2');
    await p.locator('#page').dispatchEvent('change');
    // Drawn: the preview is shown and the canvas holds dark ink on its white page.
    await p.waitForFunction(() => {
      const c = document.getElementById('seal-place-page');
      if (document.getElementById('seal-place').hidden || !c.width) return false;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let ink = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 200 && d[i] < 100) ink += 1;
      return ink > 50;
    });
  };
  await page.goto(url('/console/seals'));
  const seals = await page.locator('main').innerText();
  check('郑伟 sees the seal granted to him and no form to make seals', seals.includes(CONTRACT_SEAL) && (await page.locator('#seal-name').count()) === 0, seals.slice(0, 300));
  await page.goto(url(`${sealPath}/pdf`));
  await everyMode(page, 'the sealing form', 'seal-pdf');
  for (const mode of MODES) {
    await page.goto(url(`/prefs?set=${mode}&back=${encodeURIComponent(`${sealPath}/pdf`)}`));
    await choosePage2(page);
    await axe(page, `the sealing form with the page preview [${mode}]`, check);
    await miit(page, `the sealing form with the page preview [${mode}]`, check);
    await page.screenshot({ path: `${artefacts}/console-story-seal-place-${mode}.png`, fullPage: true });
  }
  await page.goto(url(`/prefs?set=zh&back=${encodeURIComponent(`${sealPath}/pdf`)}`));
  // The placing itself in a context that keeps the page's CSP (his other one bypasses
  // it for axe): pdf.js and its worker must run under script-src 'self'.
  const strict = await browser.newContext({ acceptDownloads: true, storageState: await ctx.storageState() });
  const sp = await strict.newPage();
  sp.setDefaultTimeout(15000);
  const blocked = [];
  sp.on('console', (m) => { if (/Content[- ]Security[- ]Policy/i.test(m.text())) blocked.push(m.text()); });
  await sp.goto(url(`${sealPath}/pdf`));
  await choosePage2(sp);
  const named = await sp.locator('#seal-place-status').innerText();
  check('the preview draws page 2 under the strict CSP, the seal first at the named spot (bottom right: 439, 36)', blocked.length === 0 && named.includes('439') && named.includes('36'), `${named} ${blocked.join(' | ').slice(0, 300)}`);
  const drawnBox = await sp.locator('#seal-place-page').boundingBox();
  const perPoint = drawnBox.width / 595;
  // A click centres the seal on PDF point (150, 300): its corner is (90, 240).
  await sp.locator('#seal-place-page').click({ position: { x: 150 * perPoint, y: (842 - 300) * perPoint } });
  const clicked = [Number(await sp.inputValue('#x')), Number(await sp.inputValue('#y'))];
  await sp.focus('#seal-place-spot');
  await sp.keyboard.press('ArrowRight');
  await sp.keyboard.press('ArrowRight');
  await sp.keyboard.press('Shift+ArrowUp');
  const moved = [Number(await sp.inputValue('#x')), Number(await sp.inputValue('#y'))];
  const near = ([x, y], [ex, ey]) => Math.abs(x - ex) < 1.5 && Math.abs(y - ey) < 1.5;
  check('a click puts the seal there (90, 240) and the arrow keys move it 12 points right and 36 up', near(clicked, [90, 240]) && near(moved, [102, 276]) && (await sp.isChecked('#at-placed')), `clicked ${clicked}, moved ${moved}`);
  await sp.screenshot({ path: `${artefacts}/console-story-seal-placed-zh.png`, fullPage: true });
  await sp.fill('#purpose', '合同用印');
  const [sealedDownload] = await Promise.all([sp.waitForEvent('download'), sp.click('form[action$="/pdf"] button[type=submit]')]);
  const dir = mkdtempSync(join(tmpdir(), 'tongban-console-seal-'));
  await sealedDownload.saveAs(join(dir, 'sealed.pdf'));
  await strict.close();
  // The widget's /Rect in the update: where the seal was put, 120 points square.
  const rects = [...readFileSync(join(dir, 'sealed.pdf')).toString('latin1').matchAll(/\/Rect\s*\[([^\]]*)\]/g)];
  const rect = rects.length ? rects[rects.length - 1][1].trim().split(/\s+/).map(Number) : [];
  check('the sealed PDF has the seal where he put it on the preview', rect.length === 4 && near(rect, moved) && near(rect.slice(2), [moved[0] + 120, moved[1] + 120]), `Rect ${rect}`);
  writeFileSync(join(dir, 'root.crt'), Buffer.from(await (await fetch(url('/pki/ca/root.crt'))).arrayBuffer()));
  const judge = (command, args) => {
    try {
      return { ok: true, out: execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
    } catch (error) {
      return { ok: false, out: `${error.stdout || ''}${error.stderr || ''}${error.message}` };
    }
  };
  const pdfsig = judge('pdfsig', [join(dir, 'sealed.pdf')]);
  check('pdfsig: the seal placed on page 2 in the console is valid', pdfsig.out.includes('Signature is Valid.'), pdfsig.out.slice(0, 400));
  const pyhanko = judge(PYTHON, ['tests/interop/pdf_validate.py', join(dir, 'sealed.pdf'), join(dir, 'root.crt'), '1']);
  check('pyHanko: intact, valid, trusted, with a trusted signature time-stamp', pyhanko.ok, pyhanko.out.slice(0, 400));
  check('a seal user may not read the audit trail (403)', (await statusOf(page, '/console/audit')) === 403);
}

// 林秀英's overview: today's bar holds every certificate issued above.
async function overview(page) {
  const issuedToday = 1 + ROWS;
  await page.goto(url('/console'));
  await Promise.all([page.waitForNavigation(), page.click('a[href="/console/overview"]')]);
  // The numbers are wrapped in Unicode isolates (U+2068 … U+2069) for bidi text.
  const issuedSummary = (await page.locator('#issued-summary').innerText()).replace(/[\u2068\u2069]/g, '');
  const issuedBars = await page.locator('section:has(#issued-title) svg rect').count();
  await page.click('section:has(#issued-title) summary');
  const totals = await page.locator('section:has(#issued-title) tbody tr td:last-child').allInnerTexts();
  const tableTotal = totals.reduce((sum, cell) => sum + Number(cell), 0);
  check(`林秀英's overview shows today's ${issuedToday} certificates, its table too`, issuedSummary.includes(`30 天合计 ${issuedToday}`) && issuedBars >= 1 && issuedBars <= 2 && tableTotal === issuedToday, `${issuedSummary} | ${issuedBars} bar(s) | table ${tableTotal}`);
  const uses = (await page.locator('#seal-uses-summary').innerText().catch(() => '')).replace(/[\u2068\u2069]/g, '');
  check('and the contract seal\'s one use', uses.includes('30 天合计 1'), uses);
  await everyMode(page, 'the overview', 'overview');
}

// 郭建平 finds each step in the trail, by the person who took it, and exports it.
async function audit(page, department, people) {
  await page.goto(url('/console/audit'));
  await page.selectOption('#department', department);
  await page.fill('#action', 'seal.*');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/console/audit"] button[type=submit]')]);
  const seals = await page.locator('table').innerText().catch(() => '');
  check('the trail, filtered by department and action, shows the seals\' steps', seals.includes('seal.created') && seals.includes('seal.used') && !seals.includes('ecert.issued'), seals.slice(0, 400));
  check('each by the name of who took it', seals.includes(SEALS.name) && seals.includes(STAMPER.name), seals.slice(0, 400));
  await everyMode(page, 'the audit trail', 'audit');
  await keyboardWalk(page, 'the audit trail', check);
  await page.fill('#action', '');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/console/audit"] button[type=submit]')]);
  const csv = await downloaded(page, 'a[href^="/console/audit/export"]');
  const lines = csv.trim().split('\n');
  const header = lines[0].split(',');
  const [actorAt, actionAt] = [header.indexOf('actor'), header.indexOf('action')];
  const events = lines.slice(1).map((line) => line.split(','));
  const by = (action, actor) => events.filter((e) => e[actionAt] === action && e[actorAt].includes(actor)).length;
  const steps = [
    ['department.created', PLATFORM], ['staff.added', PLATFORM],
    ['seal.created', SEALS], ['seal.image-changed', SEALS], ['seal.granted', SEALS],
    ['ecert.type_defined', HEAD],
    ['ecert.issued', ISSUER], ['ecert.revoked', ISSUER],
    ['seal.used', STAMPER],
  ];
  const counts = steps.map(([action, person]) => `${action} by ${person.name}: ${by(action, people[person.id])}`);
  check('the export holds every step of the story, each by the person who took it', steps.every(([action, person]) => by(action, people[person.id]) >= 1), counts.join('; '));
  check(`and the ${1 + ROWS} issuances, all by 陈志强`, by('ecert.issued', people[ISSUER.id]) === 1 + ROWS, counts.join('; '));
}

async function run(browser) {
  const admin = await adminApi(base, databaseUrl, binary, 'Console story fixture');
  const people = {};
  for (const person of [PLATFORM, ...STAFF]) {
    people[person.id] = (await admin.post('/api/v1/admin/persons', { name: person.name, resident_id: person.id, password: person.password })).id;
  }
  await admin.post('/api/v1/admin/registry', { entries: [PLATFORM, ...STAFF].map((p) => ({ name: p.name, resident_id: p.id })) });
  const granted = execFileSync(binary, ['admin', 'platform-admin', '--resident-id', PLATFORM.id], {
    env: { ...process.env, TONGBAN_DATABASE_URL: databaseUrl }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  });
  check('the operator makes 郭建平 platform administrator with the CLI', granted.includes('platform administrator'), granted);

  const guo = await ownDesk(browser, base, PLATFORM, '郭建平的电脑');
  const department = await platformAdministrator(guo.page);
  const huang = await ownDesk(browser, base, SEALS, '黄丽娟的电脑');
  const sealPath = await sealAdministrator(huang.page, people);
  const lin = await ownDesk(browser, base, HEAD, '林秀英的电脑');
  await departmentAdministrator(lin.page);
  const chen = await ownDesk(browser, base, ISSUER, '陈志强的电脑');
  await issuer(chen.page);
  const zheng = await ownDesk(browser, base, STAMPER, '郑伟的电脑');
  await sealUser(browser, zheng.ctx, zheng.page, sealPath);
  await overview(lin.page);
  await audit(guo.page, department, people);
  for (const { ctx } of [guo, huang, lin, chen, zheng]) await ctx.close();
}

await inChromium(chromium, 'console story', { check, finish }, run);
