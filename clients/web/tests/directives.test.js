// Directives (docs/directives.md): the query string of the filters, urgency, the unit tree as options.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OPEN, REOPENABLE, STATUSES, queryString, unitOptions, urgency } from '../lib/directives.js';

test('empty filters are left out of the query; true is 1', () => {
  assert.equal(queryString({}), '');
  assert.equal(queryString({ unit_id: '', status: null, overdue: false, q: undefined }), '');
  assert.equal(queryString({ meeting_id: 7, overdue: true, q: 'đường liên xã' }),
    `?meeting_id=7&overdue=1&q=${encodeURIComponent('đường liên xã')}`);
});

test('overdue before due soon; a directive completed late is marked too', () => {
  assert.equal(urgency({ timeliness: { overdue: true, due_soon: false } }), 'overdue');
  assert.equal(urgency({ timeliness: { overdue: false, due_soon: true } }), 'due-soon');
  assert.equal(urgency({ timeliness: { overdue: false, due_soon: false, late: true } }), 'late');
  assert.equal(urgency({}), '');
});

test('the statuses the screens offer are those of the server', () => {
  assert.deepEqual(STATUSES, ['new', 'in_progress', 'reported', 'completed', 'cancelled']);
  assert.ok(OPEN.every((s) => STATUSES.includes(s)) && REOPENABLE.every((s) => STATUSES.includes(s)));
  assert.deepEqual(OPEN.filter((s) => REOPENABLE.includes(s)), ['reported']);
});

test('units come in tree order with their depth, siblings in Vietnamese order', () => {
  const units = [
    { id: 3, name: 'Xã Tiên Du', parent_id: 1 },
    { id: 1, name: 'Tỉnh Bắc Ninh', parent_id: null },
    { id: 4, name: 'Chi bộ thôn Đông', parent_id: 3 },
    { id: 2, name: 'Phường Quế Võ', parent_id: 1 },
  ];
  assert.deepEqual(unitOptions(units).map((u) => [u.id, u.depth]), [[1, 0], [2, 1], [3, 1], [4, 2]]);
  assert.deepEqual(unitOptions(null), []);
});
