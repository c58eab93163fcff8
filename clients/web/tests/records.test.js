// After the meeting (docs/records.md): the chair's conclusions and the records' state in the store.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyEvent, emptyState, fromSnapshot } from '../lib/store.js';

const snapshot = {
  meeting: { id: 7, status: 'in_session' },
  conclusions: [{ agenda_item_id: 1, text: 'Thống nhất.', updated_at: '2026-12-10T02:00:00Z' }],
  records: { minutes: { kind: 'minutes', state: 'draft', revision: 2 } },
};

test('a snapshot brings the conclusions and the records; a missing record is null', () => {
  const s = fromSnapshot(snapshot);
  assert.equal(s.conclusions.length, 1);
  assert.equal(s.records.minutes.revision, 2);
  assert.equal(s.records.conclusion_notice, null);
  assert.deepEqual(emptyState().records, { minutes: null, conclusion_notice: null });
  assert.deepEqual(fromSnapshot({ meeting: { id: 1 } }).records, { minutes: null, conclusion_notice: null });
});

test('conclusion.updated replaces the conclusion of its item', () => {
  let s = fromSnapshot(snapshot);
  s = applyEvent(s, { type: 'conclusion.updated', data: { conclusion: { agenda_item_id: 1, text: 'Sửa lại.' } } });
  s = applyEvent(s, { type: 'conclusion.updated', data: { conclusion: { agenda_item_id: '2', text: 'Mục hai.' } } });
  assert.deepEqual(s.conclusions.map((c) => [String(c.agenda_item_id), c.text]).sort(), [['1', 'Sửa lại.'], ['2', 'Mục hai.']]);
});

test('record.updated keeps the newest revision of each record', () => {
  let s = fromSnapshot(snapshot);
  s = applyEvent(s, { type: 'record.updated', data: { record: { kind: 'minutes', state: 'final', revision: 4 } } });
  const late = applyEvent(s, { type: 'record.updated', data: { record: { kind: 'minutes', state: 'draft', revision: 3 } } });
  assert.equal(late, s);
  s = applyEvent(s, { type: 'record.updated', data: { record: { kind: 'conclusion_notice', state: 'draft', revision: 1 } } });
  assert.equal(s.records.minutes.state, 'final');
  assert.equal(s.records.conclusion_notice.revision, 1);
});
