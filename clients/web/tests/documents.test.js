// Meeting documents on the client (docs/documents.md): the store's handling of the document
// events, grouping by agenda item, the offline copy (download, resume, purge, lease), recall
// receipts, and the console's upload queue. Run: `node --test tests/` in clients/web.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DocumentKeeper, DocumentLibrary, MemoryBackend, expiredMeetings, fold, forgetOffline, notesOf, unreadableStored,
} from '../lib/documents.js';
import { CommandError, MeetingSync } from '../lib/live.js';
import {
  MeetingStore, applyDocProgress, applyEvent, applyNote, canOpen, fromSnapshot, groupDocuments, mergeHolder,
  readableDocuments, renderProgress,
} from '../lib/store.js';
import { nextToStart, processingOf, queueReducer, reconcileQueue, uploadFile, uploadPct } from '../lib/uploads.js';

// --- fixtures -------------------------------------------------------------------------------

function version(id, over = {}) {
  return {
    id, number: 1, filename: 'bao-cao.pdf', kind: 'pdf', size: 1000, sha256: 'ab',
    status: 'ready', pages_ready: 3, pages_total: 3, error: null, uploaded_at: '2026-12-10T01:00:00Z', ...over,
  };
}

function doc(id, over = {}) {
  return {
    id, meeting_id: 1, agenda_item_id: null, title: `Tài liệu ${id}`, position: 0, access: 'open', classification: '',
    readers: { participant_ids: [], roles: [] }, status: 'published', published_at: null, recalled_at: null,
    version: version(id * 10), ...over,
  };
}

const AGENDA = [
  { id: 1, parent_id: null, position: 0, number: '1', title: 'Khai mạc' },
  { id: 2, parent_id: null, position: 1, number: '2', title: 'Báo cáo chính trị' },
  { id: 3, parent_id: 2, position: 0, number: '2.1', title: 'Kinh tế' },
];

function snapshot(head, extra = {}) {
  return {
    meeting: { id: 1, title: 'Hội nghị', status: 'published', current_item_id: null },
    agenda: AGENDA, participants: [], attendance: {}, quorum: null,
    me: { participant_id: 10, role: 'delegate' }, head, documents: [doc(1), doc(2, { agenda_item_id: 2 })], presenting: null,
    ...extra,
  };
}

const ev = (seq, type, data, audience = 'meeting', prev = seq - 1) => ({ meeting_id: 1, seq, prev, audience, type, data, at: '2026-12-10T02:00:00Z' });

// --- the store ---------------------------------------------------------------------------------

test('a snapshot brings the documents and what is presented', () => {
  const s = fromSnapshot(snapshot(5, { presenting: { document_id: 2, version_id: 20, page: 3 } }));
  assert.deepEqual(s.documents.map((d) => d.id), [1, 2]);
  assert.deepEqual(s.presenting, { document_id: 2, version_id: 20, page: 3 });
  assert.equal(fromSnapshot(snapshot(5, { presenting: { document_id: null, version_id: null, page: null } })).presenting, null);
  assert.deepEqual(fromSnapshot({ meeting: { id: 1 }, head: 1 }).documents, []); // an older server: no key
});

test('document.changed adds or replaces a document; a revision leaves a notice', () => {
  let s = fromSnapshot(snapshot(5));
  s = applyEvent(s, ev(6, 'document.changed', { document: doc(3, { title: 'Dự thảo Nghị quyết' }) }, 'user:7'));
  assert.deepEqual(s.documents.map((d) => d.title), ['Tài liệu 1', 'Tài liệu 2', 'Dự thảo Nghị quyết']);
  assert.deepEqual(s.docNotices, {});
  s = applyEvent(s, ev(7, 'document.changed', { document: doc(1, { version: version(11, { number: 2 }) }), revised: true }));
  assert.equal(s.documents[0].version.id, 11);
  assert.equal(s.docNotices['1'], 'revised');
  // An access change that takes the version away replaces, it does not merge.
  s = applyEvent(s, ev(8, 'document.changed', { document: doc(2, { version: null, agenda_item_id: 2 }) }));
  assert.equal(s.documents[1].version, null);
});

