// The demo page: a list of documents and calendars, a note editor, a week
// view, and where each document stands with the relay. Everything it knows
// comes from concord.js (and through it, the WebAssembly core).

import { Concord, parseShareFragment, shareLink, viewerZone } from './concord.js';
import { WeekView } from './calendar.js';

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
    this.week = new WeekView(concord, $('week'), (o) => this.openEvent(o));
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

    $('new-note').addEventListener('click', async () => {
      const id = await c.createNote('Untitled');
      this.select(id);
      $('title').select();
    });
    $('new-calendar').addEventListener('click', async () => {
      const id = await this.newCalendar();
      this.select(id);
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
    $('week-prev').addEventListener('click', () => this.weekShift(-1));
    $('week-next').addEventListener('click', () => this.weekShift(1));
    $('week-today').addEventListener('click', () => this.weekShift(0));
    $('share').addEventListener('click', () => this.share());
    $('export').addEventListener('click', () => this.exportCurrent());
    $('forget').addEventListener('click', () => this.forgetCurrent());
    this.setupEventDialog();
    addEventListener('hashchange', () => this.fromHash());

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

  select(id) {
    location.hash = `#doc=${id}`;
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
        li.addEventListener('click', () => this.select(d.id));
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
      this.week.show(id);
      $('week-label').textContent = this.week.label();
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
  }

  weekShift(n) {
    this.week.shift(n);
    $('week-label').textContent = this.week.label();
  }

  // ---- actions ----

  newCalendar() {
    // The first calendar shows what a week looks like; later ones start empty.
    const first = !this.concord.documents().some((d) => d.kind === 'calendar');
    return this.concord.createCalendar(first ? 'Team week' : 'New calendar', { demo: first });
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
      this.select(id);
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
    $('ev-delete').addEventListener('click', () => {
      const o = this.editing;
      if (!o?.uid) return;
      this.concord.edit(this.current, (ws) => ws.deleteEvent(this.current, o.uid));
      dialog.close('deleted');
    });
    $('event-form').addEventListener('submit', (e) => {
      if (e.submitter?.value !== 'save') return;
      if (!this.saveEvent()) e.preventDefault();
    });
  }

  openEvent(o) {
    this.editing = o;
    const isNew = !o.uid;
    $('event-dialog-title').textContent = isNew ? 'New event' : o.recurring ? 'Edit this occurrence' : 'Edit event';
    $('ev-delete').hidden = isNew;
    $('ev-title').value = o.title ?? '';
    $('ev-location').value = o.location ?? '';
    $('ev-allday').checked = Boolean(o.allDay);
    const start = o.whenStart ?? o.start;
    const end = o.whenEnd ?? o.end;
    for (const [input, v] of [[$('ev-start'), start], [$('ev-end'), end]]) {
      input.type = o.allDay ? 'date' : 'datetime-local';
      input.value = v;
    }
    $('ev-error').hidden = true;
    const box = $('event-conflict');
    box.hidden = !o.conflict;
    if (o.conflict) {
      const ev = this.ws.event(this.current, o.uid, viewerZone());
      const choices = ev.choices(o.scope);
      ev.free();
      box.replaceChildren(document.createTextNode('Moved on two devices at the same time. Keep:'));
      for (const [s, e] of choices) {
        const b = document.createElement('button');
        b.type = 'button';
        b.textContent = `${s.replace('T', ' ')} – ${e.slice(11) || e}`;
        b.addEventListener('click', () => {
          this.concord.edit(this.current, (ws) =>
            ws.moveEvent(this.current, o.uid, o.scope, s, e, o.allDay, viewerZone()),
          );
          $('event-dialog').close('picked');
        });
        box.append(b);
      }
    }
    $('event-dialog').showModal();
    $('ev-title').focus();
  }

  /** Writes the dialog's fields; false (and an error shown) if they are wrong. */
  saveEvent() {
    const o = this.editing;
    const id = this.current;
    const zone = viewerZone();
    const title = $('ev-title').value.trim();
    const location = $('ev-location').value.trim();
    const allDay = $('ev-allday').checked;
    let start = $('ev-start').value;
    let end = $('ev-end').value;
    if (allDay && end <= start) end = addDay(start);
    try {
      this.concord.edit(id, (ws) => {
        if (!o.uid) {
          const uid = ws.addEvent(id, crypto.getRandomValues(new Uint8Array(16)), title, start, end, allDay, zone);
          if (location) ws.setEventLocation(id, uid, 'series', location);
          return;
        }
        if (title !== o.title) ws.setEventTitle(id, o.uid, o.scope, title);
        if (location !== (o.location ?? '')) ws.setEventLocation(id, o.uid, o.scope, location);
        if (start !== (o.whenStart ?? o.start) || end !== (o.whenEnd ?? o.end) || allDay !== o.allDay) {
          ws.moveEvent(id, o.uid, o.scope, start, end, allDay, zone);
        }
      });
      return true;
    } catch (e) {
      $('ev-error').textContent = e.message ?? String(e);
      $('ev-error').hidden = false;
      return false;
    }
  }
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
