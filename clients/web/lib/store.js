// Meeting state: applies a snapshot and the meeting's events (docs/protocol.md).
// State objects are never mutated: each change makes a new one, so components re-render.

export function emptyState() {
  return {
    loaded: false,
    meeting: null,
    agenda: [],
    participants: [],
    attendance: {},
    quorum: null,
    me: { participant_id: null, role: null },
    polls: [],
    myVotes: [],
    receipts: {}, // poll_id -> the receipt the server gave this tablet (memory only, never stored)
    pendingVotes: {}, // poll_id -> true while a sent ballot waits for its ack (secret: its batch)
    tallies: {}, // poll_id -> live tally (named polls, staff)
    speakers: [],
    commentRounds: [],
    comments: [],
    conclusions: [], // the chair's conclusion per agenda item (docs/records.md)
    records: { minutes: null, conclusion_notice: null }, // the minutes and the conclusion notice, without content
    conference: null, // the online conference (docs/conference.md); its points are lib/conference.js's board
    floorNotices: [], // the floor given back to the host by the system (a point dropped), for the chair
    ...emptyDocumentState(),
  };
}

// The documents part (docs/documents.md). `progress`, `notes` and the notices live only in this
// page's memory: a fresh snapshot keeps them (MeetingStore.applySnapshot).
function emptyDocumentState() {
  return {
    documents: [],
    presenting: null,
    progress: {}, // version_id -> {pages_ready, pages_total}: document_progress for a version not on a document yet
    docNotices: {}, // document_id -> 'revised' (a new version arrived; cleared when the reader opens it)
    recallNotices: [], // [{recall_id, document_ids, titles, at}] recalls of documents this client could read
    recallsSeen: 0, // counts document.recalled and document.purge_confirmed: the console's recall panel refetches on change
    purgeConfirmations: [], // [{recall_id, holder}] as they come (document.purge_confirmed)
    notes: [], // my private notes (GET /notes, then the `note` messages of my other devices)
    notesLoaded: false,
  };
}

export function fromSnapshot(snapshot) {
  return {
    loaded: true,
    meeting: snapshot.meeting || null,
    agenda: Array.isArray(snapshot.agenda) ? snapshot.agenda : [],
    participants: Array.isArray(snapshot.participants) ? snapshot.participants : [],
    attendance: normaliseAttendance(snapshot.attendance),
    quorum: snapshot.quorum || null,
    me: snapshot.me || { participant_id: null, role: null },
    polls: arr(snapshot.polls),
    myVotes: arr(snapshot.my_votes).map(String),
    receipts: {},
    pendingVotes: {},
    tallies: {},
    speakers: arr(snapshot.speakers),
    commentRounds: arr(snapshot.comment_rounds),
    comments: arr(snapshot.comments),
    conclusions: arr(snapshot.conclusions),
    records: { minutes: null, conclusion_notice: null, ...(snapshot.records || {}) },
    conference: snapshot.conference || null,
    ...emptyDocumentState(),
    documents: arr(snapshot.documents),
    presenting: presentingOf(snapshot.presenting),
  };
}

// {document_id: null, ...} means nothing is presented: keep one form for that, null.
function presentingOf(p) {
  return p && p.document_id != null ? { document_id: p.document_id, version_id: p.version_id ?? null, page: p.page ?? 0 } : null;
}

function arr(x) {
  return Array.isArray(x) ? x : [];
}

const same = (a, b) => a != null && b != null && String(a) === String(b);

// Replaces the element with the same id (merged), or appends it.
function upsert(list, obj) {
  const i = list.findIndex((x) => same(x.id, obj.id));
  const out = list.slice();
  if (i >= 0) out[i] = { ...out[i], ...obj };
  else out.push(obj);
  return out;
}

function normaliseAttendance(att) {
  if (!att) return {};
  if (Array.isArray(att)) {
    const out = {};
    for (const a of att) out[a.participant_id] = a;
    return out;
  }
  return { ...att };
}

