// A calendar opened with a read-only link: clicking an event opens a
// view-only dialog (title, time, location, repeats, notes, attendees, and
// nothing to type into), a drag moves nothing, a double-click on a day of
// the month view makes nothing, and the open dialog follows a native edit.
//
// node calendar_view.mjs SHARE_LINK
// Steps: viewed {fields, inputs, editor, unacked} -> (GO native) -> updated {notes}

import { openPage, run, step, waitGo } from './browser.mjs';

const [link] = process.argv.slice(2);

function fields(page) {
  return page.evaluate(() => {
    const text = (id) => document.getElementById(id).textContent;
    return {
      title: text('view-title'),
      location: text('view-location'),
      repeats: text('view-repeats'),
      notes: text('view-notes'),
      attendees: text('view-attendees'),
    };
  });
}

await run(
  async (context) => {
    const page = await openPage(context, link);
    const doc = new URL(link).hash.match(/doc=([^&]+)/)[1];
    const block = page.locator('#week .event', { hasText: 'Board meeting' });
    await block.waitFor({ timeout: 90000 });
    await page.waitForFunction((doc) => window.concord.readOnly(doc), doc);

    // A drag: the view-only dialog opens at the press, nothing moves.
    await block.scrollIntoViewIfNeeded();
    const box = await block.boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + 8);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + 90, { steps: 5 });
    await page.mouse.up();
    await page.waitForSelector('#event-view[open]');
    const shown = await fields(page);
    const inputs = await page.locator('#event-view input, #event-view textarea').count();
    await page.click('#view-close');

    // The month view: a double-click on an empty day makes nothing.
    await page.click('#view-month');
    const day = page.locator('#month .month-day').nth(10);
    await day.dblclick({ position: { x: 40, y: 60 } });
    const editor = await page.locator('#event-dialog[open]').count() > 0;
    // Clicking the chip there views the event, too.
    await page.locator('#month .chip', { hasText: 'Board meeting' }).click();
    await page.waitForSelector('#event-view[open]');
    const unacked = await page.evaluate((doc) => window.concord.status(doc).unacked, doc);
    step('viewed', { fields: shown, inputs, editor, unacked });

    await waitGo('native');
    await page.waitForFunction(() => document.getElementById('view-notes').textContent.includes('Travel'), null, {
      timeout: 60000,
    });
    step('updated', { notes: await page.textContent('#view-notes') });
  },
  { timezoneId: 'Europe/Berlin' },
);
