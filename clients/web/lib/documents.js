// Meeting documents on this client (docs/documents.md): page lists, page images fetched with the
// Authorization header, the offline copy with its lease, recall purges and their receipts,
// private notes, search. No UI here.
//
// The offline copy lives in IndexedDB, not in Cache Storage or a service worker: tablets reach
// the server over plain http on an isolated LAN, where those need a secure context and are
// missing. Two object stores:
//   pages    {url, meeting_id, document_id, version_id, kind, type, size, data: ArrayBuffer}
//            keyed by the page image's URL (immutable, hash-named: a URL never changes content
//            for this reader), indexed by document_id and meeting_id;
//   meetings {meeting_id, lease_until, generated_at, documents: {id: {id, title, version_id,
//            number, classification, pages: [{index, tablet, thumb}], complete}}, held: [ids],
//            seq, pending: {recall_id: {key, document_ids}}, confirmed: [recall_ids]}
// The database is per account (a confidential page carries its reader's name: another account
// on the same browser must never be shown it).

import { ApiError, NetworkError, getToken, notifyUnauthorized, request } from './api.js';
import { CommandError, newKey } from './live.js';

const enc = encodeURIComponent;
const S = (x) => (x == null ? null : String(x));

// REST calls of docs/documents.md.
export const docsApi = {
  pages: (documentId, versionId) => request('GET',
    `/api/documents/${enc(documentId)}/pages${versionId != null ? `?version_id=${enc(versionId)}` : ''}`),
  manifest: (meetingId) => request('GET', `/api/meetings/${enc(meetingId)}/manifest`),
  search: (meetingId, q) => request('GET', `/api/meetings/${enc(meetingId)}/search?q=${enc(q)}`),
  notes: (meetingId) => request('GET', `/api/meetings/${enc(meetingId)}/notes`),
  saveNote: (note) => request('PUT', `/api/notes/${enc(note.id)}`, {
    body: { document_id: note.document_id, version_id: note.version_id, page: note.page, kind: note.kind, data: note.data },
  }),
  deleteNote: (noteId) => request('DELETE', `/api/notes/${enc(noteId)}`),
  recalls: (meetingId) => request('GET', `/api/meetings/${enc(meetingId)}/recalls`),
  events: (meetingId, since) => request('GET', `/api/meetings/${enc(meetingId)}/events?since=${enc(since)}`),
};

// A page image with the bearer token (an <img src> cannot send it). 410: the document was
// recalled; 404: not (or no longer) readable by me.
export async function fetchImage(url, { fetchImpl = globalThis.fetch, token = getToken() } = {}) {
  let res;
  try {
    res = await fetchImpl(url, { headers: token ? { Authorization: `Bearer ${token}` } : {}, credentials: 'same-origin' });
  } catch (e) {
    throw new NetworkError(e && e.message);
  }
  if (!res.ok) {
    let err = null;
    try { err = (await res.json()).error; } catch (_) { /* an image route may answer without JSON */ }
    if (res.status === 401) notifyUnauthorized();
    const code = res.status === 410 ? 'recalled' : (err && err.code) || (res.status === 404 ? 'not_found' : 'unknown');
    throw new ApiError(code, (err && err.message) || `HTTP ${res.status}`, { status: res.status });
  }
  return res.blob();
}

// Lease ------------------------------------------------------------------------------

// The meetings whose offline lease ran out: their copy is deleted even if the tablet never comes
// online again (docs/documents.md, "Recall"). A record without a lease holds no pages.
export function expiredMeetings(records, nowMs) {
  return records.filter((r) => {
    if (!r || !r.lease_until) return false;
    const t = Date.parse(r.lease_until);
    return !Number.isNaN(t) && t <= nowMs;
  });
}

// The documents an offline copy must drop when a snapshot lists what I may read now: those not in
// it, or recalled. Null when the snapshot says nothing about documents (an older server).
export function unreadableStored(record, snapshotDocuments) {
  if (!record || !Array.isArray(snapshotDocuments)) return [];
  const readable = new Set(snapshotDocuments.filter((d) => d.status !== 'recalled').map((d) => S(d.id)));
  const stored = new Set([...Object.keys(record.documents || {}), ...(record.held || []).map(S)]);
  return [...stored].filter((id) => !readable.has(id));
}