// Pure: returns the state after one event. Unknown event types change nothing.
export function applyEvent(state, event) {
  const d = event.data || {};
  switch (event.type) {
    case 'meeting.updated':
      return d.meeting ? { ...state, meeting: { ...state.meeting, ...d.meeting } } : state;
    case 'agenda.updated':
      return Array.isArray(d.agenda) ? { ...state, agenda: d.agenda } : state;
    case 'participant.updated': {
      const p = d.participant;
      if (!p) return state;
      const i = state.participants.findIndex((x) => String(x.id) === String(p.id));
      const participants = state.participants.slice();
      if (i >= 0) participants[i] = { ...participants[i], ...p };
      else participants.push(p);
      return { ...state, participants };
    }
    case 'participant.removed': {
      const id = String(d.participant_id);
      const attendance = { ...state.attendance };
      delete attendance[id];
      return {
        ...state,
        participants: state.participants.filter((x) => String(x.id) !== id),
        attendance,
      };
    }
    case 'attendance.updated': {
      let next = state;
      if (d.attendance) {
        const list = Array.isArray(d.attendance) ? d.attendance : [d.attendance];
        const attendance = { ...state.attendance };
        for (const a of list) attendance[a.participant_id] = a;
        next = { ...next, attendance };
      }
      if (d.quorum || d.points) {
        // Events carry the quorum without its points and, from a point's report, only that
        // point (`points`); the others stay as the snapshot gave them (docs/deliberation.md).
        const before = state.quorum && state.quorum.by_point;
        const quorum = { ...(state.quorum || {}), ...(d.quorum || {}) };
        const base = (d.quorum && d.quorum.by_point) || before;
        if (base || d.points) quorum.by_point = { ...(base || {}), ...(d.points || {}) };
        next = { ...next, quorum };
      }
      return next;
    }
    case 'poll.updated':
      return d.poll ? { ...state, polls: upsert(state.polls, d.poll) } : state;
    case 'poll.hands': // one bridge point's show of hands: the rest of the poll is as it was
      return {
        ...state,
        polls: state.polls.map((p) => (same(p.id, d.poll_id)
          ? { ...p, point_counts: { ...(p.point_counts || {}), [d.point]: d.counts } } : p)),
      };
    case 'poll.removed':
    case 'poll.deleted': {
      const id = d.poll_id ?? (d.poll && d.poll.id);
      return id == null ? state : { ...state, polls: state.polls.filter((p) => !same(p.id, id)) };
    }
    case 'speakers.updated':
      return Array.isArray(d.speakers) ? { ...state, speakers: d.speakers } : state;
    case 'conference.updated':
      return d.conference ? { ...state, conference: d.conference } : state;
    case 'conference.floor_returned': {
      const next = d.conference ? { ...state, conference: d.conference } : state;
      if (!d.point || (state.floorNotices || []).some((n) => same(n.seq, event.seq))) return next;
      const notice = { seq: event.seq, point: d.point, reason: d.reason, at: event.at || null };
      return { ...next, floorNotices: [...(state.floorNotices || []), notice] };
    }
    case 'comment.updated':
      return d.comment ? { ...state, comments: upsert(state.comments, d.comment) } : state;
    case 'comment_round.updated':
      return d.round ? { ...state, commentRounds: upsert(state.commentRounds, d.round) } : state;
    case 'conclusion.updated': {
      const c = d.conclusion;
      if (!c || c.agenda_item_id == null) return state;
      const conclusions = state.conclusions.filter((x) => !same(x.agenda_item_id, c.agenda_item_id));
      return { ...state, conclusions: [...conclusions, c] };
    }
    case 'record.updated': {
      const r = d.record;
      if (!r || !r.kind) return state;
      const old = state.records[r.kind];
      // A late copy of an older revision must not replace a newer one.
      if (old && old.revision != null && r.revision != null && r.revision < old.revision) return state;
      return { ...state, records: { ...state.records, [r.kind]: r } };
    }
    case 'document.changed':
    case 'document.hidden':
    case 'document.removed':
    case 'document.recalled':
    case 'document.presented':
    case 'document.purge_confirmed':
      return applyDocumentEvent(state, event);
    default:
      return state;
  }
}

// Documents ------------------------------------------------------------------

