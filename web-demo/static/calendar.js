// The calendar's week view: seven days by 24 hours, events placed by their
// wall-clock times in the viewer's zone. Click an empty hour to create an
// event, drag an event to move it (15-minute steps, across days), click it
// to edit. A drag of a repeating event asks "This occurrence" or "All
// occurrences", as the desktop does. The occurrences come from the
// WebAssembly core (concord-calendar, the desktop's calendar model).

import { localDate, viewerZone } from './concord.js';

const HOUR_PX = 44;
const SNAP_MIN = 15;
export const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export const pad = (n) => String(n).padStart(2, '0');
const isoDate = localDate;

/** 'YYYY-MM-DD' plus `n` days. */
export function addDays(date, n) {
  const [y, m, d] = date.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + n));
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}

/** The Monday of the week of `date` ('YYYY-MM-DD'). */
export function mondayOf(date) {
  const [y, m, d] = date.split('-').map(Number);
  const weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;
  return addDays(date, -weekday);
}

/** Minutes since midnight of 'YYYY-MM-DDTHH:MM'. */
export function minutesOf(local) {
  return Number(local.slice(11, 13)) * 60 + Number(local.slice(14, 16));
}

/** 'YYYY-MM-DDTHH:MM' of a day plus minutes (may run into the next days). */
export function localAt(date, minutes) {
  const days = Math.floor(minutes / 1440);
  const rest = minutes - days * 1440;
  return `${addDays(date, days)}T${pad(Math.floor(rest / 60))}:${pad(rest % 60)}`;
}

/** Minutes between two 'YYYY-MM-DDTHH:MM' wall-clock times. */
export function minutesBetween(a, b) {
  const toMin = (s) => {
    const [y, m, d] = s.slice(0, 10).split('-').map(Number);
    return Date.UTC(y, m - 1, d) / 60000 + minutesOf(s);
  };
  return toMin(b) - toMin(a);
}

/** The plain fields of an occurrence from the core (which is then freed). */
export function occurrenceItem(o) {
  const item = {
    uid: o.uid, scope: o.scope, title: o.title, location: o.location, colour: o.colour,
    start: o.start, end: o.end, whenStart: o.whenStart, whenEnd: o.whenEnd,
    allDay: o.allDay, recurring: o.recurring, conflict: o.conflict,
  };
  o.free();
  return item;
}

/**
 * Writes a dragged occurrence's new span (wall-clock times in `view.zone`,
 * or dates if `allDay`). A repeating event asks first, as the desktop does:
 * this occurrence, all occurrences (the series moves by as much), or
 * nothing. Redraws the view either way.
 */
export async function retime(view, o, start, end, allDay) {
  let all = false;
  if (o.recurring) {
    const answer = await view.ask(o, start, allDay);
    if (answer !== 'occurrence' && answer !== 'series') {
      view.render();
      return;
    }
    all = answer === 'series';
  }
  try {
    view.concord.edit(view.doc, (ws) =>
      all
        ? ws.moveSeries(view.doc, o.uid, o.scope, start, end, allDay, view.zone)
        : ws.moveEvent(view.doc, o.uid, o.scope, start, end, allDay, view.zone),
    );
  } catch (err) {
    view.concord.notify?.(`Cannot move: ${err.message ?? err}`);
  }
  view.render();
}

export class WeekView {
  /**
   * @param concord  the Concord instance
   * @param grid     the element the week is drawn in
   * @param edit     (occurrence | {start, end, allDay}) => void: open the
   *                 editor (or, read-only, the event's details)
   * @param ask      (occurrence, start, allDay) => Promise<'occurrence' |
   *                 'series' | 'cancel'>: what a move of a repeating event is for
   */
  constructor(concord, grid, edit, ask) {
    this.concord = concord;
    this.grid = grid;
    this.edit = edit;
    this.ask = ask;
    this.zone = viewerZone();
    this.doc = null;
    this.monday = mondayOf(isoDate(new Date()));
    this.drag = null;
    this.readOnly = false;
  }