// Backends: IndexedDB in the browser, memory in tests --------------------------------------

export class MemoryBackend {
  constructor() {
    this.pages = new Map();
    this.meetings = new Map();
  }
  async getPage(url) { return this.pages.get(url) || null; }
  async hasPage(url) { return this.pages.has(url); }
  async putPage(rec) { this.pages.set(rec.url, rec); }
  async deletePages(urls) { for (const u of urls) this.pages.delete(u); }
  async pageUrls({ documentIds = null, meetingId = null } = {}) {
    const ids = documentIds && new Set(documentIds.map(S));
    return [...this.pages.values()]
      .filter((p) => (ids ? ids.has(S(p.document_id)) : true) && (meetingId == null || S(p.meeting_id) === S(meetingId)))
      .map((p) => p.url);
  }
  async getMeeting(id) { const r = this.meetings.get(S(id)); return r ? structuredClone(r) : null; }
  async putMeeting(rec) { this.meetings.set(S(rec.meeting_id), structuredClone(rec)); }
  async deleteMeeting(id) { this.meetings.delete(S(id)); }
  async allMeetings() { return [...this.meetings.values()].map((r) => structuredClone(r)); }
}

function promised(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export class IdbBackend {
  constructor(name) {
    this.name = name;
    this.dbp = null;
  }

  open() {
    if (this.closed) return Promise.reject(new Error('the offline copy was deleted: the session ended'));
    if (!this.dbp) {
      this.dbp = new Promise((resolve, reject) => {
        const req = indexedDB.open(this.name, 1);
        req.onupgradeneeded = () => {
          const db = req.result;
          const pages = db.createObjectStore('pages', { keyPath: 'url' });
          pages.createIndex('document_id', 'document_id');
          pages.createIndex('meeting_id', 'meeting_id');
          db.createObjectStore('meetings', { keyPath: 'meeting_id' });
        };
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      this.dbp.catch(() => { this.dbp = null; });
    }
    return this.dbp;
  }

  // One request in its own transaction; resolves once the transaction is durable.
  async run(storeName, mode, fn) {
    const db = await this.open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(storeName, mode);
      let result;
      const req = fn(tx.objectStore(storeName));
      if (req) req.onsuccess = () => { result = req.result; };
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error('aborted'));
    });
  }

  // Closes the connection for good, so that the database can be deleted (forgetOffline) and
  // nothing still running (a download, the lease check) makes it again.
  async close() {
    this.closed = true;
    const dbp = this.dbp;
    this.dbp = null;
    if (dbp) { try { (await dbp).close(); } catch (_) { /* never opened */ } }
  }

  async getPage(url) { return (await this.run('pages', 'readonly', (s) => s.get(url))) || null; }
  async hasPage(url) { return (await this.run('pages', 'readonly', (s) => s.getKey(url))) !== undefined; }
  async putPage(rec) { await this.run('pages', 'readwrite', (s) => s.put(rec)); }
  async deletePages(urls) {
    if (!urls.length) return;
    await this.run('pages', 'readwrite', (s) => { for (const u of urls) s.delete(u); return null; });
  }
  async pageUrls({ documentIds = null, meetingId = null } = {}) {
    const db = await this.open();
    const store = db.transaction('pages', 'readonly').objectStore('pages');
    if (documentIds) {
      const lists = await Promise.all(documentIds.map((id) => promised(store.index('document_id').getAllKeys(IDBKeyRange.only(S(id))))));
      return lists.flat();
    }
    if (meetingId != null) return promised(store.index('meeting_id').getAllKeys(IDBKeyRange.only(S(meetingId))));
    return promised(store.getAllKeys());
  }
  async getMeeting(id) { return (await this.run('meetings', 'readonly', (s) => s.get(S(id)))) || null; }
  async putMeeting(rec) { await this.run('meetings', 'readwrite', (s) => s.put({ ...rec, meeting_id: S(rec.meeting_id) })); }
  async deleteMeeting(id) { await this.run('meetings', 'readwrite', (s) => s.delete(S(id))); }
  async allMeetings() { return (await this.run('meetings', 'readonly', (s) => s.getAll())) || []; }
}