test('a new current version is a revision even when the flag is missing', () => {
  let s = fromSnapshot(snapshot(5));
  s = applyEvent(s, ev(6, 'document.changed', { document: doc(2, { version: version(21, { number: 2 }) }) }));
  assert.equal(s.docNotices['2'], 'revised');
});

test('hidden and removed documents leave the list', () => {
  let s = fromSnapshot(snapshot(5));
  s = applyEvent(s, ev(6, 'document.hidden', { document_id: 1 }));
  assert.deepEqual(s.documents.map((d) => d.id), [2]);
  s = applyEvent(s, ev(7, 'document.removed', { document_id: '2' }, 'secretariat'));
  assert.deepEqual(s.documents, []);
});

test('a recall marks the documents recalled, leaves a notice for readers, and stops presenting them', () => {
  let s = fromSnapshot(snapshot(5, { presenting: { document_id: 2, version_id: 20, page: 0 } }));
  s = applyEvent(s, ev(6, 'document.recalled', { recall_id: 9, document_ids: [2, 99] }));
  assert.equal(s.documents.find((d) => d.id === 2).status, 'recalled');
  assert.deepEqual(readableDocuments(s).map((d) => d.id), [1]);
  assert.equal(s.recallNotices.length, 1);
  assert.deepEqual(s.recallNotices[0].titles, ['Tài liệu 2']); // 99 was never mine: no title leaks
  assert.equal(s.presenting, null);
  assert.equal(s.recallsSeen, 1);
  // Replayed (a resync after being offline): no second notice.
  const again = applyEvent(s, ev(6, 'document.recalled', { recall_id: 9, document_ids: [2] }));
  assert.equal(again.recallNotices.length, 1);
  // A recall of documents I never could read makes no notice.
  const other = applyEvent(fromSnapshot(snapshot(5)), ev(6, 'document.recalled', { recall_id: 10, document_ids: [50] }));
  assert.deepEqual(other.recallNotices, []);
});

test('document.presented sets or clears the presented page; purge_confirmed is counted', () => {
  let s = fromSnapshot(snapshot(5));
  s = applyEvent(s, ev(6, 'document.presented', { document_id: 1, version_id: 10, page: 2 }));
  assert.deepEqual(s.presenting, { document_id: 1, version_id: 10, page: 2 });
  s = applyEvent(s, ev(7, 'document.presented', { document_id: null, version_id: null, page: null }));
  assert.equal(s.presenting, null);
  const holder = { client: 'device:3', user_id: 7, full_name: 'Lê Quang Minh', device_name: 'Máy 3', confirmed_at: '2026-12-10T02:01:00Z' };
  s = applyEvent(s, ev(8, 'document.purge_confirmed', { recall_id: 9, holder }, 'secretariat'));
  assert.equal(s.recallsSeen, 1);
  assert.deepEqual(s.purgeConfirmations, [{ recall_id: 9, holder }]);
});

