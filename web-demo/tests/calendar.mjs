// The browser calendar and a native client share one calendar: an event
// made natively shows in the week view; one created in the browser (click
// an hour, fill the dialog), a drag that moves the native event and an
// edit of the title reach the native client; a later native event shows.
//
// node calendar.mjs SHARE_LINK
// Steps: seen -> changed -> (GO native-added) -> done

import { openPage, run, step, waitGo } from './browser.mjs';

const [link] = process.argv.slice(2);

function block(page, title) {
  return page.locator('#week .event', { hasText: title });
}

await run(
  async (context) => {
    const page = await openPage(context, link);
    await block(page, 'Native stand-up').waitFor({ timeout: 90000 });
    step('seen');

    // Create: Wednesday (third day column), 14:00.
    await page.locator('#week .day').nth(2).locator('.slot').nth(14).click();
    await page.waitForSelector('#event-dialog[open]');
    await page.fill('#ev-title', 'Browser review');
    await page.click('#ev-save');
    await block(page, 'Browser review').waitFor();

    // Move: drag the native event one hour down (09:00 -> 10:00).
    const native = block(page, 'Native stand-up');
    await native.scrollIntoViewIfNeeded();
    const box = await native.boundingBox();
    const hour = await page.evaluate(() => document.querySelector('#week .slot').getBoundingClientRect().height);
    const x = box.x + box.width / 2;
    const y = box.y + Math.min(8, box.height / 2);
    await page.mouse.move(x, y);
    await page.mouse.down();
    await page.mouse.move(x, y + hour / 2, { steps: 4 });
    await page.mouse.move(x, y + hour, { steps: 4 });
    await page.mouse.up();
    await block(page, 'Native stand-up').filter({ hasText: '10:00–10:30' }).waitFor();

    // Edit: open the browser's event and rename it.
    await block(page, 'Browser review').click();
    await page.waitForSelector('#event-dialog[open]');
    await page.fill('#ev-title', 'Design review');
    await page.click('#ev-save');
    await block(page, 'Design review').waitFor();
    await page.evaluate(() => window.concord.flush());
    step('changed');

    await waitGo('native-added');
    await block(page, 'Native lunch').waitFor({ timeout: 90000 });
    step('done');
  },
  { timezoneId: 'Europe/Berlin' },
);