function emptyRecord(meetingId) {
  return { meeting_id: S(meetingId), lease_until: null, generated_at: null, documents: {}, held: [], seq: null, pending: {}, confirmed: [] };
}

// The library: one per account and page ----------------------------------------------------

export class DocumentLibrary {
  constructor({
    backend = new MemoryBackend(),
    api = docsApi,
    fetchImpl = (...a) => globalThis.fetch(...a),
    now = () => Date.now(),
    makeUrl = (blob) => URL.createObjectURL(blob),
    revokeUrl = (u) => URL.revokeObjectURL(u),
    token = () => getToken(),
    concurrency = 4,
    sleep = (ms) => new Promise((r) => setTimeout(r, ms)),
    notYetRetries = 4,
    notYetDelayMs = 800,
  } = {}) {
    Object.assign(this, { backend, api, fetchImpl, now, makeUrl, revokeUrl, token, concurrency, sleep, notYetRetries, notYetDelayMs });
    this.objectUrls = new Map(); // page URL -> object URL shown by <img>
    this.urlDoc = new Map(); // page URL -> document id, to revoke a purged document's object URLs
    this.inflight = new Map(); // page URL -> Promise of its object URL
    this.heldHere = new Set(); // `${meeting}:${document}` whose page list this page fetched
    this.locks = new Map(); // meeting id -> tail of its record's update chain
    this.listeners = new Set();
    this.ready = null;
  }

  // Something in the offline copy changed (a download step, a purge): screens re-read its status.
  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  changed(meetingId) {
    for (const fn of this.listeners) fn(meetingId);
  }

  // On every load: copies whose lease expired are deleted before anything reads them.
  init() {
    if (!this.ready) this.ready = this.purgeExpired().catch((e) => { console.error('offline store', e); });
    return this.ready;
  }

  async purgeExpired() {
    const expired = expiredMeetings(await this.backend.allMeetings(), this.now());
    for (const r of expired) await this.purgeMeeting(r.meeting_id);
    return expired.map((r) => r.meeting_id);
  }

  record(meetingId) {
    return this.backend.getMeeting(meetingId);
  }

  // Read-modify-write of a meeting's record, one at a time per meeting (a download and a recall
  // may both write it).
  updateRecord(meetingId, fn, { create = true } = {}) {
    const id = S(meetingId);
    const prev = this.locks.get(id) || Promise.resolve();
    const next = prev.catch(() => {}).then(async () => {
      let rec = await this.backend.getMeeting(id);
      if (!rec && !create) return null;
      rec = rec || emptyRecord(id);
      const out = fn(rec) || rec;
      await this.backend.putMeeting(out);
      return out;
    });
    this.locks.set(id, next);
    return next;
  }

  remember(documentId, pages) {
    for (const p of pages || []) for (const k of ['tablet', 'zoom', 'thumb']) if (p[k]) this.urlDoc.set(p[k], S(documentId));
  }

  // This client held a copy: the server recorded it as a holder, so a recall needs our receipt.
  async markHeld(meetingId, documentIds) {
    const ids = documentIds.map(S);
    for (const id of ids) this.heldHere.add(`${S(meetingId)}:${id}`);
    await this.updateRecord(meetingId, (rec) => {
      rec.held = [...new Set([...(rec.held || []), ...ids])];
    });
  }

  async isHeld(meetingId, documentIds) {
    const ids = documentIds.map(S);
    if (ids.some((id) => this.heldHere.has(`${S(meetingId)}:${id}`))) return true;
    const rec = await this.record(meetingId);
    if (!rec) return false;
    const held = new Set([...(rec.held || []).map(S), ...Object.keys(rec.documents || {})]);
    return ids.some((id) => held.has(id));
  }

