// Directives (theo dõi ý kiến chỉ đạo, docs/directives.md):
// - the console's "Chỉ đạo" tab of a meeting: the chair's conclusions turned into directives for
//   units and people, with deadlines; the meeting's directives with their reports and history;
// - the dashboard across meetings: counts by unit and by meeting, overdue ones first and in red,
//   the follow-up table as XLSX;
// - "Nhiệm vụ của tôi": what the signed-in user (or their unit) answers for, with the progress
//   report and its evidence files;
// - in the agenda editor, the open directives of earlier meetings offered for review.

import { html } from 'htm/preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { download } from '../lib/api.js';
import { OPEN, REOPENABLE, STATUSES, directivesApi, unitOptions, uploadEvidence, urgency, useDirectiveData } from '../lib/directives.js';
import { docErrorText, errorText, formatBytes, formatDateTime, t } from '../lib/i18n.js';
import { useAction, useUnits, useUsers } from '../lib/hooks.js';
import { ErrorBanner } from './ErrorBanner.js';

// "2026-12-31" -> "31/12/2026", as Vietnamese documents write a day.
export function dayText(iso) {
  if (!iso) return '';
  const [y, m, d] = iso.split('-');
  return `${d}/${m}/${y}`;
}

function timelinessText(d) {
  const w = d.timeliness || {};
  if (w.overdue) return t('dir.overdue_by', { n: -w.days_left });
  if (w.late) return t('dir.late');
  if (w.due_soon) return w.days_left === 0 ? t('dir.due_today') : t('dir.due_in', { n: w.days_left });
  return '';
}

function StatusPill({ status }) {
  return html`<span class=${`badge dir-status-${status}`} data-testid="directive-status" data-status=${status}>${t(`dir.status.${status}`)}</span>`;
}

function Progress({ value }) {
  return html`<span class="dir-progress" title=${`${value}%`}>
    <span class="progress-track"><span class="progress-fill" style=${`width:${Math.max(0, Math.min(100, value))}%`}></span></span>
    <span class="small-text" data-testid="directive-progress">${value}%</span></span>`;
}

// --- the form that assigns or edits a directive ----------------------------------------------

function selected(e) {
  return [...e.currentTarget.selectedOptions].map((o) => Number(o.value));
}

function DirectiveForm({ initial, people, onSubmit, onCancel, busy, submitLabel }) {
  const units = useUnits();
  const options = useMemo(() => unitOptions(units), [units]);
  const [f, setF] = useState(() => ({
    title: '', content: '', lead_unit_id: '', coordinating_unit_ids: [], responsible_user_ids: [], deadline: '', ...initial,
  }));
  const put = (name) => (e) => setF({ ...f, [name]: e.currentTarget.value });
  const submit = (e) => {
    e.preventDefault();
    if (!f.title.trim()) return;
    onSubmit({
      title: f.title.trim(), content: f.content.trim(),
      lead_unit_id: f.lead_unit_id === '' ? null : Number(f.lead_unit_id),
      coordinating_unit_ids: f.coordinating_unit_ids.filter((u) => String(u) !== String(f.lead_unit_id)),
      responsible_user_ids: f.responsible_user_ids, deadline: f.deadline || null,
    });
  };
  const unitOption = (u) => html`<option key=${u.id} value=${String(u.id)}>${'\u00a0\u00a0'.repeat(u.depth)}${u.name}</option>`;
  return html`<form class="dir-form" data-testid="directive-form" onSubmit=${submit}>
    <div class="grid-form">
      <label class="wide">${t('dir.title')}<input required maxlength="500" data-testid="directive-title" value=${f.title} onInput=${put('title')} /></label>
      <label class="wide">${t('dir.content')}<textarea rows="3" data-testid="directive-content" value=${f.content} onInput=${put('content')} /></label>
      <label>${t('dir.lead')}<select data-testid="directive-lead" value=${String(f.lead_unit_id ?? '')} onChange=${put('lead_unit_id')}>
        <option value="">${t('dir.no_lead_option')}</option>${options.map(unitOption)}</select></label>
      <label>${t('dir.deadline')}<input type="date" data-testid="directive-deadline" value=${f.deadline || ''} onInput=${put('deadline')} /></label>
      <label>${t('dir.coordinating')}<select multiple size="5" data-testid="directive-coordinating"
          onChange=${(e) => setF({ ...f, coordinating_unit_ids: selected(e) })}>
        ${options.map((u) => html`<option key=${u.id} value=${String(u.id)} selected=${f.coordinating_unit_ids.includes(u.id)}>${'\u00a0\u00a0'.repeat(u.depth)}${u.name}</option>`)}
      </select></label>
      <label>${t('dir.responsible')}<select multiple size="5" data-testid="directive-responsible"
          onChange=${(e) => setF({ ...f, responsible_user_ids: selected(e) })}>
        ${people.map((p) => html`<option key=${p.id} value=${String(p.id)} selected=${f.responsible_user_ids.includes(p.id)}>${p.full_name}${p.username ? ` (${p.username})` : ''}</option>`)}
      </select></label>
    </div>
    <p class="muted small-text">${t('dir.form_hint')}</p>
    <div class="buttons wrap">
      <button type="submit" class="primary" data-testid="directive-submit" disabled=${busy || !f.title.trim()}>${submitLabel}</button>
      ${onCancel && html`<button type="button" class="secondary" onClick=${onCancel}>${t('dir.form_cancel')}</button>`}
    </div>
  </form>`;
}

