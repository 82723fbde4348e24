// A repeating event from a native client, edited in the browser: the
// month view shows it (a chip a day); Friday's dragged an hour later moves
// all occurrences; Wednesday's is renamed alone in the editor; notes are
// typed and attendees added and removed; a chip dragged from Saturday to
// Sunday in the month view moves that occurrence alone; a double-click on
// Sunday makes an all-day event.
//
// node calendar_edit.mjs SHARE_LINK MONDAY
// Steps: month {standups} -> changed {attendees}

import { openPage, run, step } from './browser.mjs';

const [link, monday] = process.argv.slice(2);

function addDays(date, n) {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** Drags from the middle of `from` to the middle of `to` (boxes), in steps. */
async function drag(page, from, to) {
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move((from.x + to.x) / 2, (from.y + to.y) / 2, { steps: 4 });
  await page.mouse.move(to.x, to.y, { steps: 4 });
  await page.mouse.up();
}

const centre = (box) => ({ x: box.x + box.width / 2, y: box.y + Math.min(8, box.height / 2) });

await run(
  async (context) => {
    const page = await openPage(context, link);
    const week = [...Array(7).keys()].map((i) => addDays(monday, i));
    await page.locator('#week .event', { hasText: 'Stand-up' }).first().waitFor({ timeout: 90000 });

    // The month view: one chip a day this week.
    await page.click('#view-month');
    const cell = (day) => page.locator(`#month .month-day[data-date="${day}"]`);
    await cell(monday).locator('.chip', { hasText: 'Stand-up' }).waitFor();
    let standups = 0;
    for (const day of week) standups += await cell(day).locator('.chip', { hasText: 'Stand-up' }).count();
    step('month', { standups });

    // Friday's, an hour later, for all occurrences (first: a move of the
    // series leaves occurrences changed on their own behind, as in
    // iCalendar and on the desktop).
    await page.click('#view-week');
    const block = (i) => page.locator('#week .day').nth(i).locator('.event', { hasText: 'Stand-up' }).first();
    const friday = block(4);
    await friday.scrollIntoViewIfNeeded();
    const box = await friday.boundingBox();
    const hour = await page.evaluate(() => document.querySelector('#week .slot').getBoundingClientRect().height);
    const from = centre(box);
    await drag(page, from, { x: from.x, y: from.y + hour });
    await page.waitForSelector('#repeat-dialog[open]');
    await page.click('#repeat-all');
    await page.locator('#week .day').nth(0).locator('.event', { hasText: '10:00–10:30' }).waitFor();

    // Wednesday's occurrence renamed alone (the editor's default).
    await block(2).click();
    await page.waitForSelector('#event-dialog[open]');
    if (await page.isHidden('#ev-scope')) throw new Error('a repeating event offers no choice of scope');
    await page.fill('#ev-title', 'Stand-up (demo)');
    await page.click('#ev-save');
    await page.locator('#week .event', { hasText: 'Stand-up (demo)' }).waitFor();

    // Thursday's: notes and attendees, written as they change.
    await block(3).click();
    await page.waitForSelector('#event-dialog[open]');
    await page.click('#ev-notes');
    await page.keyboard.type('Agenda');
    for (const who of ['ada@example.org', 'grace@example.org']) {
      await page.fill('#ev-attendee', who);
      await page.press('#ev-attendee', 'Enter');
    }
    if (!(await page.locator('#event-dialog[open]').count())) throw new Error('Enter in the attendee field closed the dialog');
    await page.click('#ev-attendees button[aria-label="Remove grace@example.org"]');
    await page.locator('#ev-attendees li', { hasText: 'grace' }).waitFor({ state: 'detached' });
    const attendees = await page.locator('#ev-attendees li').allTextContents();
    await page.click('#event-form button[value="cancel"]');

    // In the month view, Saturday's chip to Sunday: this occurrence only.
    await page.click('#view-month');
    await cell(week[5]).locator('.chip').first().waitFor();
    const saturday = await cell(week[5]).locator('.chip').first().boundingBox();
    const sunday = await cell(week[6]).boundingBox();
    await drag(page, centre(saturday), { x: sunday.x + sunday.width / 2, y: sunday.y + sunday.height - 10 });
    await page.waitForSelector('#repeat-dialog[open]');
    await page.click('#repeat-one');
    await cell(week[6]).locator('.chip', { hasText: 'Stand-up' }).nth(1).waitFor();

    // A double-click on the free part of a day makes an all-day event there.
    const free = await cell(week[6]).boundingBox();
    await page.mouse.dblclick(free.x + free.width / 2, free.y + free.height - 6);
    await page.waitForSelector('#event-dialog[open]');
    if (!(await page.isChecked('#ev-allday'))) throw new Error('a day of the month view makes a timed event');
    await page.fill('#ev-title', 'Day off');
    await page.click('#ev-save');
    await cell(week[6]).locator('.chip.all-day', { hasText: 'Day off' }).waitFor();

    await page.evaluate(() => window.concord.flush());
    step('changed', { attendees: attendees.map((a) => a.replace('×', '').trim()) });
  },
  { timezoneId: 'Europe/Berlin' },
);
