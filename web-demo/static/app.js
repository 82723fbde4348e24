// The demo page: a list of documents and calendars, a note editor, a week
// and a month view with an event editor (a view-only dialog on a read-only
// calendar), and where each document stands with the relay. Everything it knows
// comes from concord.js (and through it, the WebAssembly core).

import { Concord, parseShareFragment, shareLink, viewerZone } from './concord.js';
import { WeekView, addDays, mondayOf } from './calendar.js';
import { MonthView } from './month.js';

const $ = (id) => document.getElementById(id);

/** Shows a message for `ms`; several at once stack (the newest last, at most 4). */
function notify(message, ms = 4000) {
  const box = $('notice');
  const line = document.createElement('div');
  line.textContent = message;
  box.append(line);
  while (box.children.length > 4) box.firstElementChild.remove();
  box.hidden = false;
  setTimeout(() => {
    line.remove();
    if (box.children.length === 0) box.hidden = true;
  }, ms);
  return line;
}

async function start() {
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('./sw.js').catch((e) => console.warn('concord: no offline cache', e));
  }
  let concord;
  try {
    concord = await Concord.open();
  } catch (e) {
    if (!String(e.message).includes('another tab')) throw e;
    const waiting = notify('Concord is open in another tab of this browser. Close it to continue here.', 3600000);
    concord = await Concord.open({ waitForLock: true });
    waiting.remove();
  }
  concord.notify = notify;
  window.concord = concord; // for the console and the end-to-end tests
  new App(concord).run();
}

class App {
  constructor(concord) {
    this.concord = concord;
    this.ws = concord.workspace;
    this.current = null;
    this.unbind = null;
    const open = (o) => this.openEvent(o);
    const ask = (o, start, allDay) => this.askRepeat(o, start, allDay);
    this.week = new WeekView(concord, $('week'), open, ask);
    this.month = new MonthView(concord, $('month'), open, ask, (day) => this.showWeekOf(day));
    /** The calendar view shown: this.week or this.month. */
    this.calView = this.week;
    /** The notes field's binding while the event dialog is open. */
    this.unbindNotes = null;
    this.dirtyList = true;
  }

  run() {
    const c = this.concord;
    $('device').textContent = `device ${c.device.slice(0, 8)}`;
    c.on('documents', () => this.renderList());
    c.on('change', ({ doc, remote }) => {
      if (doc === this.current) this.renderCurrent(remote);
      this.renderList();
    });
    c.on('status', ({ doc }) => {
      if (doc === this.current) this.renderStatus();
      this.renderListStatus(doc);
    });
    c.on('connection', ({ state }) => this.renderConnection(state));
    c.on('error', ({ doc, message }) => notify(doc ? `${this.name(doc)}: ${message}` : message));

    // A new document opens at once with its name selected: what is typed
    // next names it. The focus must leave the button before the next key
    // (so nothing here waits), or a space typed next would press it again
    // (one more "Untitled" per space).
    $('new-note').addEventListener('click', () => {
      this.created(c.startNote('Untitled'), $('title'));
    });
    $('new-calendar').addEventListener('click', () => {
      this.created(this.newCalendar(), $('cal-name'));
    });
    $('join-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.openLink($('join-link').value.trim());
    });
    $('import-file').addEventListener('change', (e) => this.importFile(e.target.files[0]));
    $('title').addEventListener('input', () => {
      if (this.current) c.setTitle(this.current, $('title').value);
    });
    $('cal-name').addEventListener('input', () => {
      if (this.current) c.edit(this.current, (ws) => ws.renameCalendar(this.current, $('cal-name').value));
    });
    $('week-prev').addEventListener('click', () => this.viewShift(-1));
    $('week-next').addEventListener('click', () => this.viewShift(1));
    $('week-today').addEventListener('click', () => this.viewShift(0));
    $('view-week').addEventListener('click', () => this.setView(this.week));
    $('view-month').addEventListener('click', () => this.setView(this.month));
    $('share').addEventListener('click', () => this.share());
    $('export').addEventListener('click', () => this.exportCurrent());
    $('forget').addEventListener('click', () => this.forgetCurrent());
    this.setupEventDialog();
    addEventListener('hashchange', () => this.fromHash());
    addEventListener('popstate', () => this.fromHash());