test('document_progress moves the counts forward, never back', () => {
  let s = fromSnapshot(snapshot(5, { documents: [doc(1, { version: version(10, { status: 'rendering', pages_ready: 1, pages_total: 40 }) })] }));
  s = applyDocProgress(s, { meeting_id: 1, document_id: 1, version_id: 10, pages_ready: 12, pages_total: 40 });
  assert.equal(s.documents[0].version.pages_ready, 12);
  assert.deepEqual(renderProgress(s, s.documents[0]), { ready: 12, total: 40, status: 'rendering', pct: 30, error: null });
  const late = applyDocProgress(s, { meeting_id: 1, document_id: 1, version_id: 10, pages_ready: 5, pages_total: 40 });
  assert.equal(late, s);
  // A reader before page 1 (version null): the counts wait beside the document.
  let r = fromSnapshot(snapshot(5, { documents: [doc(4, { version: null })] }));
  assert.equal(canOpen(r.documents[0]), false);
  r = applyDocProgress(r, { meeting_id: 1, document_id: 4, version_id: 40, pages_ready: 0, pages_total: 9 });
  assert.equal(renderProgress(r, r.documents[0]).total, 9);
  r = applyEvent(r, ev(6, 'document.changed', { document: doc(4, { version: version(40, { status: 'rendering', pages_ready: 1, pages_total: 9 }) }) }));
  assert.equal(canOpen(r.documents[0]), true);
  assert.deepEqual(r.progress, {}); // the logged milestone supersedes the counts
});

test('notes from my other devices: added, replaced by newer, deleted', () => {
  let s = fromSnapshot(snapshot(5));
  const n = { id: 'n1', document_id: 1, version_id: 10, page: 0, kind: 'text', data: { x: 0.1, y: 0.1, text: 'A' }, updated_at: '2026-12-10T02:00:00Z' };
  s = applyNote(s, { note: n, deleted: false });
  s = applyNote(s, { note: { ...n, data: { ...n.data, text: 'B' }, updated_at: '2026-12-10T02:05:00Z' }, deleted: false });
  s = applyNote(s, { note: { ...n, data: { ...n.data, text: 'old' }, updated_at: '2026-12-10T02:01:00Z' }, deleted: false });
  assert.equal(s.notes[0].data.text, 'B');
  const v = notesOf(s.notes, 1, 0, 10);
  assert.equal(v.here.length, 1);
  assert.equal(notesOf(s.notes, 1, 0, 11).older.length, 1); // a revision: listed apart
  s = applyNote(s, { note: { id: 'n1' }, deleted: true });
  assert.deepEqual(s.notes, []);
});

test('a fresh snapshot keeps my notes and the notices', () => {
  const store = new MeetingStore();
  store.applySnapshot(snapshot(5));
  store.applyNote({ note: { id: 'n1', document_id: 1, version_id: 10, page: 0, kind: 'ink', data: { strokes: [] } } });
  store.applyEvent(ev(6, 'document.recalled', { recall_id: 9, document_ids: [2] }));
  store.applySnapshot(snapshot(9, { documents: [doc(1)] }));
  assert.equal(store.state.notes.length, 1);
  assert.equal(store.state.recallNotices.length, 1);
  assert.deepEqual(store.state.documents.map((d) => d.id), [1]);
});

test('documents are grouped under their agenda items, general papers first, by position', () => {
  const docs = [
    doc(1, { agenda_item_id: 2, position: 1, title: 'B' }),
    doc(2, { agenda_item_id: 2, position: 0, title: 'A' }),
    doc(3, { agenda_item_id: null, title: 'Chương trình' }),
    doc(4, { agenda_item_id: 3, title: 'Kinh tế' }),
    doc(5, { agenda_item_id: 777, title: 'Mục đã xóa' }), // an item removed meanwhile: general
  ];
  const g = groupDocuments(AGENDA, docs);
  assert.deepEqual(g.map((x) => x.key), ['general', '2', '3']);
  assert.deepEqual(g[0].documents.map((d) => d.title), ['Chương trình', 'Mục đã xóa']);
  assert.deepEqual(g[1].documents.map((d) => d.title), ['A', 'B']);
  assert.deepEqual(groupDocuments(AGENDA, [], { allItems: true }).map((x) => x.key), ['general', '1', '2', '3']);
});

