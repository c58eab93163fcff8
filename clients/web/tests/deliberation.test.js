// The store's deliberation parts (docs/deliberation.md): polls, ballots, speakers, comments,
// live attendance, and the unlogged poll.progress / poll.tally counts.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MeetingSync } from '../lib/live.js';
import {
  MeetingStore, applyEvent, applyMyVote, applyProgress, applyTally, currentSpeaker, emptyState, formatSeconds,
  fromSnapshot, groupComments, hasVoted, lastPublished, myComments, myRequests, openPoll, openRounds, pollOptions,
  speakerClock, speakerQueue, tallyCounts,
} from '../lib/store.js';

const poll = (over = {}) => ({
  id: 3, meeting_id: 1, kind: 'motion', title: 'Thông qua Nghị quyết', options: [], secret: false,
  majority: { base: 'members', threshold: '1/2', strict: true }, state: 'open', opened_at: '2026-12-10T02:00:00Z',
  voted_count: 0, entitled_count: 40, result: null, ...over,
});

const speaker = (id, state, over = {}) => ({
  id, agenda_item_id: 1, participant_id: 100 + id, point: null, name: `Đại biểu ${id}`, topic: '', kind: 'ordinary',
  state, position: id, limit_seconds: null, requested_at: '2026-12-10T02:00:00Z', started_at: null, ended_at: null,
  seconds: null, summary: '', ...over,
});

function snapshot(over = {}) {
  return {
    meeting: { id: 1, title: 'Hội nghị', status: 'in_session', current_item_id: 1 },
    agenda: [{ id: 1, parent_id: null, position: 0, number: '1', title: 'Khai mạc' }],
    participants: [{ id: 12, user_id: 7, full_name: 'Lê Quang Minh', role: 'delegate', voting: true }],
    attendance: {},
    quorum: {
      members: 40, present: 30, required: 27, fraction: '2/3', reached: true,
      by_role: { delegate: { invited: 40, present: 30 } },
      by_point: { 'BN-X-TIENDU': { name: 'Xã Tiên Du', seated: 25, at: '2026-12-10T01:00:00Z' } },
    },
    me: { participant_id: 12, role: 'delegate' },
    head: 4,
    polls: [poll()],
    my_votes: [],
    speakers: [],
    comment_rounds: [],
    comments: [],
    ...over,
  };
}

test('a snapshot brings polls, my votes, speakers, rounds, comments and the live quorum', () => {
  const s = fromSnapshot(snapshot({ my_votes: [3], speakers: [speaker(1, 'waiting')] }));
  assert.equal(s.polls.length, 1);
  assert.deepEqual(s.myVotes, ['3']);
  assert.ok(hasVoted(s, 3));
  assert.equal(s.speakers.length, 1);
  assert.deepEqual(s.commentRounds, []);
  assert.equal(s.quorum.by_point['BN-X-TIENDU'].seated, 25);
  assert.equal(s.quorum.by_role.delegate.present, 30);
  // An older server without these parts still gives empty lists.
  const old = fromSnapshot({ meeting: { id: 1 }, agenda: [], participants: [], attendance: {}, quorum: null, head: 0 });
  assert.deepEqual([old.polls, old.myVotes, old.speakers, old.comments, old.commentRounds], [[], [], [], [], []]);
});

test('poll.updated adds, then replaces a poll; poll.removed takes a draft away', () => {
  let s = fromSnapshot(snapshot({ polls: [] }));
  s = applyEvent(s, { type: 'poll.updated', data: { poll: poll({ state: 'draft' }) } });
  assert.equal(s.polls[0].state, 'draft');
  s = applyEvent(s, { type: 'poll.updated', data: { poll: poll({ state: 'open' }) } });
  assert.equal(s.polls.length, 1);
  assert.equal(openPoll(s).id, 3);
  const result = { outcome: 'passed', options: [{ option_id: 'yes', count: 30, base: 40 }], base: 40, required: 21 };
  s = applyEvent(s, { type: 'poll.updated', data: { poll: poll({ state: 'published', published_at: '2026-12-10T02:05:00Z', result }) } });
  assert.equal(openPoll(s), null);
  assert.equal(lastPublished(s).result.outcome, 'passed');
  s = applyEvent(s, { type: 'poll.updated', data: { poll: poll({ id: 4, state: 'draft' }) } });
  s = applyEvent(s, { type: 'poll.removed', data: { poll_id: 4 } });
  assert.deepEqual(s.polls.map((p) => p.id), [3]);
});

test('a motion shows yes / no / abstain; choices keep their options', () => {
  assert.deepEqual(pollOptions(poll()).map((o) => o.id), ['yes', 'no', 'abstain']);
  const c = poll({ kind: 'choice', options: [{ id: 'o1', label: 'A' }, { id: 'o2', label: 'B' }] });
  assert.deepEqual(pollOptions(c).map((o) => o.label), ['A', 'B']);
});