// The accounts a directive may be given to: every account for the secretariat, else the meeting's people.
function usePeople(participants) {
  const users = useUsers();
  return useMemo(() => {
    const out = new Map();
    for (const u of users || []) out.set(u.id, { id: u.id, full_name: u.full_name, username: u.username });
    for (const p of participants || []) if (p.user_id != null && !out.has(p.user_id)) out.set(p.user_id, { id: p.user_id, full_name: p.full_name });
    return [...out.values()].sort((a, b) => a.full_name.localeCompare(b.full_name, 'vi'));
  }, [users, participants]);
}

// --- one directive ---------------------------------------------------------------------------

function ReportForm({ live, d, pending, onDone }) {
  const [percent, setPercent] = useState(String(Math.min(100, d.progress || 0)));
  const [text, setText] = useState('');
  const [files, setFiles] = useState([]);
  const [phase, setPhase] = useState('');
  const [picker, setPicker] = useState(0); // a new file input after each report: the browser keeps the old one's files
  const action = useAction();
  const submit = (e) => {
    e.preventDefault();
    action.run(async () => {
      const ids = (pending || []).map((x) => x.id); // uploads an earlier attempt left behind
      for (const file of files) {
        setPhase(t('dir.uploading', { name: file.name }));
        ids.push((await uploadEvidence(d.meeting_id, d.id, file)).id);
      }
      setPhase('');
      await live.command('directive.report', {
        meeting_id: d.meeting_id, directive_id: d.id, percent: Number(percent), text: text.trim(), evidence_ids: ids,
      });
      setText(''); setFiles([]); setPicker(picker + 1);
      onDone();
    }).finally(() => setPhase(''));
  };
  return html`<form class="dir-report-form" data-testid="report-form" onSubmit=${submit}>
    <h4>${t('dir.report')}</h4>
    <div class="grid-form">
      <label>${t('dir.report_percent')}<input type="number" min="0" max="100" step="5" required data-testid="report-percent"
        value=${percent} onInput=${(e) => setPercent(e.currentTarget.value)} /></label>
      <label class="wide">${t('dir.report_text')}<textarea rows="3" required data-testid="report-text" value=${text}
        onInput=${(e) => setText(e.currentTarget.value)} /></label>
      <label class="wide">${t('dir.report_files')}<input type="file" multiple key=${picker} data-testid="report-files"
        accept=".pdf,.jpg,.jpeg,.png,.doc,.docx,.xls,.xlsx,.odt,.ods,.ppt,.pptx,.odp"
        onChange=${(e) => setFiles([...e.currentTarget.files])} /></label>
    </div>
    ${(pending || []).length > 0 && html`<p class="small-text muted">${t('dir.pending_files', { n: pending.length })}</p>`}
    <p class="muted small-text">${t('dir.report_hint')}</p>
    ${phase && html`<p class="muted" data-testid="report-phase">${phase}</p>`}
    ${action.error && html`<p class="error-text" role="alert" data-testid="report-error">${docErrorText(action.error)}</p>`}
    <button type="submit" class="primary" data-testid="report-submit" disabled=${action.busy || !text.trim() || percent === ''}>
      ${t('dir.report_submit')}</button>
  </form>`;
}

