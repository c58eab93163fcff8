// "Lịch công tác": a unit's weekly schedule (docs/programmes.md). Week navigation (previous, this,
// next), the table by day, and for the office: adding and editing entries, cancelling, publishing
// and reissuing, the DOCX, and "Tạo cuộc họp" from an entry. Everyone else reads what is published.

import { html } from 'htm/preact';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { download, request } from '../lib/api.js';
import { useUnits, useUsers } from '../lib/hooks.js';
import { formatTime, t } from '../lib/i18n.js';
import { ErrorBanner } from './ErrorBanner.js';
import { unitName, unitTree } from './CreateMeetingForm.js';
import { StatusBadge } from './StatusBadge.js';

const WEEKDAYS = ['sch.day.1', 'sch.day.2', 'sch.day.3', 'sch.day.4', 'sch.day.5', 'sch.day.6', 'sch.day.7'];

// "2026-W03" -> {year, week}; null for anything else.
export function parseWeekKey(key) {
  const m = /^(\d{4})-W(\d{1,2})$/.exec(key || '');
  return m ? { year: Number(m[1]), week: Number(m[2]) } : null;
}

// "2026-01-13" -> "13/01".
function dayMonth(iso) {
  const [, mm, dd] = iso.split('-');
  return `${dd}/${mm}`;
}

function dayMonthYear(iso) {
  const [yyyy, mm, dd] = iso.split('-');
  return `${dd}/${mm}/${yyyy}`;
}

// A day of the week and an hour typed in Vietnam -> ISO 8601 with the zone (+07:00, no DST).
function localMoment(day, hhmm) {
  return hhmm ? `${day}T${hhmm}:00+07:00` : null;
}

function localHHMM(iso) {
  if (!iso) return '';
  const d = new Date(new Date(iso).getTime() + 7 * 3600 * 1000);
  return d.toISOString().slice(11, 16);
}

// Hash routes of the work views: "#/schedule", "#/schedule/2026-W03", "#/programmes", "#/programmes/12".
function readWorkHash() {
  const m = /^#\/(schedule|programmes)(?:\/([^/?#]+))?/.exec(window.location.hash || '');
  if (!m) return null;
  return { view: m[1], arg: m[2] ? decodeURIComponent(m[2]) : null };
}