test('the recall panel merges a confirmation into its holder', () => {
  const recalls = [{ id: 9, holders: [{ client: 'device:3', full_name: 'A', confirmed_at: null }, { client: 'session:5', confirmed_at: null }] }];
  const out = mergeHolder(recalls, 9, { client: 'device:3', full_name: 'A', confirmed_at: '2026-12-10T02:01:00Z' });
  assert.equal(out[0].holders[0].confirmed_at, '2026-12-10T02:01:00Z');
  assert.equal(out[0].holders[1].confirmed_at, null);
  assert.equal(recalls[0].holders[0].confirmed_at, null); // not mutated
});

// --- lease and reconciliation ------------------------------------------------------------------

test('a copy whose lease ran out is deleted; one without a lease or still valid is kept', () => {
  const now = Date.parse('2026-12-13T00:00:00Z');
  const records = [
    { meeting_id: '1', lease_until: '2026-12-12T23:59:59Z' },
    { meeting_id: '2', lease_until: '2026-12-13T00:00:00Z' },
    { meeting_id: '3', lease_until: '2026-12-14T00:00:00Z' },
    { meeting_id: '4', lease_until: null },
    { meeting_id: '5', lease_until: 'not a date' },
  ];
  assert.deepEqual(expiredMeetings(records, now).map((r) => r.meeting_id), ['1', '2']);
});

test('a snapshot tells which stored documents I may no longer keep', () => {
  const rec = { documents: { 1: {}, 2: {} }, held: [3] };
  assert.deepEqual(unreadableStored(rec, [doc(1), doc(2, { status: 'recalled' })]).sort(), ['2', '3']);
  assert.deepEqual(unreadableStored(rec, undefined), []);
});

test('search folds diacritics like the server (đ by hand)', () => {
  assert.equal(fold('Báo cáo chính trị ĐẢNG bộ'), 'bao cao chinh tri dang bo');
});

// --- the offline library -------------------------------------------------------------------------

function fakeServer(manifest) {
  const fetched = [];
  const state = { gone: new Set(), down: false };
  const fetchImpl = async (url, opts) => {
    fetched.push(url);
    assert.match(opts.headers.Authorization, /^Bearer /);
    if (state.down) throw new TypeError('Failed to fetch');
    if (state.gone.has(url)) return { ok: false, status: 410, json: async () => ({ error: { code: 'gone' } }) };
    return { ok: true, status: 200, blob: async () => new Blob([`img:${url}`], { type: 'image/jpeg' }) };
  };
  const api = {
    manifest: async () => structuredClone(manifest),
    pages: async (id) => {
      if (state.down) throw Object.assign(new Error('down'), { code: 'network' });
      const d = manifest.documents.find((x) => String(x.id) === String(id));
      return { document_id: d.id, version_id: d.version_id, status: 'ready', pages_ready: d.pages.length, pages_total: d.pages.length, pages: d.pages };
    },
    events: async () => ({ events: [], head: 0 }),
  };
  return { fetched, state, fetchImpl, api };
}

function pagesOf(versionId, n) {
  return Array.from({ length: n }, (_, i) => ({
    index: i, tablet: `/api/pages/${versionId}/t${i}.jpg`, thumb: `/api/pages/${versionId}/s${i}.jpg`, zoom: `/api/pages/${versionId}/z${i}.jpg`,
  }));
}

function manifestOf(docs, extra = {}) {
  return {
    meeting_id: 1, generated_at: '2026-12-10T01:00:00Z', lease_until: '2026-12-13T01:00:00Z',
    documents: docs.map(([id, v, n]) => ({ id, title: `Tài liệu ${id}`, version_id: v, number: 1, classification: '', pages: pagesOf(v, n) })),
    recalled_document_ids: [], ...extra,
  };
}

function library(server, over = {}) {
  const revoked = [];
  let n = 0;
  const lib = new DocumentLibrary({
    backend: new MemoryBackend(), api: server.api, fetchImpl: server.fetchImpl, now: () => Date.parse('2026-12-10T03:00:00Z'),
    makeUrl: () => `blob:${++n}`, revokeUrl: (u) => revoked.push(u), token: () => 'tok', concurrency: 2, sleep: async () => {}, ...over,
  });
  lib.revoked = revoked;
  return lib;
}