function applyDocumentEvent(state, event) {
  const d = event.data || {};
  switch (event.type) {
    case 'document.changed': {
      const doc = d.document;
      if (!doc || doc.id == null) return state;
      const old = state.documents.find((x) => same(x.id, doc.id));
      // Replace, not merge: `version` may become null or lose fields (access changed).
      const i = state.documents.findIndex((x) => same(x.id, doc.id));
      const documents = state.documents.slice();
      if (i >= 0) documents[i] = doc;
      else documents.push(doc);
      let { docNotices, progress } = state;
      const newVersion = old && old.version && doc.version && !same(old.version.id, doc.version.id);
      if (d.revised || newVersion) docNotices = { ...docNotices, [String(doc.id)]: 'revised' };
      // What the event says about a version supersedes the unlogged counts we kept for it.
      for (const v of [doc.version, doc.latest]) {
        if (v && v.id != null && progress[String(v.id)]) {
          progress = { ...progress };
          delete progress[String(v.id)];
        }
      }
      return { ...state, documents, docNotices, progress };
    }
    case 'document.hidden':
    case 'document.removed': {
      const id = d.document_id;
      if (id == null) return state;
      const docNotices = { ...state.docNotices };
      delete docNotices[String(id)];
      // `presenting` stays: it is the hall's projector; screens check they can read what it shows.
      return { ...state, documents: state.documents.filter((x) => !same(x.id, id)), docNotices };
    }
    case 'document.recalled': {
      const ids = arr(d.document_ids).map(String);
      const mine = state.documents.filter((x) => ids.includes(String(x.id)));
      const documents = state.documents.map((x) => (ids.includes(String(x.id))
        ? { ...x, status: 'recalled', recalled_at: x.recalled_at || event.at || null } : x));
      let { recallNotices } = state;
      // Only recalls of documents this client could read make a notice (others are not ours to see).
      if (mine.length && !recallNotices.some((n) => same(n.recall_id, d.recall_id))) {
        recallNotices = [...recallNotices, {
          recall_id: d.recall_id, document_ids: mine.map((x) => x.id), titles: mine.map((x) => x.title), at: event.at || null,
        }];
      }
      const presenting = state.presenting && ids.includes(String(state.presenting.document_id)) ? null : state.presenting;
      return { ...state, documents, recallNotices, presenting, recallsSeen: state.recallsSeen + 1 };
    }
    case 'document.presented':
      return { ...state, presenting: presentingOf(d) };
    case 'document.purge_confirmed':
      return {
        ...state,
        purgeConfirmations: [...state.purgeConfirmations, { recall_id: d.recall_id, holder: d.holder || null }],
        recallsSeen: state.recallsSeen + 1,
      };
    default:
      return state;
  }
}

// document_progress (unlogged, at most 4 a second): pages_ready / pages_total of one version.
export function applyDocProgress(state, msg) {
  if (!msg || msg.document_id == null || msg.version_id == null) return state;
  const patch = (v) => (v && same(v.id, msg.version_id)
    && (v.pages_ready !== msg.pages_ready || v.pages_total !== msg.pages_total)
    // Counts only grow: a late message must not move a bar backwards.
    && (msg.pages_ready ?? 0) >= (v.pages_ready ?? 0)
    ? { ...v, pages_ready: msg.pages_ready, pages_total: msg.pages_total ?? v.pages_total } : v);
  const i = state.documents.findIndex((x) => same(x.id, msg.document_id));
  if (i >= 0) {
    const doc = state.documents[i];
    const onDoc = (doc.version && same(doc.version.id, msg.version_id)) || (doc.latest && same(doc.latest.id, msg.version_id));
    if (onDoc) {
      const next = { ...doc, version: patch(doc.version), latest: patch(doc.latest) };
      if (next.version === doc.version && next.latest === doc.latest) return state;
      const documents = state.documents.slice();
      documents[i] = next;
      return { ...state, documents };
    }
  }
  const key = String(msg.version_id);
  const prev = state.progress[key];
  if (prev && prev.pages_ready === msg.pages_ready && prev.pages_total === msg.pages_total) return state;
  return {
    ...state,
    progress: { ...state.progress, [key]: { document_id: msg.document_id, pages_ready: msg.pages_ready ?? 0, pages_total: msg.pages_total ?? null } },
  };
}

// The `note` message (docs/documents.md, "Private notes"): one of my notes changed on another device.
export function applyNote(state, msg) {
  if (!msg || !msg.note || msg.note.id == null) return state;
  const note = msg.note;
  if (msg.deleted) {
    if (!state.notes.some((n) => same(n.id, note.id))) return state;
    return { ...state, notes: state.notes.filter((n) => !same(n.id, note.id)) };
  }
  const i = state.notes.findIndex((n) => same(n.id, note.id));
  // A late copy of an older edit must not replace a newer one.
  if (i >= 0 && state.notes[i].updated_at && note.updated_at && note.updated_at < state.notes[i].updated_at) return state;
  const notes = state.notes.slice();
  if (i >= 0) notes[i] = note;
  else notes.push(note);
  return { ...state, notes };
}

