// The browser types into the note while the native client edits the same
// text; both must end on identical text, and the browser's caret must stay
// on its characters through the remote edits (its typing stays in one run).
//
// node concurrent.mjs SHARE_LINK INITIAL_TEXT CARET TYPED
// Steps: ready -> (GO type) -> typed -> (GO expect {text}) -> converged {text, caret}
// Then a broken share link, and a corrupt stored document, must be refused
// with a message while the page keeps working and nothing stored changes.

import { openPage, ready, run, step, waitDoc, waitGo, waitNotice } from './browser.mjs';

const [link, initial, caretArg, typed] = process.argv.slice(2);
const doc = new URL(link).hash.match(/doc=([^&]+)/)[1];
const caret = Number(caretArg);

await run(async (context) => {
  const page = await openPage(context, link);
  await waitDoc(page, doc, 'the shared text', (s) => s.text === initial && s.status.state === 'synced');
  await page.waitForFunction((t) => document.getElementById('body').value === t, initial);
  // The share link opened the note: the field shows it. The caret goes
  // after CARET characters before the native side starts editing.
  await page.click('#body');
  await page.evaluate((c) => document.getElementById('body').setSelectionRange(c, c), caret);
  step('ready');

  await waitGo('type');
  for (const ch of typed) {
    await page.keyboard.type(ch);
    await page.waitForTimeout(25 + Math.random() * 40);
  }
  step('typed');

  const { text } = await waitGo('expect');
  const state = await waitDoc(page, doc, 'the native text', (s) => s.text === text && s.status.state === 'synced');
  const field = await page.evaluate(() => document.getElementById('body').value);
  if (field !== state.text) throw new Error(`the field shows ${JSON.stringify(field)}, the document holds ${JSON.stringify(state.text)}`);
  const caretAfter = await page.evaluate(() => document.getElementById('body').selectionStart);
  // A broken link is refused with a message; the page keeps working.
  await page.evaluate(() => {
    location.hash = '#doc=not%20a%20valid%20id!&token=x';
  });
  await waitNotice(page, /Cannot open this link/);
  if ((await page.evaluate(() => window.concord.documents().length)) !== 1) throw new Error('a bad link added a document');

  // A stored document whose bytes are corrupt: after a reload the page says
  // so, opens the others, refuses to open it, and leaves its bytes alone.
  await page.evaluate(async () => {
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open('concord');
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const tx = db.transaction(['docs', 'snapshots'], 'readwrite');
    tx.objectStore('docs').put({ id: 'corrupt-doc', token: '', created: 0, acked: 0 });
    tx.objectStore('snapshots').put(new Uint8Array([1, 2, 3, 4, 5]), 'corrupt-doc');
    await new Promise((resolve) => {
      tx.oncomplete = resolve;
    });
    db.close();
  });
  await page.reload();
  await ready(page);
  await waitNotice(page, /corrupt-doc\) cannot be loaded/);
  await waitDoc(page, doc, 'the good document after the reload', (s) => s.text === text);
  await page.evaluate(() => {
    location.hash = '#doc=corrupt-doc';
  });
  await waitNotice(page, /Cannot open this link.*cannot be loaded/);
  const kept = await page.evaluate(async () => {
    const db = await new Promise((resolve) => {
      const r = indexedDB.open('concord');
      r.onsuccess = () => resolve(r.result);
    });
    const bytes = await new Promise((resolve) => {
      const r = db.transaction('snapshots').objectStore('snapshots').get('corrupt-doc');
      r.onsuccess = () => resolve(Array.from(r.result ?? []));
    });
    db.close();
    return bytes;
  });
  if (kept.join() !== '1,2,3,4,5') throw new Error(`the corrupt document's bytes changed: ${kept}`);

  step('converged', { text: state.text, caret: caretAfter });
});