test('download stores every tablet and thumb page with progress, and resumes where it stopped', async () => {
  const server = fakeServer(manifestOf([[1, 10, 3], [2, 20, 2]]));
  const lib = library(server);
  // The link drops after four images: the first run fails part way.
  let budget = 4;
  const realFetch = server.fetchImpl;
  lib.fetchImpl = async (url, o) => { if (budget-- <= 0) throw new TypeError('Failed to fetch'); return realFetch(url, o); };
  const seen = [];
  await assert.rejects(lib.downloadMeeting(1, (p) => seen.push(p)), (e) => e.code === 'network');
  assert.equal(seen[0].total, 5);
  assert.equal(seen[0].done, 0);
  const stored = (await lib.backend.pageUrls({ meetingId: 1 })).length;
  assert.equal(stored, 4);
  // Resume: only the missing images are fetched.
  lib.fetchImpl = realFetch;
  server.fetched.length = 0;
  const progress = [];
  const done = await lib.downloadMeeting(1, (p) => progress.push(p));
  assert.equal(server.fetched.length, 10 - 4);
  assert.equal(done.done, 5);
  assert.equal(done.documentsDone, 2);
  assert.ok(done.bytes > 0);
  assert.equal(progress.at(-1).done, 5);
  const status = await lib.offlineStatus(1);
  assert.deepEqual(status.documents.map((d) => d.id).sort(), [1, 2]);
  assert.equal(status.lease_until, '2026-12-13T01:00:00Z');
  // A third run has nothing to fetch.
  server.fetched.length = 0;
  await lib.downloadMeeting(1);
  assert.deepEqual(server.fetched, []);
});

test('reading offline: the page list and images come from the copy', async () => {
  const server = fakeServer(manifestOf([[1, 10, 2]]));
  const lib = library(server);
  await lib.downloadMeeting(1);
  server.state.down = true;
  server.fetched.length = 0;
  const list = await lib.pages(1, 1);
  assert.equal(list.offline, true);
  assert.equal(list.pages.length, 2);
  const u = await lib.image(list.pages[1].tablet);
  assert.match(u, /^blob:/);
  assert.deepEqual(server.fetched, []); // the copy answered
  await assert.rejects(lib.image(list.pages[1].zoom), (e) => e.code === 'network'); // zoom is not in the copy
});

test('the manifest\'s recalled documents and superseded versions leave the copy', async () => {
  const server = fakeServer(manifestOf([[1, 10, 2], [2, 20, 1]]));
  const lib = library(server);
  await lib.downloadMeeting(1);
  await lib.image('/api/pages/20/t0.jpg'); // shown on screen: an object URL
  // Document 2 recalled while away, document 1 revised (version 11).
  const next = manifestOf([[1, 11, 1]], { recalled_document_ids: [2] });
  server.api.manifest = async () => next;
  await lib.downloadMeeting(1);
  const urls = (await lib.backend.pageUrls({ meetingId: 1 })).sort();
  assert.deepEqual(urls, ['/api/pages/11/s0.jpg', '/api/pages/11/t0.jpg']);
  assert.ok(lib.revoked.length >= 1); // the recalled page's object URL is revoked
  const rec = await lib.record(1);
  assert.deepEqual(Object.keys(rec.documents), ['1']);
});

test('a page answering 410 purges its document', async () => {
  const server = fakeServer(manifestOf([[1, 10, 2]]));
  const lib = library(server);
  await lib.downloadMeeting(1);
  const list = await lib.pages(1, 1);
  const zoom = list.pages[0].zoom;
  server.state.gone.add(zoom);
  await assert.rejects(lib.image(zoom), (e) => e.code === 'recalled');
  assert.deepEqual(await lib.backend.pageUrls({ documentIds: [1] }), []);
});

