// Every string the pages show has a Vietnamese and an English text.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getLang, hasKey, localInputToUtc, setLang, t } from '../lib/i18n.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function sources() {
  const out = [];
  for (const dir of ['lib', 'components', 'apps']) {
    for (const f of readdirSync(join(ROOT, dir))) if (f.endsWith('.js')) out.push(readFileSync(join(ROOT, dir, f), 'utf8'));
  }
  return out.join('\n');
}

test('every literal key used with t() is in the table', () => {
  const keys = [...sources().matchAll(/\bt\('([a-z_.]+)'/g)].map((m) => m[1]);
  assert.ok(keys.length > 50);
  assert.deepEqual(keys.filter((k) => !hasKey(k)), []);
});

test('keys built from wire values are in the table', () => {
  const families = {
    status: ['draft', 'published', 'in_session', 'adjourned', 'closed'],
    role: ['chair', 'secretary', 'delegate', 'guest', 'observer', 'operator'],
    att: ['present', 'absent', 'excused', 'unknown'],
    life: ['publish', 'start', 'adjourn', 'resume', 'close'],
    conn: ['online', 'connecting', 'reconnecting', 'offline'],
    lang: ['vi', 'en'],
    'poll.kind': ['motion', 'choice', 'election'],
    'poll.opt': ['yes', 'no', 'abstain'],
    'poll.state': ['draft', 'open', 'closed', 'published'],
    'poll.outcome': ['passed', 'failed', 'no_quorum', 'tie', 'partial'],
    'poll.reason': ['no_quorum', 'empty_base', 'reached', 'exactly_at_threshold', 'below_threshold', 'winner',
      'options_adopted', 'no_option_reached', 'tie_at_top', 'seats_filled', 'tie_at_cutoff', 'seats_unfilled'],
    'poll.basekind': ['members', 'present', 'valid'],
    'poll.quorum_of': ['present', 'voting'],
    'spk.state': ['waiting', 'approved', 'speaking', 'done', 'withdrawn'],
    'spk.kind': ['ordinary', 'point_of_order'],
    'cmt.decision': ['pending', 'accepted', 'explained', 'noted'],
    'cmt.group': ['section', 'unit', 'delegate'],
    'cmt.vis': ['secretariat', 'all'],
    'cmt.round_state': ['open', 'closed'],
    'console.tab': ['session', 'documents', 'polls', 'speakers', 'comments', 'records', 'directives'],
    // directives (docs/directives.md): statuses, history steps, the dashboard's columns, the home views
    'dir.status': ['new', 'in_progress', 'reported', 'completed', 'cancelled'],
    'dir.action': ['created', 'updated', 'reported', 'accepted', 'cancelled', 'reopened', 'scheduled'],
    'dir.count': ['total', 'done', 'in_progress', 'overdue', 'due_soon', 'reported'],
    home: ['meetings', 'directives', 'tasks'],
    'rec.kind': ['minutes', 'conclusion_notice'],
    'rec.state.minutes': ['draft', 'final'],
    'rec.state.conclusion_notice': ['draft', 'final'],
    'rec.none': ['minutes', 'conclusion_notice'],
    'rec.redraw_hint': ['minutes', 'conclusion_notice'],
    'rec.finalise': ['minutes', 'conclusion_notice'],
    'rec.finalise_warning': ['minutes', 'conclusion_notice'],
    // documents: agendas/rendering/errors.py CODES and the upload refusals of docs/documents.md
    docerr: ['not_found', 'unsupported_type', 'type_mismatch', 'encrypted', 'corrupt', 'too_many_pages', 'too_large',
      'timeout', 'out_of_memory', 'image_bomb', 'office_unavailable', 'crashed'],
    'cdoc.phase': ['queued', 'uploading', 'adding', 'processing', 'done', 'failed'],
    'cdoc.status': ['draft', 'published', 'recalled'],
    access: ['open', 'restricted', 'confidential'],
    'note.kind': ['text', 'highlight', 'ink'],
    'note.tool': ['none', 'text', 'highlight', 'ink'],
    error: ['unauthorized', 'forbidden', 'not_found', 'invalid', 'bad_json', 'too_large', 'conflict',
      'idempotency_conflict', 'unknown_command'],
  };
  const missing = Object.entries(families).flatMap(([f, vs]) => vs.map((v) => `${f}.${v}`)).filter((k) => !hasKey(k));
  assert.deepEqual(missing, []);
});

test('Vietnamese first, English on request', () => {
  assert.equal(getLang(), 'vi');
  assert.equal(t('att.check_in'), 'Điểm danh');
  setLang('en');
  assert.equal(t('att.check_in'), 'Check in');
  assert.equal(t('quorum.present', { present: 3, members: 5 }), 'Present 3/5');
  setLang('vi');
});

test('motion options and triage decisions read as the office writes them', () => {
  assert.deepEqual(['yes', 'no', 'abstain'].map((o) => t(`poll.opt.${o}`)), ['Tán thành', 'Không tán thành', 'Không biểu quyết']);
  assert.equal(t('poll.keep'), 'Giữ');
  assert.equal(t('poll.strike'), 'Gạch tên');
  assert.equal(t('cmt.decision.accepted'), 'Tiếp thu');
  setLang('en');
  assert.deepEqual(['yes', 'no', 'abstain'].map((o) => t(`poll.opt.${o}`)), ['Yes', 'No', 'Abstain']);
  assert.equal(t('proj.voting', { voted: 3, entitled: 40 }), 'Voting: 3/40');
  setLang('vi');
  assert.equal(t('proj.voting', { voted: 3, entitled: 40 }), 'Đang biểu quyết: 3/40');
});

test('the rendering error codes are those of agendas/rendering/errors.py', () => {
  const py = readFileSync(join(ROOT, '..', '..', 'agendas', 'rendering', 'errors.py'), 'utf8');
  const block = /CODES = \{([\s\S]*?)\n\}/.exec(py)[1];
  const codes = [...block.matchAll(/^\s*"([a-z_]+)":/gm)].map((m) => m[1]);
  assert.ok(codes.length >= 10);
  assert.deepEqual(codes.filter((c) => !hasKey(`docerr.${c}`)), []);
});

test('document words read as the office writes them', () => {
  assert.equal(t('doc.revised'), 'Tài liệu đã có phiên bản mới');
  assert.equal(t('doc.recalled'), 'Tài liệu đã bị thu hồi');
  assert.equal(t('doc.download'), 'Tải về để đọc offline');
  assert.equal(t('recall.unconfirmed'), 'chưa xác nhận');
  assert.equal(t('doc.classification_default'), 'Mật');
  setLang('en');
  assert.equal(t('doc.revised'), 'This document has a new version');
  setLang('vi');
});

test('a time typed in Vietnam is sent as UTC', () => {
  assert.equal(localInputToUtc('2026-12-10T08:00'), '2026-12-10T01:00:00Z');
  assert.equal(localInputToUtc(''), null);
});