  // The page list of a document: from the server, or the offline copy when it cannot be reached.
  async pages(meetingId, documentId) {
    try {
      const answer = await this.api.pages(documentId);
      this.remember(documentId, answer.pages);
      await this.markHeld(meetingId, [documentId]).catch(() => {});
      return { ...answer, offline: false };
    } catch (e) {
      if (e instanceof NetworkError || e.code === 'network' || e.code === 'timeout') {
        const rec = await this.record(meetingId);
        const doc = rec && rec.documents && rec.documents[S(documentId)];
        if (doc && doc.pages && doc.pages.length) {
          this.remember(documentId, doc.pages);
          return {
            document_id: doc.id, version_id: doc.version_id, status: 'ready', pages_ready: doc.pages.length,
            pages_total: doc.pages.length, pages: doc.pages, offline: true,
          };
        }
      } else if (e.status === 410 || e.code === 'recalled' || e.status === 404) {
        await this.purge([documentId]); // gone for me: no copy may stay
      }
      throw e;
    }
  }

  // A page image from the server. A page listed a moment ago may answer 404 for a short while:
  // the server decides who reads a version's pages once per PageAccess.TTL (2 s) and per
  // process, so pages rendered since that decision are not in it yet. Asked again a few times.
  async fetchPage(url) {
    for (let n = 0; ; n += 1) {
      try {
        return await fetchImage(url, { fetchImpl: this.fetchImpl, token: this.token() });
      } catch (e) {
        if (e.code !== 'not_found' || n >= this.notYetRetries) throw e;
        await this.sleep(this.notYetDelayMs * (n + 1));
      }
    }
  }

  // An object URL for a page image: the offline copy first, then the network.
  image(url) {
    if (this.objectUrls.has(url)) return Promise.resolve(this.objectUrls.get(url));
    if (this.inflight.has(url)) return this.inflight.get(url);
    const p = (async () => {
      let blob = null;
      const stored = await this.backend.getPage(url).catch(() => null);
      if (stored) blob = new Blob([stored.data], { type: stored.type || 'image/jpeg' });
      if (!blob) {
        try {
          blob = await this.fetchPage(url);
        } catch (e) {
          if (e.code === 'recalled' && this.urlDoc.has(url)) await this.purge([this.urlDoc.get(url)]);
          throw e;
        }
      }
      const objectUrl = this.makeUrl(blob);
      this.objectUrls.set(url, objectUrl);
      return objectUrl;
    })();
    this.inflight.set(url, p);
    p.finally(() => this.inflight.delete(url)).catch(() => {});
    return p;
  }

