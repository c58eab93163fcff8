// The bridge point page's rules (docs/deliberation.md): which point this account runs, the
// figures it may send (seated count, show of hands), and the keys of commands sent on a weak link.
// Pure: no DOM, no socket; components/BridgePoint.js draws them.

import { pollOptions } from './store.js';

// The server's bound for a seated count (server/commands/attendance.py, PointCount.seated).
export const MAX_COUNT = 100000;

const same = (a, b) => a != null && b != null && String(a) === String(b);

// The point this account runs: its participant is an `operator` and the participant's unit is the
// point (the server checks exactly that in attendance.point_count and poll.hands).
// -> {code, name, unitId} | {missing: 'not_operator' | 'no_unit' | 'loading'}.
export function operatorPoint(state, units) {
  const me = state.me || {};
  if (me.role !== 'operator' || me.participant_id == null) return { missing: 'not_operator' };
  const p = state.participants.find((x) => same(x.id, me.participant_id));
  if (!p || p.unit_id == null) return { missing: 'no_unit' };
  if (!units) return { missing: 'loading' };
  const unit = units.find((u) => same(u.id, p.unit_id));
  if (!unit) return { missing: 'no_unit' };
  return { code: unit.code, name: unit.name, unitId: unit.id };
}

// One typed count: a whole number from 0 to MAX_COUNT. The field is text, so "2,5", "-1", "1e3"
// and the empty field are refused here rather than turned into numbers by the browser.
// -> {value} | {error: 'empty' | 'not_whole' | 'too_big'}.
export function parseCount(text) {
  const s = String(text ?? '').trim();
  if (s === '') return { error: 'empty' };
  if (!/^\d+$/.test(s)) return { error: 'not_whole' };
  const value = Number(s);
  if (value > MAX_COUNT) return { error: 'too_big' };
  return { value };
}

// Can this point enter a show of hands on this poll? Mirrors server/domain/polls.count_votes:
// not secret, a motion or a single choice, the point counted when the poll opened.
// -> 'ok' | 'not_open' | 'secret' | 'kind' | 'not_at_open'.
export function handsStatus(poll, code) {
  if (!poll || poll.state !== 'open') return 'not_open';
  if (poll.secret) return 'secret';
  if (!(poll.kind === 'motion' || (poll.kind === 'choice' && (poll.max_selections ?? 1) === 1))) return 'kind';
  if (handsLimit(poll, code) == null) return 'not_at_open';
  return 'ok';
}

// The people at the point when the poll opened: the server's limit for its hands. The seated
// count reported later does not move it (the poll froze it at the opening).
export function handsLimit(poll, code) {
  const n = poll && poll.points_present ? poll.points_present[code] : undefined;
  return typeof n === 'number' ? n : null;
}

// The figures typed for each option, checked as the server would check them.
// values: {option_id: text}. -> {ok, counts, total, fields: {option_id: error}, error: null | {code, total, limit}}.
export function validateHands(poll, values, limit) {
  const fields = {};
  const counts = {};
  let total = 0;
  for (const o of pollOptions(poll)) {
    const id = String(o.id);
    const r = parseCount(values ? values[id] : '');
    if (r.error) fields[id] = r.error;
    else {
      counts[id] = r.value;
      total += r.value;
    }
  }
  let error = null;
  if (Object.keys(fields).length) error = { code: 'fields' };
  else if (limit != null && total > limit) error = { code: 'over', total, limit };
  return { ok: !error, counts, total, fields, error };
}

// The point's figures the server holds for a poll, in the poll's option order; null if none.
export function sentHands(poll, code) {
  const row = poll && poll.point_counts ? poll.point_counts[code] : null;
  if (!row) return null;
  return pollOptions(poll).map((o) => ({ id: String(o.id), n: row[o.id] ?? 0 }));
}

// The figures to show for the point: what this page sent until the server's copy comes back with
// poll.updated (the ack may come first), then the server's. local: {counts, echoed} | undefined.
// -> {rows: [{id, n}] | null, echoed}: `echoed` once the server's copy matches what was sent.
export function shownHands(poll, code, local) {
  const server = sentHands(poll, code);
  if (!local || local.echoed) return { rows: server, echoed: !!local };
  const mine = pollOptions(poll).map((o) => ({ id: String(o.id), n: local.counts[o.id] ?? 0 }));
  const echoed = !!server && server.every((r, i) => r.n === mine[i].n);
  return { rows: echoed ? server : mine, echoed };
}

// The poll to show when none is open: the latest closed or published one.
export function latestFinished(state) {
  const done = state.polls.filter((p) => p.state === 'closed' || p.state === 'published');
  done.sort((a, b) => String(b.closed_at || b.opened_at || '').localeCompare(String(a.closed_at || a.opened_at || '')));
  return done[0] || null;
}

// This point's requests still in the queue, with their place (1 = next); the queue is the list
// `speakers.updated` sends, in order (points of order first).
export function pointRequests(state, code) {
  const queue = state.speakers.filter((s) => s.state === 'waiting' || s.state === 'approved');
  return queue.map((s, i) => ({ ...s, place: i + 1 })).filter((s) => s.point === code);
}

export function pointSpeaking(state, code) {
  return state.speakers.find((s) => s.state === 'speaking' && s.point === code) || null;
}

// Idempotency keys of the submissions in flight, one per slot ("hands:<meeting>:<poll>:<point>").
// The same figures sent again before the server acknowledged them (the operator taps "send
// again" after a time-out) keep their key, so the server answers the first result and nothing is
// applied twice; other figures, or a new submission after an ack, get a new key.
export class Outbox {
  constructor(makeKey) {
    this.makeKey = makeKey;
    this.slots = new Map(); // slot -> {body, key}
  }

  keyFor(slot, data) {
    const body = JSON.stringify(data);
    const held = this.slots.get(slot);
    if (held && held.body === body) return held.key;
    const key = this.makeKey();
    this.slots.set(slot, { body, key });
    return key;
  }

  // The server answered (accepted or refused): this key's work is over.
  settle(slot, key) {
    const held = this.slots.get(slot);
    if (held && held.key === key) this.slots.delete(slot);
  }

  pending(slot) {
    return this.slots.has(slot);
  }
}
