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
  };
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
    default:
      return state;
  }
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
    this.set(fromSnapshot(snapshot));
  }
  applyEvent(event) {
    this.set(applyEvent(this.state, event));
  }
}
