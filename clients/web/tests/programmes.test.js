// Work programmes and the weekly schedule (docs/programmes.md): week keys, and the words for the
// kinds and states the server sends (read from server/domain/programmes.py, so the two agree).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hasKey, setLang, t } from '../lib/i18n.js';
import { ENTRY_KINDS, ENTRY_STATES } from '../components/WorkProgrammes.js';
import { parseWeekKey } from '../components/WorkSchedule.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOMAIN = readFileSync(join(ROOT, '..', '..', 'server', 'domain', 'programmes.py'), 'utf8');

function enumValues(name) {
  const block = new RegExp(`class ${name}\\(StrEnum\\):([\\s\\S]*?)\\n\\n\\n`).exec(DOMAIN)[1];
  return [...block.matchAll(/^\s+[A-Z_]+ = "([a-z_]+)"/gm)].map((m) => m[1]);
}

test('week keys as the server writes them', () => {
  assert.deepEqual(parseWeekKey('2026-W03'), { year: 2026, week: 3 });
  assert.deepEqual(parseWeekKey('2020-W53'), { year: 2020, week: 53 });
  for (const bad of ['', null, '2026-03', 'W03-2026', '2026-W', '2026-W003']) assert.equal(parseWeekKey(bad), null);
});

test('the kinds and states are the domain\'s, each with its words', () => {
  assert.deepEqual([...ENTRY_KINDS].sort(), enumValues('EntryKind').sort());
  assert.deepEqual([...ENTRY_STATES].sort(), enumValues('EntryState').sort());
  const keys = [
    ...ENTRY_KINDS.map((k) => `prg.ekind.${k}`), ...ENTRY_STATES.map((s) => `prg.state.${s}`),
    ...enumValues('ProgrammeKind').map((k) => `prg.kind.${k}`),
    ...['none', ...enumValues('Publication')].map((s) => `sch.state.${s}`),
    ...[1, 2, 3, 4, 5, 6, 7].map((d) => `sch.day.${d}`), 'home.schedule', 'home.programmes',
  ];
  assert.deepEqual(keys.filter((k) => !hasKey(k)), []);
});

test('the schedule speaks as the office does', () => {
  assert.equal(t('sch.amended', { n: 2 }), 'Điều chỉnh lần 2');
  assert.equal(t('sch.make_meeting'), 'Tạo cuộc họp');
  assert.equal(t('home.schedule'), 'Lịch công tác');
  setLang('en');
  assert.equal(t('sch.week_title', { week: 3, from: '12/01/2026', to: '18/01/2026' }), 'Week 3 (12/01/2026 to 18/01/2026)');
  setLang('vi');
});