function StaffActions({ live, d, people, onChanged }) {
  const [mode, setMode] = useState(null); // null | 'edit' | 'accept' | 'cancel' | 'reopen'
  const [note, setNote] = useState('');
  const action = useAction();
  const send = (name, data) => action.run(async () => {
    await live.command(name, { meeting_id: d.meeting_id, directive_id: d.id, ...data });
    setMode(null); setNote('');
    onChanged();
  });
  const open = OPEN.includes(d.status);
  const initial = {
    title: d.title, content: d.content, lead_unit_id: d.lead_unit ? String(d.lead_unit.id) : '',
    coordinating_unit_ids: d.coordinating_units.map((u) => u.id), responsible_user_ids: d.responsible.map((p) => p.user_id),
    deadline: d.deadline || '',
  };
  const known = new Set(people.map((p) => p.id));
  const everyone = [...people, ...d.responsible.filter((p) => !known.has(p.user_id)).map((p) => ({ id: p.user_id, full_name: p.full_name }))];
  return html`<div class="dir-staff" data-testid="directive-staff">
    <div class="buttons wrap">
      ${open && html`<button type="button" class="small" data-testid="directive-edit" onClick=${() => setMode(mode === 'edit' ? null : 'edit')}>${t('dir.edit')}</button>`}
      ${open && html`<button type="button" class=${`small ${d.status === 'reported' ? 'primary' : ''}`} data-testid="directive-accept" onClick=${() => setMode('accept')}>${t('dir.accept')}</button>`}
      ${REOPENABLE.includes(d.status) && html`<button type="button" class="small" data-testid="directive-reopen" onClick=${() => setMode('reopen')}>${t('dir.reopen')}</button>`}
      ${open && html`<button type="button" class="small danger-outline" data-testid="directive-cancel" onClick=${() => setMode('cancel')}>${t('dir.cancel')}</button>`}
    </div>
    ${mode === 'edit' && html`<${DirectiveForm} initial=${initial} people=${everyone} busy=${action.busy} submitLabel=${t('dir.save')}
      onCancel=${() => setMode(null)} onSubmit=${(v) => send('directive.update', v)} />`}
    ${mode && mode !== 'edit' && html`<form class="inline-form" data-testid="directive-note-form"
        onSubmit=${(e) => { e.preventDefault(); send(`directive.${mode}`, { note: note.trim() }); }}>
      <label>${t('dir.note')}<input data-testid="directive-note" value=${note} onInput=${(e) => setNote(e.currentTarget.value)} /></label>
      <button type="submit" class=${mode === 'cancel' ? 'danger' : 'primary'} data-testid="directive-confirm" disabled=${action.busy}>${t(`dir.${mode}`)}</button>
      <button type="button" class="secondary" onClick=${() => setMode(null)}>${t('dir.form_cancel')}</button>
    </form>`}
    ${action.error && html`<p class="error-text" role="alert">${errorText(action.error)}</p>`}
  </div>`;
}