  // Everything a tablet needs to read the meeting offline: the manifest and every `tablet` and
  // `thumb` image. Resumable: what is stored is skipped. onProgress({done, total, bytes,
  // documents, documentsDone}) counts pages (a page is done when both its images are stored).
  async downloadMeeting(meetingId, onProgress = () => {}, { signal } = {}) {
    await this.init();
    const manifest = await this.api.manifest(meetingId);
    const recalled = (manifest.recalled_document_ids || []).map(S);
    if (recalled.length) await this.purge(recalled);
    const docs = (manifest.documents || []).filter((d) => !recalled.includes(S(d.id)));
    const wanted = new Set(docs.flatMap((d) => (d.pages || []).flatMap((p) => [p.tablet, p.thumb]).filter(Boolean)));
    // Pages of versions no longer current, or documents no longer mine, leave the copy.
    const before = await this.record(meetingId);
    const listed = new Set(docs.map((d) => S(d.id)));
    const dropped = Object.keys((before && before.documents) || {}).filter((id) => !listed.has(id));
    if (dropped.length) await this.purge(dropped);
    const stale = (await this.backend.pageUrls({ meetingId })).filter((u) => !wanted.has(u));
    if (stale.length) await this.dropUrls(stale);
    await this.updateRecord(meetingId, (rec) => {
      rec.lease_until = manifest.lease_until || rec.lease_until;
      rec.generated_at = manifest.generated_at || null;
      const documents = {};
      for (const d of docs) {
        const old = rec.documents[S(d.id)];
        documents[S(d.id)] = {
          id: d.id, title: d.title, version_id: d.version_id, number: d.number ?? null,
          classification: d.classification || '', pages: (d.pages || []).map((p) => ({ index: p.index, tablet: p.tablet, thumb: p.thumb })),
          complete: !!(old && old.complete && S(old.version_id) === S(d.version_id)),
        };
      }
      rec.documents = documents;
      // Fetching the manifest made me a holder of every listed document.
      rec.held = [...new Set([...(rec.held || []), ...docs.map((d) => S(d.id))])];
    });
    for (const d of docs) this.heldHere.add(`${S(meetingId)}:${S(d.id)}`);
    for (const d of docs) this.remember(d.id, d.pages);

    const total = docs.reduce((n, d) => n + (d.pages || []).length, 0);
    const progress = { done: 0, total, bytes: 0, documents: docs.length, documentsDone: 0 };
    const report = () => onProgress({ ...progress });
    report();
    const jobs = [];
    for (const d of docs) {
      const left = { n: (d.pages || []).length };
      if (!left.n) progress.documentsDone += 1;
      for (const p of d.pages || []) jobs.push({ doc: d, page: p, left });
    }
    let next = 0;
    let failure = null;
    const worker = async () => {
      while (next < jobs.length && !failure) {
        if (signal && signal.aborted) { failure = new ApiError('aborted', 'aborted'); break; }
        const job = jobs[next++];
        try {
          for (const kind of ['tablet', 'thumb']) {
            const url = job.page[kind];
            if (!url || await this.backend.hasPage(url)) continue;
            const blob = await this.fetchPage(url);
            const data = await blob.arrayBuffer();
            await this.backend.putPage({
              url, meeting_id: S(meetingId), document_id: S(job.doc.id), version_id: S(job.doc.version_id),
              kind, type: blob.type || 'image/jpeg', size: data.byteLength, data,
            });
            progress.bytes += data.byteLength;
          }
        } catch (e) {
          if (e.code === 'recalled') { await this.purge([job.doc.id]); continue; }
          failure = e;
          break;
        }
        progress.done += 1;
        job.left.n -= 1;
        if (job.left.n === 0) {
          progress.documentsDone += 1;
          await this.updateRecord(meetingId, (rec) => {
            const r = rec.documents[S(job.doc.id)];
            if (r && S(r.version_id) === S(job.doc.version_id)) r.complete = true;
          });
        }
        report();
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.concurrency) }, worker));
    this.changed(meetingId);
    if (failure) throw failure;
    return { ...progress, lease_until: manifest.lease_until || null };
  }

  // What the offline copy holds for a meeting: {documents: ids complete, lease_until}.
  async offlineStatus(meetingId) {
    const rec = await this.record(meetingId);
    if (!rec) return { documents: [], lease_until: null };
    return {
      documents: Object.values(rec.documents || {}).filter((d) => d.complete).map((d) => ({ id: d.id, version_id: d.version_id })),
      lease_until: rec.lease_until,
    };
  }

  async dropUrls(urls) {
    for (const u of urls) {
      const o = this.objectUrls.get(u);
      if (o) { this.revokeUrl(o); this.objectUrls.delete(u); }
    }
    await this.backend.deletePages(urls);
  }

  // Deletes every stored page and object URL of these documents, and their place in the records.
  async purge(documentIds) {
    const ids = new Set(documentIds.map(S));
    if (!ids.size) return;
    const urls = new Set(await this.backend.pageUrls({ documentIds: [...ids] }).catch(() => []));
    for (const [u, d] of this.urlDoc) if (ids.has(d)) { urls.add(u); this.urlDoc.delete(u); }
    await this.dropUrls([...urls]);
    for (const rec of await this.backend.allMeetings()) {
      if (!Object.keys(rec.documents || {}).some((id) => ids.has(id))) continue;
      await this.updateRecord(rec.meeting_id, (r) => {
        for (const id of ids) delete r.documents[id];
      }, { create: false });
      this.changed(rec.meeting_id);
    }
  }

  async purgeMeeting(meetingId) {
    const urls = await this.backend.pageUrls({ meetingId });
    await this.dropUrls(urls);
    await this.backend.deleteMeeting(meetingId);
    this.changed(meetingId);
  }

  // Recall receipts: the key is made once and stored, so a confirmation retried after a reload
  // is the same command.
  async pendingConfirm(meetingId, recallId, documentIds) {
    const rec = await this.updateRecord(meetingId, (r) => {
      r.pending = r.pending || {};
      if (!r.pending[S(recallId)]) r.pending[S(recallId)] = { key: newKey(), document_ids: documentIds.map(S) };
    });
    return rec.pending[S(recallId)];
  }

  // The recall is confirmed (or refused for good): its documents are no longer held here.
  async confirmed(meetingId, recallId) {
    let ids = [];
    await this.updateRecord(meetingId, (r) => {
      r.pending = r.pending || {};
      const p = r.pending[S(recallId)];
      delete r.pending[S(recallId)];
      r.confirmed = [...new Set([...(r.confirmed || []), S(recallId)])].slice(-200);
      if (p) {
        ids = p.document_ids.map(S);
        r.held = (r.held || []).filter((id) => !ids.includes(S(id)));
      }
    });
    for (const id of ids) this.heldHere.delete(`${S(meetingId)}:${id}`);
  }

  async setSeq(meetingId, seq) {
    if (seq == null) return;
    await this.updateRecord(meetingId, (r) => {
      if (r.seq == null || seq > r.seq) r.seq = seq;
    }, { create: false });
  }
}

