// A note opened from a read-only share link: the page shows "Read-only",
// the text and title fields are read-only, typing and API edits change
// nothing and leave nothing unsent, and a native client's edit still shows.
//
// node readonly.mjs SHARE_LINK INITIAL_TEXT
// Steps: ready {text} -> (GO native {text}) -> seen {text, unacked}

import { docState, openPage, run, step, waitDoc, waitGo } from './browser.mjs';

const [link, initial] = process.argv.slice(2);
const doc = new URL(link).hash.match(/doc=([^&]+)/)[1];

function fields(page) {
  return page.evaluate(() => {
    const $ = (id) => document.getElementById(id);
    return {
      body: $('body').value,
      bodyReadOnly: $('body').readOnly,
      titleReadOnly: $('title').readOnly,
      marker: $('read-only').hidden ? null : $('read-only').textContent,
    };
  });
}

await run(async (context) => {
  const page = await openPage(context, link);
  await waitDoc(page, doc, 'the shared text', (s) => s.text === initial && s.status.state === 'synced');
  if (!(await page.evaluate((doc) => window.concord.readOnly(doc), doc))) {
    throw new Error('concord.readOnly says a read-only link is writable');
  }
  let f = await fields(page);
  if (!f.bodyReadOnly || !f.titleReadOnly || f.marker !== 'Read-only') {
    throw new Error(`the page does not show the document read-only: ${JSON.stringify(f)}`);
  }

  // Typing into the field changes nothing.
  await page.click('#body');
  await page.keyboard.press('Control+End');
  await page.keyboard.type('typed anyway', { delay: 10 });
  await page.click('#title');
  await page.keyboard.type('renamed');
  // An edit through the API is refused with a message.
  const refused = await page.evaluate((doc) => {
    try {
      window.concord.spliceText(doc, 'body', 0, 0, 'sneaked in');
      return null;
    } catch (e) {
      return String(e.message ?? e);
    }
  }, doc);
  if (!/read-only/.test(refused ?? '')) throw new Error(`an API edit was not refused: ${refused}`);
  await page.evaluate(() => window.concord.flush());
  const s = await docState(page, doc);
  f = await fields(page);
  if (s.text !== initial || f.body !== initial) {
    throw new Error(`a read-only document changed: ${JSON.stringify({ doc: s.text, field: f.body })}`);
  }
  if (s.status.unacked !== 0 || s.status.unsaved !== 0) {
    throw new Error(`a read-only document has something waiting: ${JSON.stringify(s.status)}`);
  }
  step('ready', { text: s.text, title: s.title });

  const { text } = await waitGo('native');
  const seen = await waitDoc(page, doc, "the native client's edit", (s) => s.text === text);
  f = await fields(page);
  if (f.body !== text) throw new Error(`the field shows ${JSON.stringify(f.body)}, the document holds ${JSON.stringify(text)}`);
  if (!f.bodyReadOnly) throw new Error('the field became writable');
  step('seen', { text: seen.text, unacked: seen.status.unacked });
});