function Reports({ d, reports }) {
  const dl = useAction();
  if (!reports.length) return html`<p class="muted" data-testid="no-reports">${t('dir.no_reports')}</p>`;
  return html`<ol class="plain-list dir-reports" data-testid="directive-reports">${reports.map((r) => html`<li key=${r.id} data-testid="directive-report">
    <div class="dir-report-head"><span class="strong">${r.percent}%</span>
      <span class="muted small-text">${r.by.full_name}${r.unit ? ` — ${r.unit.name}` : ''} · ${formatDateTime(r.at)}</span></div>
    <div class="dir-report-text">${r.text}</div>
    ${r.evidence.length > 0 && html`<div class="muted small-text">${t('dir.evidence')}:</div><ul class="dir-evidence">${r.evidence.map((e) => html`<li key=${e.id}>
      <button type="button" class="link" data-testid="evidence-link" data-evidence-id=${e.id}
        onClick=${() => dl.run(() => download(directivesApi.evidenceUrl(d.id, e.id), e.filename))}>${e.filename}</button>
      <span class="muted small-text"> ${formatBytes(e.size)}</span></li>`)}</ul>`}
  </li>`)}</ol>
  ${dl.error && html`<p class="error-text" role="alert">${errorText(dl.error)}</p>`}`;
}

function History({ history }) {
  return html`<details class="dir-history" data-testid="directive-history"><summary>${t('dir.history')} (${history.length})</summary>
    <ol class="plain-list">${history.map((h, i) => html`<li key=${i} class="small-text">
      <span class="strong">${t(`dir.action.${h.action}`)}</span> · ${formatDateTime(h.at)}${h.by ? ` · ${h.by.full_name}` : ''}
      ${h.note && html`<div class="muted">${h.note}</div>`}</li>`)}</ol></details>`;
}

function Detail({ live, d, people, onChanged }) {
  const { data, error, reload } = useDirectiveData(live, () => directivesApi.one(d.id), [d.id]);
  const seen = useRef(d.updated_at);
  useEffect(() => { // changed elsewhere (the list was read again): read the reports again
    if (seen.current !== d.updated_at) { seen.current = d.updated_at; reload(); }
  }, [d.updated_at]);
  if (error) return html`<${ErrorBanner} error=${error} />`;
  if (!data) return html`<p class="muted">${t('meetings.loading')}</p>`;
  const done = () => { reload(); onChanged(); };
  return html`<div class="dir-detail" data-testid="directive-detail">
    ${data.directive.content && html`<p class="dir-content">${data.directive.content}</p>`}
    <h4>${t('dir.reports')}</h4>
    <${Reports} d=${d} reports=${data.reports} />
    ${data.may.report && html`<${ReportForm} live=${live} d=${data.directive} pending=${data.pending_evidence} onDone=${done} />`}
    ${data.may.manage && html`<${StaffActions} live=${live} d=${data.directive} people=${people} onChanged=${done} />`}
    <${History} history=${data.history} />
  </div>`;
}

export function DirectiveCard({ live, d, people = [], showMeeting = false, onChanged, startOpen = false }) {
  const [open, setOpen] = useState(startOpen);
  const cls = urgency(d);
  const when = timelinessText(d);
  return html`<li class=${`dir-card ${cls}`} data-testid="directive-row" data-directive-id=${d.id} data-status=${d.status}
      data-overdue=${d.timeliness && d.timeliness.overdue ? 'true' : 'false'}>
    <div class="dir-head">
      <div class="dir-main">
        <div class="dir-title strong" data-testid="directive-title">${d.title}</div>
        <div class="small-text muted">
          ${showMeeting && html`<span>${d.meeting.title}${d.agenda_item ? ` — ${t('dir.from_item', { n: d.agenda_item.number })}` : ''} · </span>`}
          ${!showMeeting && d.agenda_item && html`<span>${t('dir.from_item', { n: d.agenda_item.number })} · </span>`}
          <span>${t('dir.lead')}: ${d.lead_unit ? d.lead_unit.name : t('dir.no_lead')}</span>
          ${d.coordinating_units.length > 0 && html`<span> · ${t('dir.coordinating')}: ${d.coordinating_units.map((u) => u.name).join(', ')}</span>`}
          ${d.responsible.length > 0 && html`<span> · ${t('dir.responsible')}: ${d.responsible.map((p) => p.full_name).join(', ')}</span>`}
        </div>
      </div>
      <div class="dir-side">
        <${StatusPill} status=${d.status} />
        <span class="small-text" data-testid="directive-deadline">${d.deadline ? `${t('dir.deadline')}: ${dayText(d.deadline)}` : t('dir.no_deadline')}</span>
        ${when && html`<span class=${`badge dir-when ${cls}`} data-testid="directive-when">${when}</span>`}
        <${Progress} value=${d.progress} />
        <button type="button" class="small" data-testid="directive-open" onClick=${() => setOpen(!open)}>${open ? t('dir.hide') : t('dir.details')}</button>
      </div>
    </div>
    ${open && html`<${Detail} live=${live} d=${d} people=${people} onChanged=${onChanged || (() => {})} />`}
  </li>`;
}