  /** A read-only calendar: no creating or moving events; a click shows one. */
  setReadOnly(readOnly) {
    this.readOnly = readOnly;
    this.grid.classList.toggle('read-only', readOnly);
  }

  /** Opens the editor (read-only: the event's details; nothing for a new one). */
  #open(what) {
    if (!this.readOnly || what.uid) this.edit(what);
  }

  show(doc) {
    const first = this.doc === null;
    this.doc = doc;
    this.render();
    if (first) this.grid.scrollTop = 7.5 * HOUR_PX; // the working day in view
  }

  /** Moves the view by `weeks` (0: back to this week). */
  shift(weeks) {
    this.monday = weeks === 0 ? mondayOf(isoDate(new Date())) : addDays(this.monday, 7 * weeks);
    this.render();
  }

  label() {
    const end = addDays(this.monday, 6);
    return `${this.monday} – ${end} (${this.zone})`;
  }

  render() {
    if (!this.doc || this.drag) return;
    const ws = this.concord.workspace;
    let occurrences;
    try {
      occurrences = ws.occurrences(this.doc, this.monday, addDays(this.monday, 7), this.zone);
    } catch (e) {
      this.grid.textContent = `This calendar cannot be shown: ${e.message ?? e}`;
      return;
    }
    const items = occurrences.map(occurrenceItem);
    const scroll = this.grid.scrollTop;
    this.grid.replaceChildren();
    const today = isoDate(new Date());
    const days = [...Array(7).keys()].map((i) => addDays(this.monday, i));

    this.grid.append(el('div', 'corner'));
    days.forEach((day, i) => {
      const head = el('div', `day-head${day === today ? ' today' : ''}`, `${DAY_NAMES[i]} ${day.slice(8)}.${day.slice(5, 7)}.`);
      head.dataset.date = day;
      this.grid.append(head);
    });

    // All-day events, one row above the hours.
    this.grid.append(el('div', 'all-day-row corner-all'));
    for (const day of days) {
      const cell = el('div', 'all-day-row');
      cell.style.top = '33px';
      for (const o of items.filter((o) => o.allDay && o.start.slice(0, 10) <= day && day < o.end.slice(0, 10))) {
        const chip = el('span', 'all-day-event', o.title || '(no title)');
        if (o.colour) chip.style.background = o.colour;
        chip.dataset.uid = o.uid;
        chip.addEventListener('click', () => this.#open(o));
        cell.append(chip);
      }
      this.grid.append(cell);
    }

    const hours = el('div', 'hours');
    for (let h = 0; h < 24; h++) hours.append(el('div', 'hour-label', h === 0 ? '' : `${pad(h)}:00`));
    this.grid.append(hours);

    this.columns = [];
    for (const day of days) {
      const col = el('div', 'day');
      col.dataset.date = day;
      for (let h = 0; h < 24; h++) {
        const slot = el('div', 'slot');
        slot.addEventListener('click', () =>
          this.#open({ start: localAt(day, h * 60), end: localAt(day, h * 60 + 60), allDay: false }),
        );
        col.append(slot);
      }
      const timed = items.filter(
        (o) => !o.allDay && o.start < `${addDays(day, 1)}T00:00` && o.end > `${day}T00:00`,
      );
      for (const [o, lane, lanes] of layout(timed, day)) col.append(this.#block(o, day, lane, lanes));
      this.columns.push(col);
      this.grid.append(col);
    }
    this.grid.scrollTop = scroll;
  }

  #block(o, day, lane, lanes) {
    const from = o.start.slice(0, 10) < day ? 0 : minutesOf(o.start);
    const to = o.end.slice(0, 10) > day ? 1440 : minutesOf(o.end);
    const block = el('div', `event${o.conflict ? ' conflict' : ''}`);
    block.dataset.uid = o.uid;
    block.style.top = `${(from / 60) * HOUR_PX}px`;
    block.style.height = `${Math.max(((to - from) / 60) * HOUR_PX - 2, 16)}px`;
    block.style.left = `calc(${(100 * lane) / lanes}% + 2px)`;
    block.style.width = `calc(${100 / lanes}% - 4px)`;
    block.style.right = 'auto';
    if (o.colour) block.style.background = o.colour;
    block.title = `${o.title}\n${o.start.slice(11)}–${o.end.slice(11)}${o.location ? `\n${o.location}` : ''}${
      o.conflict ? '\nMoved on two devices at once: click to pick a time' : ''
    }`;
    block.append(el('div', 'name', o.title || '(no title)'));
    block.append(el('div', 'time', `${o.start.slice(11)}–${o.end.slice(11)}`));
    block.addEventListener('pointerdown', (e) => this.#dragStart(e, block, o, day));
    return block;
  }

  #dragStart(e, block, o, day) {
    if (e.button !== 0) return;
    if (this.readOnly) {
      this.edit(o);
      return;
    }
    e.preventDefault();
    e.stopPropagation();
    const startY = e.clientY;
    const top = parseFloat(block.style.top);
    this.drag = { moved: false, minutes: 0, day };
    block.setPointerCapture(e.pointerId);
    block.classList.add('dragging');
    const move = (ev) => {
      const dy = ev.clientY - startY;
      const minutes = Math.round(((dy / HOUR_PX) * 60) / SNAP_MIN) * SNAP_MIN;
      const col = this.columns.find((c) => {
        const r = c.getBoundingClientRect();
        return ev.clientX >= r.left && ev.clientX < r.right;
      });
      const target = col?.dataset.date ?? this.drag.day;
      if (Math.abs(dy) > 3 || target !== day) this.drag.moved = true;
      this.drag.minutes = minutes;
      this.drag.day = target;
      block.style.top = `${top + (minutes / 60) * HOUR_PX}px`;
      if (col && block.parentElement !== col) col.append(block);
    };
    const up = () => {
      block.removeEventListener('pointermove', move);
      block.removeEventListener('pointerup', up);
      block.removeEventListener('pointercancel', up);
      const { moved, minutes, day: target } = this.drag;
      this.drag = null;
      if (!moved) {
        this.render();
        this.edit(o);
        return;
      }
      const shift = minutesBetween(`${day}T00:00`, `${target}T00:00`) + minutes;
      const length = minutesBetween(o.whenStart, o.whenEnd);
      const start = localAt(o.start.slice(0, 10), minutesOf(o.start) + shift);
      const end = localAt(start.slice(0, 10), minutesOf(start) + length);
      retime(this, o, start, end, false);
    };
    block.addEventListener('pointermove', move);
    block.addEventListener('pointerup', up);
    block.addEventListener('pointercancel', up);
  }
}

/** Side-by-side lanes for overlapping events: [item, lane, lanes][]. */
function layout(items, day) {
  const span = (o) => [
    o.start.slice(0, 10) < day ? 0 : minutesOf(o.start),
    o.end.slice(0, 10) > day ? 1440 : minutesOf(o.end),
  ];
  const out = [];
  let cluster = [];
  let clusterEnd = -1;
  let lanesEnd = [];
  const flush = () => {
    for (const c of cluster) out.push([c.o, c.lane, lanesEnd.length]);
    cluster = [];
    lanesEnd = [];
  };
  for (const o of items) {
    const [from, to] = span(o);
    if (from >= clusterEnd) flush();
    let lane = lanesEnd.findIndex((end) => end <= from);
    if (lane < 0) {
      lane = lanesEnd.length;
      lanesEnd.push(to);
    } else {
      lanesEnd[lane] = to;
    }
    cluster.push({ o, lane });
    clusterEnd = Math.max(clusterEnd, to);
  }
  flush();
  return out;
}

export function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}
