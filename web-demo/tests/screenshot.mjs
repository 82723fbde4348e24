// Takes the README's screenshot of the demo: a note and the demo calendar
// week, synced with a relay started with --dev --web web-demo/dist. With a
// third argument, also the month view (month.png) and the event editor of
// a repeating event with notes and attendees (event.png) into that folder.
//
// node tests/screenshot.mjs http://127.0.0.1:7070/ ../assets/screenshots/web-demo.png [DIR]

import { join } from 'node:path';
import { openPage, run } from './browser.mjs';

const [url, out, more] = process.argv.slice(2);

await run(
  async (context) => {
    const page = await openPage(context, url);
    await page.click('#new-note');
    await page.fill('#title', 'Offsite plan');
    await page.click('#body');
    await page.keyboard.type('Agenda for Thursday and Friday:\n- roadmap review\n- hiking, weather permitting\n');
    await page.click('#new-calendar');
    await page.locator('#week .event').first().waitFor();
    await page.waitForFunction(() =>
      window.concord.documents().every((d) => window.concord.status(d.id).state === 'synced'),
    );
    await page.evaluate(() => document.activeElement?.blur()); // no selected name in the picture
    await page.waitForTimeout(300);
    await page.screenshot({ path: out });
    if (!more) return;

    await page.click('#view-month');
    await page.locator('#month .chip').first().waitFor();
    await page.waitForTimeout(200);
    await page.screenshot({ path: join(more, 'month.png') });

    await page.click('#view-week');
    const standUp = page.locator('#week .event', { hasText: 'Stand-up' }).nth(1);
    await standUp.click();
    await page.waitForSelector('#event-dialog[open]');
    await page.click('#ev-notes');
    await page.keyboard.type('Blockers first, then the demo.');
    for (const who of ['ada@example.org', 'Grace Hopper']) {
      await page.fill('#ev-attendee', who);
      await page.press('#ev-attendee', 'Enter');
    }
    await page.click('input[name="ev-scope"][value="series"]');
    await page.waitForTimeout(200);
    await page.screenshot({ path: join(more, 'event.png') });
  },
  { timezoneId: 'Europe/Berlin' },
);
