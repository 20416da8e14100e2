// Checks of a page as people meet it, in a real browser (playwright-core + Chromium):
//   axe(page, label)        npm axe-core with the WCAG 2.0/2.1 A and AA rules: any
//                           violation at all fails;
//   miit(page, label)       the MIIT 2021 适老化 numbers, measured from computed styles
//                           and element boxes: body text ≥ 16 px (≥ 24 px in care mode)
//                           and headings larger, line height ≥ 1.3, paragraph spacing
//                           ≥ 1.3 × the line, text contrast ≥ 4.5:1 (≥ 7:1 in care mode),
//                           targets ≥ 44 × 44 px (≥ 60 × 60 px in care mode);
//   keyboardWalk(page, label)  Tab from the top reaches every visible control.
// Each takes `check(name, condition, detail)` from the caller, which counts failures.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export async function axe(page, label, check) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
  );
  const bad = result.violations;
  check(`axe: no WCAG 2.1 A/AA violation on ${label}`, bad.length === 0, `${bad.length} rule(s): ${bad.map((v) => v.id).join(', ')}`);
  for (const v of bad) {
    console.log(`     ${v.id} [${v.impact}] ${v.help} — ${v.helpUrl}`);
    for (const node of v.nodes.slice(0, 5)) {
      console.log(`       target ${JSON.stringify(node.target)}`);
      console.log(`       html   ${node.html.replace(/\s+/g, ' ').slice(0, 300)}`);
      if (node.failureSummary) console.log(`       why    ${node.failureSummary.replace(/\s+/g, ' ').slice(0, 400)}`);
    }
  }
  for (const v of result.incomplete.filter((i) => ['serious', 'critical'].includes(i.impact))) {
    console.log(`     (needs review) ${v.id} [${v.impact}] ${v.help}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(' ')}`);
  }
}

// Runs in the page: every measurement, and what fell short.
function measure() {
  const care = document.body.classList.contains('care');
  const limits = care
    ? { text: 24, contrast: 7, target: 60 }
    : { text: 16, contrast: 4.5, target: 44 };
  // Shown: laid out, not hidden, not inside a closed <details> (its summary is).
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    const folded = el.tagName !== 'SUMMARY' && el.closest('details:not([open])') !== null;
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none' && !folded;
  };
  const describe = (el) => {
    const id = el.id ? `#${el.id}` : '';
    const text = (el.innerText || el.value || '').trim().replace(/\s+/g, ' ').slice(0, 40);
    return `${el.tagName.toLowerCase()}${id} "${text}"`;
  };
  const rgb = (text) => {
    const m = text.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  };
  const luminance = ({ r, g, b }) => {
    const lin = (c) => {
      const v = c / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const background = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c && c.a > 0.5) return c;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const failures = [];
  const bodySize = parseFloat(getComputedStyle(document.body).fontSize);
  if (bodySize < limits.text) failures.push(`body text ${bodySize}px < ${limits.text}px`);
  let texts = 0;
  let minText = Infinity;
  let minContrast = Infinity;
  // Every element that holds text of its own.
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !visible(el) || ['SCRIPT', 'STYLE', 'OPTION'].includes(el.tagName)) continue;
    texts += 1;
    const s = getComputedStyle(el);
    const size = parseFloat(s.fontSize);
    minText = Math.min(minText, size);
    if (size < limits.text) failures.push(`text ${size}px < ${limits.text}px: ${describe(el)}`);
    const line = s.lineHeight === 'normal' ? 1.2 * size : parseFloat(s.lineHeight);
    if (line / size < 1.3 - 1e-6) failures.push(`line height ${(line / size).toFixed(2)} < 1.3: ${describe(el)}`);
    const fg = rgb(s.color);
    const bg = background(el);
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    minContrast = Math.min(minContrast, ratio);
    if (ratio < limits.contrast) failures.push(`contrast ${ratio.toFixed(2)} < ${limits.contrast}: ${describe(el)}`);
  }
  // Headings larger than body text.
  for (const h of document.querySelectorAll('h1, h2, h3')) {
    const size = parseFloat(getComputedStyle(h).fontSize);
    if (visible(h) && size <= bodySize) failures.push(`heading ${size}px not larger than body ${bodySize}px: ${describe(h)}`);
  }
  // Paragraph spacing: the gap between consecutive paragraphs against their line.
  let paragraphs = 0;
  for (const p of document.querySelectorAll('main p')) {
    const next = p.nextElementSibling;
    if (!next || next.tagName !== 'P' || !visible(p) || !visible(next)) continue;
    paragraphs += 1;
    const s = getComputedStyle(p);
    const line = s.lineHeight === 'normal' ? 1.2 * parseFloat(s.fontSize) : parseFloat(s.lineHeight);
    const gap = next.getBoundingClientRect().top - p.getBoundingClientRect().bottom;
    if (gap < 1.3 * line - 0.5) failures.push(`paragraph spacing ${gap.toFixed(1)}px < 1.3 × ${line}px: ${describe(p)}`);
  }
  // Targets.
  let targets = 0;
  let minTarget = Infinity;
  for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')) {
    if (!visible(el)) continue;
    targets += 1;
    const r = el.getBoundingClientRect();
    minTarget = Math.min(minTarget, r.width, r.height);
    if (r.width < limits.target - 0.5 || r.height < limits.target - 0.5) {
      failures.push(`target ${r.width.toFixed(0)}×${r.height.toFixed(0)}px < ${limits.target}px: ${describe(el)}`);
    }
  }
  return { care, bodySize, texts, minText, minContrast, paragraphs, targets, minTarget, failures };
}