// Recall handling for one meeting followed live: purge, then confirm (docs/documents.md,
// "Recall"). Recalls come as live events, as events replayed by a resync, or, after a reload,
// from the log since the last event this client saw (the record's `seq`).
export class DocumentKeeper {
  constructor({ library, live, sync, meetingId, api = docsApi }) {
    Object.assign(this, { library, live, sync, meetingId, api });
    this.offs = [];
    this.seen = new Set(); // recall ids handled in this page
  }

  start() {
    this.offs.push(this.sync.onApplied((ev) => this.onApplied(ev)));
    if (this.live.on) this.offs.push(this.live.on('reconnect', () => this.retryConfirms()));
    this.ready = this.library.init().then(() => this.catchUp()).then(() => this.retryConfirms()).catch((e) => console.error(e));
    return this;
  }

  stop() {
    for (const off of this.offs) off();
    this.offs = [];
    this.stopped = true;
  }

  onApplied(ev) {
    if (ev.type === 'snapshot') {
      // The events between our last seen one and this snapshot may hold recalls.
      this.ready = Promise.resolve(this.ready).then(() => this.catchUp(ev.snapshot, ev.head)).catch((e) => console.error(e));
      return;
    }
    const d = ev.data || {};
    let work = null;
    if (ev.type === 'document.recalled') work = () => this.recall(d.recall_id, d.document_ids || []);
    else if (ev.type === 'document.hidden' && d.document_id != null) work = () => this.library.purge([d.document_id]);
    else if (ev.type === 'document.changed' && d.document) work = () => this.dropStale(d.document);
    const seq = ev.seq;
    this.ready = Promise.resolve(this.ready)
      .then(() => work && work())
      .then(() => this.library.setSeq(this.meetingId, seq))
      .catch((e) => console.error(e));
  }

  // A new current version: the stored pages of the old one go (the new one is downloaded again).
  async dropStale(doc) {
    const rec = await this.library.record(this.meetingId);
    const stored = rec && rec.documents && rec.documents[S(doc.id)];
    if (stored && doc.version && S(stored.version_id) !== S(doc.version.id)) await this.library.purge([doc.id]);
  }

  async catchUp(snapshot = null, head = null) {
    const rec = await this.library.record(this.meetingId);
    if (rec && rec.seq != null) {
      try {
        const answer = await this.api.events(this.meetingId, rec.seq);
        for (const ev of (answer && answer.events) || []) {
          if (ev.type === 'document.recalled') await this.recall(ev.data.recall_id, ev.data.document_ids || []);
        }
        if (answer && answer.snapshot) await this.reconcile(answer.snapshot.documents);
      } catch (_) {
        // Offline: the live join will bring the events when the link is back.
      }
    }
    if (snapshot) await this.reconcile(snapshot.documents);
    if (head != null) await this.library.setSeq(this.meetingId, head);
  }

  async reconcile(documents) {
    const rec = await this.library.record(this.meetingId);
    const gone = unreadableStored(rec, documents);
    if (gone.length) await this.library.purge(gone);
  }