export function useWorkView() {
  const [work, setWork] = useState(readWorkHash);
  useEffect(() => {
    const on = () => setWork(readWorkHash());
    on();
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  const go = useCallback((view, arg) => {
    window.location.hash = `#/${view}${arg != null ? `/${encodeURIComponent(arg)}` : ''}`;
  }, []);
  return [work, go];
}

// Refetch when the server says a schedule or programme changed (a hint: ids only), and after a reconnect.
export function useHint(live, name, matches, reload) {
  useEffect(() => {
    if (!live || !live.socket) return undefined;
    const on = (msg) => { if (!matches || matches(msg || {})) reload(); };
    live.socket.on(name, on);
    const offReconnect = live.on('reconnect', reload);
    return () => { live.socket.off(name, on); offReconnect(); };
  }, [live, name, matches, reload]);
}

function weekTitle(week) {
  return t('sch.week_title', { week: week.week, from: dayMonthYear(week.monday), to: dayMonthYear(week.sunday) });
}

function WeekState({ week }) {
  if (week.state === 'none') return html`<span class="badge" data-testid="week-state" data-state="none">${t('sch.state.none')}</span>`;
  const label = week.state === 'published' && week.amendment > 0
    ? t('sch.amended', { n: week.amendment })
    : t(`sch.state.${week.state}`);
  return html`<span class=${`badge status-${week.state}`} data-testid="week-state" data-state=${week.state}
    data-issue=${week.issue}>${label}</span>`;
}

function EntryForm({ week, entry, users, unitId, run, busy, onDone, onCancel }) {
  const first = entry ? entry.day : week.days[0];
  const [day, setDay] = useState(first);
  const [start, setStart] = useState(entry ? localHHMM(entry.starts_at) : '08:00');
  const [end, setEnd] = useState(entry ? localHHMM(entry.ends_at) : '');
  const [content, setContent] = useState(entry ? entry.content : '');
  const [place, setPlace] = useState(entry ? entry.place : '');
  const [presidingId, setPresidingId] = useState(entry && entry.presiding_user_id != null ? String(entry.presiding_user_id) : '');
  const [presiding, setPresiding] = useState(entry ? entry.presiding : '');
  const [attendees, setAttendees] = useState(entry ? entry.attendee_ids : []);
  const [note, setNote] = useState(entry ? entry.attendees_note : '');
  const [preparing, setPreparing] = useState(entry ? entry.preparing_unit : '');
  const [filter, setFilter] = useState('');
  const people = users || [];
  const shown = people.filter((u) => !filter || `${u.full_name} ${u.username}`.toLowerCase().includes(filter.toLowerCase()));
  // A new account in the chair: the printed name follows it, unless the office typed another.
  const pickPresiding = (value) => {
    const before = people.find((u) => String(u.id) === presidingId);
    if (before && presiding === before.full_name) setPresiding('');
    setPresidingId(value);
  };
  const toggle = (id) => setAttendees((a) => (a.includes(id) ? a.filter((x) => x !== id) : [...a, id]));
  const submit = async (e) => {
    e.preventDefault();
    const data = {
      starts_at: localMoment(day, start),
      ends_at: localMoment(day, end),
      content: content.trim(),
      place: place.trim(),
      presiding_user_id: presidingId ? Number(presidingId) : null,
      attendee_ids: attendees,
      attendees_note: note.trim(),
      preparing_unit: preparing.trim(),
    };
    // The account's name fills the printed text when the office leaves it empty.
    if (presiding.trim() || !presidingId) data.presiding = presiding.trim();
    const res = entry
      ? await run('schedule.entry_update', { entry_id: entry.id, ...data })
      : await run('schedule.entry_add', { unit_id: unitId, ...data });
    if (res) onDone(res.result);
  };
  return html`<form class="card schedule-form stack wide" data-testid="schedule-form" onSubmit=${submit}>
    <h3>${entry ? t('sch.edit') : t('sch.add')}</h3>
    <div class="inline-form">
      <label>${t('sch.day')}
        <select data-testid="sch-day" value=${day} onChange=${(e) => setDay(e.currentTarget.value)}>
          ${week.days.map((d, i) => html`<option key=${d} value=${d}>${t(WEEKDAYS[i])}, ${dayMonth(d)}</option>`)}
        </select></label>
      <label>${t('sch.start')}<input type="time" data-testid="sch-start" required value=${start}
        onInput=${(e) => setStart(e.currentTarget.value)} /></label>
      <label>${t('sch.end')}<input type="time" data-testid="sch-end" value=${end} onInput=${(e) => setEnd(e.currentTarget.value)} /></label>
    </div>
    <label>${t('sch.content')}<textarea data-testid="sch-content" required rows="2" value=${content}
      onInput=${(e) => setContent(e.currentTarget.value)}></textarea></label>
    <div class="inline-form">
      <label>${t('sch.place')}<input data-testid="sch-place" value=${place} onInput=${(e) => setPlace(e.currentTarget.value)} /></label>
      <label>${t('sch.preparing')}<input data-testid="sch-preparing" value=${preparing}
        onInput=${(e) => setPreparing(e.currentTarget.value)} /></label>
    </div>
    <div class="inline-form">
      <label>${t('sch.presiding_account')}
        <select data-testid="sch-presiding-user" value=${presidingId} onChange=${(e) => pickPresiding(e.currentTarget.value)}>
          <option value="">${t('sch.nobody')}</option>
          ${people.map((u) => html`<option key=${u.id} value=${String(u.id)}>${u.full_name} (${u.username})</option>`)}
        </select></label>
      <label>${t('sch.presiding_text')}<input data-testid="sch-presiding" value=${presiding}
        placeholder=${t('sch.presiding_hint')} onInput=${(e) => setPresiding(e.currentTarget.value)} /></label>
    </div>
    <fieldset class="attendee-picker">
      <legend>${t('sch.attendees')} (${attendees.length})</legend>
      <input type="search" data-testid="sch-attendee-filter" placeholder=${t('sch.filter')} value=${filter}
        onInput=${(e) => setFilter(e.currentTarget.value)} />
      <div class="attendee-list">${shown.map((u) => html`<label class="check" key=${u.id}>
        <input type="checkbox" data-testid="sch-attendee" data-user=${u.username} checked=${attendees.includes(u.id)}
          onChange=${() => toggle(u.id)} /><span>${u.full_name}</span></label>`)}</div>
    </fieldset>
    <label>${t('sch.attendees_note')}<input data-testid="sch-attendees-note" value=${note}
      onInput=${(e) => setNote(e.currentTarget.value)} /></label>
    <div class="buttons">
      <button type="submit" class="primary" data-testid="sch-save" disabled=${busy}>${t('sch.save')}</button>
      <button type="button" class="secondary" onClick=${onCancel}>${t('create.cancel')}</button>
    </div>
  </form>`;
}

function CancelForm({ entry, run, busy, onDone }) {
  const [reason, setReason] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    const res = await run('schedule.entry_cancel', { entry_id: entry.id, reason: reason.trim() });
    if (res) onDone();
  };
  return html`<form class="reason-form" onSubmit=${submit} data-testid="sch-cancel-form">
    <input required data-testid="sch-cancel-reason" placeholder=${t('sch.cancel_reason')} value=${reason}
      onInput=${(e) => setReason(e.currentTarget.value)} />
    <button type="submit" class="secondary" disabled=${busy}>${t('sch.cancel_confirm')}</button>
  </form>`;
}

function EntryRow({ entry, dayCell, office, draft, run, busy, onEdit, onOpenMeeting, reload, clashing }) {
  const [cancelling, setCancelling] = useState(false);
  const cancelled = entry.status === 'cancelled';
  const people = [entry.attendees.map((a) => a.full_name).join(', '), entry.attendees_note].filter(Boolean).join('; ');
  const act = async (name, data) => { const res = await run(name, data); if (res) reload(); return res; };
  const makeMeeting = async () => {
    const res = await run('schedule.create_meeting', { entry_id: entry.id });
    if (res) { reload(); if (res.result.meeting && onOpenMeeting) onOpenMeeting(res.result.meeting.id); }
  };
  return html`<tr data-testid="schedule-entry" data-entry-id=${entry.id} data-status=${entry.status}
      class=${`${cancelled ? 'sch-cancelled' : ''} ${clashing ? 'sch-clash' : ''}`}>
    ${dayCell}
    <td class="sch-time">${formatTime(entry.starts_at)}${entry.ends_at ? ` – ${formatTime(entry.ends_at)}` : ''}</td>
    <td>
      <div class="sch-content" data-testid="sch-entry-content">${entry.content}</div>
      ${cancelled && html`<div class="warn-text" data-testid="sch-entry-reason">${t('sch.cancelled', { reason: entry.reason })}</div>`}
      ${entry.amendment ? html`<div class="small-text muted" data-testid="sch-entry-amended">${t('sch.amended', { n: entry.amendment })}</div>` : ''}
      ${entry.meeting && html`<div class="sch-meeting" data-testid="sch-entry-meeting" data-meeting-id=${entry.meeting.id}>
        <button type="button" class="link" onClick=${() => onOpenMeeting && onOpenMeeting(entry.meeting.id)}>${t('sch.meeting')}</button>
        <${StatusBadge} status=${entry.meeting.status} /></div>`}
      ${cancelling && html`<${CancelForm} entry=${entry} run=${run} busy=${busy} onDone=${() => { setCancelling(false); reload(); }} />`}
    </td>
    <td>${entry.presiding}</td>
    <td>${people}</td>
    <td>${entry.place}</td>
    <td>${entry.preparing_unit}</td>
    ${office && html`<td><div class="sch-actions">
      ${!cancelled && html`<button type="button" class="secondary small" data-testid="sch-edit" onClick=${() => onEdit(entry)}>${t('sch.edit_short')}</button>`}
      ${!cancelled && !entry.meeting && html`<button type="button" class="secondary small" data-testid="sch-make-meeting" disabled=${busy}
        onClick=${makeMeeting}>${t('sch.make_meeting')}</button>`}
      ${!cancelled && !draft && html`<button type="button" class="secondary small" data-testid="sch-cancel"
        onClick=${() => setCancelling(!cancelling)}>${t('sch.cancel')}</button>`}
      ${cancelled && html`<button type="button" class="secondary small" data-testid="sch-restore" disabled=${busy}
        onClick=${() => act('schedule.entry_restore', { entry_id: entry.id })}>${t('sch.restore')}</button>`}
      ${draft && html`<button type="button" class="danger-outline small" data-testid="sch-remove" disabled=${busy}
        onClick=${() => act('schedule.entry_remove', { entry_id: entry.id })}>${t('sch.remove')}</button>`}
    </div></td>`}
  </tr>`;
}

function ScheduleTable({ data, office, run, busy, onEdit, onOpenMeeting, reload }) {
  const byDay = new Map(data.week.days.map((d) => [d, []]));
  for (const e of data.entries) if (byDay.has(e.day)) byDay.get(e.day).push(e);
  const clashing = new Set(data.clashes.flatMap((c) => c.entry_ids));
  const draft = data.week.state === 'draft';
  const rows = [];
  data.week.days.forEach((d, i) => {
    const entries = byDay.get(d);
    if (i >= 5 && entries.length === 0) return; // the weekend when it holds something
    const dayCell = html`<th scope="row" class="sch-day" rowspan=${Math.max(entries.length, 1)} data-testid="sch-day" data-day=${d}>
      ${t(WEEKDAYS[i])}<br /><span class="muted">${dayMonth(d)}</span></th>`;
    if (entries.length === 0) {
      rows.push(html`<tr key=${d} class="sch-empty">${dayCell}<td colspan=${office ? 7 : 6} class="muted">${t('sch.no_entries')}</td></tr>`);
      return;
    }
    entries.forEach((e, n) => rows.push(html`<${EntryRow} key=${e.id} entry=${e} dayCell=${n === 0 ? dayCell : null}
      office=${office} draft=${draft} run=${run} busy=${busy} onEdit=${onEdit} onOpenMeeting=${onOpenMeeting}
      reload=${reload} clashing=${clashing.has(e.id)} />`));
  });
  return html`<div class="table-wrap"><table class="schedule-table" data-testid="schedule-table">
    <thead><tr>
      <th>${t('sch.col.day')}</th><th>${t('sch.col.time')}</th><th>${t('sch.col.content')}</th><th>${t('sch.col.presiding')}</th>
      <th>${t('sch.col.attendees')}</th><th>${t('sch.col.place')}</th><th>${t('sch.col.preparing')}</th>
      ${office && html`<th></th>`}
    </tr></thead>
    <tbody>${rows}</tbody>
  </table></div>`;
}

function Clashes({ data }) {
  if (!data.clashes.length) return null;
  const byId = new Map(data.entries.map((e) => [e.id, e]));
  const who = (id) => {
    for (const e of data.entries) {
      const a = e.attendees.find((x) => x.id === id);
      if (a) return a.full_name;
      if (e.presiding_user_id === id) return e.presiding;
    }
    return `#${id}`;
  };
  return html`<div class="card sch-warnings" role="status" data-testid="schedule-clashes">
    <strong>${t('sch.clashes')}</strong>
    <ul>${data.clashes.map((c, i) => {
      const [a, b] = c.entry_ids.map((id) => byId.get(id));
      const what = c.kind === 'person' ? t('sch.clash.person', { name: who(c.user_id) }) : t('sch.clash.place', { place: c.place });
      return html`<li key=${i} data-testid="schedule-clash">${what}: ${a ? `${formatTime(a.starts_at)} ${a.content}` : ''} ↔
        ${b ? `${formatTime(b.starts_at)} ${b.content}` : ''}</li>`;
    })}</ul>
  </div>`;
}

export function WorkSchedule({ live, user, office, run, busy, error, clearError, weekKey, onWeek, onOpenMeeting }) {
  const units = useUnits();
  const users = useUsers();
  const [unitId, setUnitId] = useState(user && user.unit_id != null ? user.unit_id : null);
  const [data, setData] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [editing, setEditing] = useState(null); // null | 'new' | entry
  const wanted = parseWeekKey(weekKey);
  const path = useMemo(() => {
    const base = wanted ? `/api/schedule/${wanted.year}/${wanted.week}` : '/api/schedule/current';
    return unitId != null ? `${base}?unit_id=${encodeURIComponent(unitId)}` : base;
  }, [wanted && wanted.year, wanted && wanted.week, unitId]);
  const reload = useCallback(() => {
    request('GET', path).then((r) => { setData(r); setLoadError(null); if (unitId == null) setUnitId(r.unit.id); })
      .catch(setLoadError);
  }, [path]);
  useEffect(() => { reload(); }, [reload]);
  const matches = useCallback((msg) => !data || (msg.unit_id === data.unit.id && msg.week === data.week.key), [data]);
  useHint(live, 'schedule_changed', matches, reload);

  if (!data) {
    return html`<section class="card" data-testid="work-schedule"><${ErrorBanner} error=${loadError} />
      <p class="muted">${t('meetings.loading')}</p></section>`;
  }
  const { week } = data;
  const publish = async () => {
    const res = await run('schedule.publish', { unit_id: data.unit.id, year: week.year, week: week.week });
    if (res) reload();
  };
  const printed = () => download(`/api/schedule/${week.year}/${week.week}/export.docx?unit_id=${data.unit.id}`,
    `lich-cong-tac-tuan-${week.week}-${week.year}.docx`).catch(setLoadError);
  const saved = () => { setEditing(null); reload(); };
  return html`<section class="work-schedule" data-testid="work-schedule" data-week=${week.key} data-unit-id=${data.unit.id}>
    <div class="card">
      <div class="sch-head">
        <div>
          <h2>${t('sch.title')} — ${data.unit.name}</h2>
          <div class="sch-week-line"><strong data-testid="week-title">${weekTitle(week)}</strong> <${WeekState} week=${week} />
            ${office && week.pending_changes > 0 && html`<span class="badge warn-badge" data-testid="week-pending">
              ${t('sch.pending', { n: week.pending_changes })}</span>`}</div>
        </div>
        ${units && units.length > 1 && html`<label class="sch-unit">${t('create.unit')}
          <select data-testid="sch-unit" value=${String(data.unit.id)} onChange=${(e) => setUnitId(Number(e.currentTarget.value))}>
            ${unitTree(units).map(({ unit, depth }) => html`<option key=${unit.id} value=${String(unit.id)}>
              ${'\u00a0\u00a0'.repeat(depth)}${unitName(unit)}</option>`)}
          </select></label>`}
      </div>
      <nav class="toolbar sch-nav">
        <button type="button" class="secondary" data-testid="week-prev" onClick=${() => onWeek(week.previous)}>${t('sch.prev')}</button>
        <button type="button" class="secondary" data-testid="week-this" disabled=${week.key === data.this_week}
          onClick=${() => onWeek(data.this_week)}>${t('sch.this')}</button>
        <button type="button" class="secondary" data-testid="week-next" onClick=${() => onWeek(week.next)}>${t('sch.next')}</button>
        <span class="spacer"></span>
        ${office && html`<button type="button" class="primary" data-testid="sch-add-open" onClick=${() => setEditing('new')}>${t('sch.add')}</button>`}
        ${office && week.state === 'draft' && html`<button type="button" class="primary" data-testid="week-publish" disabled=${busy}
          onClick=${publish}>${t('sch.publish')}</button>`}
        ${office && week.state === 'published' && week.pending_changes > 0 && html`<button type="button" class="primary"
          data-testid="week-reissue" disabled=${busy} onClick=${publish}>${t('sch.reissue', { n: week.issue })}</button>`}
        ${week.state !== 'none' && html`<button type="button" class="secondary" data-testid="week-docx" onClick=${printed}>${t('sch.docx')}</button>`}
      </nav>
      <${ErrorBanner} error=${error || loadError} onDismiss=${() => { if (clearError) clearError(); setLoadError(null); }} />
    </div>
    ${editing && html`<${EntryForm} key=${editing === 'new' ? 'new' : editing.id} week=${week} entry=${editing === 'new' ? null : editing}
      users=${users} unitId=${data.unit.id} run=${run} busy=${busy} onDone=${saved} onCancel=${() => setEditing(null)} />`}
    ${office && html`<${Clashes} data=${data} />`}
    <div class="card">
      ${week.state === 'none'
        ? html`<p class="muted" data-testid="week-empty">${t('sch.none_yet')}</p>`
        : html`<${ScheduleTable} data=${data} office=${office} run=${run} busy=${busy} onEdit=${setEditing}
            onOpenMeeting=${onOpenMeeting} reload=${reload} />`}
    </div>
    ${data.changes.length > 0 && html`<details class="card sch-changes" data-testid="schedule-changes">
      <summary>${t('sch.changes', { n: data.changes.length })}</summary>
      <ul>${data.changes.map((c) => html`<li key=${c.id}><strong>${t('sch.amended', { n: c.number })}:</strong> ${c.summary}</li>`)}</ul>
    </details>`}
  </section>`;
}
