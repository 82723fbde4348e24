// The browser goes offline (Playwright's offline mode), keeps editing,
// reloads the page while still offline (the service worker serves it, the
// edits come back from IndexedDB), then comes back online: nothing lost.
//
// node offline.mjs SHARE_LINK INITIAL_TEXT
// Steps: ready -> offline -> (GO edit) -> edited {text, unacked} -> online {text}

import { offlineReady, openPage, ready, run, step, waitDoc, waitGo } from './browser.mjs';

const [link, initial] = process.argv.slice(2);
const doc = new URL(link).hash.match(/doc=([^&]+)/)[1];

async function typeAtEnd(page, text) {
  await page.click('#body');
  await page.keyboard.press('Control+End');
  await page.keyboard.type(text, { delay: 10 });
  await page.evaluate(() => window.concord.flush());
}

await run(async (context) => {
  let page = await openPage(context, link);
  await waitDoc(page, doc, 'the shared text', (s) => s.text === initial && s.status.state === 'synced');
  await offlineReady(page);
  step('ready');

  await context.setOffline(true);
  await waitDoc(page, doc, 'the page to notice it is offline', (s) => s.status.state === 'offline');
  await page.waitForFunction(() => document.getElementById('connection').dataset.state === 'offline');
  step('offline');

  await waitGo('edit');
  const one = 'browser offline one\n';
  await typeAtEnd(page, one);
  let s = await waitDoc(page, doc, 'the offline edit', (s) => s.text === initial + one);
  if (s.status.unacked < 1) throw new Error(`an offline edit should be unsent: ${JSON.stringify(s.status)}`);
  const shown = await page.textContent('#doc-status');
  if (!/unsent/.test(shown)) throw new Error(`the status should say what is unsent, it says ${JSON.stringify(shown)}`);

  // Reload while offline: the page comes from the service worker's cache and
  // the document (with the unsent edit) from IndexedDB.
  await page.reload();
  await ready(page);
  s = await waitDoc(page, doc, 'the edit back after the reload', (s) => s.text === initial + one);
  if (s.status.state !== 'offline' || s.status.unacked < 1) {
    throw new Error(`after an offline reload: ${JSON.stringify(s.status)}`);
  }
  const two = 'browser offline two\n';
  await typeAtEnd(page, two);
  s = await waitDoc(page, doc, 'the second offline edit', (s) => s.text === initial + one + two);
  step('edited', { text: s.text, unacked: s.status.unacked });

  await context.setOffline(false);
  s = await waitDoc(page, doc, 'the browser to sync', (s) => s.status.state === 'synced' && s.text.includes('native'));
  const field = await page.evaluate(() => document.getElementById('body').value);
  if (field !== s.text) throw new Error(`the field shows ${JSON.stringify(field)}, the document holds ${JSON.stringify(s.text)}`);
  step('online', { text: s.text });
});
