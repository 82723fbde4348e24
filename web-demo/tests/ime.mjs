// IME composition in the note's text field, driven as an input method
// does (Chrome DevTools Protocol: Input.imeSetComposition, then
// Input.insertText to commit): compositionstart, compositionupdate and
// compositionend reach the page as they do from a real IME.
//
// First a composition with nothing else happening: the committed text
// lands once, where the caret was. Then one during which the native client
// edits in front of the caret: the field is left alone while composing,
// the committed text lands after the native edit, once, and typing goes on
// right after it.
//
// node ime.mjs SHARE_LINK INITIAL_TEXT
// Steps: first {text, value, caret, events} -> composing {value} ->
//        (GO remote {text}) -> done {text, value, caret}

import { openPage, run, step, waitDoc, waitGo } from './browser.mjs';

const [link, initial] = process.argv.slice(2);
const doc = new URL(link).hash.match(/doc=([^&]+)/)[1];

await run(async (context) => {
  const page = await openPage(context, link);
  await waitDoc(page, doc, 'the shared text', (s) => s.text === initial && s.status.state === 'synced');
  await page.waitForFunction((t) => document.getElementById('body').value === t, initial);
  await page.evaluate(() => {
    const body = document.getElementById('body');
    window.imeEvents = [];
    for (const type of ['compositionstart', 'compositionupdate', 'compositionend']) {
      body.addEventListener(type, () => window.imeEvents.push(type));
    }
  });
  const cdp = await context.newCDPSession(page);
  const field = () =>
    page.evaluate(() => {
      const b = document.getElementById('body');
      return { value: b.value, caret: b.selectionStart, text: window.concord.text(new URL(location.href).hash.match(/doc=([^&]+)/)?.[1] ?? '') };
    });
  const compose = async (steps) => {
    for (const text of steps) {
      await cdp.send('Input.imeSetComposition', { text, selectionStart: text.length, selectionEnd: text.length });
    }
  };

  // 1. "Hello |world" + にほん → 日本 at the caret.
  await page.click('#body');
  await page.evaluate(() => document.getElementById('body').setSelectionRange(6, 6));
  await compose(['に', 'にほ', 'にほん']);
  await cdp.send('Input.insertText', { text: '日本' });
  const first = await waitDoc(page, doc, 'the first composition', (s) => s.text !== initial);
  const afterFirst = await field();
  const events = await page.evaluate(() => [...new Set(window.imeEvents)]);
  step('first', { text: first.text, value: afterFirst.value, caret: afterFirst.caret, events });

  // 2. At the end of the text, a composition the native client edits
  // through: the field keeps the composition meanwhile.
  await page.evaluate(() => {
    const b = document.getElementById('body');
    b.setSelectionRange(b.value.length, b.value.length);
  });
  await compose(['せ', 'せか', 'せかい']);
  step('composing', { value: (await field()).value });
  const { text: remote } = await waitGo('remote');
  await waitDoc(page, doc, 'the native edit', (s) => s.text === remote);
  const during = (await field()).value;
  await cdp.send('Input.insertText', { text: '世界' });
  await page.keyboard.type('!');
  const done = await waitDoc(page, doc, 'the second composition', (s) => s.text.endsWith('!') && s.status.state === 'synced');
  const end = await field();
  step('done', { text: done.text, value: end.value, caret: end.caret, during });
});
