// The online conference's client rules (lib/conference.js): merging the live board, worst first,
// totals by level, filters, the invitation preview over the tree, the floor, the board's life.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConferenceBoard, STATES, filterPoints, floorHolder, fold, levelsBelow, mergePoints, mutedHere, pointRequests, selectPoints,
  sparkline, totals, treeOrder, worstFirst,
} from '../lib/conference.js';
import { hasKey } from '../lib/i18n.js';

const UNITS = [
  { id: 1, parent_id: null, code: 'TW', name: 'Trung ương', level: 'Trung ương' },
  { id: 10, parent_id: 1, code: 'BN', name: 'Tỉnh Bắc Ninh', level: 'Tỉnh' },
  { id: 11, parent_id: 10, code: 'BN-TD', name: 'Xã Tiên Du', level: 'Xã' },
  { id: 12, parent_id: 10, code: 'BN-KB', name: 'Phường Kinh Bắc', level: 'Phường' },
  { id: 13, parent_id: 10, code: 'BN-QV', name: 'Xã Quế Võ', level: 'Xã' },
  { id: 14, parent_id: 10, code: 'BN-OLD', name: 'Xã Cũ', level: 'Xã', valid_to: '2025-06-30' },
  { id: 20, parent_id: 1, code: 'QN', name: 'Tỉnh Quảng Ninh', level: 'Tỉnh' },
  { id: 21, parent_id: 20, code: 'QN-VD', name: 'Đặc khu Vân Đồn', level: 'Đặc khu' },
];

test('the invitation preview selects by level names, as the server does', () => {
  const ids = (xs) => xs.map((u) => u.id);
  assert.deepEqual(ids(selectPoints(UNITS, 10, ['Xã'], '2026-12-10')), [11, 13]);
  assert.deepEqual(ids(selectPoints(UNITS, 10, ['xã', 'PHƯỜNG'], '2026-12-10')), [11, 12, 13]);
  assert.deepEqual(ids(selectPoints(UNITS, 10, ['Xã'], '2025-06-01')), [11, 13, 14]);
  assert.deepEqual(ids(selectPoints(UNITS, 1, ['Tỉnh'])), [10, 20]);
  assert.deepEqual(ids(selectPoints(UNITS, 10, ['Tỉnh', 'Xã'], '2026-12-10')), [10, 11, 13]);
  assert.deepEqual(selectPoints(UNITS, 10, []), []);
  assert.deepEqual(levelsBelow(UNITS, 1, '2026-12-10'), ['Trung ương', 'Tỉnh', 'Đặc khu', 'Phường', 'Xã']);
  assert.deepEqual(treeOrder(UNITS).map((x) => [x.unit.code, x.depth]).slice(0, 3), [['TW', 0], ['BN', 1], ['BN-KB', 2]]);
});

const P = (unit_id, state, extra = {}) => ({ unit_id, code: `P${unit_id}`, name: `Điểm ${unit_id}`, level: 'Xã', state,
  link: null, loss: null, rtt_ms: null, test: null, seated: null, trouble: { dropped: 100, reconnecting: 90, online: 40,
    invited: 30, media_connected: 20, ready: 10, on_air: 0 }[state], ...extra });

