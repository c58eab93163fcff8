// "Chương trình công tác": a unit's annual and monthly work programmes (docs/programmes.md).
// The list by year; one programme with its entries (when due, the preparing unit, the state and
// its reason, the meeting made from it). The office creates, fills and publishes programmes, moves
// entries through their states, and makes a meeting from an entry in one step.

import { html } from 'htm/preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { download, request } from '../lib/api.js';
import { t } from '../lib/i18n.js';
import { ErrorBanner } from './ErrorBanner.js';
import { StatusBadge } from './StatusBadge.js';
import { useHint } from './WorkSchedule.js';

export const ENTRY_KINDS = ['standing_committee', 'executive_committee', 'standing_board', 'conference', 'inspection',
  'document', 'other'];
export const ENTRY_STATES = ['planned', 'scheduled', 'done', 'postponed', 'cancelled'];
// state -> the states it may move to (server/domain/programmes.py ENTRY_STEPS).
const STEPS = {
  planned: ['scheduled', 'done', 'postponed', 'cancelled'],
  scheduled: ['planned', 'done', 'postponed', 'cancelled'],
  postponed: ['planned', 'scheduled', 'cancelled'],
  done: [],
  cancelled: [],
};
const NEEDS_REASON = ['postponed', 'cancelled'];

function CreateProgramme({ user, run, busy, onCreated, onCancel, year }) {
  const [kind, setKind] = useState('annual');
  const [y, setY] = useState(String(year));
  const [month, setMonth] = useState(String(new Date().getMonth() + 1));
  const [title, setTitle] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    const data = { unit_id: user.unit_id, kind, year: Number(y) };
    if (kind === 'monthly') data.month = Number(month);
    if (title.trim()) data.title = title.trim();
    const res = await run('programme.create', data);
    if (res) onCreated(res.result.programme);
  };
  return html`<form class="card stack" data-testid="programme-create" onSubmit=${submit}>
    <h3>${t('prg.create')}</h3>
    <div class="inline-form">
      <label>${t('prg.kind_label')}<select data-testid="prg-kind" value=${kind} onChange=${(e) => setKind(e.currentTarget.value)}>
        <option value="annual">${t('prg.kind.annual')}</option><option value="monthly">${t('prg.kind.monthly')}</option></select></label>
      <label>${t('prg.year')}<input type="number" min="1900" max="2200" data-testid="prg-year" value=${y}
        onInput=${(e) => setY(e.currentTarget.value)} /></label>
      ${kind === 'monthly' && html`<label>${t('prg.month')}<select data-testid="prg-month" value=${month}
        onChange=${(e) => setMonth(e.currentTarget.value)}>${Array.from({ length: 12 }, (_, i) => html`<option key=${i}
        value=${String(i + 1)}>${t('prg.month_n', { n: i + 1 })}</option>`)}</select></label>`}
    </div>
    <label>${t('prg.title_optional')}<input data-testid="prg-title" value=${title} onInput=${(e) => setTitle(e.currentTarget.value)} /></label>
    <div class="buttons"><button type="submit" class="primary" disabled=${busy || !user || user.unit_id == null}>${t('prg.create')}</button>
      <button type="button" class="secondary" onClick=${onCancel}>${t('create.cancel')}</button></div>
  </form>`;
}

function EntryAdd({ programme, run, busy, onAdded }) {
  const [content, setContent] = useState('');
  const [kind, setKind] = useState('standing_committee');
  const [preparing, setPreparing] = useState('');
  const [due, setDue] = useState(programme.kind === 'annual' ? 'm1' : '');
  const submit = async (e) => {
    e.preventDefault();
    const data = { programme_id: programme.id, content: content.trim(), kind, preparing_unit: preparing.trim() };
    if (programme.kind === 'annual') {
      if (due.startsWith('q')) data.due_quarter = Number(due.slice(1));
      else data.due_month = Number(due.slice(1));
    } else if (due) {
      data.due_date = due;
    }
    const res = await run('programme.entry_add', data);
    if (res) { setContent(''); setPreparing(''); onAdded(); }
  };
  return html`<form class="prg-add stack wide" data-testid="programme-entry-add" onSubmit=${submit}>
    <h3>${t('prg.add')}</h3>
    <label>${t('sch.content')}<textarea required rows="2" data-testid="prg-entry-content" value=${content}
      onInput=${(e) => setContent(e.currentTarget.value)}></textarea></label>
    <div class="inline-form">
      <label>${t('prg.entry_kind')}<select data-testid="prg-entry-kind" value=${kind} onChange=${(e) => setKind(e.currentTarget.value)}>
        ${ENTRY_KINDS.map((k) => html`<option key=${k} value=${k}>${t(`prg.ekind.${k}`)}</option>`)}</select></label>
      <label>${t('prg.preparing')}<input data-testid="prg-entry-preparing" value=${preparing}
        onInput=${(e) => setPreparing(e.currentTarget.value)} /></label>
      <label>${t('prg.due')}${programme.kind === 'annual'
        ? html`<select data-testid="prg-entry-due" value=${due} onChange=${(e) => setDue(e.currentTarget.value)}>
            ${Array.from({ length: 12 }, (_, i) => html`<option key=${`m${i + 1}`} value=${`m${i + 1}`}>${t('prg.month_n', { n: i + 1 })}</option>`)}
            ${[1, 2, 3, 4].map((q) => html`<option key=${`q${q}`} value=${`q${q}`}>${t('prg.quarter_n', { n: ['I', 'II', 'III', 'IV'][q - 1] })}</option>`)}
          </select>`
        : html`<input type="date" data-testid="prg-entry-due" value=${due} onInput=${(e) => setDue(e.currentTarget.value)} />`}</label>
    </div>
    <div class="buttons"><button type="submit" class="primary" data-testid="prg-entry-save" disabled=${busy}>${t('prg.add')}</button></div>
  </form>`;
}

