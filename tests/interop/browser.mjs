// A real browser against Tongban: Chromium (Debian) driven by npm playwright-core.
//   1. Passkeys: with a CDP virtual authenticator (CTAP2, internal, resident keys, user
//      verification), log in with the password on /account, enrol a passkey through the
//      page's own form and /static/passkey.js, drop the cookies, and log in again with
//      the passkey alone.
//   2. Accessibility: on the login, consent and account pages, in Chinese (the default)
//      and English, each in the standard and the care mode: npm axe-core (WCAG 2.1 A
//      and AA: any violation fails, printed with its rule, selectors and HTML) and the
//      MIIT numbers (tests/interop/page_checks.mjs); a keyboard-only login (Tab, typing,
//      Enter) and a Tab walk of the login and account pages reaching every control.
//   3. Personal signing: a second person logs in with a passkey (level 3), enrols for a
//      signing certificate, opens a department's signing request, approves it with the
//      passkey (the challenge commits to the documents); the department collects the
//      PDF, which pdfsig and pyHanko (tests/interop/pdf_validate.py) accept; axe-core and
//      the MIIT numbers on the signing certificate and signing request pages in the four
//      modes.
//
// Usage: node tests/interop/browser.mjs BASE_URL DATABASE_URL [TONGBAN_BINARY]
//   BROWSER_PARTS  which parts to run, e.g. `passkeys` (default: all three)
//   EXPECT_BALANCED  behind a load balancer naming the instance in x-served-by: a
//                 passkey ceremony's options and its answer go to different instances
//   BASE_URL      the server's public URL, e.g. http://localhost:8080 (a host name: WebAuthn
//                 refuses IP origins); the server must run with TONGBAN_PUBLIC_URL=BASE_URL
//   DATABASE_URL  the server's database (sqlite:///…), on which the CLI registers an admin
//                 client; everything else is set up through the admin REST API
//   TONGBAN_BINARY  default target/debug/tongban (or $TONGBAN_BIN)
// Chromium: $CHROMIUM or /usr/bin/chromium. Wants a fresh database (the person it
// registers must not exist yet). Prints one line per check; exits 1 if any failed.
import { execFileSync } from 'node:child_process';
import { adminApi, clientToken, json } from './admin_api.mjs';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { axe as axeRules, keyboardWalk, miit } from './page_checks.mjs';

const [base, databaseUrl, binaryArg] = process.argv.slice(2);
if (!base || !databaseUrl) {
  console.error('usage: node tests/interop/browser.mjs BASE_URL DATABASE_URL [TONGBAN_BINARY]');
  process.exit(2);
}
const binary = binaryArg || process.env.TONGBAN_BIN || 'target/debug/tongban';
const url = (path) => new URL(path, base).href;

const RESIDENT_ID = '11010519491231002X';
const EMAIL = 'browser.test@example.gov.cn';
const PASSWORD = 'a long and unusual browser passphrase';
const PASSKEY_NAME = 'Browser test passkey 浏览器测试';
const CLIENT_NAME = 'Interop Third-Party App';
const REDIRECT = 'https://rp.example.org/callback';
const SIGNER_ID = '110105198001010024';
const SIGNER_PASSWORD = 'another long and unusual passphrase';
const PYTHON = process.env.TONGBAN_INTEROP_PYTHON || 'tests/interop/.venv/bin/python';

let failures = 0;
const check = (name, condition, detail = '') => {
  if (condition) {
    console.log(`ok   ${name}`);
  } else {
    failures += 1;
    console.log(`FAIL ${name}${detail ? ` — ${detail}` : ''}`);
  }
  return Boolean(condition);
};
const b64url = (bytes) => Buffer.from(bytes).toString('base64url');

// --- Set-up: an admin client from the CLI, then a person and a third-party client. ---

async function setUp() {
  const admin = await adminApi(base, databaseUrl, binary, 'Browser interop admin');
  const api = admin.post;
  await api('/api/v1/admin/persons', {
    name: '王小明',
    resident_id: RESIDENT_ID,
    email: EMAIL,
    password: PASSWORD,
  });
  await api('/api/v1/admin/persons', { name: '李小红', resident_id: SIGNER_ID, password: SIGNER_PASSWORD });
  await api('/api/v1/admin/registry', {
    entries: [
      { name: '王小明', resident_id: RESIDENT_ID },
      { name: '李小红', resident_id: SIGNER_ID },
    ],
  });
  const department = await api('/api/v1/admin/departments', {
    name: '浏览器测试局', uscc: '91350100M000100Y43', level: 'province',
  });
  const system = await api('/api/v1/admin/clients', {
    name: '浏览器测试局业务系统',
    confidential: true,
    scopes: ['sign:request'],
    grant_types: ['client_credentials'],
    department_id: department.id,
  });
  const systemToken = await clientToken(base, system.client_id, system.client_secret);
  const thirdParty = await api('/api/v1/admin/clients', {
    name: CLIENT_NAME,
    confidential: true,
    first_party: false,
    scopes: ['openid'],
    grant_types: ['authorization_code'],
    redirect_uris: [REDIRECT],
  });
  return { clientId: thirdParty.client_id, system: systemToken };
}

