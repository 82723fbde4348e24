// Regression (issue 14, item 4): on a fresh page the first "New document"
// left the focus on the button, so typing a title pressed it once per
// space: "Hello from the browser" made four "Untitled" documents. The new
// document's title field must take the focus with its text selected, and
// the same for "New calendar" and its name.
//
// node newdoc.mjs PAGE_URL
// Steps: typed {documents, focus}

import { openPage, run, step } from './browser.mjs';

const [url] = process.argv.slice(2);

function documents(page) {
  return page.evaluate(() =>
    window.concord
      .documents()
      .map((d) => ({ kind: d.kind, name: d.kind === 'calendar' ? window.concord.workspace.calendarName(d.id) : d.title }))
      .sort((a, b) => (a.kind < b.kind ? -1 : 1)),
  );
}

/** Waits (a while) until `done` holds in the page; the caller checks what came of it. */
async function settle(page, done) {
  try {
    await page.waitForFunction(done, null, { timeout: 10000 });
  } catch {
    // Reported by the step: what the page made instead.
  }
}

await run(async (context) => {
  const page = await openPage(context, url);
  const before = await documents(page);
  if (before.length !== 0) throw new Error(`a fresh page holds documents: ${JSON.stringify(before)}`);

  await page.click('#new-note');
  // No click into the title: a person types right after pressing the button.
  await page.keyboard.type('Hello from the browser', { delay: 20 });
  await settle(page, () => window.concord.documents().some((d) => d.title === 'Hello from the browser'));
  const focusNote = await page.evaluate(() => document.activeElement?.id ?? null);

  await page.click('#new-calendar');
  await page.keyboard.type('Our trips', { delay: 20 });
  await settle(page, () =>
    window.concord.documents().some((d) => d.kind === 'calendar' && window.concord.workspace.calendarName(d.id) === 'Our trips'),
  );
  const focusCalendar = await page.evaluate(() => document.activeElement?.id ?? null);

  await page.evaluate(() => window.concord.flush());
  await page.waitForTimeout(300); // a late press would have made a document by now
  const docs = await documents(page);
  step('typed', { documents: docs, focus: [focusNote, focusCalendar] });
});
