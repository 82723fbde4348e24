// Takes the README's screenshot of the demo: a note and the demo calendar
// week, synced with a relay started with --dev --web web-demo/dist.
//
// node tests/screenshot.mjs http://127.0.0.1:7070/ ../assets/screenshots/web-demo.png

import { openPage, run } from './browser.mjs';

const [url, out] = process.argv.slice(2);

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
    await page.waitForTimeout(300);
    await page.screenshot({ path: out });
  },
  { timezoneId: 'Europe/Berlin' },
);