function DirectiveList({ live, directives, people, showMeeting, onChanged, empty }) {
  if (directives == null) return html`<p class="muted">${t('meetings.loading')}</p>`;
  if (!directives.length) return html`<p class="muted" data-testid="directives-empty">${empty}</p>`;
  return html`<ul class="plain-list dir-list" data-testid="directive-list">${directives.map((d) => html`<${DirectiveCard} key=${d.id}
    live=${live} d=${d} people=${people} showMeeting=${showMeeting} onChanged=${onChanged} />`)}</ul>`;
}

// --- the console's "Chỉ đạo" tab of a meeting -----------------------------------------------------

const ASSIGNING = ['in_session', 'adjourned', 'closed'];

export function MeetingDirectives({ live, state, staff }) {
  const mid = state.meeting.id;
  const { data, error, reload } = useDirectiveData(live, () => directivesApi.list({ meeting_id: mid }), [mid]);
  const people = usePeople(state.participants);
  const [form, setForm] = useState(null); // the initial values of the form being filled, or null
  const action = useAction();
  const directives = data ? data.directives : null;
  const assigning = ASSIGNING.includes(state.meeting.status);
  const conclusions = state.agenda
    .map((item) => ({ item, text: ((state.conclusions || []).find((c) => String(c.agenda_item_id) === String(item.id)) || {}).text || '' }))
    .filter((c) => c.text);
  const create = (v) => action.run(async () => {
    await live.command('directive.create', { meeting_id: mid, ...v, ...(form.agenda_item_id ? { agenda_item_id: form.agenda_item_id } : {}) });
    setForm(null);
    reload();
  });
  const given = (itemId) => (directives || []).filter((d) => d.agenda_item && String(d.agenda_item.id) === String(itemId)).length;
  return html`<div data-testid="console-directives">
    ${staff && html`<section class="card" data-testid="directive-conclusions">
      <h2>${t('dir.conclusions')}</h2>
      ${!assigning ? html`<p class="muted">${t('dir.not_yet')}</p>` : html`
        <p class="muted small-text">${t('dir.conclusions_hint')}</p>
        ${conclusions.length === 0 && html`<p class="muted">${t('dir.no_conclusions')}</p>`}
        <ol class="plain-list">${conclusions.map(({ item, text }) => html`<li key=${item.id} class="dir-conclusion" data-testid="directive-conclusion" data-item-id=${item.id}>
          <div><span class="strong">${item.number}. ${item.title}</span>
            ${given(item.id) > 0 && html` <span class="badge ok-badge">${t('dir.given', { n: given(item.id) })}</span>`}</div>
          <div class="small-text">${text}</div>
          <button type="button" class="small" data-testid="directive-from-conclusion"
            onClick=${() => setForm({ agenda_item_id: item.id, title: item.title, content: text })}>${t('dir.assign')}</button>
        </li>`)}</ol>
        <button type="button" class="secondary" data-testid="directive-add" onClick=${() => setForm({})}>${t('dir.add')}</button>
        ${form && html`<div class="dir-form-wrap">
          <h3>${form.agenda_item_id ? t('dir.assign_from', { title: form.title }) : t('dir.add')}</h3>
          <${DirectiveForm} key=${form.agenda_item_id || 'new'} initial=${{ title: form.title || '', content: form.content || '' }}
            people=${people} busy=${action.busy} submitLabel=${t('dir.create_submit')} onCancel=${() => setForm(null)} onSubmit=${create} />
          ${action.error && html`<p class="error-text" role="alert" data-testid="directive-error">${errorText(action.error)}</p>`}
        </div>`}`}
    </section>`}
    <section class="card">
      <div class="section-head"><h2>${t('dir.meeting_list')}</h2>
        <button type="button" class="small" onClick=${() => download(directivesApi.xlsxUrl({ meeting_id: mid }), `nhiem-vu-${mid}.xlsx`)}>${t('dir.xlsx')}</button></div>
      <${ErrorBanner} error=${error} />
      <${DirectiveList} live=${live} directives=${directives} people=${people} onChanged=${reload} empty=${t('dir.none')} />
    </section>
  </div>`;
}