    for (const [id, why] of c.broken) {
      notify(`A stored document (${id}) cannot be loaded; it is left untouched: ${why}`, 15000);
    }
    this.renderConnection(c.connectionState);
    this.renderList();
    this.fromHash();
    setInterval(() => this.renderStatus(), 1000);
  }

  name(id) {
    try {
      if (this.ws.isCalendar(id)) return this.ws.calendarName(id) || 'Untitled calendar';
      return this.ws.title(id) || 'Untitled';
    } catch {
      return id;
    }
  }

  // ---- navigation ----

  async fromHash() {
    const link = parseShareFragment(location.hash);
    if (!link) {
      if (!this.current) this.show(null);
      return;
    }
    if (link.doc === this.current && link.token === null) return; // shown already
    try {
      await this.concord.join(link.doc, link.token);
    } catch (e) {
      notify(`Cannot open this link: ${e.message ?? e}`);
      return;
    }
    // Keep the token out of the address bar once stored.
    if (location.hash !== `#doc=${link.doc}`) history.replaceState(null, '', `#doc=${link.doc}`);
    this.show(link.doc);
  }

  openLink(text) {
    let hash = text;
    try {
      hash = new URL(text).hash;
    } catch {
      // Maybe just "#doc=..." or "doc=...".
    }
    if (!parseShareFragment(hash.startsWith('#') ? hash : `#${hash}`)) {
      notify('A share link looks like http://host:port/#doc=ID&token=TOKEN');
      return;
    }
    location.hash = hash.startsWith('#') ? hash : `#${hash}`;
    $('join-link').value = '';
  }

  /** Shows a document now, and puts it in the address bar (and history). */
  open(id) {
    if (location.hash !== `#doc=${id}`) history.pushState(null, '', `#doc=${id}`);
    this.show(id);
  }

  show(id) {
    if (this.unbind) {
      this.unbind();
      this.unbind = null;
    }
    this.current = id;
    this.renderList();
    this.renderCurrent(false);
  }

  // ---- drawing ----

  renderConnection(state) {
    const pill = $('connection');
    pill.dataset.state = state;
    pill.textContent = { online: 'online', connecting: 'connecting…', offline: navigator.onLine ? 'offline' : 'offline (no network)' }[state] ?? state;
  }

  renderList() {
    const collator = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });
    const docs = this.concord
      .documents()
      .sort((a, b) => collator.compare(this.name(a.id), this.name(b.id)) || (a.id < b.id ? -1 : 1));
    const fill = (list, items, empty) => {
      list.replaceChildren();
      for (const d of items) {
        const li = document.createElement('li');
        li.dataset.doc = d.id;
        if (d.id === this.current) li.classList.add('selected');
        const dot = document.createElement('span');
        dot.className = 'dot';
        dot.dataset.state = this.concord.status(d.id).state;
        const name = document.createElement('span');
        name.className = 'name';
        const label = this.name(d.id);
        name.textContent = d.kind === 'other' ? 'Loading…' : label;
        if (d.kind === 'other') name.classList.add('empty-name');
        li.append(dot, name);
        li.addEventListener('click', () => this.open(d.id));
        list.append(li);
      }
      if (items.length === 0) {
        const li = document.createElement('li');
        li.className = 'empty-name';
        li.textContent = empty;
        list.append(li);
      }
    };
    fill($('doc-list'), docs.filter((d) => d.kind !== 'calendar'), 'None yet');
    fill($('cal-list'), docs.filter((d) => d.kind === 'calendar'), 'None yet');
  }

  renderListStatus(doc) {
    for (const li of document.querySelectorAll(`li[data-doc="${doc}"] .dot`)) {
      li.dataset.state = this.concord.status(doc).state;
    }
  }

  renderCurrent(remote) {
    const id = this.current;
    const known = id && this.ws.documents().includes(id);
    const kind = known ? this.concord.kind(id) : null;
    $('empty-view').hidden = Boolean(known);
    $('doc-foot').hidden = !known;
    $('note-view').hidden = kind !== 'note' && kind !== 'other';
    $('calendar-view').hidden = kind !== 'calendar';
    if (!known) return;
    if (kind === 'calendar') {
      if (this.unbind) {
        this.unbind();
        this.unbind = null;
      }
      if (document.activeElement !== $('cal-name')) $('cal-name').value = this.ws.calendarName(id);
      this.calView.show(id);
      $('week-label').textContent = this.calView.label();
      if ($('event-dialog').open) this.renderAttendees();
      if ($('event-view').open) this.renderEventView();
    } else {
      if (!this.unbind) this.unbind = this.concord.bindTextarea(id, $('body'));
      const titles = this.concord.titles(id);
      const title = $('title');
      if (document.activeElement !== title || !remote) {
        if (title.value !== (titles[0] ?? '')) title.value = titles[0] ?? '';
      }
      this.renderTitleChoices(titles);
    }
    this.renderStatus();
  }

  renderTitleChoices(titles) {
    const box = $('title-choices');
    box.hidden = titles.length < 2;
    if (titles.length < 2) return;
    box.replaceChildren(document.createTextNode('Renamed on two devices at once — keep:'));
    for (const t of titles) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = t || '(empty)';
      b.addEventListener('click', () => this.concord.setTitle(this.current, t));
      box.append(b);
    }
  }

  renderStatus() {
    const id = this.current;
    if (!id || !this.ws.documents().includes(id)) return;
    this.renderReadOnly(id);
    const s = this.concord.status(id);
    const el = $('doc-status');
    el.dataset.state = s.state;
    el.dataset.unacked = String(s.unacked);
    el.dataset.unsaved = String(s.unsaved);
    const words = {
      offline: 'Offline',
      connecting: 'Connecting…',
      syncing: 'Syncing…',
      synced: 'Synced',
      refused: `Refused by the relay${s.detail ? ` (${s.detail})` : ''}`,
    };
    let text = words[s.state] ?? s.state;
    if (s.unacked > 0 && s.state !== 'synced') text += ` · ${s.unacked} unsent`;
    if (s.unsaved > 0) text += ' · saving…';
    el.textContent = text;
    const others = this.concord.presence(id).filter((d) => d !== this.concord.device).length;
    $('presence').textContent = others > 0 ? `${others} other device${others > 1 ? 's' : ''} here` : '';
  }

  /** A read-only link: nothing on the page offers to edit the document. */
  renderReadOnly(id) {
    const readOnly = this.concord.readOnly(id);
    $('read-only').hidden = !readOnly;
    for (const field of ['body', 'title', 'cal-name']) $(field).readOnly = readOnly;
    this.week.setReadOnly(readOnly);
    this.month.setReadOnly(readOnly);
  }

  viewShift(n) {
    this.calView.shift(n);
    $('week-label').textContent = this.calView.label();
  }

  /** Switches between the week and the month view. */
  setView(view) {
    this.calView = view;
    const month = view === this.month;
    $('week').hidden = month;
    $('month').hidden = !month;
    $('view-week').setAttribute('aria-pressed', String(!month));
    $('view-month').setAttribute('aria-pressed', String(month));
    const unit = month ? 'month' : 'week';
    $('week-today').textContent = `This ${unit}`;
    $('week-prev').setAttribute('aria-label', `Previous ${unit}`);
    $('week-next').setAttribute('aria-label', `Next ${unit}`);
    if (this.current && this.concord.kind(this.current) === 'calendar') view.show(this.current);
    $('week-label').textContent = view.label();
  }

  /** "+N more" in the month view: the week of that day. */
  showWeekOf(day) {
    this.week.monday = mondayOf(day);
    this.setView(this.week);
  }

  /**
   * A drag of a repeating event: "This occurrence", "All occurrences" or
   * "Cancel" (as the desktop asks). Resolves to 'occurrence', 'series' or
   * 'cancel'.
   */
  askRepeat(o, start, allDay) {
    const dialog = $('repeat-dialog');
    const when = allDay ? start : start.replace('T', ' ');
    $('repeat-question').textContent = `"${o.title || '(no title)'}" repeats. Move it to ${when}:`;
    dialog.returnValue = 'cancel';
    dialog.showModal();
    $('repeat-one').focus();
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue || 'cancel'), { once: true });
    });
  }

  // ---- actions ----

  /** `{id, stored}` of a new calendar (see `Concord.startCalendar`). */
  newCalendar() {
    // The first calendar shows what a week looks like; later ones start empty.
    const first = !this.concord.documents().some((d) => d.kind === 'calendar');
    return this.concord.startCalendar(first ? 'Team week' : 'New calendar', { demo: first });
  }

  /** Shows a document just made, its name field focused and selected. */
  created({ id, stored }, name) {
    this.open(id);
    focusSelected(name);
    stored.catch((e) => {
      notify(`Cannot keep the new document in this browser: ${e.message ?? e}`, 10000);
      if (this.current === id) {
        history.replaceState(null, '', location.pathname);
        this.show(null);
      }
    });
  }

  share() {
    const id = this.current;
    const link = shareLink(id, this.ws.token(id));
    navigator.clipboard?.writeText(link).then(
      () => notify('Share link copied'),
      () => notify(link, 15000),
    ) ?? notify(link, 15000);
  }

  exportCurrent() {
    const id = this.current;
    const calendar = this.ws.isCalendar(id);
    const blob = calendar
      ? new Blob([this.ws.exportIcs(id, Date.now())], { type: 'text/calendar' })
      : new Blob([this.concord.export(id)], { type: 'application/octet-stream' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${this.name(id).replace(/[^\w -]+/g, '_')}.${calendar ? 'ics' : 'concord'}`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }

  async importFile(file) {
    if (!file) return;
    try {
      let id;
      if (/\.ics$/i.test(file.name) || file.type === 'text/calendar') {
        const done = await this.concord.importIcs(await file.text(), file.name.replace(/\.ics$/i, ''));
        id = done.id;
        const { warnings } = done;
        if (warnings.length) notify(`Imported with ${warnings.length} warning(s): ${warnings[0]}`, 8000);
      } else {
        id = await this.concord.importNew(new Uint8Array(await file.arrayBuffer()));
      }
      this.open(id);
    } catch (e) {
      notify(`Cannot import ${file.name}: ${e.message ?? e}`);
    } finally {
      $('import-file').value = '';
    }
  }

  async forgetCurrent() {
    const id = this.current;
    const s = this.concord.status(id);
    const warning = s.unacked > 0 ? `\n\n${s.unacked} change(s) have not reached the relay and will be lost.` : '';
    if (!confirm(`Remove "${this.name(id)}" from this browser? The relay keeps its copy.${warning}`)) return;
    if (this.unbind) {
      this.unbind();
      this.unbind = null;
    }
    await this.concord.forget(id);
    history.replaceState(null, '', location.pathname);
    this.show(null);
  }

  // ---- the event dialog ----
  //
  // Title, location and time are written on Save; for a repeating event
  // to this occurrence or to all of them (as the desktop's editor). Notes
  // (shared text, bound like a note's body) and attendees (an add-wins set)
  // belong to the whole event and are written as they change. A read-only
  // calendar shows an event in a view-only dialog instead.

  setupEventDialog() {
    const dialog = $('event-dialog');
    const allDay = $('ev-allday');
    allDay.addEventListener('change', () => {
      for (const input of [$('ev-start'), $('ev-end')]) {
        const v = input.value;
        input.type = allDay.checked ? 'date' : 'datetime-local';
        input.value = allDay.checked ? v.slice(0, 10) : v.length === 10 ? `${v}T09:00` : v;
      }
    });
    for (const radio of document.querySelectorAll('input[name="ev-scope"]')) {
      radio.addEventListener('change', () => this.scopeChanged());
    }
    $('ev-delete').addEventListener('click', () => {
      const o = this.editing;
      if (!o?.uid) return;
      const one = this.editsOccurrence();
      try {
        this.concord.edit(this.current, (ws) =>
          one ? ws.cancelOccurrence(this.current, o.uid, o.scope) : ws.deleteEvent(this.current, o.uid),
        );
      } catch (e) {
        this.dialogError(e);
        return;
      }
      dialog.close('deleted');
    });
    $('ev-attendee-add').addEventListener('click', () => this.addAttendee());
    $('ev-attendee').addEventListener('keydown', (e) => {
      if (e.key !== 'Enter') return;
      e.preventDefault(); // not the form's Save
      this.addAttendee();
    });
    $('event-form').addEventListener('submit', (e) => {
      if (e.submitter?.value !== 'save') return;
      if (!this.saveEvent()) e.preventDefault();
    });
    // (`close` is delivered as a task: the dialog may be open again by then.)
    dialog.addEventListener('close', () => {
      if (dialog.open) return;
      if (this.unbindNotes) {
        this.unbindNotes();
        this.unbindNotes = null;
      }
      this.editing = null;
    });
    $('event-view').addEventListener('close', () => {
      if (!$('event-view').open) this.viewing = null;
    });
  }

  /** An event's fields now (`undefined` if it is gone). */
  eventNow(uid) {
    try {
      const ev = this.ws.event(this.current, uid, viewerZone());
      const out = {
        title: ev.title, location: ev.location, notes: ev.notes, attendees: ev.attendees,
        repeats: ev.repeats, zone: ev.zone,
      };
      ev.free();
      return out;
    } catch {
      return undefined;
    }
  }

  /** A repeating event's dialog set to "This occurrence". */
  editsOccurrence() {
    return Boolean(this.editing?.recurring) && document.querySelector('input[name="ev-scope"]:checked')?.value !== 'series';
  }

  /** The scope the dialog's title, location and time go to. */
  dialogScope() {
    const o = this.editing;
    return o.recurring && !this.editsOccurrence() ? 'series' : o.scope;
  }

  /** Title and location as the chosen scope has them. */
  fillNames(title, location) {
    $('ev-title').value = title ?? '';
    $('ev-location').value = location ?? '';
    this.filled = { title: title ?? '', location: location ?? '' };
  }

  scopeChanged() {
    const o = this.editing;
    const one = this.editsOccurrence();
    $('ev-delete').textContent = one ? 'Delete this occurrence' : 'Delete event';
    const series = one ? o : this.eventNow(o.uid);
    if (series) this.fillNames(series.title, series.location);
    this.renderConflict();
  }

  openEvent(o) {
    if (this.concord.readOnly(this.current)) {
      if (o.uid) this.showEventView(o);
      return;
    }
    const dialog = $('event-dialog');
    if (dialog.open) return;
    if (this.unbindNotes) this.unbindNotes(); // a close event not yet delivered
    this.unbindNotes = null;
    this.editing = o;
    const isNew = !o.uid;
    $('event-dialog-title').textContent = isNew ? 'New event' : o.recurring ? 'Edit a repeating event' : 'Edit event';
    $('ev-scope').hidden = !o.recurring;
    document.querySelector('input[name="ev-scope"][value="occurrence"]').checked = true;
    $('ev-delete').hidden = isNew;
    $('ev-delete').textContent = o.recurring ? 'Delete this occurrence' : 'Delete event';
    this.fillNames(o.title, o.location);
    $('ev-allday').checked = Boolean(o.allDay);
    const start = o.whenStart ?? o.start;
    const end = o.whenEnd ?? o.end;
    for (const [input, v] of [[$('ev-start'), start], [$('ev-end'), end]]) {
      input.type = o.allDay ? 'date' : 'datetime-local';
      input.value = v;
    }
    $('ev-error').hidden = true;
    const ev = isNew ? undefined : this.eventNow(o.uid);
    $('ev-repeats').hidden = !ev?.repeats;
    $('ev-repeats').textContent = ev?.repeats ? `Repeats: ${ev.repeats}` : '';
    $('ev-live').hidden = isNew;
    $('ev-attendee').value = '';
    this.newAttendees = [];
    if (isNew) {
      $('ev-notes').value = '';
    } else {
      this.unbindNotes = this.concord.bindEventNotes(this.current, o.uid, $('ev-notes'));
    }
    this.renderAttendees();
    this.renderConflict();
    dialog.showModal();
    $('ev-title').focus();
  }

  dialogError(e) {
    $('ev-error').textContent = e.message ?? String(e);
    $('ev-error').hidden = false;
  }

  renderAttendees() {
    const o = this.editing;
    if (!o) return;
    const list = o.uid ? (this.eventNow(o.uid)?.attendees ?? []) : this.newAttendees;
    const ul = $('ev-attendees');
    ul.replaceChildren();
    for (const who of list) {
      const li = document.createElement('li');
      li.append(document.createTextNode(who));
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.textContent = '×';
      remove.setAttribute('aria-label', `Remove ${who}`);
      remove.addEventListener('click', () => this.removeAttendee(who));
      li.append(remove);
      ul.append(li);
    }
    if (list.length === 0) {
      const li = document.createElement('li');
      li.className = 'none';
      li.textContent = 'Nobody yet';
      ul.append(li);
    }
  }

  addAttendee() {
    const input = $('ev-attendee');
    const who = input.value.trim();
    const o = this.editing;
    if (!who || !o) return;
    if (!o.uid) {
      if (!this.newAttendees.includes(who)) this.newAttendees = [...this.newAttendees, who].sort();
    } else {
      try {
        this.concord.edit(this.current, (ws) => ws.addAttendee(this.current, o.uid, who));
      } catch (e) {
        this.dialogError(e);
        return;
      }
    }
    input.value = '';
    this.renderAttendees();
  }

  removeAttendee(who) {
    const o = this.editing;
    if (!o) return;
    if (!o.uid) {
      this.newAttendees = this.newAttendees.filter((w) => w !== who);
    } else {
      try {
        this.concord.edit(this.current, (ws) => ws.removeAttendee(this.current, o.uid, who));
      } catch (e) {
        this.dialogError(e);
        return;
      }
    }
    this.renderAttendees();
  }

  /** Concurrent moves of what the dialog edits: offer every time, as written. */
  renderConflict() {
    const o = this.editing;
    const box = $('event-conflict');
    const scope = o?.uid ? this.dialogScope() : null;
    let choices = [];
    if (scope) {
      try {
        const ev = this.ws.event(this.current, o.uid, viewerZone());
        choices = ev.choices(scope);
        ev.free();
      } catch {
        // Gone meanwhile: nothing to pick.
      }
    }
    box.hidden = choices.length < 2;
    if (choices.length < 2) return;
    box.replaceChildren(document.createTextNode('Moved on two devices at the same time. Keep:'));
    choices.forEach(([s, e], index) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = `${s.replace('T', ' ')} – ${e.slice(11) || e}`;
      b.addEventListener('click', () => {
        try {
          this.concord.edit(this.current, (ws) => ws.pickTime(this.current, o.uid, scope, index));
        } catch (err) {
          this.dialogError(err);
          return;
        }
        $('event-dialog').close('picked');
      });
      box.append(b);
    });
  }

  /** Writes the dialog's fields; false (and an error shown) if they are wrong. */
  saveEvent() {
    const o = this.editing;
    const id = this.current;
    const zone = viewerZone();
    const title = $('ev-title').value.trim();
    const location = $('ev-location').value.trim();
    const allDay = $('ev-allday').checked;
    const start = $('ev-start').value;
    let end = $('ev-end').value;
    if (allDay && end <= start) end = addDay(start);
    try {
      this.concord.edit(id, (ws) => {
        if (!o.uid) {
          const uid = ws.addEvent(id, crypto.getRandomValues(new Uint8Array(16)), title, start, end, allDay, zone);
          if (location) ws.setEventLocation(id, uid, 'series', location);
          const notes = $('ev-notes').value;
          if (notes) ws.inputEventNotes(id, uid, '', notes, undefined);
          for (const who of this.newAttendees) ws.addAttendee(id, uid, who);
          return;
        }
        const scope = this.dialogScope();
        if (title !== this.filled.title) ws.setEventTitle(id, o.uid, scope, title);
        if (location !== this.filled.location) ws.setEventLocation(id, o.uid, scope, location);
        if (start !== (o.whenStart ?? o.start) || end !== (o.whenEnd ?? o.end) || allDay !== o.allDay) {
          if (scope === 'series' && o.recurring) {
            // All occurrences: the series moves by what this one moved.
            ws.moveSeries(id, o.uid, o.scope, start, end, allDay, zone);
          } else {
            ws.moveEvent(id, o.uid, scope, start, end, allDay, zone);
          }
        }
      });
      return true;
    } catch (e) {
      this.dialogError(e);
      return false;
    }
  }

  // ---- a read-only calendar's event ----

  showEventView(o) {
    if ($('event-view').open) return;
    this.viewing = o;
    this.renderEventView();
    $('event-view').showModal();
    $('view-close').focus();
  }

  /** The view-only dialog's fields (again after remote edits). */
  renderEventView() {
    const o = this.viewing;
    if (!o) return;
    const ev = this.eventNow(o.uid);
    if (!ev) {
      $('event-view').close('gone');
      notify('This event was deleted.');
      return;
    }
    const put = (id, text, empty) => {
      $(id).textContent = text || empty;
      $(id).classList.toggle('empty', !text);
    };
    put('view-title', o.recurring ? o.title : ev.title, '(no title)');
    put('view-when', whenText(o, ev.zone), '');
    put('view-location', o.recurring ? o.location : ev.location, 'None');
    put('view-repeats', ev.repeats, 'Does not repeat');
    put('view-notes', ev.notes, 'No notes');
    put('view-attendees', ev.attendees.join(', '), 'Nobody');
  }
}

/** Focuses a text field with its text selected (typing replaces it). */
function focusSelected(input) {
  input.focus();
  input.select();
}

/** When an occurrence is, in words: dates, or times in the viewer's zone. */
function whenText(o, zone) {
  if (o.allDay) {
    const last = addDays(o.end.slice(0, 10), -1);
    return last > o.start ? `${o.start} – ${last} (all day)` : `${o.start} (all day)`;
  }
  const sameDay = o.start.slice(0, 10) === o.end.slice(0, 10);
  const end = sameDay ? o.end.slice(11) : o.end.replace('T', ' ');
  const own = zone && zone !== viewerZone() ? `; its own zone is ${zone}` : '';
  return `${o.start.replace('T', ' ')} – ${end} (${viewerZone()}${own})`;
}

function addDay(date) {
  const d = new Date(`${date.slice(0, 10)}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

start().catch((e) => {
  console.error(e);
  document.body.textContent = `Concord could not start: ${e.message ?? e}`;
});