test('a page answering 404 just after it was listed is asked again', async () => {
  const server = fakeServer(manifestOf([[1, 10, 2]]));
  let misses = 2;
  const real = server.fetchImpl;
  const lib = library(server, {
    fetchImpl: async (url, o) => {
      if (url.endsWith('t1.jpg') && misses-- > 0) return { ok: false, status: 404, json: async () => ({ error: { code: 'not_found' } }) };
      return real(url, o);
    },
  });
  assert.match(await lib.image('/api/pages/10/t1.jpg'), /^blob:/);
  assert.equal(misses, -1);
  // A page that stays missing ends in the error, after a bounded number of tries.
  const none = library(server, { fetchImpl: async () => ({ ok: false, status: 404, json: async () => ({}) }), notYetRetries: 3 });
  await assert.rejects(none.image('/api/pages/10/t0.jpg'), (e) => e.code === 'not_found');
});

test('an expired lease deletes the copy on load', async () => {
  const server = fakeServer(manifestOf([[1, 10, 1]]));
  const lib = library(server);
  await lib.downloadMeeting(1);
  const later = library(server, { backend: lib.backend, now: () => Date.parse('2026-12-13T01:00:01Z') });
  await later.init();
  assert.equal(await later.record(1), null);
  assert.deepEqual(await later.backend.pageUrls({}), []);
});

// --- recall receipts -------------------------------------------------------------------------------

function fakeLive(answers) {
  const live = {
    commands: [],
    listeners: new Set(),
    failNext: 0,
    request(kind) { return Promise.resolve(answers.shift()); },
    emitMeetingError() {},
    on(kind, fn) { live.listeners.add(fn); return () => live.listeners.delete(fn); },
    async command(name, data, { key } = {}) {
      live.commands.push({ name, data, key });
      if (live.failNext > 0) { live.failNext -= 1; throw Object.assign(new Error('timeout'), { code: 'timeout' }); }
      if (live.refuse) throw new CommandError({ code: 'forbidden' });
      return { result: {}, seq: null, key };
    },
  };
  return live;
}

const settle = () => new Promise((r) => setTimeout(r, 10));

async function keeperWorld({ held = true } = {}) {
  const server = fakeServer(manifestOf([[1, 10, 2], [2, 20, 1]]));
  const lib = library(server);
  if (held) await lib.pages(1, 2); // opened document 2: the server lists me as a holder
  const live = fakeLive([{ ok: true, snapshot: snapshot(5), head: 5 }]);
  const sync = new MeetingSync(live, 1, { id: 7, roles: [] });
  const keeper = new DocumentKeeper({ library: lib, live, sync, meetingId: 1, api: server.api }).start();
  await sync.join();
  await settle();
  return { server, lib, live, sync, keeper };
}

test('a recall purges the copy, then confirms once with an idempotency key', async () => {
  const { lib, live, sync } = await keeperWorld();
  await lib.image('/api/pages/20/t0.jpg');
  sync.onEvent(ev(6, 'document.recalled', { recall_id: 9, document_ids: [2] }, 'meeting', 5));
  await settle();
  assert.equal(sync.store.state.documents.find((d) => d.id === 2).status, 'recalled');
  assert.deepEqual(lib.revoked, ['blob:1']);
  assert.equal(live.commands.length, 1);
  const c = live.commands[0];
  assert.equal(c.name, 'document.purge_confirm');
  assert.deepEqual(c.data, { meeting_id: 1, recall_id: 9 });
  assert.ok(c.key && c.key.length >= 8);
  // Replayed by a resync: the store drops the duplicate, and a second delivery is not confirmed twice.
  sync.onEvent(ev(6, 'document.recalled', { recall_id: 9, document_ids: [2] }, 'meeting', 5));
  await settle();
  assert.equal(live.commands.length, 1);
  const rec = await lib.record(1);
  assert.deepEqual(rec.confirmed, ['9']);
  assert.deepEqual(rec.pending, {});
});

