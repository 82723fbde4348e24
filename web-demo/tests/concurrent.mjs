// The browser types into the note while the native client edits the same
// text; both must end on identical text, and the browser's caret must stay
// on its characters through the remote edits (its typing stays in one run).
//
// node concurrent.mjs SHARE_LINK INITIAL_TEXT CARET TYPED
// Steps: ready -> (GO type) -> typed -> (GO expect {text}) -> converged {text, caret}
// Then a broken share link must be refused with a message.

import { openPage, run, step, waitDoc, waitGo } from './browser.mjs';

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
  await page.waitForFunction(() => /Cannot open this link/.test(document.getElementById('notice').textContent));
  if ((await page.evaluate(() => window.concord.documents().length)) !== 1) throw new Error('a bad link added a document');
  step('converged', { text: state.text, caret: caretAfter });
});
