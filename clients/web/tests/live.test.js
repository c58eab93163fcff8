// The client rule of docs/protocol.md ("Live events and resync"), against a scripted server.
// Run: `node --test tests/` in clients/web (tests/browser/test_web_units.py runs it under pytest).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MeetingSync, newKey } from '../lib/live.js';
import { applyEvent, attendanceCounts, fromSnapshot } from '../lib/store.js';

const USER = { id: 7, roles: [] };

function snapshot(head, titles = ['Khai mạc']) {
  return {
    meeting: { id: 1, title: 'Hội nghị', status: 'published', current_item_id: null },
    agenda: titles.map((title, i) => ({ id: i + 1, parent_id: null, position: i, number: String(i + 1), title })),
    participants: [{ id: 10, user_id: 7, full_name: 'Phạm Thị Bình', role: 'delegate', voting: true }],
    attendance: {},
    quorum: { members: 1, present: 0, required: 1, fraction: '2/3', reached: false },
    me: { participant_id: 10, role: 'delegate' },
    head,
  };
}

function agendaEvent(seq, prev, titles, audience = 'meeting') {
  return {
    meeting_id: 1, seq, prev, audience, type: 'agenda.updated', at: '2026-12-10T01:00:00Z',
    data: { agenda: titles.map((title, i) => ({ id: i + 1, parent_id: null, position: i, number: String(i + 1), title })) },
  };
}