test('a confirmation that cannot be sent is retried with the same key on reconnect', async () => {
  const { lib, live, sync } = await keeperWorld();
  live.failNext = 1;
  sync.onEvent(ev(6, 'document.recalled', { recall_id: 9, document_ids: [2] }, 'meeting', 5));
  await settle();
  assert.equal(live.commands.length, 1);
  assert.deepEqual(Object.keys((await lib.record(1)).pending), ['9']);
  for (const fn of live.listeners) fn(); // reconnect
  await settle();
  assert.equal(live.commands.length, 2);
  assert.equal(live.commands[1].key, live.commands[0].key);
  assert.deepEqual((await lib.record(1)).pending, {});
});

test('a device that never held a copy purges nothing and confirms nothing', async () => {
  const { live, sync } = await keeperWorld({ held: false });
  sync.onEvent(ev(6, 'document.recalled', { recall_id: 9, document_ids: [2] }, 'meeting', 5));
  await settle();
  assert.deepEqual(live.commands, []);
});

test('after a reload, a recall missed while away is found in the log and confirmed', async () => {
  const server = fakeServer(manifestOf([[1, 10, 2], [2, 20, 1]]));
  const lib = library(server);
  await lib.downloadMeeting(1);
  await lib.setSeq(1, 5);
  server.api.events = async (id, since) => {
    assert.equal(since, 5);
    return { events: [ev(6, 'document.recalled', { recall_id: 12, document_ids: [1, 2] })], head: 6 };
  };
  const live = fakeLive([{ ok: true, snapshot: snapshot(6, { documents: [] }), head: 6 }]);
  const sync = new MeetingSync(live, 1, { id: 7, roles: [] });
  new DocumentKeeper({ library: lib, live, sync, meetingId: 1, api: server.api }).start();
  await sync.join();
  await settle();
  assert.deepEqual(live.commands.map((c) => c.data.recall_id), [12]);
  assert.deepEqual(await lib.backend.pageUrls({}), []);
});

// --- the upload queue -------------------------------------------------------------------------------

const file = (name, size = 100) => ({ name, size, type: 'application/pdf' });

test('the upload queue: each file its own progress, then processing to done or failed', () => {
  let q = queueReducer([], { type: 'add', files: [file('a.pdf'), file('b.pdf'), file('c.pdf')], agendaItemId: 2 });
  assert.deepEqual(q.map((x) => x.phase), ['queued', 'queued', 'queued']);
  assert.deepEqual(nextToStart(q).map((x) => x.name), ['a.pdf', 'b.pdf']); // two on the wire at most
  const [a, b] = q;
  q = queueReducer(q, { type: 'start', id: a.id });
  q = queueReducer(q, { type: 'start', id: b.id });
  assert.deepEqual(nextToStart(q), []);
  q = queueReducer(q, { type: 'progress', id: a.id, loaded: 50, total: 100 });
  assert.equal(uploadPct(q[0]), 50);
  q = queueReducer(q, { type: 'uploaded', id: a.id, upload: { id: 'up1' } });
  assert.equal(uploadPct(q[0]), 100);
  assert.deepEqual(nextToStart(q).map((x) => x.name), ['c.pdf']);
  q = queueReducer(q, { type: 'added', id: a.id, documentId: 5, versionId: 50 });
  assert.equal(q[0].phase, 'processing');
  const rendering = [doc(5, { status: 'draft', version: null, latest: version(50, { status: 'rendering', pages_ready: 2, pages_total: 8 }) })];
  assert.equal(reconcileQueue(q, rendering), q); // nothing to change: the same list
  assert.deepEqual(processingOf(q[0], rendering), { ready: 2, total: 8, pct: 25, status: 'rendering' });
  q = queueReducer(q, { type: 'reconcile', documents: [doc(5, { status: 'draft', latest: version(50) })] });
  assert.equal(q[0].phase, 'done');
  q = queueReducer(q, { type: 'failed', id: b.id, error: { code: 'type_mismatch' } });
  assert.equal(q[1].phase, 'failed');
  assert.equal(q[1].error.code, 'type_mismatch');
  q = queueReducer(q, { type: 'dismiss', id: a.id });
  assert.deepEqual(q.map((x) => x.name), ['b.pdf', 'c.pdf']);
});

