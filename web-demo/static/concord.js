// Concord for web pages: local-first documents in the browser.
//
//   import { Concord } from './concord.js';
//   const concord = await Concord.open();               // IndexedDB + relay of this origin
//   const id = await concord.createNote('Shopping');
//   concord.spliceText(id, 'body', 0, 0, 'milk');
//   concord.on('change', ({ doc, remote }) => redraw(doc));
//
// Every rule lives in the WebAssembly core (the same Rust code as the
// desktop app): merging, what to send and acknowledge, what to save. This
// module only moves bytes between it, IndexedDB (store.js) and the relay's
// WebSocket (connection.js), and tells the page what happened.

import init, { Workspace } from './concord_web.js';
import { Store } from './store.js';
import { Connection } from './connection.js';
import { TextBinding, eventNotes, rootText } from './editor.js';

let wasmReady = null;

function randomId() {
  return Workspace.newId(crypto.getRandomValues(new Uint8Array(16)));
}

/** The viewer's IANA time zone ('UTC' if the browser does not say). */
export function viewerZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** 'YYYY-MM-DD' of a Date in local time. */
export function localDate(d) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The relay's sync endpoint for the page's own origin. */
export function defaultRelay() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/v1/sync`;
}

/**
 * Parses `#doc=ID&token=T` (a desktop share link's fragment), or null.
 * `token` is null when the fragment has none (`#doc=ID`: a document this
 * browser holds, opened with the token it has).
 */
export function parseShareFragment(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const doc = params.get('doc');
  if (!doc) return null;
  return { doc, token: params.get('token') };
}

/** A share link for a document, in the desktop's format. */
export function shareLink(doc, token) {
  return `${location.origin}/#doc=${doc}&token=${token}`;
}

export class Concord {
  /**
   * Opens this browser profile's Concord: loads every stored document from
   * IndexedDB and starts syncing with the relay.
   * Options: `relay` (ws:// URL, default: this origin's /v1/sync; `null`
   * for no relay), `database` (IndexedDB name, default 'concord'),
   * `timers` (see connection.js).
   * Throws if another tab of this profile has Concord open (two tabs must
   * not write as the same replica); `waitForLock: true` waits instead.
   */
  static async open(options = {}) {
    const database = options.database ?? 'concord';
    wasmReady ??= init();
    await wasmReady;
    const release = await lock(database, options.waitForLock ?? false);
    const store = await Store.open(database);
    const device = await store.device(randomId);
    const seed = crypto.getRandomValues(new Uint8Array(16));
    const concord = new Concord(new Workspace(device, seed), store, release);
    await concord.#loadAll();
    const relay = options.relay === undefined ? defaultRelay() : options.relay;
    if (relay) concord.#connect(relay, options.timers);
    return concord;
  }

  constructor(workspace, store, release) {
    /** The WebAssembly workspace (see web-demo/README.md) for what this class does not wrap. */
    this.workspace = workspace;
    this.store = store;
    this.release = release;
    this.listeners = new Map();
    this.bindings = new Set();
    /** Documents whose stored bytes could not be loaded: never written over. */
    this.broken = new Map();
    /** Failed writes in a row: the pause before the next attempt grows. */
    this.failures = 0;
    this.retry = null;
    /** Per document, the relay-confirmed count last written to IndexedDB. */
    this.acked = new Map();
    this.connection = null;
  }

  /** This profile's replica id. */
  get device() {
    return this.workspace.device;
  }

  // ---- events ----