test('poll.progress and poll.tally are applied directly, without a seq', () => {
  let s = fromSnapshot(snapshot());
  const before = s;
  s = applyProgress(s, { meeting_id: 1, poll_id: 3, voted_count: 12, entitled_count: 40 });
  assert.equal(s.polls[0].voted_count, 12);
  assert.equal(applyProgress(s, { meeting_id: 1, poll_id: 3, voted_count: 12, entitled_count: 40 }), s, 'no change, same state');
  assert.equal(applyProgress(s, { meeting_id: 1, poll_id: 99, voted_count: 1 }), s, 'unknown poll ignored');
  assert.equal(before.polls[0].voted_count, 0, 'never mutated');
  s = applyTally(s, { meeting_id: 1, poll_id: 3, tally: { counts: { yes: 10, no: 1, abstain: 1 }, valid: 12 } });
  assert.deepEqual(tallyCounts(s, 3), { yes: 10, no: 1, abstain: 1 });
  s = applyTally(s, { meeting_id: 1, poll_id: 3, tally: { yes: 11, no: 1, abstain: 1 } }); // a bare map also works
  assert.equal(tallyCounts(s, 3).yes, 11);
});

test('the live connection routes unlogged counts to the meeting store, logged events by the rule', async () => {
  const live = { request: () => Promise.resolve({ ok: true, snapshot: snapshot(), head: 4 }), emitMeetingError() {} };
  const sync = new MeetingSync(live, 1, { id: 7, roles: [] });
  sync.onUnlogged('poll.progress', { meeting_id: 1, poll_id: 3, voted_count: 5 }); // before the snapshot: dropped
  await sync.join();
  assert.equal(sync.store.state.polls[0].voted_count, 0);
  sync.onUnlogged('poll.progress', { meeting_id: 1, poll_id: 3, voted_count: 5, entitled_count: 40 });
  assert.equal(sync.store.state.polls[0].voted_count, 5);
  assert.equal(sync.heads.meeting, 4, 'counts do not move the heads');
  sync.onEvent({ meeting_id: 1, seq: 5, prev: 4, audience: 'meeting', type: 'poll.updated', data: { poll: poll({ state: 'closed', voted_count: 31 }) } });
  assert.equal(sync.store.state.polls[0].state, 'closed');
  assert.equal(sync.heads.meeting, 5);
});

test('my ballot: the ack marks the poll voted and keeps a secret receipt in memory, across snapshots', () => {
  const store = new MeetingStore();
  store.applySnapshot(snapshot({ polls: [poll({ secret: true })] }));
  store.applyMyVote(3, { accepted: true, receipt: 'K7QM-2XRD-9A4F-TB03', voted_count: 7 });
  assert.ok(hasVoted(store.state, 3));
  assert.equal(store.state.receipts['3'], 'K7QM-2XRD-9A4F-TB03');
  assert.equal(store.state.polls[0].voted_count, 7);
  store.applySnapshot(snapshot({ my_votes: [3] }));
  assert.equal(store.state.receipts['3'], 'K7QM-2XRD-9A4F-TB03');
  // A repeated secret vote answers already_voted with no receipt: the first one stays.
  const s = applyMyVote(store.state, 3, { accepted: true, already_voted: true, receipt: null });
  assert.equal(s.receipts['3'], 'K7QM-2XRD-9A4F-TB03');
});

test('speakers.updated replaces the list; the queue, my place and the current speech follow', () => {
  let s = fromSnapshot(snapshot());
  const list = [
    speaker(1, 'speaking', { started_at: '2026-12-10T02:00:00Z', limit_seconds: 180 }),
    speaker(2, 'approved', { kind: 'point_of_order' }),
    speaker(3, 'waiting'),
    speaker(0, 'waiting', { participant_id: 12 }),
    speaker(4, 'done', { seconds: 95 }),
    speaker(5, 'withdrawn'),
  ];
  s = applyEvent(s, { type: 'speakers.updated', data: { speakers: list } });
  assert.equal(currentSpeaker(s).id, 1);
  assert.deepEqual(speakerQueue(s).map((x) => x.id), [2, 3, 0]);
  assert.deepEqual(myRequests(s).map((x) => [x.id, x.place]), [[0, 3]]);
  s = applyEvent(s, { type: 'speakers.updated', data: { speakers: [] } });
  assert.equal(currentSpeaker(s), null);
});