test('a rendering failure fails the item with its code; a revision waits for its own version', () => {
  let q = queueReducer([], { type: 'add', files: [file('new.pdf')], documentId: 5, previousVersionId: 50 });
  assert.equal(q[0].mode, 'revise');
  q = queueReducer(q, { type: 'start', id: q[0].id });
  q = queueReducer(q, { type: 'uploaded', id: q[0].id, upload: { id: 'up2' } });
  q = queueReducer(q, { type: 'added', id: q[0].id }); // revise answered without a version id
  const old = [doc(5, { latest: version(50) })];
  assert.equal(reconcileQueue(q, old)[0].phase, 'processing'); // the old version being ready says nothing
  const failed = [doc(5, { latest: version(51, { status: 'failed', error: { code: 'encrypted', message: 'x' } }) })];
  const out = reconcileQueue(q, failed);
  assert.equal(out[0].phase, 'failed');
  assert.equal(out[0].error.code, 'encrypted');
});

test('uploadFile streams the file with the token and reads the typed error', async () => {
  const made = [];
  const makeXhr = () => {
    const x = {
      headers: {}, upload: {},
      open(m, u) { x.method = m; x.url = u; },
      setRequestHeader(k, v) { x.headers[k] = v; },
      send(body) { x.body = body; made.push(x); },
    };
    return x;
  };
  const f = file('Báo cáo.pdf', 300);
  const seen = [];
  const p = uploadFile(3, f, { makeXhr, token: 'tok', onProgress: (l, tt) => seen.push([l, tt]) });
  const x = made[0];
  assert.equal(x.method, 'POST');
  assert.equal(x.url, '/api/meetings/3/uploads?filename=B%C3%A1o%20c%C3%A1o.pdf');
  assert.equal(x.headers.Authorization, 'Bearer tok');
  assert.equal(x.body, f);
  x.upload.onprogress({ loaded: 150, total: 300, lengthComputable: true });
  x.status = 201;
  x.responseText = JSON.stringify({ upload: { id: 'u1', sha256: 'ab', size: 300, filename: 'Báo cáo.pdf', kind: 'pdf' } });
  x.onload();
  assert.equal((await p).id, 'u1');
  assert.deepEqual(seen, [[150, 300]]);

  const p2 = uploadFile(3, file('x.pdf'), { makeXhr, token: 'tok' });
  const y = made[1];
  y.status = 415;
  y.responseText = JSON.stringify({ error: { code: 'type_mismatch', message: 'the extension lies' } });
  y.onload();
  await assert.rejects(p2, (e) => e.code === 'type_mismatch' && e.status === 415);
  const p3 = uploadFile(3, file('big.pdf'), { makeXhr });
  made[2].status = 413;
  made[2].responseText = '<html>too big</html>';
  made[2].onload();
  await assert.rejects(p3, (e) => e.code === 'too_large');
});

// --- the session ends: the offline copy ends with it (SECURITY.md) ---------------------------

test('forgetOffline deletes the account\'s offline database and only that one', async () => {
  const deleted = [];
  const idb = {
    deleteDatabase(name) {
      deleted.push(name);
      const req = {};
      setTimeout(() => req.onsuccess && req.onsuccess(), 0);
      return req;
    },
  };
  await forgetOffline({ id: 7, username: 'daibieu07' }, { idb });
  await forgetOffline(null, { idb });
  await forgetOffline({ username: 'no-id' }, { idb });
  assert.deepEqual(deleted, ['phonghop-offline-u7']);
});