  /**
   * Subscribes to 'change' ({doc, remote}), 'status' ({doc}), 'connection'
   * ({state: 'offline'|'connecting'|'online'}), 'documents' (the list
   * changed), 'error' ({doc, message}). Returns an unsubscribe function.
   */
  on(event, fn) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(fn);
    return () => this.listeners.get(event)?.delete(fn);
  }

  #emit(event, detail) {
    for (const fn of this.listeners.get(event) ?? []) {
      try {
        fn(detail);
      } catch (e) {
        console.error(`concord: a '${event}' listener threw`, e);
      }
    }
  }

  // ---- documents ----

  /** The open documents: [{id, title, kind: 'note'|'calendar'|'other'}]. */
  documents() {
    return this.workspace.documents().map((id) => ({ id, title: this.title(id), kind: this.kind(id) }));
  }

  /** What a document is: 'note', 'calendar', or 'other' (e.g. still empty). */
  kind(doc) {
    if (this.workspace.isCalendar(doc)) return 'calendar';
    const keys = this.workspace.keys(doc);
    if (keys.includes('body') || keys.includes('title')) return 'note';
    return 'other';
  }

  /** Creates a note; returns its id. `token`: '' on a relay started with --dev. */
  async createNote(title, token = '') {
    const { id, stored } = this.startNote(title, token);
    await stored;
    return id;
  }

  /**
   * Creates a note at once: `{id, stored}`. The document exists (and can be
   * shown and edited) as this returns; `stored` resolves once IndexedDB
   * holds its entry, or rejects (and the document is dropped) if it cannot.
   * A page uses it to move the focus before the next key is typed.
   */
  startNote(title, token = '') {
    const id = randomId();
    this.workspace.createNote(id, token, title);
    return { id, stored: this.#started(id, token) };
  }

  /**
   * Creates a calendar; returns its id. With `demo: true` it starts with a
   * demo week (this week, in the viewer's zone).
   */
  async createCalendar(name, options = {}) {
    const { id, stored } = this.startCalendar(name, options);
    await stored;
    return id;
  }

  /** `createCalendar`, at once: `{id, stored}` as `startNote` says. */
  startCalendar(name, { token = '', demo = false } = {}) {
    const id = randomId();
    const today = demo ? localDate(new Date()) : undefined;
    this.workspace.createCalendar(id, token, name, today, viewerZone());
    return { id, stored: this.#started(id, token) };
  }

  /** A document made here: list it, store its entry, then save and sync it. */
  async #started(id, token) {
    this.#emit('documents');
    try {
      await this.#entry(id, token);
    } catch (e) {
      this.store.remove(id).catch(() => {}); // whatever was saved of it meanwhile
      this.#emit('documents');
      throw e;
    }
    this.#changed(id, false);
  }

  /**
   * A new calendar from an iCalendar file's text; returns {id, warnings}
   * (events skipped or adjusted).
   */
  async importIcs(text, name, token = '') {
    const id = randomId();
    const warnings = this.workspace.importIcs(id, token, text, viewerZone(), name);
    await this.#entry(id, token);
    this.#changed(id, false);
    this.#emit('documents');
    return { id, warnings };
  }

  /**
   * Joins a document that lives on the relay (a share link's doc and
   * token). If it is held already, a new token replaces the old one; a
   * null token keeps it ('' for a new document: a --dev relay).
   */
  async join(id, token = null) {
    if (this.broken.has(id)) throw new Error(`document ${id} is stored but cannot be loaded: ${this.broken.get(id)}`);
    if (this.workspace.documents().includes(id)) {
      if (token !== null && this.workspace.token(id) !== token) {
        await this.store.putDocument(id, token);
        this.workspace.setToken(id, token);
        this.#pump();
      }
      return id;
    }
    token ??= '';
    this.workspace.join(id, token); // validates the id before anything is stored
    await this.#entry(id, token);
    this.#emit('documents');
    this.#pump();
    return id;
  }

  /** Removes a document from this browser (the relay keeps its copy). */
  async forget(id) {
    this.workspace.forget(id);
    await this.store.remove(id);
    this.#emit('documents');
  }

  /** The document as one file (its state and history). */
  export(id) {
    return this.workspace.export(id);
  }

  /** A new document from a file made by `export`; returns its id. */
  async importNew(bytes, token = '') {
    const id = randomId();
    this.workspace.importNew(id, token, bytes); // throws on a bad file: nothing stored
    await this.#entry(id, token);
    this.#changed(id, false);
    this.#emit('documents');
    return id;
  }

  /** Merges a file made by `export` into a document; returns how many changes were new. */
  importInto(id, bytes) {
    return this.edit(id, (ws) => ws.importInto(id, bytes));
  }

  // ---- reading and editing (positions in UTF-16 units, like JS strings) ----

  title(id) {
    return this.workspace.title(id);
  }
  /** Concurrent titles, winner first (more than one: let the user pick). */
  titles(id) {
    return this.workspace.titles(id);
  }
  setTitle(id, title) {
    this.edit(id, (ws) => ws.setTitle(id, title));
  }
  text(id, key = 'body') {
    return this.workspace.text(id, key);
  }
  spliceText(id, key, pos, del, insert) {
    this.edit(id, (ws) => ws.spliceText(id, key, pos, del, insert));
  }
  get(id, key) {
    return this.workspace.get(id, key);
  }
  getAll(id, key) {
    return this.workspace.getAll(id, key);
  }
  keys(id) {
    return this.workspace.keys(id);
  }
  put(id, key, value) {
    this.edit(id, (ws) => ws.put(id, key, value));
  }
  delete(id, key) {
    this.edit(id, (ws) => ws.delete(id, key));
  }

  /**
   * Runs `fn(workspace)` to edit a document through the raw workspace, then
   * saves and syncs what it changed (for edits this class does not wrap).
   */
  edit(id, fn) {
    for (const b of this.bindings) if (b.doc === id) b.capture();
    const out = fn(this.workspace);
    this.#changed(id, false);
    return out;
  }

  /**
   * Binds a <textarea> to the text under `key`: typing becomes splices, and
   * remote edits are merged in with the caret and selection kept on their
   * characters. Returns a function that unbinds it.
   */
  bindTextarea(id, textarea, key = 'body') {
    return this.#bind(new TextBinding(this, id, rootText(key), textarea));
  }

  /** `bindTextarea` for the notes of calendar event `uid`. */
  bindEventNotes(id, uid, textarea) {
    return this.#bind(new TextBinding(this, id, eventNotes(uid), textarea));
  }

  #bind(binding) {
    this.bindings.add(binding);
    return () => {
      binding.detach();
      this.bindings.delete(binding);
    };
  }

  // ---- status ----

  /** {state: 'offline'|'connecting'|'syncing'|'synced'|'refused', unacked, unsaved, detail} */
  status(id) {
    const s = this.workspace.status(id);
    return { state: s.state, unacked: s.unacked, unsaved: s.unsaved, detail: s.detail };
  }

  /**
   * Whether the document is read-only (a read-only share link, or the relay
   * granted only read access): edits throw, the page shows it read-only.
   */
  readOnly(id) {
    return this.workspace.readOnly(id);
  }

  /** The relay connection: 'offline', 'connecting' or 'online'. */
  get connectionState() {
    return this.connection?.state ?? 'offline';
  }

  /** Replica ids of the devices connected to the document. */
  presence(id) {
    return this.workspace.presence(id);
  }

  /** Resolves once everything edited so far is in IndexedDB. */
  async flush() {
    for (;;) {
      const waiting = this.workspace
        .documents()
        .filter((id) => this.workspace.status(id).unsaved > 0);
      if (waiting.length === 0) return;
      this.#persistAll();
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops syncing and lets other tabs open Concord. */
  close() {
    this.connection?.stop();
    this.store.db.close();
    this.release();
  }

  // ---- inside ----

  /** Stores a new document's entry; if that fails, lets go of the document. */
  async #entry(id, token) {
    try {
      await this.store.putDocument(id, token);
    } catch (e) {
      this.workspace.forget(id);
      throw e;
    }
  }

  async #loadAll() {
    for (const entry of await this.store.documents()) {
      try {
        const { snapshot, records } = await this.store.load(entry.id);
        this.workspace.load(entry.id, entry.token, snapshot, records, entry.acked ?? 0, entry.replica);
        this.acked.set(entry.id, entry.acked ?? 0);
      } catch (e) {
        // Keep the bytes: never save over a document that failed to load.
        this.broken.set(entry.id, String(e.message ?? e));
        console.error(`concord: document ${entry.id} cannot be loaded`, e);
        this.#emit('error', { doc: entry.id, message: `cannot be loaded: ${e.message ?? e}` });
      }
    }
  }

  #connect(url, timers) {
    this.connection = new Connection(
      url,
      {
        opened: () => {
          this.workspace.connected();
          this.#pump();
          this.#statusAll();
        },
        closed: () => {
          this.workspace.disconnected();
          this.#statusAll();
        },
        frame: (bytes) => this.#receive(bytes),
        stalled: (ms) => this.workspace.stalled(ms),
        antiEntropy: () => {
          this.workspace.antiEntropy();
          this.#persistAll();
          this.#pump();
        },
        state: (state) => this.#emit('connection', { state }),
      },
      timers,
    );
  }

  #receive(bytes) {
    for (const b of this.bindings) b.capture();
    try {
      this.workspace.receive(bytes);
    } catch (e) {
      console.warn('concord: a frame from the relay was refused', e);
      this.#emit('error', { doc: null, message: String(e.message ?? e) });
      return;
    }
    this.#handleEvents();
    this.#pump();
    this.#statusAll();
    this.#rememberAcks();
  }

  /** Tells the page what the workspace says happened. */
  #handleEvents() {
    for (const ev of this.workspace.takeEvents()) {
      const doc = ev.doc;
      switch (ev.kind) {
        case 'changed':
          this.#changed(doc, true);
          break;
        case 'refused':
        case 'error':
        case 'saveFailed':
          this.#emit('error', { doc, message: ev.detail });
          break;
        case 'reissued':
          this.#emit('error', { doc, message: ev.detail });
          this.#changed(doc, true);
          break;
        case 'status':
        case 'presence':
          this.#emit('status', { doc });
          break;
        default:
          break;
      }
      ev.free();
    }
  }

  /** Keeps what the relay confirmed in IndexedDB (for "N unsent" after a reload). */
  #rememberAcks() {
    for (const doc of this.workspace.documents()) {
      const acked = this.workspace.relayAcked(doc);
      if (acked > (this.acked.get(doc) ?? 0)) {
        this.acked.set(doc, acked);
        this.store.setAcked(doc, acked).catch((e) => console.warn('concord: cannot keep the ack count', e));
      }
    }
  }

  /** After any change to `doc`: save it, redraw, sync. */
  #changed(doc, remote) {
    this.#persistAll();
    for (const b of this.bindings) if (b.doc === doc) b.render();
    this.#emit('change', { doc, remote });
    this.#emit('status', { doc });
    this.#pump();
  }

  /** Starts writing every batch the workspace has due (one per document at a time). */
  #persistAll() {
    for (;;) {
      const batch = this.workspace.pollSave();
      if (!batch) return;
      this.#write(batch);
    }
  }

  async #write(batch) {
    const { id, doc } = batch;
    try {
      const snapshot = batch.snapshot;
      const replica = batch.replica;
      if (replica) {
        await this.store.replace(doc, snapshot, replica);
        this.acked.set(doc, 0);
      } else if (snapshot) await this.store.replaceSnapshot(doc, snapshot);
      else await this.store.append(doc, batch.changes);
      batch.free();
      this.workspace.saved(id);
      this.failures = 0;
    } catch (e) {
      batch.free();
      this.workspace.saveFailed(id, String(e.message ?? e));
      this.failures += 1;
      console.error(`concord: saving ${doc} failed (attempt ${this.failures})`, e);
      clearTimeout(this.retry);
      this.retry = setTimeout(() => {
        this.workspace.retrySaves();
        this.#persistAll();
      }, Math.min(30000, 500 * 2 ** this.failures));
    }
    this.#handleEvents();
    this.#emit('status', { doc });
    this.#pump();
    this.#persistAll(); // whatever arrived while writing
  }

  /** Sends everything the workspace has to say. */
  #pump() {
    if (!this.connection?.isOpen()) return;
    for (;;) {
      const frame = this.workspace.pollFrame();
      if (frame === undefined) break;
      if (!this.connection.send(frame)) break;
    }
  }

  #statusAll() {
    for (const doc of this.workspace.documents()) this.#emit('status', { doc });
  }
}

/**
 * One tab per profile: a Web Lock held for the page's life. Returns its
 * release function.
 */
async function lock(database, wait) {
  if (!navigator.locks) return () => {};
  let release;
  const held = new Promise((r) => {
    release = r;
  });
  const got = await new Promise((resolve) => {
    navigator.locks
      .request(`concord:${database}`, { ifAvailable: !wait }, (l) => {
        resolve(l !== null);
        return l === null ? undefined : held;
      })
      .catch(() => resolve(false));
  });
  if (!got) throw new Error('Concord is open in another tab of this browser');
  return release;
}