// --- the dashboard ---------------------------------------------------------------------------------

const COUNTS = ['total', 'done', 'in_progress', 'overdue', 'due_soon', 'reported'];

function CountsRow({ label, row, testid, extra }) {
  return html`<tr data-testid=${testid} data-overdue=${row.overdue} ...${extra || {}}>
    <td>${label}</td>${COUNTS.map((k) => html`<td key=${k} class=${`num ${k === 'overdue' && row.overdue ? 'dir-red strong' : ''}`} data-count=${k}>${row[k]}</td>`)}</tr>`;
}

export function DirectivesDashboard({ live }) {
  const units = useUnits();
  const options = useMemo(() => unitOptions(units), [units]);
  const [filters, setFilters] = useState({ unit_id: '', meeting_id: '', status: '', overdue: false, q: '' });
  const [typed, setTyped] = useState('');
  const key = JSON.stringify(filters);
  const board = useDirectiveData(live, () => directivesApi.dashboard(filters), [key]);
  const list = useDirectiveData(live, () => directivesApi.list(filters), [key]);
  const people = usePeople([]);
  const dl = useAction();
  const put = (name) => (e) => setFilters({ ...filters, [name]: e.currentTarget.type === 'checkbox' ? e.currentTarget.checked : e.currentTarget.value });
  const b = board.data;
  const reload = () => { board.reload(); list.reload(); };
  return html`<div class="dir-dashboard" data-testid="directives-dashboard">
    <section class="card">
      <div class="section-head"><h2>${t('dir.dashboard')}</h2>
        <div class="buttons">
          <button type="button" class="small" data-testid="dashboard-refresh" onClick=${reload}>${t('dir.refresh')}</button>
          <button type="button" class="small" data-testid="dashboard-xlsx" disabled=${dl.busy}
            onClick=${() => dl.run(() => download(directivesApi.xlsxUrl(filters), 'theo-doi-chi-dao.xlsx'))}>${t('dir.xlsx')}</button>
        </div></div>
      <form class="inline-form dir-filters" data-testid="dashboard-filters" onSubmit=${(e) => { e.preventDefault(); setFilters({ ...filters, q: typed.trim() }); }}>
        <label>${t('dir.filter.unit')}<select data-testid="filter-unit" value=${filters.unit_id} onChange=${put('unit_id')}>
          <option value="">${t('dir.filter.all')}</option>
          ${options.map((u) => html`<option key=${u.id} value=${String(u.id)}>${'\u00a0\u00a0'.repeat(u.depth)}${u.name}</option>`)}</select></label>
        <label>${t('dir.filter.status')}<select data-testid="filter-status" value=${filters.status} onChange=${put('status')}>
          <option value="">${t('dir.filter.all')}</option><option value="open">${t('dir.filter.open')}</option>
          ${STATUSES.map((s) => html`<option key=${s} value=${s}>${t(`dir.status.${s}`)}</option>`)}</select></label>
        <label class="check"><input type="checkbox" data-testid="filter-overdue" checked=${filters.overdue} onChange=${put('overdue')} /> ${t('dir.filter.overdue')}</label>
        <label>${t('dir.filter.q')}<input type="search" data-testid="filter-q" value=${typed} onInput=${(e) => setTyped(e.currentTarget.value)} /></label>
        <button type="submit" class="small">${t('dir.filter.search')}</button>
      </form>
      <${ErrorBanner} error=${board.error || list.error || dl.error} />
      ${b && html`<div class="dir-totals" data-testid="dashboard-totals">${COUNTS.map((k) => html`<div key=${k} class=${`dir-total ${k === 'overdue' && b.totals.overdue ? 'overdue' : ''}`}
          data-testid=${`total-${k}`} data-value=${b.totals[k]}><span class="dir-total-n">${b.totals[k]}</span><span class="small-text">${t(`dir.count.${k}`)}</span></div>`)}</div>
        <p class="muted small-text">${t('dir.today', { day: dayText(b.today), n: b.due_soon_days })}</p>`}
    </section>
    ${b && html`<div class="dir-boards">
      <section class="card"><h3>${t('dir.by_unit')}</h3><div class="table-wrap"><table class="compact" data-testid="dashboard-by-unit">
        <thead><tr><th>${t('dir.lead')}</th>${COUNTS.map((k) => html`<th key=${k}>${t(`dir.count.${k}`)}</th>`)}</tr></thead>
        <tbody>${b.by_unit.map((r) => html`<${CountsRow} key=${String(r.unit_id)} label=${r.unit_id ? r.name : t('dir.no_lead')} row=${r} testid="by-unit-row"
          extra=${{ 'data-unit-id': r.unit_id ?? '' }} />`)}</tbody></table></div></section>
      <section class="card"><h3>${t('dir.by_meeting')}</h3><div class="table-wrap"><table class="compact" data-testid="dashboard-by-meeting">
        <thead><tr><th>${t('dir.meeting')}</th>${COUNTS.map((k) => html`<th key=${k}>${t(`dir.count.${k}`)}</th>`)}</tr></thead>
        <tbody>${b.by_meeting.map((r) => html`<${CountsRow} key=${r.meeting_id} label=${r.title} row=${r} testid="by-meeting-row"
          extra=${{ 'data-meeting-id': r.meeting_id }} />`)}</tbody></table></div></section>
    </div>`}
    <section class="card"><h3>${t('dir.all_list')}</h3>
      <${DirectiveList} live=${live} directives=${list.data ? list.data.directives : null} people=${people} showMeeting=${true}
        onChanged=${reload} empty=${t('dir.none_found')} /></section>
  </div>`;
}