  async recall(recallId, documentIds) {
    if (recallId == null) return;
    const rid = S(recallId);
    const rec = await this.library.record(this.meetingId);
    if (this.seen.has(rid) || (rec && (rec.confirmed || []).includes(rid))) {
      await this.library.purge(documentIds); // purging twice is harmless; keeping a copy is not
      return;
    }
    this.seen.add(rid);
    const held = await this.library.isHeld(this.meetingId, documentIds);
    await this.library.purge(documentIds);
    if (!held) return; // never held a copy: nothing to confirm
    const pending = await this.library.pendingConfirm(this.meetingId, rid, documentIds);
    await this.confirm(rid, pending.key);
  }

  async confirm(recallId, key) {
    try {
      await this.live.command('document.purge_confirm', { meeting_id: this.meetingId, recall_id: Number(recallId) || recallId }, { key });
      await this.library.confirmed(this.meetingId, recallId);
    } catch (e) {
      // Refused (not a holder after all, unknown recall): retrying will not help.
      if (e instanceof CommandError) await this.library.confirmed(this.meetingId, recallId);
      // Otherwise offline: kept as pending, retried on the next reconnect or load.
    }
  }

  async retryConfirms() {
    if (this.stopped) return;
    const rec = await this.library.record(this.meetingId);
    for (const [rid, p] of Object.entries((rec && rec.pending) || {})) await this.confirm(rid, p.key);
  }
}

// One library per account in this page.
const libraries = new Map();
const LEASE_CHECK_MS = 10 * 60 * 1000;
export function libraryFor(user) {
  const id = user && user.id != null ? String(user.id) : 'anon';
  if (!libraries.has(id)) {
    const backend = typeof indexedDB !== 'undefined' ? new IdbBackend(`phonghop-offline-u${id}`) : new MemoryBackend();
    const lib = new DocumentLibrary({ backend });
    lib.init();
    // A tablet may stay on one page for days: the lease is checked while it runs, too.
    lib.leaseTimer = setInterval(() => { lib.purgeExpired().catch(() => {}); }, LEASE_CHECK_MS);
    libraries.set(id, lib);
  }
  return libraries.get(id);
}

// The session ended (signed out, expired, or the device revoked by the secretariat): the offline
// copy ends with it (SECURITY.md). This account's database is deleted, opened here or not.
export async function forgetOffline(user, { idb = globalThis.indexedDB } = {}) {
  if (!user || user.id == null) return;
  const id = String(user.id);
  const lib = libraries.get(id);
  libraries.delete(id);
  if (lib) clearInterval(lib.leaseTimer);
  if (lib && lib.backend && lib.backend.close) await lib.backend.close();
  if (!idb) return;
  await new Promise((resolve) => {
    const req = idb.deleteDatabase(`phonghop-offline-u${id}`);
    req.onsuccess = () => resolve(true);
    req.onerror = () => resolve(false);
  });
}

// Notes ------------------------------------------------------------------------------------

export const NOTE_KINDS = ['text', 'highlight', 'ink'];

export function makeNote({ documentId, versionId, page, kind, data }) {
  return { id: newKey(), document_id: documentId, version_id: versionId, page, kind, data };
}

// The notes shown on one page of one version; those of older versions are listed apart.
export function notesOf(notes, documentId, page, versionId) {
  const onDoc = notes.filter((n) => S(n.document_id) === S(documentId));
  return {
    here: onDoc.filter((n) => n.page === page && S(n.version_id) === S(versionId)),
    document: onDoc.filter((n) => S(n.version_id) === S(versionId)).sort((a, b) => a.page - b.page),
    older: onDoc.filter((n) => S(n.version_id) !== S(versionId)),
  };
}

// Rounds a coordinate to what a note needs (fractions of the page, 4 decimals keep notes small).
export const frac = (x) => Math.round(Math.min(1, Math.max(0, x)) * 10000) / 10000;

// Fold case and diacritics as the server's search does (đ -> d by hand: it does not decompose);
// used to mark the hit in a snippet.
export function fold(s) {
  return String(s || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/đ/g, 'd').replace(/Đ/g, 'D').toLowerCase();
}