// A fake live connection: records requests and answers them from a script (or holds them).
function fakeLive(answers) {
  const live = {
    connected: true,
    requests: [],
    held: [],
    errors: [],
    request(kind, payload) {
      live.requests.push({ kind, ...payload });
      const next = answers.shift();
      if (next === 'hold') return new Promise((resolve) => live.held.push(resolve));
      return Promise.resolve(next);
    },
    emitMeetingError(id, err) { live.errors.push(err); },
  };
  return live;
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const titles = (sync) => sync.store.state.agenda.map((i) => i.title);

test('a first join asks for a snapshot; every audience starts at its head', async () => {
  const live = fakeLive([{ ok: true, snapshot: snapshot(5), head: 5 }]);
  const sync = new MeetingSync(live, 1, USER);
  await sync.join();
  assert.deepEqual(live.requests, [{ kind: 'join', meeting_id: 1, since: null }]);
  assert.deepEqual(sync.heads, { meeting: 5, 'user:7': 5 });
  assert.deepEqual(titles(sync), ['Khai mạc']);
});

test('staff also follow the secretariat audience', async () => {
  const live = fakeLive([{ ok: true, snapshot: snapshot(3), head: 3 }]);
  const sync = new MeetingSync(live, 1, { id: 2, roles: ['secretariat'] });
  await sync.join();
  assert.deepEqual(sync.heads, { meeting: 3, 'user:2': 3, secretariat: 3 });
});

test('an event is applied once; a duplicate is dropped', async () => {
  const live = fakeLive([{ ok: true, snapshot: snapshot(5), head: 5 }]);
  const sync = new MeetingSync(live, 1, USER);
  await sync.join();
  const ev = agendaEvent(6, 5, ['Khai mạc', 'Báo cáo']);
  sync.onEvent(ev);
  sync.onEvent(ev);
  sync.onEvent(agendaEvent(4, 3, ['old']));
  assert.deepEqual(titles(sync), ['Khai mạc', 'Báo cáo']);
  assert.equal(sync.heads.meeting, 6);
  assert.equal(live.requests.length, 1);
});

test('a gap asks resync with since = min(heads) and applies the answer by the same rule', async () => {
  const live = fakeLive([
    { ok: true, snapshot: snapshot(5), head: 5 },
    {
      ok: true,
      head: 8,
      events: [
        agendaEvent(6, 5, ['A']),
        { meeting_id: 1, seq: 7, prev: 5, audience: 'user:7', type: 'noop', data: {} },
        agendaEvent(8, 6, ['A', 'B']),
      ],
    },
  ]);
  const sync = new MeetingSync(live, 1, USER);
  await sync.join();
  sync.onEvent(agendaEvent(8, 6, ['A', 'B'])); // 6 was missed
  await tick();
  assert.deepEqual(live.requests[1], { kind: 'resync', meeting_id: 1, since: 5 });
  assert.deepEqual(titles(sync), ['A', 'B']);
  // The answer is complete up to its head (8): every audience is current to it.
  assert.deepEqual(sync.heads, { meeting: 8, 'user:7': 8 });
  // A reconnect joins again from the lowest head.
  live.answersDone = true;
  live.request = (kind, payload) => { live.requests.push({ kind, ...payload }); return Promise.resolve({ ok: true, events: [], head: 8 }); };
  await sync.join();
  assert.deepEqual(live.requests[2], { kind: 'join', meeting_id: 1, since: 8 });
});

test('events that arrive while a join is in flight wait for its answer', async () => {
  const live = fakeLive(['hold']);
  const sync = new MeetingSync(live, 1, USER);
  const joining = sync.join();
  sync.onEvent(agendaEvent(6, 5, ['A'])); // arrives before the snapshot
  sync.onEvent(agendaEvent(5, 4, ['stale'])); // already in the snapshot
  live.held[0]({ ok: true, snapshot: snapshot(5, ['S']), head: 5 });
  await joining;
  assert.deepEqual(titles(sync), ['A']);
  assert.equal(sync.heads.meeting, 6);
});

test('a refused join reports the error and keeps no state', async () => {
  const live = fakeLive([{ ok: false, error: { code: 'not_found', message: 'meeting 1 does not exist' } }]);
  const sync = new MeetingSync(live, 1, USER);
  await sync.join();
  assert.equal(live.errors[0].code, 'not_found');
  assert.equal(sync.heads, null);
  assert.equal(sync.store.state.loaded, false);
});

test('a log that keeps disagreeing falls back to a fresh snapshot', async () => {
  const gapAnswer = { ok: true, head: 9, events: [agendaEvent(9, 8, ['X'])] };
  const live = fakeLive([
    { ok: true, snapshot: snapshot(5), head: 5 },
    gapAnswer, gapAnswer, gapAnswer, gapAnswer,
    { ok: true, snapshot: snapshot(9, ['fresh']), head: 9 },
  ]);
  const sync = new MeetingSync(live, 1, USER);
  await sync.join();
  sync.onEvent(agendaEvent(9, 8, ['X']));
  for (let i = 0; i < 10; i += 1) await tick();
  const kinds = live.requests.map((r) => `${r.kind}:${r.since}`);
  assert.deepEqual(kinds.slice(-1), ['join:null']);
  assert.deepEqual(titles(sync), ['fresh']);
});

test('idempotency keys are fresh UUIDs, also without crypto.randomUUID', () => {
  const a = newKey();
  const b = newKey();
  assert.notEqual(a, b);
  const saved = globalThis.crypto.randomUUID;
  try {
    Object.defineProperty(globalThis.crypto, 'randomUUID', { value: undefined, configurable: true });
    assert.match(newKey(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  } finally {
    Object.defineProperty(globalThis.crypto, 'randomUUID', { value: saved, configurable: true });
  }
});

test('the store applies each event type', () => {
  let s = fromSnapshot(snapshot(1));
  s = applyEvent(s, { type: 'meeting.updated', data: { meeting: { id: 1, status: 'in_session', current_item_id: 1 } } });
  assert.equal(s.meeting.status, 'in_session');
  assert.equal(s.meeting.title, 'Hội nghị');
  s = applyEvent(s, { type: 'participant.updated', data: { participant: { id: 11, full_name: 'Hoàng Văn Cường', role: 'delegate' } } });
  s = applyEvent(s, { type: 'participant.updated', data: { participant: { id: 10, role: 'chair' } } });
  assert.deepEqual(s.participants.map((p) => [p.id, p.role]), [[10, 'chair'], [11, 'delegate']]);
  const quorum = { members: 2, present: 1, required: 2, fraction: '2/3', reached: false };
  s = applyEvent(s, {
    type: 'attendance.updated',
    data: { attendance: { participant_id: 11, status: 'present', reason: '', at: null }, quorum },
  });
  assert.deepEqual(attendanceCounts(s), { present: 1, absent: 0, excused: 0, unknown: 1, total: 2 });
  assert.deepEqual(s.quorum, quorum);
  s = applyEvent(s, { type: 'participant.removed', data: { participant_id: 11 } });
  assert.deepEqual(attendanceCounts(s), { present: 0, absent: 0, excused: 0, unknown: 1, total: 1 });
  assert.equal(applyEvent(s, { type: 'something.new', data: {} }), s);
});

// setTimeout is mocked in these two: let the answers' promises settle through setImmediate.
const flush = () => new Promise((r) => setImmediate(r));

test('a join the server could not answer just now is asked again until it is', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const busy = { ok: false, error: { code: 'unavailable', message: 'a service is unreachable' } };
  const live = fakeLive([busy, busy, { ok: true, snapshot: snapshot(5), head: 5 }]);
  const sync = new MeetingSync(live, 1, USER);
  await sync.join();
  assert.equal(live.requests.length, 1);
  t.mock.timers.tick(1000); // the first pause is at most 1 s
  await flush();
  assert.equal(live.requests.length, 2);
  t.mock.timers.tick(2000); // then at most 2 s
  await flush();
  assert.equal(live.requests.length, 3);
  assert.deepEqual(titles(sync), ['Khai mạc']);
  t.mock.timers.tick(60000);
  await flush();
  assert.equal(live.requests.length, 3); // answered: no more asking
  assert.deepEqual(live.requests.map((r) => r.kind), ['join', 'join', 'join']);
});

test('a refusal that is not about load is not asked again; a closed meeting stops asking', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const live = fakeLive([{ ok: false, error: { code: 'forbidden', message: 'no' } },
    { ok: false, error: { code: 'unavailable', message: 'busy' } }]);
  const sync = new MeetingSync(live, 1, USER);
  await sync.join();
  t.mock.timers.tick(60000);
  await flush();
  assert.equal(live.requests.length, 1);
  await sync.join();
  sync.close();
  t.mock.timers.tick(60000);
  await flush();
  assert.equal(live.requests.length, 2);
});