// --- "Nhiệm vụ của tôi" -------------------------------------------------------------------------

export function MyTasks({ live }) {
  const [finished, setFinished] = useState(false);
  const { data, error, reload } = useDirectiveData(live, () => directivesApi.mine(finished ? {} : { status: 'open' }), [finished]);
  const directives = data ? data.directives : null;
  const overdue = (directives || []).filter((d) => d.timeliness && d.timeliness.overdue).length;
  return html`<section class="card dir-mine" data-testid="my-tasks">
    <div class="section-head"><h2>${t('dir.my_tasks')}${overdue > 0 ? html` <span class="badge overdue" data-testid="my-overdue">${t('dir.n_overdue', { n: overdue })}</span>` : ''}</h2>
      <label class="check"><input type="checkbox" data-testid="show-finished" checked=${finished} onChange=${(e) => setFinished(e.currentTarget.checked)} /> ${t('dir.show_finished')}</label></div>
    <p class="muted small-text">${t('dir.mine_hint')}</p>
    <${ErrorBanner} error=${error} />
    <${DirectiveList} live=${live} directives=${directives} people=${[]} showMeeting=${true} onChanged=${reload} empty=${t('dir.mine_empty')} />
  </section>`;
}

// --- the agenda editor: open directives offered for this meeting -----------------------------------

