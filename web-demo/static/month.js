// The calendar's month view, as the desktop's: whole weeks (Monday first),
// each day with its events as one-line chips (all-day first), "+N more"
// when they do not fit (it opens that week). A chip dragged to another day
// moves the event by whole days (a repeating one asks first); double-click
// an empty part of a day to make an all-day event there; click a chip to
// edit it (read-only: to see it).

import { localDate, viewerZone } from './concord.js';
import { DAY_NAMES, addDays, el, localAt, minutesBetween, minutesOf, mondayOf, occurrenceItem, retime } from './calendar.js';

const CHIPS = 3;

/** The first of the month of `date` ('YYYY-MM-DD'), plus `n` months. */
export function monthStart(date, n = 0) {
  const [y, m] = date.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1 + n, 1));
  return `${t.getUTCFullYear()}-${String(t.getUTCMonth() + 1).padStart(2, '0')}-01`;
}

/** The days a month view shows: Monday before the 1st to Sunday after the last. */
export function monthDays(first) {
  const start = mondayOf(first);
  const next = monthStart(first, 1);
  const days = [];
  for (let d = start; d < next || days.length % 7 !== 0; d = addDays(d, 1)) days.push(d);
  return days;
}

/** Whether occurrence `o` covers some of `day`. */
function onDay(o, day) {
  if (o.allDay) return o.start.slice(0, 10) <= day && day < o.end.slice(0, 10);
  return o.start < `${addDays(day, 1)}T00:00` && o.end > `${day}T00:00`;
}

export class MonthView {
  /**
   * @param concord  the Concord instance
   * @param grid     the element the month is drawn in
   * @param edit     as WeekView's
   * @param ask      as WeekView's
   * @param showWeek (date) => void: "+N more" opens the week of that day
   */
  constructor(concord, grid, edit, ask, showWeek) {
    this.concord = concord;
    this.grid = grid;
    this.edit = edit;
    this.ask = ask;
    this.showWeek = showWeek;
    this.zone = viewerZone();
    this.doc = null;
    this.first = monthStart(localDate(new Date()));
    this.readOnly = false;
    this.dragging = false;
  }

  setReadOnly(readOnly) {
    this.readOnly = readOnly;
    this.grid.classList.toggle('read-only', readOnly);
  }

  show(doc) {
    this.doc = doc;
    this.render();
  }

  /** Moves the view by `months` (0: back to this month). */
  shift(months) {
    this.first = monthStart(months === 0 ? localDate(new Date()) : this.first, months);
    this.render();
  }

  label() {
    const [y, m] = this.first.split('-').map(Number);
    const name = new Date(Date.UTC(y, m - 1, 15)).toLocaleDateString(undefined, {
      month: 'long',
      year: 'numeric',
      timeZone: 'UTC',
    });
    return `${name} (${this.zone})`;
  }

  render() {
    if (!this.doc || this.dragging) return;
    const days = monthDays(this.first);
    let items;
    try {
      items = this.concord.workspace
        .occurrences(this.doc, days[0], addDays(days[days.length - 1], 1), this.zone)
        .map(occurrenceItem);
    } catch (e) {
      this.grid.textContent = `This calendar cannot be shown: ${e.message ?? e}`;
      return;
    }
    items.sort((a, b) => Number(b.allDay) - Number(a.allDay) || (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    const today = localDate(new Date());
    const month = this.first.slice(0, 7);
    this.grid.replaceChildren(...DAY_NAMES.map((n) => el('div', 'month-head', n)));
    this.cells = [];
    for (const day of days) {
      const cell = el('div', 'month-day');
      if (day.slice(0, 7) !== month) cell.classList.add('other-month');
      if (day === today) cell.classList.add('today');
      cell.dataset.date = day;
      cell.setAttribute('role', 'gridcell');
      cell.append(el('div', 'day-number', String(Number(day.slice(8)))));
      const here = items.filter((o) => onDay(o, day));
      for (const o of here.slice(0, here.length > CHIPS + 1 ? CHIPS : CHIPS + 1)) cell.append(this.#chip(o, day));
      if (here.length > CHIPS + 1) {
        const more = el('button', 'more', `+${here.length - CHIPS} more`);
        more.type = 'button';
        more.addEventListener('click', () => this.showWeek(day));
        cell.append(more);
      }
      cell.addEventListener('dblclick', (e) => {
        if (this.readOnly || e.target !== cell) return;
        this.edit({ start: day, end: addDays(day, 1), allDay: true });
      });
      this.cells.push(cell);
      this.grid.append(cell);
    }
  }

  #chip(o, day) {
    const chip = el('div', `chip${o.allDay ? ' all-day' : ''}${o.conflict ? ' conflict' : ''}`);
    chip.dataset.uid = o.uid;
    if (o.colour) chip.style[o.allDay ? 'background' : 'borderLeftColor'] = o.colour;
    if (!o.allDay && o.start.slice(0, 10) === day) chip.append(el('span', 'time', o.start.slice(11)));
    chip.append(document.createTextNode(o.title || '(no title)'));
    chip.title = `${o.title || '(no title)'}${o.allDay ? '' : `\n${o.start.slice(11)}–${o.end.slice(11)}`}${
      o.location ? `\n${o.location}` : ''
    }${o.conflict ? '\nMoved on two devices at once: click to pick a time' : ''}`;
    chip.addEventListener('pointerdown', (e) => this.#dragStart(e, chip, o, day));
    return chip;
  }

  /** Drags a chip to another day: the event moves by whole days. */
  #dragStart(e, chip, o, day) {
    if (e.button !== 0) return;
    e.preventDefault();
    if (this.readOnly) {
      this.edit(o);
      return;
    }
    chip.setPointerCapture(e.pointerId);
    this.dragging = true;
    let target = day;
    const cellAt = (ev) =>
      this.cells.find((c) => {
        const r = c.getBoundingClientRect();
        return ev.clientX >= r.left && ev.clientX < r.right && ev.clientY >= r.top && ev.clientY < r.bottom;
      });
    const move = (ev) => {
      const cell = cellAt(ev);
      if (!cell) return;
      for (const c of this.cells) c.classList.toggle('drop', c === cell && cell.dataset.date !== day);
      target = cell.dataset.date;
      chip.classList.toggle('dragging', target !== day);
    };
    const up = () => {
      chip.removeEventListener('pointermove', move);
      chip.removeEventListener('pointerup', up);
      chip.removeEventListener('pointercancel', up);
      this.dragging = false;
      if (target === day) {
        this.render();
        this.edit(o);
        return;
      }
      const days = minutesBetween(`${day}T00:00`, `${target}T00:00`) / 1440;
      if (o.allDay) {
        retime(this, o, addDays(o.start.slice(0, 10), days), addDays(o.end.slice(0, 10), days), true);
      } else {
        const length = minutesBetween(o.whenStart, o.whenEnd);
        const start = localAt(addDays(o.start.slice(0, 10), days), minutesOf(o.start));
        retime(this, o, start, localAt(start.slice(0, 10), minutesOf(start) + length), false);
      }
    };
    chip.addEventListener('pointermove', move);
    chip.addEventListener('pointerup', up);
    chip.addEventListener('pointercancel', up);
  }
}