// A one-page PDF, written here with a correct cross-reference table.
function samplePdf() {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    null,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  const text = 'BT /F1 18 Tf 72 760 Td (Application form, browser interop) Tj ET';
  objects[3] = `<< /Length ${text.length} >>\nstream\n${text}\nendstream`;
  let out = '%PDF-1.7\n';
  const offsets = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) out += `${String(offset).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

// --- Browser helpers. ---

async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Nothing but the server: every other host name fails to resolve.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost',
    ],
  });
}

async function passwordLogin(page) {
  await page.fill('#identifier', RESIDENT_ID);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/login"] button[type=submit]')]);
}

// The login form by keyboard alone: Tab to the ID number field, type, Tab to the
// password, type, Enter.
async function keyboardLogin(page) {
  await page.evaluate(() => document.activeElement?.blur());
  for (let i = 0; i < 30; i += 1) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(() => document.activeElement?.id === 'identifier')) break;
  }
  check('keyboard: Tab reaches the ID number field', await page.evaluate(() => document.activeElement?.id === 'identifier'));
  await page.keyboard.type(RESIDENT_ID);
  await page.keyboard.press('Tab');
  check('keyboard: the next Tab is the password field', await page.evaluate(() => document.activeElement?.id === 'password'));
  await page.keyboard.type(PASSWORD);
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
}

const signedIn = async (page) => (await page.locator('form[action="/account/sessions/end-all"]').count()) > 0;

// --- 1. Passkey enrolment and login with a virtual authenticator. ---

async function passkeys(browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  // Each ceremony is two requests: the options (fetched by passkey.js) and the form post
  // with the authenticator's answer. Behind the balancer, which instance served each.
  const ceremony = [];
  page.on('response', (response) => {
    const path = new URL(response.url()).pathname;
    if (response.request().method() === 'POST' && path.includes('passkey')) {
      ceremony.push(`${path}@${response.headers()['x-served-by'] ?? '?'}`);
    }
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  try {
    await page.goto(url('/account'));
    check('signed out, /account shows the login form', (await page.locator('form[action="/login"] #identifier').count()) === 1);
    await passwordLogin(page);
    check('password login lands on the signed-in account page', new URL(page.url()).pathname === '/account' && (await signedIn(page)), page.url());

    const enrol = page.locator('#passkey-enrol');
    check('passkey.js shows the enrolment form', await enrol.isVisible());
    await page.fill('#passkey-name', PASSKEY_NAME);
    await Promise.all([page.waitForNavigation(), enrol.locator('button[type=submit]').click()]);
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    check('the authenticator holds one resident credential', credentials.length === 1 && credentials[0].isResidentCredential, JSON.stringify(credentials.map((c) => c.rpId)));
    check('the account page lists the new passkey by name', (await page.locator('#h-passkeys').locator('..').innerText()).includes(PASSKEY_NAME), page.url());

    await context.clearCookies();
    await page.goto(url('/account'));
    check('with no cookies /account shows the login form again', !(await signedIn(page)) && (await page.locator('#identifier').count()) === 1);
    const login = page.locator('#passkey-login');
    check('passkey.js shows "sign in with a passkey"', await login.isVisible());
    await Promise.all([page.waitForNavigation(), login.locator('button[type=submit]').click()]);
    check('passkey login lands on the signed-in account page', new URL(page.url()).pathname === '/account' && (await signedIn(page)), `${page.url()} ${(await page.locator('main').innerText().catch(() => '')).slice(0, 300)}`);
    const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    check('the authenticator signed once', after.credentials[0]?.signCount >= 1, JSON.stringify(after.credentials.map((c) => c.signCount)));
    if (process.env.EXPECT_BALANCED) {
      // Enrolment and login: options then answer, twice.
      const by = ceremony.map((step) => step.split('@')[1]);
      const crossed = [0, 2].filter((i) => by[i] && by[i + 1] && by[i] !== by[i + 1]);
      check(`a passkey ceremony began on one instance and ended on the other (${ceremony.join(' → ')})`, ceremony.length === 4 && crossed.length > 0);
    }
  } catch (error) {
    check('passkey flow ran to its end', false, `${error.message.split('\n')[0]} at ${page.url()}`);
    const alert = await page.locator('[role=alert]:visible').allInnerTexts().catch(() => []);
    if (alert.length) console.log(`     page alert: ${alert.join(' | ')}`);
  } finally {
    await context.close();
  }
}

// --- 3. Personal signing with a passkey. ---

async function signing(browser, system) {
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  try {
    await page.goto(url('/account'));
    await page.fill('#identifier', SIGNER_ID);
    await page.fill('#password', SIGNER_PASSWORD);
    await Promise.all([page.waitForNavigation(), page.click('form[action="/login"] button[type=submit]')]);
    await page.fill('#passkey-name', 'phone 手机');
    await Promise.all([page.waitForNavigation(), page.locator('#passkey-enrol button[type=submit]').click()]);
    await context.clearCookies();
    await page.goto(url('/account'));
    await Promise.all([page.waitForNavigation(), page.locator('#passkey-login button[type=submit]').click()]);
    check('signer: a passkey login', await signedIn(page), page.url());

    await page.goto(url('/account/signing-certificate'));
    await page.check('#understood');
    await Promise.all([page.waitForNavigation(), page.locator('form[action="/account/signing-certificate"] button[type=submit]').click()]);
    check('signer: a signing certificate is issued after a passkey login', (await page.locator('main [role=status]').count()) === 1 && (await page.locator('form[action="/account/signing-certificate/revoke"]').count()) === 1, (await page.locator('main').innerText()).slice(0, 300));

    const pdf = samplePdf();
    const created = await json(
      await fetch(url('/api/v1/signing-requests'), {
        method: 'POST',
        headers: { authorization: `Bearer ${system}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          signer: { id_number: SIGNER_ID },
          purpose: '浏览器签署测试 browser signing test',
          deadline: Date.now() + 3600_000,
          documents: [{ name: '申请表.pdf', pdf: pdf.toString('base64'), page: 1, x: 350, y: 80, size: 120 }],
        }),
      }),
      'POST /api/v1/signing-requests',
    );
    await page.goto(url(`/sign/${created.id}`));
    const listed = await page.locator('main').innerText();
    check('the signing page shows the requester, purpose, document and its SHA-256', listed.includes('浏览器测试局') && listed.includes('申请表.pdf') && listed.includes(created.documents[0].sha256), listed.slice(0, 300));
    for (const mode of MODES) {
      await page.goto(url(`/prefs?set=${mode.pref || 'zh'}&back=/sign/${created.id}`));
      await axe(page, `the signing request page [${mode.label}]`);
      await page.goto(url('/account/signing-certificate'));
      await axe(page, `the signing certificate page [${mode.label}]`);
    }
    await page.goto(url(`/prefs?set=zh&back=/sign/${created.id}`));
    const approve = page.locator('#passkey-approve');
    check('passkey.js shows "sign with my passkey"', await approve.isVisible());
    await Promise.all([page.waitForNavigation(), approve.locator('button[type=submit]').click()]);
    const done = await page.locator('main [role=status]').innerText().catch(() => '');
    check('the passkey approval signed the documents', done.length > 0 && (await page.locator('#passkey-approve').count()) === 0, (await page.locator('main').innerText()).slice(0, 300));

    const state = await json(await fetch(url(`/api/v1/signing-requests/${created.id}`), { headers: { authorization: `Bearer ${system}` } }), 'GET the request');
    check('the department sees the request signed', state.status === 'signed', JSON.stringify(state));
    const signed = Buffer.from(await (await fetch(url(`/api/v1/signing-requests/${created.id}/documents/1`), { headers: { authorization: `Bearer ${system}` } })).arrayBuffer());
    const dir = mkdtempSync(join(tmpdir(), 'tongban-sign-'));
    writeFileSync(join(dir, 'signed.pdf'), signed);
    const root = Buffer.from(await (await fetch(url('/pki/ca/root.crt'))).arrayBuffer());
    writeFileSync(join(dir, 'root.crt'), root);
    let pdfsig = '';
    try {
      pdfsig = execFileSync('pdfsig', [join(dir, 'signed.pdf')], { encoding: 'utf8' });
    } catch (error) {
      pdfsig = `${error.stdout || ''}${error.stderr || ''}`;
    }
    check('pdfsig: the passkey-approved signature is valid', pdfsig.includes('Signature is Valid.'), pdfsig.slice(0, 400));
    let pyhanko = '';
    let pyhankoOk = true;
    try {
      pyhanko = execFileSync(PYTHON, ['tests/interop/pdf_validate.py', join(dir, 'signed.pdf'), join(dir, 'root.crt'), '1'], { encoding: 'utf8' });
    } catch (error) {
      pyhankoOk = false;
      pyhanko = `${error.stdout || ''}${error.stderr || ''}`;
    }
    check('pyHanko: intact, valid, trusted, with a trusted signature time-stamp', pyhankoOk, pyhanko.slice(0, 400));
  } catch (error) {
    check('signing flow ran to its end', false, `${error.message.split('\n')[0]} at ${page.url()}`);
  } finally {
    await context.close();
  }
}

