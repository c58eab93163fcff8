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
  };
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
      if (d.quorum) next = { ...next, quorum: d.quorum };
      return next;
    }
    case 'poll.updated':
      return d.poll ? { ...state, polls: upsert(state.polls, d.poll) } : state;
    case 'poll.removed':
    case 'poll.deleted': {
      const id = d.poll_id ?? (d.poll && d.poll.id);
      return id == null ? state : { ...state, polls: state.polls.filter((p) => !same(p.id, id)) };
    }
    case 'speakers.updated':
      return Array.isArray(d.speakers) ? { ...state, speakers: d.speakers } : state;
    case 'comment.updated':
      return d.comment ? { ...state, comments: upsert(state.comments, d.comment) } : state;
    case 'comment_round.updated':
      return d.round ? { ...state, commentRounds: upsert(state.commentRounds, d.round) } : state;
    default:
      return state;
  }
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
    // not forget them.
    const { receipts, pendingVotes } = this.state;
    this.set({ ...fromSnapshot(snapshot), receipts: receipts || {}, pendingVotes: pendingVotes || {} });
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