function EntryState({ entry, run, busy, reload }) {
  const [target, setTarget] = useState('');
  const [reason, setReason] = useState('');
  const next = STEPS[entry.state] || [];
  if (!next.length) return null;
  const submit = async (e) => {
    e.preventDefault();
    const res = await run('programme.entry_set_state', { entry_id: entry.id, state: target, reason: reason.trim() });
    if (res) { setTarget(''); setReason(''); reload(); }
  };
  return html`<form class="reason-form" onSubmit=${submit}>
    <select data-testid="prg-state" value=${target} onChange=${(e) => setTarget(e.currentTarget.value)}>
      <option value="">${t('prg.move_to')}</option>
      ${next.map((s) => html`<option key=${s} value=${s}>${t(`prg.state.${s}`)}</option>`)}
    </select>
    ${NEEDS_REASON.includes(target) && html`<input required data-testid="prg-reason" placeholder=${t('prg.reason')} value=${reason}
      onInput=${(e) => setReason(e.currentTarget.value)} />`}
    ${target && html`<button type="submit" class="secondary" data-testid="prg-state-save" disabled=${busy}>${t('sch.save')}</button>`}
  </form>`;
}

function Programme({ live, programmeId, office, run, busy, onBack, onOpenMeeting }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const reload = useCallback(() => {
    request('GET', `/api/programmes/${encodeURIComponent(programmeId)}`).then((r) => { setData(r); setError(null); })
      .catch(setError);
  }, [programmeId]);
  useEffect(() => { reload(); }, [reload]);
  const matches = useCallback((msg) => String(msg.programme_id) === String(programmeId), [programmeId]);
  useHint(live, 'programme_changed', matches, reload);
  const back = html`<button type="button" class="link back" data-testid="programme-back" onClick=${onBack}>${t('prg.back')}</button>`;
  if (!data) return html`<section class="card">${back}<${ErrorBanner} error=${error} /><p class="muted">${t('meetings.loading')}</p></section>`;
  const p = data.programme;
  const draft = p.state === 'draft';
  const act = async (name, payload, after) => { const res = await run(name, payload); if (res) { reload(); if (after) after(res.result); } };
  return html`<section class="work-programme" data-testid="programme-view" data-programme-id=${p.id} data-state=${p.state}>
    <div class="card">
      ${back}
      <h2 data-testid="programme-title">${p.title}</h2>
      <p class="muted">${data.unit ? data.unit.name : ''} · <span class=${`badge status-${p.state}`} data-testid="programme-state">
        ${t(`sch.state.${p.state}`)}</span></p>
      <div class="toolbar">
        ${office && draft && html`<button type="button" class="primary" data-testid="programme-publish" disabled=${busy}
          onClick=${() => act('programme.publish', { programme_id: p.id })}>${t('sch.publish')}</button>`}
        <button type="button" class="secondary" data-testid="programme-xlsx"
          onClick=${() => download(`/api/programmes/${p.id}/export.xlsx`, 'chuong-trinh-cong-tac.xlsx').catch(setError)}>${t('prg.xlsx')}</button>
      </div>
      <${ErrorBanner} error=${error} onDismiss=${() => setError(null)} />
    </div>
    <div class="card table-wrap">
      ${data.entries.length === 0 ? html`<p class="muted">${t('prg.empty')}</p>` : html`<table class="programme-table" data-testid="programme-table">
        <thead><tr><th>${t('prg.col.n')}</th><th>${t('sch.col.content')}</th><th>${t('prg.entry_kind')}</th><th>${t('prg.preparing')}</th>
          <th>${t('prg.due')}</th><th>${t('prg.col.state')}</th><th>${t('prg.col.meeting')}</th></tr></thead>
        <tbody>${data.entries.map((e, i) => html`<tr key=${e.id} data-testid="programme-entry" data-entry-id=${e.id} data-state=${e.state}>
          <td>${i + 1}</td>
          <td>${e.content}</td>
          <td>${t(`prg.ekind.${e.kind}`)}</td>
          <td>${e.preparing_unit}</td>
          <td>${e.due_label}</td>
          <td><span class=${`badge prg-state-${e.state}`}>${t(`prg.state.${e.state}`)}</span>
            ${e.reason && html`<div class="small-text muted">${e.reason}</div>`}
            ${office && html`<${EntryState} entry=${e} run=${run} busy=${busy} reload=${reload} />`}</td>
          <td>${e.meeting
            ? html`<button type="button" class="link" data-testid="prg-entry-meeting" onClick=${() => onOpenMeeting(e.meeting.id)}>
                ${t('sch.meeting')}</button> <${StatusBadge} status=${e.meeting.status} />`
            : office && !['done', 'cancelled'].includes(e.state) && html`<button type="button" class="secondary" data-testid="prg-make-meeting"
                disabled=${busy} onClick=${() => act('programme.create_meeting', { entry_id: e.id },
                  (r) => r.meeting && onOpenMeeting(r.meeting.id))}>${t('sch.make_meeting')}</button>`}
            ${office && draft && !e.meeting && html` <button type="button" class="danger-outline" data-testid="prg-remove" disabled=${busy}
              onClick=${() => act('programme.entry_remove', { entry_id: e.id })}>${t('sch.remove')}</button>`}</td>
        </tr>`)}</tbody>
      </table>`}
      ${office && html`<${EntryAdd} programme=${p} run=${run} busy=${busy} onAdded=${reload} />`}
    </div>
  </section>`;
}

