// The bridge point page's rules (lib/bridge.js): its point, the counts it may send, the keys it
// keeps across retries on a weak link.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MAX_COUNT, Outbox, handsLimit, handsStatus, latestFinished, operatorPoint, parseCount, pointRequests, pointSpeaking,
  sentHands, shownHands, validateHands,
} from '../lib/bridge.js';
import { fromSnapshot } from '../lib/store.js';

const UNITS = [
  { id: 2, code: 'BN', name: 'Tỉnh Bắc Ninh' },
  { id: 13, code: 'BN-X-TIENDU', name: 'Xã Tiên Du' },
];

const motion = (over = {}) => ({
  id: 5, kind: 'motion', title: 'Thông qua Nghị quyết', secret: false, state: 'open', max_selections: 1,
  options: [{ id: 'yes', label: 'yes' }, { id: 'no', label: 'no' }, { id: 'abstain', label: 'abstain' }],
  points_present: { 'BN-X-TIENDU': 25 }, point_counts: {}, ...over,
});

function state(me, participants, over = {}) {
  return fromSnapshot({
    meeting: { id: 1, title: 'Hội nghị', status: 'in_session', current_item_id: null },
    agenda: [], participants, attendance: {}, quorum: null, me, head: 0, ...over,
  });
}

const OPERATOR = { id: 123, user_id: 44, full_name: 'Phạm Thị Liên', role: 'operator', unit_id: 13, voting: false };

test("an operator's point is its participant's unit, named by its code", () => {
  const s = state({ participant_id: 123, role: 'operator' }, [OPERATOR]);
  assert.deepEqual(operatorPoint(s, UNITS), { code: 'BN-X-TIENDU', name: 'Xã Tiên Du', unitId: 13 });
  assert.deepEqual(operatorPoint(s, null), { missing: 'loading' });
  const noUnit = state({ participant_id: 123, role: 'operator' }, [{ ...OPERATOR, unit_id: null }]);
  assert.deepEqual(operatorPoint(noUnit, UNITS), { missing: 'no_unit' });
  const delegate = state({ participant_id: 9, role: 'delegate' }, [{ id: 9, role: 'delegate', unit_id: 2 }]);
  assert.deepEqual(operatorPoint(delegate, UNITS), { missing: 'not_operator' });
  assert.deepEqual(operatorPoint(state({ participant_id: null, role: null }, []), UNITS), { missing: 'not_operator' });
});

test('a count is a whole number from 0, typed as text', () => {
  assert.deepEqual(parseCount('25'), { value: 25 });
  assert.deepEqual(parseCount(' 0 '), { value: 0 });
  assert.deepEqual(parseCount('007'), { value: 7 });
  for (const bad of ['-1', '2.5', '2,5', '1e3', 'abc', '+3', '3 4']) assert.deepEqual(parseCount(bad), { error: 'not_whole' }, bad);
  assert.deepEqual(parseCount(''), { error: 'empty' });
  assert.deepEqual(parseCount('   '), { error: 'empty' });
  assert.deepEqual(parseCount(undefined), { error: 'empty' });
  assert.deepEqual(parseCount(String(MAX_COUNT)), { value: MAX_COUNT });
  assert.deepEqual(parseCount(String(MAX_COUNT + 1)), { error: 'too_big' });
});

test('hands within the people present are accepted, with every option of the motion', () => {
  const v = validateHands(motion(), { yes: '20', no: '3', abstain: '2' }, 25);
  assert.equal(v.ok, true);
  assert.deepEqual(v.counts, { yes: 20, no: 3, abstain: 2 });
  assert.equal(v.total, 25);
  assert.equal(v.error, null);
  // Zeros are figures too.
  assert.deepEqual(validateHands(motion(), { yes: '0', no: '0', abstain: '0' }, 25).counts, { yes: 0, no: 0, abstain: 0 });
});

test('hands above the people present are refused, saying both figures', () => {
  const v = validateHands(motion(), { yes: '20', no: '3', abstain: '3' }, 25);
  assert.equal(v.ok, false);
  assert.deepEqual(v.error, { code: 'over', total: 26, limit: 25 });
  assert.deepEqual(v.fields, {});
});

test('an empty, negative or fractional field is refused, field by field', () => {
  const v = validateHands(motion(), { yes: '20', no: '-1', abstain: '' }, 25);
  assert.equal(v.ok, false);
  assert.deepEqual(v.fields, { no: 'not_whole', abstain: 'empty' });
  assert.equal(v.error.code, 'fields');
  assert.equal(v.total, 20); // what can be read is still added up for the total shown
  assert.equal(validateHands(motion(), { yes: '2.5', no: '0', abstain: '0' }, 25).fields.yes, 'not_whole');
});

test("a choice poll's hands use its own option ids", () => {
  const poll = motion({ kind: 'choice', options: [{ id: 'o1', label: 'Phương án A' }, { id: 'o2', label: 'Phương án B' }] });
  const v = validateHands(poll, { o1: '10', o2: '5' }, 25);
  assert.equal(v.ok, true);
  assert.deepEqual(v.counts, { o1: 10, o2: 5 });
});