export function applyNotes(state, notes) {
  return { ...state, notes: arr(notes), notesLoaded: true };
}

export function dismissDocNotice(state, documentId) {
  if (!state.docNotices[String(documentId)]) return state;
  const docNotices = { ...state.docNotices };
  delete docNotices[String(documentId)];
  return { ...state, docNotices };
}

export function dismissFloorNotice(state, seq) {
  return { ...state, floorNotices: (state.floorNotices || []).filter((n) => !same(n.seq, seq)) };
}

export function dismissRecallNotice(state, recallId) {
  return { ...state, recallNotices: state.recallNotices.filter((n) => !same(n.recall_id, recallId)) };
}

// What a reader's tablet lists: published documents with something to read or still rendering.
export function readableDocuments(state) {
  return state.documents.filter((d) => d.status === 'published');
}

// Can this client open the document now (page 1 ready)?
export function canOpen(doc) {
  return !!(doc && doc.status !== 'recalled' && doc.version && (doc.version.pages_ready ?? 0) >= 1);
}

// The version a screen shows progress for: the staff's `latest` when there is one.
export function shownVersion(doc, { staff = false } = {}) {
  if (!doc) return null;
  return (staff && doc.latest) || doc.version || doc.latest || null;
}

// {ready, total, status, pct} of a document's rendering; `progress` holds counts for a version
// the document does not show yet (a reader before page 1).
export function renderProgress(state, doc, opts) {
  const v = shownVersion(doc, opts);
  const extra = Object.entries(state.progress || {}).find(([vid, p]) => (v ? same(vid, v.id) : same(p.document_id, doc.id)));
  const ready = Math.max((v && v.pages_ready) || 0, (extra && extra[1].pages_ready) || 0);
  const total = (v && v.pages_total) ?? (extra && extra[1].pages_total) ?? null;
  const status = v ? v.status : 'rendering';
  const pct = status === 'ready' ? 100 : total ? Math.min(100, Math.round((100 * ready) / total)) : 0;
  return { ready, total, status, pct, error: (v && v.error) || null };
}

// The documents grouped under their agenda items, in agenda order, each group by `position`;
// the general papers (agenda_item_id null) first. Items without documents are left out unless
// `allItems` (the console shows a drop zone on every item).
export function groupDocuments(agenda, documents, { allItems = false } = {}) {
  const byPos = (a, b) => (a.position ?? 0) - (b.position ?? 0) || String(a.title || '').localeCompare(String(b.title || ''), 'vi');
  const known = new Set(agenda.map((i) => String(i.id)));
  const general = documents.filter((d) => d.agenda_item_id == null || !known.has(String(d.agenda_item_id)));
  const groups = [];
  if (allItems || general.length) groups.push({ item: null, key: 'general', documents: general.slice().sort(byPos) });
  for (const item of agenda) {
    const docs = documents.filter((d) => same(d.agenda_item_id, item.id));
    if (allItems || docs.length) groups.push({ item, key: String(item.id), documents: docs.sort(byPos) });
  }
  return groups;
}

// Merges one holder (document.purge_confirmed) into the recall list from GET /recalls.
export function mergeHolder(recalls, recallId, holder) {
  if (!holder) return recalls;
  return recalls.map((r) => {
    if (!same(r.id, recallId)) return r;
    const holders = arr(r.holders).slice();
    const i = holders.findIndex((h) => h.client === holder.client);
    if (i >= 0) holders[i] = { ...holders[i], ...holder };
    else holders.push(holder);
    return { ...r, holders };
  });
}

// Unlogged messages (no seq): counts while a poll is open. Applied directly; a missed one is
// made good by the next one or by the snapshot.
export function applyProgress(state, msg) {
  if (!msg || msg.poll_id == null) return state;
  const i = state.polls.findIndex((p) => same(p.id, msg.poll_id));
  if (i < 0) return state;
  const poll = state.polls[i];
  const patch = {};
  if (msg.voted_count != null && msg.voted_count !== poll.voted_count) patch.voted_count = msg.voted_count;
  if (msg.entitled_count != null && msg.entitled_count !== poll.entitled_count) patch.entitled_count = msg.entitled_count;
  if (!Object.keys(patch).length) return state;
  const polls = state.polls.slice();
  polls[i] = { ...poll, ...patch };
  return { ...state, polls };
}