export function WorkProgrammes({ live, user, office, run, busy, error, clearError, programmeId, onOpen, onOpenMeeting }) {
  const [year, setYear] = useState(new Date().getFullYear());
  const [list, setList] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [creating, setCreating] = useState(false);
  const reload = useCallback(() => {
    request('GET', `/api/programmes?year=${year}`).then((r) => { setList(r.programmes); setLoadError(null); }).catch(setLoadError);
  }, [year]);
  useEffect(() => { reload(); }, [reload]);
  useHint(live, 'programme_changed', null, reload);
  const banner = html`<${ErrorBanner} error=${error || loadError} onDismiss=${() => { if (clearError) clearError(); setLoadError(null); }} />`;
  if (programmeId != null) {
    return html`<div>${banner}<${Programme} live=${live} programmeId=${programmeId} office=${office} run=${run} busy=${busy}
      onBack=${() => onOpen(null)} onOpenMeeting=${onOpenMeeting} /></div>`;
  }
  return html`<section class="work-programmes" data-testid="work-programmes">
    <div class="card">
      <h2>${t('prg.title')}</h2>
      <div class="toolbar">
        <button type="button" class="secondary" data-testid="prg-year-prev" onClick=${() => setYear(year - 1)}>←</button>
        <strong data-testid="prg-year-shown">${t('prg.year_n', { n: year })}</strong>
        <button type="button" class="secondary" data-testid="prg-year-next" onClick=${() => setYear(year + 1)}>→</button>
        <span class="spacer"></span>
        ${office && html`<button type="button" class="primary" data-testid="programme-create-open" onClick=${() => setCreating(true)}>
          ${t('prg.create')}</button>`}
      </div>
      ${banner}
    </div>
    ${creating && html`<${CreateProgramme} user=${user} run=${run} busy=${busy} year=${year} onCancel=${() => setCreating(false)}
      onCreated=${(p) => { setCreating(false); onOpen(p.id); }} />`}
    <div class="card">
      ${list == null ? html`<p class="muted">${t('meetings.loading')}</p>`
        : list.length === 0 ? html`<p class="muted" data-testid="programmes-empty">${t('prg.none')}</p>`
          : html`<ul class="rows">${list.map((p) => html`<li key=${p.id}>
            <button type="button" class="meeting-row" data-testid="programme-row" data-programme-id=${p.id} onClick=${() => onOpen(p.id)}>
              <span class="meeting-row-main"><span class="meeting-row-title">${p.title}</span>
                <span class="muted">${t(`prg.kind.${p.kind}`)} · ${ENTRY_STATES.filter((s) => p.counts && p.counts[s])
                  .map((s) => `${t(`prg.state.${s}`)}: ${p.counts[s]}`).join(' · ')}</span></span>
              <span class=${`badge status-${p.state}`}>${t(`sch.state.${p.state}`)}</span>
            </button></li>`)}</ul>`}
    </div>
  </section>`;
}