test('worst first, totals by level, filters', () => {
  const points = [
    P(1, 'on_air', { link: 'normal', loss: 0.001, test: { passed: true }, seated: 30 }),
    P(2, 'on_air', { link: 'critical', loss: 0.08, trouble: 80, test: { passed: true }, seated: 20 }),
    P(3, 'dropped', { test: { passed: true } }),
    P(4, 'on_air', { link: 'critical', loss: 0.2, trouble: 80, test: { passed: true } }),
    P(5, 'invited'),
    P(6, 'ready', { level: 'Tỉnh', link: 'normal', test: { passed: true }, seated: 100 }),
    P(7, 'media_connected', { link: 'degraded', loss: 0.02, trouble: 60, test: { passed: false } }),
  ];
  assert.deepEqual(worstFirst(points).map((p) => p.unit_id), [3, 4, 2, 7, 5, 6, 1]);
  const sums = totals(points, ['Tỉnh', 'Xã']);
  assert.equal(sums.points, 7);
  assert.equal(sums.seated, 150);
  assert.deepEqual([sums.passed, sums.failed, sums.untested], [5, 1, 1]);
  assert.equal(sums.by_state.on_air, 3);
  assert.deepEqual(sums.by_link, { normal: 2, degraded: 1, critical: 2 });
  assert.deepEqual(sums.by_level.map((x) => [x.level, x.points]), [['Tỉnh', 1], ['Xã', 6]]);
  assert.deepEqual(filterPoints(points, { link: 'critical' }).map((p) => p.unit_id), [2, 4]);
  assert.deepEqual(filterPoints(points, { state: 'dropped' }).map((p) => p.unit_id), [3]);
  assert.deepEqual(filterPoints(points, { level: 'tỉnh' }).map((p) => p.unit_id), [6]);
  assert.deepEqual(filterPoints([{ ...P(9, 'invited'), name: 'Xã Đồng Kỵ' }], { q: 'dong ky' }).length, 1);
  assert.equal(fold('Phường Đông Ngàn'), 'phuong dong ngan');
});

test('partial points from events merge into whole ones, removed ones go', () => {
  let map = mergePoints(new Map(), [P(1, 'on_air', { seated: 12 }), P(2, 'online')]);
  map = mergePoints(map, [{ unit_id: 1, code: 'P1', name: 'Điểm 1', test: { passed: false } }], [2]);
  assert.equal(map.get('1').state, 'on_air');
  assert.equal(map.get('1').seated, 12);
  assert.equal(map.get('1').test.passed, false);
  assert.equal(map.has('2'), false);
  map = mergePoints(map, [{ unit_id: 5, code: 'P5', name: 'Mới', level: 'Xã', operator_user_id: 9 }]);
  assert.equal(map.get('5').state, 'invited');
  assert.deepEqual(map.get('5').operator, { user_id: 9, name: null });
});

test('the floor, mute all, the points\' requests, the sparkline', () => {
  const c = { host: { unit_id: 10, code: 'BN', name: 'Tỉnh Bắc Ninh' }, floor: null, mute_all: true };
  assert.deepEqual(floorHolder(c), { unit_id: 10, code: 'BN', name: 'Tỉnh Bắc Ninh', host: true });
  assert.equal(mutedHere(c, 11), true);
  const withFloor = { ...c, floor: { unit_id: 11, code: 'BN-TD', name: 'Xã Tiên Du', request_id: 3 } };
  assert.equal(floorHolder(withFloor).host, false);
  assert.equal(mutedHere(withFloor, 11), false);
  assert.equal(mutedHere(withFloor, 13), true);
  assert.equal(mutedHere({ ...withFloor, mute_all: false }, 13), false);
  const speakers = [{ id: 1, point: 'BN-TD', state: 'waiting' }, { id: 2, point: null, state: 'waiting' },
    { id: 3, point: 'BN-QV', state: 'done' }];
  assert.deepEqual(pointRequests(speakers).map((s) => s.id), [1]);
  assert.equal(sparkline([{ loss: 0 }, { loss: 0.1 }], 100, 10), '0.0,10.0 100.0,0.0');
  assert.equal(sparkline([]), '');
});

function fakeLive(answer) {
  const handlers = new Map();
  const applied = new Set();
  return {
    handlers,
    requests: [],
    socket: {
      connected: true,
      on: (name, fn) => handlers.set(name, fn),
      off: (name) => handlers.delete(name),
    },
    open: () => ({ onApplied: (fn) => { applied.add(fn); return () => applied.delete(fn); } }),
    applied,
    async request(name, data) {
      this.requests.push([name, data]);
      return answer;
    },
  };
}