test('which polls take a show of hands from this point', () => {
  const code = 'BN-X-TIENDU';
  assert.equal(handsStatus(motion(), code), 'ok');
  assert.equal(handsLimit(motion(), code), 25);
  assert.equal(handsStatus(motion({ state: 'closed' }), code), 'not_open');
  assert.equal(handsStatus(null, code), 'not_open');
  assert.equal(handsStatus(motion({ secret: true }), code), 'secret');
  assert.equal(handsStatus(motion({ kind: 'election' }), code), 'kind');
  assert.equal(handsStatus(motion({ kind: 'choice', max_selections: 2 }), code), 'kind');
  assert.equal(handsStatus(motion({ kind: 'choice', max_selections: 1 }), code), 'ok');
  // The count was frozen at the opening: a point that had reported nothing then cannot enter hands.
  assert.equal(handsStatus(motion({ points_present: {} }), code), 'not_at_open');
  assert.equal(handsLimit(motion({ points_present: {} }), code), null);
  assert.equal(handsStatus(motion({ points_present: { [code]: 0 } }), code), 'ok');
});

test("the point's figures as the server holds them, in the motion's order", () => {
  const poll = motion({ point_counts: { 'BN-X-TIENDU': { abstain: 2, yes: 20, no: 3 }, 'BN-X-QUEVO': { yes: 9 } } });
  assert.deepEqual(sentHands(poll, 'BN-X-TIENDU'), [{ id: 'yes', n: 20 }, { id: 'no', n: 3 }, { id: 'abstain', n: 2 }]);
  assert.equal(sentHands(poll, 'BN-P-TUSON'), null);
});

test('what was sent shows until the server echoes it, then the server is the truth', () => {
  const code = 'BN-X-TIENDU';
  const local = { counts: { yes: 20, no: 3, abstain: 2 }, echoed: false };
  // Acknowledged, the poll.updated not here yet: our figures.
  let r = shownHands(motion(), code, local);
  assert.deepEqual(r, { rows: [{ id: 'yes', n: 20 }, { id: 'no', n: 3 }, { id: 'abstain', n: 2 }], echoed: false });
  // A correction acknowledged while the server still shows the old figures: still ours.
  r = shownHands(motion({ point_counts: { [code]: { yes: 19, no: 4, abstain: 2 } } }), code, local);
  assert.equal(r.echoed, false);
  assert.equal(r.rows[0].n, 20);
  // The echo came.
  r = shownHands(motion({ point_counts: { [code]: { yes: 20, no: 3, abstain: 2 } } }), code, local);
  assert.equal(r.echoed, true);
  // After the echo, a later change by the secretariat wins.
  r = shownHands(motion({ point_counts: { [code]: { yes: 18, no: 5, abstain: 2 } } }), code, { ...local, echoed: true });
  assert.equal(r.rows[0].n, 18);
  assert.equal(shownHands(motion(), code, undefined).rows, null);
});

test('the same submission keeps its key until the server answers; another gets a new one', () => {
  let n = 0;
  const box = new Outbox(() => `k${++n}`);
  const slot = 'hands:1:5:BN-X-TIENDU';
  const data = { meeting_id: 1, poll_id: 5, point: 'BN-X-TIENDU', counts: { yes: 20, no: 3, abstain: 2 } };
  const first = box.keyFor(slot, data);
  // The link dropped before the ack: "send again" is the same command.
  assert.equal(box.keyFor(slot, { ...data, counts: { ...data.counts } }), first);
  assert.equal(box.pending(slot), true);
  // Other figures typed before the answer: another command, another key.
  const other = box.keyFor(slot, { ...data, counts: { yes: 19, no: 4, abstain: 2 } });
  assert.notEqual(other, first);
  // A stale settle (the first key) does not drop the pending one.
  box.settle(slot, first);
  assert.equal(box.pending(slot), true);
  box.settle(slot, other);
  assert.equal(box.pending(slot), false);
  // After the ack, a correction (even with the same figures) is a new submission.
  assert.notEqual(box.keyFor(slot, { ...data, counts: { yes: 19, no: 4, abstain: 2 } }), other);
  // Slots do not share keys.
  assert.notEqual(box.keyFor('seated:1:BN-X-TIENDU', { seated: 25 }), box.keyFor('seated:1:BN-X-QUEVO', { seated: 25 }));
});

test("the point's place in the queue, and its speech", () => {
  const sp = (id, st, point = null) => ({ id, state: st, point, participant_id: id, kind: 'ordinary' });
  const s = state({ participant_id: 123, role: 'operator' }, [OPERATOR], {
    speakers: [sp(1, 'speaking'), sp(2, 'approved'), sp(3, 'waiting', 'BN-X-TIENDU'), sp(4, 'waiting'), sp(5, 'done', 'BN-X-TIENDU')],
  });
  const mine = pointRequests(s, 'BN-X-TIENDU');
  assert.deepEqual(mine.map((r) => [r.id, r.place]), [[3, 2]]);
  assert.equal(pointSpeaking(s, 'BN-X-TIENDU'), null);
  const speaking = state({ participant_id: 123, role: 'operator' }, [OPERATOR], { speakers: [sp(3, 'speaking', 'BN-X-TIENDU')] });
  assert.equal(pointSpeaking(speaking, 'BN-X-TIENDU').id, 3);
  assert.deepEqual(pointRequests(speaking, 'BN-X-TIENDU'), []);
});

test('with no poll open, the latest finished one is shown', () => {
  const s = state({ participant_id: 123, role: 'operator' }, [OPERATOR], {
    polls: [
      motion({ id: 1, state: 'published', closed_at: '2026-12-10T02:00:00Z' }),
      motion({ id: 2, state: 'closed', closed_at: '2026-12-10T03:00:00Z' }),
      motion({ id: 3, state: 'draft' }),
    ],
  });
  assert.equal(latestFinished(s).id, 2);
  assert.equal(latestFinished(state({ participant_id: null, role: null }, [])), null);
});