export async function miit(page, label, check) {
  const m = await page.evaluate(measure);
  const figures = `body ${m.bodySize}px, smallest text ${m.minText}px over ${m.texts} texts, lowest contrast ${m.minContrast.toFixed(2)}, ${m.paragraphs} paragraph gaps, smallest target ${m.minTarget === Infinity ? '-' : m.minTarget.toFixed(0)}px over ${m.targets}`;
  check(`MIIT numbers${m.care ? ' (care mode)' : ''} on ${label}: ${figures}`, m.failures.length === 0, m.failures.slice(0, 8).join('; '));
}

// Tab from the top of the page until focus comes round again: every visible control
// must have been reached.
export async function keyboardWalk(page, label, check) {
  await page.evaluate(() => {
    document.activeElement?.blur();
    window.scrollTo(0, 0);
  });
  // A radio group is one stop for Tab (arrow keys move inside it).
  const controls = await page.evaluate(() => {
    const all = [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')];
    const keys = new Set();
    all
      .filter((el) => el.getBoundingClientRect().width > 0 && getComputedStyle(el).visibility !== 'hidden')
      .filter((el) => el.tagName === 'SUMMARY' || el.closest('details:not([open])') === null)
      .forEach((el, i) => {
        el.dataset.walk = el.type === 'radio' ? `radio:${el.name}` : String(i);
        keys.add(el.dataset.walk);
      });
    return [...keys];
  });
  const reached = new Set();
  for (let i = 0; i < controls.length * 2 + 10; i += 1) {
    await page.keyboard.press('Tab');
    const at = await page.evaluate(() => document.activeElement?.dataset?.walk ?? null);
    if (at !== null) reached.add(at);
    if (reached.size === controls.length) break;
  }
  const missed = controls.filter((key) => !reached.has(key));
  const names = await page.evaluate(
    (keys) => keys.map((key) => document.querySelector(`[data-walk="${key}"]`)?.outerHTML.slice(0, 120)),
    missed,
  );
  check(`keyboard: Tab reaches all ${controls.length} controls of ${label}`, missed.length === 0, names.join(' | '));
}

// A script's checks: `check(name, condition, detail)` prints one line and counts
// failures; `finish(label)` prints the total and exits 1 if any failed.
export function checks() {
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
  const finish = (label) => {
    console.log(failures === 0 ? `${label}: all checks passed` : `${label}: ${failures} check(s) failed`);
    process.exit(failures === 0 ? 0 : 1);
  };
  return { check, finish };
}

// Runs `body(browser)` in headless Chromium (Debian's, or $CHROMIUM) that resolves
// nothing but localhost, then reports with `finish`.
export async function inChromium(chromium, label, { check, finish }, body) {
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost'],
    });
    await body(browser);
  } catch (error) {
    check(`${label} ran to its end`, false, error.stack || String(error));
  } finally {
    if (browser) await browser.close();
  }
  finish(label);
}