export function applyTally(state, msg) {
  if (!msg || msg.poll_id == null || !msg.tally) return state;
  return { ...state, tallies: { ...state.tallies, [String(msg.poll_id)]: msg.tally } };
}

// A ballot was sent and waits for its ack. A secret ballot is held by the server until a
// batch of them (or the close) is written (docs/ballot-secrecy.md), so this may last.
export function applyPendingVote(state, pollId, on) {
  const id = String(pollId);
  if (!!state.pendingVotes[id] === !!on) return state;
  const pendingVotes = { ...state.pendingVotes };
  if (on) pendingVotes[id] = true;
  else delete pendingVotes[id];
  return { ...state, pendingVotes };
}

// This tablet's ballot was acknowledged: remember it (and the receipt of a secret poll).
export function applyMyVote(state, pollId, result) {
  const id = String(pollId);
  const myVotes = state.myVotes.includes(id) ? state.myVotes : [...state.myVotes, id];
  let { polls, receipts } = state;
  const r = result || {};
  if (r.receipt) receipts = { ...receipts, [id]: r.receipt };
  if (r.voted_count != null) {
    polls = polls.map((p) => (same(p.id, pollId) && (p.voted_count ?? 0) < r.voted_count ? { ...p, voted_count: r.voted_count } : p));
  }
  const pendingVotes = { ...state.pendingVotes };
  delete pendingVotes[id];
  return { ...state, myVotes, receipts, polls, pendingVotes };
}

// Derived views -----------------------------------------------------------

export function attendanceOf(state, participantId) {
  if (participantId == null) return null;
  return state.attendance[participantId] || state.attendance[String(participantId)] || null;
}

export function statusOf(state, participantId) {
  const a = attendanceOf(state, participantId);
  return (a && a.status) || 'unknown';
}

export function attendanceCounts(state) {
  const counts = { present: 0, absent: 0, excused: 0, unknown: 0, total: state.participants.length };
  for (const p of state.participants) {
    const s = statusOf(state, p.id);
    counts[s] = (counts[s] || 0) + 1;
  }
  return counts;
}

export function itemDepth(item) {
  return item.number ? String(item.number).split('.').length - 1 : 0;
}

export function currentItem(state) {
  const id = state.meeting && state.meeting.current_item_id;
  if (id == null) return null;
  return state.agenda.find((i) => String(i.id) === String(id)) || null;
}

export function siblings(state, item) {
  const parent = item.parent_id == null ? null : String(item.parent_id);
  return state.agenda.filter((i) => (i.parent_id == null ? null : String(i.parent_id)) === parent);
}

// Polls ----------------------------------------------------------------------

export const MOTION_OPTIONS = ['yes', 'no', 'abstain'];

export function pollOptions(poll) {
  if (!poll) return [];
  if (poll.kind === 'motion') {
    const labels = new Map((poll.options || []).map((o) => [String(o.id), o.label]));
    return MOTION_OPTIONS.map((id) => ({ id, label: labels.get(id) || null, motion: true }));
  }
  return poll.options || [];
}

export function hasVoted(state, pollId) {
  return state.myVotes.includes(String(pollId));
}

// The poll being voted on now (the latest opened, if several).
export function openPoll(state) {
  const open = state.polls.filter((p) => p.state === 'open');
  open.sort((a, b) => String(b.opened_at || '').localeCompare(String(a.opened_at || '')));
  return open[0] || null;
}

// The poll whose result was published last.
export function lastPublished(state) {
  const pub = state.polls.filter((p) => p.state === 'published' && p.result);
  pub.sort((a, b) => String(b.published_at || '').localeCompare(String(a.published_at || '')));
  return pub[0] || null;
}

// The live count of a named poll: poll.tally carries a Tally ({counts, ...}) or a bare map.
export function tallyCounts(state, pollId) {
  const tl = state.tallies[String(pollId)];
  if (!tl) return null;
  return tl.counts && typeof tl.counts === 'object' ? tl.counts : tl;
}

// Speakers -------------------------------------------------------------------

const QUEUED = ['waiting', 'approved'];

export function currentSpeaker(state) {
  return state.speakers.find((s) => s.state === 'speaking') || null;
}

