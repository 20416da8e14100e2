// What the console walks share: the documents staff upload (a PDF, a seal image), valid
// resident ID numbers, each person's own browser with their own passkey, and the checks
// of a page in every language and mode with its screenshot.
import { deflateSync } from 'node:zlib';
import { axe, miit } from './page_checks.mjs';

export const MODES = ['zh', 'en', 'zh-care', 'en-care'];

// A resident ID number (GB 11643): `body` (17 digits) and its ISO 7064 MOD 11-2 check.
export function withCheck(body) {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((s, c, k) => s + Number(c) * weights[k], 0);
  return body + '10X98765432'[sum % 11];
}

// A PDF of `pages` A4 pages, each saying its number (a classic cross-reference table).
export function samplePdf(pages) {
  const objects = [null, '<< /Type /Catalog /Pages 2 0 R >>', null];
  const font = 3 + pages * 2;
  const kids = [];
  for (let i = 0; i < pages; i += 1) {
    const [pageId, contentId] = [3 + i * 2, 4 + i * 2];
    const stream = `BT /F1 24 Tf 72 720 Td (Page ${i + 1}) Tj ET`;
    kids.push(`${pageId} 0 R`);
    objects[pageId] = `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents ${contentId} 0 R /Resources << /Font << /F1 ${font} 0 R >> >> >>`;
    objects[contentId] = `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`;
  }
  objects[2] = `<< /Type /Pages /Kids [${kids.join(' ')}] /Count ${pages} >>`;
  objects[font] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>';
  let out = '%PDF-1.7\n';
  const offsets = [];
  for (let i = 1; i < objects.length; i += 1) {
    offsets[i] = Buffer.byteLength(out, 'latin1');
    out += `${i} 0 obj\n${objects[i]}\nendobj\n`;
  }
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length}\n0000000000 65535 f \n`;
  out += offsets.slice(1).map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
  out += `trailer\n<< /Size ${objects.length} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

// A PNG of a red ring on a transparent ground, `side` pixels square (RGBA, no filter).
export function ringPng(side) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes) => {
    let c = 0xffffffff;
    for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'ascii');
    const tail = Buffer.alloc(4);
    tail.writeUInt32BE(crc(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, tail]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const raw = Buffer.alloc(side * (side * 4 + 1));
  const r = side / 2;
  for (let y = 0; y < side; y += 1) {
    for (let x = 0; x < side; x += 1) {
      const d = Math.hypot(x - r, y - r);
      if (d < r - 2 && d > r - 14) raw.set([220, 20, 20, 255], y * (side * 4 + 1) + 1 + x * 4);
    }
  }
  const signature = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

// A person at their own computer: a browser context with its own (virtual) platform
// authenticator. They sign in with their password once, enrol a passkey named
// `passkeyName`, and sign in again with it alone (level 3). The context bypasses the
// page CSP only so that axe can be injected; the strict CSP is tested on its own.
export async function ownDesk(browser, base, person, passkeyName) {
  const url = (path) => new URL(path, base).href;
  const ctx = await browser.newContext({ bypassCSP: true, acceptDownloads: true });
  const page = await ctx.newPage();
  page.setDefaultTimeout(15000);
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  await page.goto(url('/account'));
  await page.fill('#identifier', person.id);
  await page.fill('#password', person.password);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/login"] button[type=submit]')]);
  await page.fill('#passkey-name', passkeyName);
  await Promise.all([page.waitForNavigation(), page.locator('#passkey-enrol button[type=submit]').click()]);
  await ctx.clearCookies();
  await page.goto(url('/account'));
  await Promise.all([page.waitForNavigation(), page.locator('#passkey-login button[type=submit]').click()]);
  return { ctx, page };
}

// axe-core, the MIIT numbers and a screenshot named `${prefix}-${shot}-${mode}.png`,
// for pages reached by address (`everyMode`: each mode, `reach` bringing back a page
// that answers a form) or as they stand (`thisPage`: zh only).
export function pageChecks(base, artefacts, prefix, check) {
  const url = (path) => new URL(path, base).href;
  const everyMode = async (page, label, shot, reach) => {
    const path = new URL(page.url()).pathname + new URL(page.url()).search;
    for (const mode of MODES) {
      await page.goto(url(`/prefs?set=${mode}&back=${encodeURIComponent(path)}`));
      if (reach) await reach();
      await axe(page, `${label} [${mode}]`, check);
      await miit(page, `${label} [${mode}]`, check);
      await page.screenshot({ path: `${artefacts}/${prefix}-${shot}-${mode}.png`, fullPage: true });
    }
    await page.goto(url(`/prefs?set=zh&back=${encodeURIComponent(path)}`));
  };
  const thisPage = async (page, label, shot) => {
    await axe(page, `${label} [zh]`, check);
    await miit(page, `${label} [zh]`, check);
    await page.screenshot({ path: `${artefacts}/${prefix}-${shot}-zh.png`, fullPage: true });
  };
  return { everyMode, thisPage };
}

// The text of the file a click on `selector` downloads.
export async function downloaded(page, selector) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const chunks = await (await download.createReadStream()).toArray();
  return Buffer.concat(chunks).toString('utf8');
}