test('the board watches on connect, applies messages and events of its meeting only', async () => {
  const live = fakeLive({ ok: true, board: { points: [P(1, 'online'), P(2, 'invited')], levels: ['Tỉnh', 'Xã'] } });
  const board = new ConferenceBoard(live, 7).start();
  let seen = 0;
  board.subscribe(() => { seen += 1; });
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(live.requests[0], ['conference.watch', { meeting_id: 7 }]);
  assert.equal(board.loaded, true);
  assert.deepEqual(board.list().map((p) => p.unit_id), [1, 2]);
  live.handlers.get('conference.board')({ meeting_id: 7, points: [P(2, 'dropped')] });
  live.handlers.get('conference.board')({ meeting_id: 8, points: [P(1, 'dropped')] });
  assert.deepEqual(board.list().map((p) => [p.unit_id, p.state]), [[2, 'dropped'], [1, 'online']]);
  for (const fn of live.applied) fn({ type: 'conference.points', data: { points: [], removed: [2] } });
  assert.deepEqual(board.list().map((p) => p.unit_id), [1]);
  live.handlers.get('conference.my_point')({ meeting_id: 7, point: P(1, 'on_air') });
  assert.equal(board.points.get('1').state, 'on_air');
  assert.ok(seen >= 4);
  board.stop();
  assert.equal(live.handlers.size, 0);
  assert.equal(live.applied.size, 0);
});

test('every state, link class, reason and view the pages name has its words', () => {
  const families = {
    'conf.state': STATES,
    'conf.link': ['normal', 'degraded', 'critical'],
    'conf.cstate': ['scheduled', 'open', 'locked', 'ended'],
    'conf.reason': ['no_media', 'loss', 'rtt', 'jitter'],
    'ops.view': ['worst', 'tree'],
    reason: ['not_live', 'not_invited', 'host', 'no_media', 'roll_closed', 'nothing_chosen', 'has_floor', 'not_a_point',
      'request_over', 'meeting_closed', 'meeting_draft', 'locked', 'ended', 'already_started'],
  };
  const missing = [];
  for (const [prefix, values] of Object.entries(families)) {
    for (const v of values) if (!hasKey(`${prefix}.${v}`)) missing.push(`${prefix}.${v}`);
  }
  assert.ok(hasKey('console.tab.conference'));
  assert.deepEqual(missing, []);
});

test('the floor given back by the system: the conference follows, one notice per event, kept over a snapshot', async () => {
  const { MeetingStore, applyEvent, dismissFloorNotice, fromSnapshot } = await import('../lib/store.js');
  const conference = { id: 1, state: 'open', floor: null, host: { unit_id: 10, code: 'BN', name: 'Tỉnh Bắc Ninh' } };
  const event = {
    meeting_id: 1, seq: 7, prev: 6, audience: 'meeting', type: 'conference.floor_returned', at: '2026-12-10T02:00:00Z',
    data: { point: { unit_id: 11, code: 'BN-TD', name: 'Tiên Du' }, reason: 'dropped', by: 'system', conference },
  };
  let s = fromSnapshot({ meeting: { id: 1 }, head: 6, conference: { ...conference, floor: { unit_id: 11 } } });
  s = applyEvent(s, event);
  assert.equal(s.conference.floor, null);
  assert.deepEqual(s.floorNotices.map((n) => [n.seq, n.point.name, n.reason]), [[7, 'Tiên Du', 'dropped']]);
  assert.equal(applyEvent(s, event).floorNotices.length, 1); // the same event again (a resync): one notice
  const store = new MeetingStore();
  store.set(s);
  store.applySnapshot({ meeting: { id: 1 }, head: 7, conference });
  assert.equal(store.state.floorNotices.length, 1);
  assert.deepEqual(dismissFloorNotice(store.state, 7).floorNotices, []);
});