test('the speaker clock: ok, warning in the last 30 s (not before half), over', () => {
  const start = '2026-12-10T02:00:00Z';
  const at = (sec) => Date.parse(start) + sec * 1000;
  assert.deepEqual(speakerClock(start, 180, at(10)), { state: 'ok', elapsed: 10, remaining: 170 });
  assert.equal(speakerClock(start, 180, at(150)).state, 'warning');
  assert.equal(speakerClock(start, 180, at(149)).state, 'ok');
  assert.deepEqual(speakerClock(start, 180, at(185)), { state: 'over', elapsed: 185, remaining: -5 });
  assert.equal(speakerClock(start, 40, at(19)).state, 'ok'); // a short point of order: half of 40 is 20
  assert.equal(speakerClock(start, 40, at(20)).state, 'warning');
  assert.deepEqual(speakerClock(start, null, at(75)), { state: 'ok', elapsed: 75, remaining: null });
  assert.equal(formatSeconds(75), '1:15');
  assert.equal(formatSeconds(-5), '-0:05');
});

test('comment.updated and comment_round.updated upsert; my comments and groups', () => {
  let s = fromSnapshot(snapshot());
  const c = (id, over = {}) => ({
    id, round_id: 1, agenda_item_id: 1, author: { user_id: 7, name: 'Lê Quang Minh', unit_id: 2 },
    anchor: { kind: 'item', agenda_item_id: 1 }, section: 'II.1', text: 'Ý kiến', proposed_text: null,
    visibility: 'secretariat', decision: null, explanation: null, created_at: '2026-12-10T02:00:00Z', ...over,
  });
  s = applyEvent(s, { type: 'comment_round.updated', data: { round: { id: 1, title: 'Đợt 1', state: 'open', units: [] } } });
  assert.equal(openRounds(s).length, 1);
  s = applyEvent(s, { type: 'comment.updated', data: { comment: c(1) } });
  s = applyEvent(s, { type: 'comment.updated', data: { comment: c(2, { author: { user_id: 8, name: 'Phạm Đức Thắng', unit_id: 3 }, section: '' }) } });
  s = applyEvent(s, { type: 'comment.updated', data: { comment: c(1, { decision: 'explained', explanation: 'Đã có ở phụ lục' }) } });
  assert.equal(s.comments.length, 2);
  assert.deepEqual(myComments(s, 7).map((x) => [x.id, x.decision]), [[1, 'explained']]);
  assert.deepEqual(groupComments(s.comments, 'section').map((g) => [g.key, g.items.length]), [['II.1', 1], ['', 1]]);
  assert.deepEqual(groupComments(s.comments, 'unit', { unitName: (id) => `U${id}` }).map((g) => g.key), ['U2', 'U3']);
  s = applyEvent(s, { type: 'comment_round.updated', data: { round: { id: 1, title: 'Đợt 1', state: 'closed' } } });
  assert.equal(openRounds(s).length, 0);
});

test('attendance.updated with only the quorum carries by_role and by_point', () => {
  let s = fromSnapshot(snapshot());
  const quorum = { ...s.quorum, by_point: { 'BN-X-TIENDU': { name: 'Xã Tiên Du', seated: 31, at: null } } };
  s = applyEvent(s, { type: 'attendance.updated', data: { attendance: null, quorum } });
  assert.equal(s.quorum.by_point['BN-X-TIENDU'].seated, 31);
  assert.equal(emptyState().polls.length, 0);
});

test('attendance.updated keeps the points it does not name and takes the one it does', () => {
  let s = fromSnapshot(snapshot());
  const { by_point: _, ...figures } = s.quorum;
  // A check-in batch: the quorum moves, its points are left out of the event.
  s = applyEvent(s, { type: 'attendance.updated', data: { attendance: [], quorum: { ...figures, present: 2 } } });
  assert.equal(s.quorum.present, 2);
  assert.equal(s.quorum.by_point['BN-X-TIENDU'].seated, 25);
  // A point's report: only that point travels.
  const points = { 'BN-X-LIMBA': { name: 'Xã Lim', seated: 12, at: '2026-12-10T01:05:00Z' } };
  s = applyEvent(s, { type: 'attendance.updated', data: { attendance: null, quorum: figures, points } });
  assert.deepEqual(Object.keys(s.quorum.by_point).sort(), ['BN-X-LIMBA', 'BN-X-TIENDU']);
  assert.equal(s.quorum.by_point['BN-X-LIMBA'].seated, 12);
});

test('poll.hands sets one point\'s figures and keeps the others', () => {
  let s = fromSnapshot(snapshot());
  const id = s.polls[0].id;
  s = applyEvent(s, { type: 'poll.hands', data: { poll_id: id, point: 'BN-X-TIENDU', counts: { yes: 20, no: 3 } } });
  s = applyEvent(s, { type: 'poll.hands', data: { poll_id: id, point: 'BN-X-LIMBA', counts: { yes: 9 } } });
  s = applyEvent(s, { type: 'poll.hands', data: { poll_id: id, point: 'BN-X-TIENDU', counts: { yes: 19, no: 4 } } });
  assert.deepEqual(s.polls[0].point_counts, { 'BN-X-TIENDU': { yes: 19, no: 4 }, 'BN-X-LIMBA': { yes: 9 } });
  assert.equal(s.polls[0].title, snapshot().polls[0].title);
});