// --- 2. Accessibility of the login, consent and account pages. ---

// axe-core and the MIIT numbers on the page as it is now.
async function axe(page, label) {
  await axeRules(page, label, check);
  await miit(page, label, check);
}

async function pkceAuthorizeUrl(clientId) {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    scope: 'openid',
    state: b64url(randomBytes(16)),
    nonce: b64url(randomBytes(16)),
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  return url(`/authorize?${query}`);
}

const MODES = [
  { pref: null, label: 'zh-CN (default)', lang: 'zh-CN', care: false },
  { pref: 'en', label: 'English', lang: 'en', care: false },
  { pref: 'zh-care', label: 'zh-CN care mode', lang: 'zh-CN', care: true },
  { pref: 'en-care', label: 'English care mode', lang: 'en', care: true },
];

async function accessibility(browser, clientId) {
  // The pages' CSP (script-src 'self') would refuse the injected axe script.
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  try {
    for (const mode of MODES) {
      await context.clearCookies();
      await page.goto(url(mode.pref ? `/prefs?set=${mode.pref}&back=/account` : '/account'));
      // The mode shows in <html lang> and, for care mode, <body class="care">.
      const inMode = async () => {
        const lang = await page.getAttribute('html', 'lang');
        const care = (await page.getAttribute('body', 'class'))?.split(/\s+/).includes('care') ?? false;
        return { ok: lang === mode.lang && care === mode.care, detail: `lang=${lang} care=${care} url=${page.url()}` };
      };
      let m = await inMode();
      check(`[${mode.label}] the login page is in this mode`, m.ok && (await page.locator('#identifier').count()) === 1, m.detail);
      await axe(page, `the login page [${mode.label}]`);
      await keyboardWalk(page, `the login page [${mode.label}]`, check);

      await keyboardLogin(page);
      m = await inMode();
      check(`[${mode.label}] logged in by keyboard alone, the account page is in this mode`, (await signedIn(page)) && m.ok, m.detail);
      await axe(page, `the account page [${mode.label}]`);
      await keyboardWalk(page, `the account page [${mode.label}]`, check);

      await page.goto(await pkceAuthorizeUrl(clientId));
      const consent = (await page.locator('main').innerText()).includes(CLIENT_NAME) && (await page.locator('main form').count()) > 0;
      m = await inMode();
      check(`[${mode.label}] /authorize shows the consent page for the third-party client, in this mode`, consent && m.ok, `${m.detail} ${(await page.locator('main').innerText().catch(() => '')).slice(0, 300)}`);
      await axe(page, `the consent page [${mode.label}]`);

      // The public pages and the plain ones: document verification, an error, the
      // sign-out confirmation.
      await page.goto(url('/verify'));
      await axe(page, `the verification page [${mode.label}]`);
      await page.goto(url('/authorize'));
      await axe(page, `an error page [${mode.label}]`);
      await page.goto(url('/logout'));
      await axe(page, `the sign-out confirmation [${mode.label}]`);
    }
  } catch (error) {
    check('accessibility checks ran to their end', false, `${error.message.split('\n')[0]} at ${page.url()}`);
  } finally {
    await context.close();
  }
}

let browser;
try {
  const { clientId, system } = await setUp();
  console.log(`ok   set-up: an admin client (CLI), a person and a third-party client (admin API)`);
  browser = await launch();
  const parts = (process.env.BROWSER_PARTS || 'passkeys,accessibility,signing').split(',');
  if (parts.includes('passkeys')) await passkeys(browser);
  if (parts.includes('accessibility')) await accessibility(browser, clientId);
  if (parts.includes('signing')) await signing(browser, system);
} catch (error) {
  check('browser interop ran', false, error.stack || String(error));
} finally {
  if (browser) await browser.close();
}
console.log(failures === 0 ? 'browser: all checks passed' : `browser: ${failures} check(s) failed`);
process.exit(failures === 0 ? 0 : 1);