// The queue in order (points of order first, as the server sends it).
export function speakerQueue(state) {
  return state.speakers.filter((s) => QUEUED.includes(s.state));
}

export function finishedSpeakers(state) {
  return state.speakers.filter((s) => s.state === 'done');
}

// My requests still in the queue, with their place (1 = next).
export function myRequests(state) {
  const pid = state.me && state.me.participant_id;
  if (pid == null) return [];
  return speakerQueue(state)
    .map((s, i) => ({ ...s, place: i + 1 }))
    .filter((s) => same(s.participant_id, pid));
}

// Mirrors server/domain/speakers.time_state: ok / warning (the last 30 s, no earlier than half
// of the speech) / over.
export function speakerClock(startedAt, limitSeconds, nowMs, warnBefore = 30) {
  const start = startedAt ? Date.parse(startedAt) : NaN;
  const elapsed = Number.isNaN(start) ? 0 : Math.max(0, Math.floor((nowMs - start) / 1000));
  if (limitSeconds == null) return { state: 'ok', elapsed, remaining: null };
  const remaining = limitSeconds - elapsed;
  if (remaining <= 0) return { state: 'over', elapsed, remaining };
  if (remaining <= Math.min(warnBefore, Math.floor(limitSeconds / 2))) return { state: 'warning', elapsed, remaining };
  return { state: 'ok', elapsed, remaining };
}

// 75 -> "1:15", -5 -> "-0:05".
export function formatSeconds(sec) {
  if (sec == null) return '';
  const neg = sec < 0;
  const a = Math.abs(sec);
  return `${neg ? '-' : ''}${Math.floor(a / 60)}:${String(a % 60).padStart(2, '0')}`;
}

// Comments -------------------------------------------------------------------

export function myComments(state, userId) {
  if (userId == null) return [];
  return state.comments.filter((c) => c.author && same(c.author.user_id, userId));
}

export function openRounds(state) {
  return state.commentRounds.filter((r) => r.state !== 'closed');
}

// Groups comments by section, unit or delegate; keys keep first-seen order.
export function groupComments(comments, by, { unitName = (id) => id } = {}) {
  const groups = new Map();
  for (const c of comments) {
    let key;
    if (by === 'unit') key = c.author && c.author.unit_id != null ? unitName(c.author.unit_id) : '';
    else if (by === 'delegate') key = (c.author && c.author.name) || '';
    else key = c.section || '';
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(c);
  }
  return [...groups.entries()].map(([key, items]) => ({ key, items }));
}

// A small observable container for one meeting's state.
export class MeetingStore {
  constructor() {
    this.state = emptyState();
    this.listeners = new Set();
  }
  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  set(state) {
    if (state === this.state) return;
    this.state = state;
    for (const fn of this.listeners) fn(state);
  }
  applySnapshot(snapshot) {
    // Receipts and ballots in flight live only in this page's memory: a fresh snapshot must
    // not forget them. Nor my notes, the notices and the progress counts, which no snapshot carries.
    const { receipts, pendingVotes, notes, notesLoaded, docNotices, recallNotices, recallsSeen, purgeConfirmations,
      floorNotices } = this.state;
    this.set({
      ...fromSnapshot(snapshot),
      receipts: receipts || {},
      pendingVotes: pendingVotes || {},
      notes: notes || [],
      notesLoaded: !!notesLoaded,
      docNotices: docNotices || {},
      recallNotices: recallNotices || [],
      // A snapshot may hide recalls and confirmations we never saw as events: refetch.
      recallsSeen: (recallsSeen || 0) + 1,
      purgeConfirmations: purgeConfirmations || [],
      floorNotices: floorNotices || [],
    });
  }
  update(fn) {
    this.set(fn(this.state));
  }
  applyDocProgress(msg) {
    this.set(applyDocProgress(this.state, msg));
  }
  applyNote(msg) {
    this.set(applyNote(this.state, msg));
  }
  applyEvent(event) {
    this.set(applyEvent(this.state, event));
  }
  applyProgress(msg) {
    this.set(applyProgress(this.state, msg));
  }
  applyTally(msg) {
    this.set(applyTally(this.state, msg));
  }
  applyMyVote(pollId, result) {
    this.set(applyMyVote(this.state, pollId, result));
  }
  applyPendingVote(pollId, on) {
    this.set(applyPendingVote(this.state, pollId, on));
  }
}
