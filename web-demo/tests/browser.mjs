// Shared by the browser tests: the system's Chromium through playwright-core
// (never a downloaded browser), pages of the demo, and a line protocol with
// the Rust test that runs the script (tests/e2e/web.rs).
//
// A test script prints `STEP name {json}` lines for the Rust side and reads
// `GO name {json}` lines from stdin when it must wait for it. Anything that
// goes wrong throws: the script exits non-zero with the reason on stderr.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CONCORD_CHROMIUM ?? '/usr/bin/chromium';

/** Launches headless Chromium with its own profile directory. */
export async function launch(options = {}) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CONCORD_CHROMIUM`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'concord-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1180, height: 720 },
    timezoneId: options.timezoneId,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const close = async () => {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, close };
}

/** Opens the demo at `url` and waits until Concord is running in it. */
export async function openPage(context, url) {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') console.error(`[page ${m.type()}] ${m.text()}`);
  });
  page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
  await page.goto(url);
  await ready(page);
  return page;
}

/** Waits until the page's Concord has started (after a load or reload). */
export async function ready(page) {
  await page.waitForFunction(() => window.concord !== undefined, null, { timeout: 60000 });
}

/** Waits for the service worker to hold the page's files (offline reloads). */
export async function offlineReady(page) {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    for (let i = 0; i < 200; i++) {
      const cache = await caches.open('concord-shell-v1');
      if (await cache.match('./concord_web_bg.wasm')) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the service worker never cached the page');
  });
}

/** The document's state as the page shows it. */
export async function docState(page, doc) {
  return page.evaluate((doc) => {
    const c = window.concord;
    return { text: c.text(doc), status: c.status(doc), title: c.title(doc) };
  }, doc);
}

/** Waits until `pred(state)` holds for the document, or fails with the last state. */
export async function waitDoc(page, doc, what, pred, timeout = 90000) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    last = await docState(page, doc);
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last state: ${JSON.stringify(last)}`);
}

/** Waits until the page's notice says something matching `pattern`. */
export async function waitNotice(page, pattern, timeout = 30000) {
  try {
    await page.waitForFunction(
      (source) => new RegExp(source).test(document.getElementById('notice').textContent),
      pattern.source,
      { timeout },
    );
  } catch {
    throw new Error(`no notice matching ${pattern}; the notice says ${JSON.stringify(await page.textContent('#notice'))}`);
  }
}

/** Tells the Rust side a step is done. */
export function step(name, data = {}) {
  process.stdout.write(`STEP ${name} ${JSON.stringify(data)}\n`);
}

const lines = createInterface({ input: process.stdin });
const waiting = [];
const queued = [];
lines.on('line', (line) => {
  const m = /^GO (\S+) ?(.*)$/.exec(line);
  if (!m) return;
  const msg = { name: m[1], data: m[2] ? JSON.parse(m[2]) : {} };
  const w = waiting.shift();
  if (w) w(msg);
  else queued.push(msg);
});

/** Waits for the Rust side's `GO name` line; returns its data. */
export async function waitGo(name) {
  const msg = queued.shift() ?? (await new Promise((r) => waiting.push(r)));
  if (msg.name !== name) throw new Error(`expected GO ${name}, got GO ${msg.name}`);
  return msg.data;
}

/** Runs a test body with a browser; exits non-zero on any failure. */
export async function run(body, options = {}) {
  const browser = await launch(options);
  let code = 0;
  try {
    await body(browser.context);
  } catch (e) {
    console.error(`browser test failed: ${e.stack ?? e}`);
    code = 1;
  } finally {
    await browser.close();
    lines.close();
  }
  process.exit(code);
}