export function OfferedDirectives({ state, run, busy }) {
  const mid = state.meeting.id;
  const { data, error, reload } = useDirectiveData(null, () => directivesApi.offered(mid), [mid, state.agenda.length]);
  const [picked, setPicked] = useState(null); // null: all offered
  const [title, setTitle] = useState('');
  if (error && (error.code === 'forbidden' || error.code === 'not_found')) return null; // not the staff of this meeting
  if (!data) return error ? html`<${ErrorBanner} error=${error} />` : null;
  if (!data.offered.length && !data.scheduled.length) return null;
  const chosen = picked ?? data.offered.map((d) => d.id);
  const toggle = (id) => setPicked(chosen.includes(id) ? chosen.filter((x) => x !== id) : [...chosen, id]);
  const add = () => run('directive.add_to_agenda', { meeting_id: mid, directive_ids: chosen, title: (title || data.title).trim() })
    .then((r) => { if (r) { setPicked(null); reload(); } });
  return html`<div class="dir-offered" data-testid="offered-directives">
    <h3>${t('dir.offered')}</h3>
    ${data.offered.length > 0 ? html`
      <p class="muted small-text">${t('dir.offered_hint')}</p>
      <ul class="plain-list">${data.offered.map((d) => html`<li key=${d.id} class=${`dir-offer ${urgency(d)}`} data-testid="offered-directive" data-directive-id=${d.id}>
        <label class="check"><input type="checkbox" checked=${chosen.includes(d.id)} onChange=${() => toggle(d.id)} />
          <span><span class="strong">${d.title}</span>
          <span class="small-text muted"> — ${d.meeting.title}; ${d.lead_unit ? d.lead_unit.name : t('dir.no_lead')};
            ${d.deadline ? ` ${t('dir.deadline')} ${dayText(d.deadline)}` : ''} ${timelinessText(d)} · ${t(`dir.status.${d.status}`)} ${d.progress}%</span></span></label>
      </li>`)}</ul>
      <form class="inline-form" onSubmit=${(e) => { e.preventDefault(); add(); }}>
        <label>${t('dir.item_title')}<input data-testid="offered-title" value=${title || data.title} onInput=${(e) => setTitle(e.currentTarget.value)} /></label>
        <button type="submit" class="primary" data-testid="offered-add" disabled=${busy || chosen.length === 0}>${t('dir.to_agenda', { n: chosen.length })}</button>
      </form>` : html`<p class="muted small-text">${t('dir.offered_none')}</p>`}
    ${data.scheduled.length > 0 && html`<p class="small-text" data-testid="scheduled-directives">${t('dir.scheduled', { n: data.scheduled.length })}</p>`}
  </div>`;
}

// --- the home page's views: meetings, the dashboard, my tasks -------------------------------------

const VIEWS = { '#/directives': 'directives', '#/tasks': 'tasks' };

export function useHomeView() {
  const read = () => VIEWS[(window.location.hash || '').replace(/\/$/, '')] || 'meetings';
  const [view, setView] = useState(read);
  useEffect(() => {
    const on = () => setView(read());
    on();
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  const go = (next) => { window.location.hash = next === 'meetings' ? '#/' : `#/${next}`; };
  return [view, go];
}

export function HomeNav({ view, go, views }) {
  return html`<nav class="tabs home-tabs" role="tablist" data-testid="home-nav">${views.map((k) => html`<button type="button" role="tab" key=${k}
    data-testid=${`home-${k}`} aria-selected=${view === k ? 'true' : 'false'} class=${view === k ? 'active' : ''}
    onClick=${() => go(k)}>${t(`home.${k}`)}</button>`)}</nav>`;
}
