// IndexedDB: where a browser profile keeps its replicas.
//
// Object stores:
//   meta       'device' -> this profile's replica id (32 hex digits)
//   docs       {id, token, created, acked, replica} by id: the documents
//              held (acked: how many of this device's changes the relay
//              has confirmed, for "N unsent" offline; replica: the id this
//              device edits the document as, when someone forged its own)
//   snapshots  doc id -> Uint8Array (Document::save bytes)
//   changes    auto-increment key -> {doc, bytes}; index 'doc'. Records of a
//              document come back in the order they were written, which is
//              the order they were applied (causally closed).
//
// Every write is one transaction with strict durability: a batch counts as
// saved only once `complete` fired, and only then may the relay see it.

const VERSION = 1;

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

export class Store {
  /** Opens (or creates) the database `name`. */
  static async open(name) {
    const req = indexedDB.open(name, VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      db.createObjectStore('meta');
      db.createObjectStore('docs', { keyPath: 'id' });
      db.createObjectStore('snapshots');
      const changes = db.createObjectStore('changes', { autoIncrement: true });
      changes.createIndex('doc', 'doc');
    };
    const db = await request(req);
    return new Store(db);
  }

  constructor(db) {
    this.db = db;
  }

  #tx(stores, mode = 'readonly') {
    return this.db.transaction(stores, mode, { durability: 'strict' });
  }

  /** This profile's replica id, made with `make()` and stored the first time. */
  async device(make) {
    const tx = this.#tx(['meta'], 'readwrite');
    const meta = tx.objectStore('meta');
    let id = await request(meta.get('device'));
    if (typeof id !== 'string') {
      id = make();
      meta.put(id, 'device');
    }
    await done(tx);
    return id;
  }

  /** Every document entry, oldest first. */
  async documents() {
    const all = await request(this.#tx(['docs']).objectStore('docs').getAll());
    return all.sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : 1));
  }

  /** Creates a document's entry or replaces its token. */
  async putDocument(id, token) {
    const tx = this.#tx(['docs'], 'readwrite');
    const docs = tx.objectStore('docs');
    const old = await request(docs.get(id));
    docs.put({ ...old, id, token, created: old?.created ?? Date.now(), acked: old?.acked ?? 0 });
    await done(tx);
  }

  /** Remembers how many of this device's changes the relay confirmed. */
  async setAcked(id, acked) {
    const tx = this.#tx(['docs'], 'readwrite');
    const docs = tx.objectStore('docs');
    const old = await request(docs.get(id));
    if (old && !(old.acked >= acked)) docs.put({ ...old, acked });
    await done(tx);
  }

  /** The stored state of a document: {snapshot: Uint8Array|null, records: Uint8Array[]}. */
  async load(id) {
    const tx = this.#tx(['snapshots', 'changes']);
    const snapshot = request(tx.objectStore('snapshots').get(id));
    const records = request(tx.objectStore('changes').index('doc').getAll(IDBKeyRange.only(id)));
    const [snap, recs] = await Promise.all([snapshot, records]);
    return {
      snapshot: snap ? new Uint8Array(snap) : null,
      records: recs.map((r) => new Uint8Array(r.bytes)),
    };
  }

  /** Appends change records (one transaction). */
  async append(id, changes) {
    const tx = this.#tx(['changes'], 'readwrite');
    const store = tx.objectStore('changes');
    for (const bytes of changes) store.add({ doc: id, bytes });
    await done(tx);
  }

  /** Replaces the snapshot and drops the change records (one transaction). */
  async replaceSnapshot(id, snapshot) {
    const tx = this.#tx(['snapshots', 'changes'], 'readwrite');
    tx.objectStore('snapshots').put(snapshot, id);
    const changes = tx.objectStore('changes');
    const keys = await request(changes.index('doc').getAllKeys(IDBKeyRange.only(id)));
    for (const key of keys) changes.delete(key);
    await done(tx);
  }

  /**
   * Replaces the snapshot, drops the change records, and records the replica
   * id the document is edited as from now on, whose confirmed count starts
   * at 0 (one transaction): after someone forged this browser's id.
   */
  async replace(id, snapshot, replica) {
    const tx = this.#tx(['docs', 'snapshots', 'changes'], 'readwrite');
    const docs = tx.objectStore('docs');
    const old = await request(docs.get(id));
    if (old) docs.put({ ...old, replica, acked: 0 });
    tx.objectStore('snapshots').put(snapshot, id);
    const changes = tx.objectStore('changes');
    const keys = await request(changes.index('doc').getAllKeys(IDBKeyRange.only(id)));
    for (const key of keys) changes.delete(key);
    await done(tx);
  }

  /** Deletes everything held for a document. */
  async remove(id) {
    const tx = this.#tx(['docs', 'snapshots', 'changes'], 'readwrite');
    tx.objectStore('docs').delete(id);
    tx.objectStore('snapshots').delete(id);
    const changes = tx.objectStore('changes');
    const keys = await request(changes.index('doc').getAllKeys(IDBKeyRange.only(id)));
    for (const key of keys) changes.delete(key);
    await done(tx);
  }
}
