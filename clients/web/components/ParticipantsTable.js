import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { formatTime, t } from '../lib/i18n.js';
import { useUsers } from '../lib/hooks.js';
import { attendanceOf } from '../lib/store.js';

// Check-in opens with publication and ends at close (the server's rule, mirrored).
const ATTENDANCE_OPEN = ['published', 'in_session', 'adjourned'];
const ROLES = ['chair', 'secretary', 'delegate', 'guest', 'observer', 'operator'];

function ParticipantRow({ state, p, run, busy, open }) {
  const [asking, setAsking] = useState(null); // 'absent' | 'excused' while the reason is typed
  const [reason, setReason] = useState('');
  const att = attendanceOf(state, p.id);
  const status = (att && att.status) || 'unknown';
  const set = (s, r) => run('attendance.set', {
    meeting_id: state.meeting.id, participant_id: p.id, status: s, ...(r ? { reason: r } : {}),
  }).then((ok) => { if (ok) { setAsking(null); setReason(''); } });
  return html`<tr data-testid="participant-row" data-participant-id=${p.id} data-user-id=${p.user_id ?? ''}
      class=${`att-${status}`}>
    <td><span data-testid="participant-name" class="strong">${p.full_name}</span>
      ${p.title && html`<br /><span class="muted">${p.title}</span>`}</td>
    <td data-testid="participant-role">${t(`role.${p.role}`)}</td>
    <td>
      <span class=${`badge att-badge att-${status}`} data-testid="participant-status" data-status=${status}>${t(`att.${status}`)}</span>
      ${att && att.at && status !== 'unknown' && html` <span class="muted">${formatTime(att.at)}</span>`}
      ${att && att.reason && html`<div class="muted" data-testid="participant-reason">${t('part.reason')}: ${att.reason}</div>`}
    </td>
    <td><div class="att-actions">
      ${!open ? null : asking
        ? html`<form class="reason-form" onSubmit=${(e) => { e.preventDefault(); set(asking, reason.trim()); }}>
            <input data-testid="reason-input" placeholder=${t('part.reason_placeholder')} aria-label=${t('part.reason')}
              required=${asking === 'excused'} value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} />
            <button type="submit" class="small primary" data-testid="reason-confirm" disabled=${busy}>${t('part.confirm')}</button>
            <button type="button" class="small secondary" onClick=${() => setAsking(null)}>${t('agenda.cancel')}</button>
          </form>`
        : html`<button type="button" class="small" data-testid="mark-present" disabled=${busy || status === 'present'}
              onClick=${() => set('present')}>${t('part.mark_present')}</button>
            <button type="button" class="small" data-testid="mark-absent" disabled=${busy}
              onClick=${() => setAsking('absent')}>${t('part.mark_absent')}</button>
            <button type="button" class="small" data-testid="mark-excused" disabled=${busy}
              onClick=${() => setAsking('excused')}>${t('part.mark_excused')}</button>`}
    </div></td>
  </tr>`;
}

// Adds an account to the meeting with a role.
function AddParticipant({ state, run, busy }) {
  const users = useUsers();
  const [userId, setUserId] = useState('');
  const [role, setRole] = useState('delegate');
  if (!users || users.length === 0) return null;
  const present = new Set(state.participants.map((p) => String(p.user_id)));
  const candidates = users.filter((u) => !present.has(String(u.id)));
  const submit = (e) => {
    e.preventDefault();
    const u = candidates.find((x) => String(x.id) === userId);
    if (!u) return;
    run('participant.add', { meeting_id: state.meeting.id, user_id: u.id, role })
      .then((ok) => { if (ok) setUserId(''); });
  };
  return html`<form class="inline-form add-participant" onSubmit=${submit} data-testid="participant-add-form">
    <label>${t('part.add_account')}
      <select data-testid="participant-add-user" required value=${userId} onChange=${(e) => setUserId(e.currentTarget.value)}>
        <option value="">${t('pair.pick_account')}</option>
        ${candidates.map((u) => html`<option key=${u.id} value=${String(u.id)}>${u.full_name} (${u.username})</option>`)}
      </select></label>
    <label>${t('part.role')}
      <select data-testid="participant-add-role" value=${role} onChange=${(e) => setRole(e.currentTarget.value)}>
        ${ROLES.map((r) => html`<option key=${r} value=${r}>${t(`role.${r}`)}</option>`)}
      </select></label>
    <button type="submit" class="primary" data-testid="participant-add-submit" disabled=${busy || !userId}>${t('part.add')}</button>
  </form>`;
}

// Participants with their role and attendance; the secretariat marks present/absent/excused.
export function ParticipantsTable({ state, run, busy }) {
  const open = ATTENDANCE_OPEN.includes(state.meeting.status);
  return html`<section class="card participants" data-testid="participants-table">
    <h2>${t('part.title')} <span class="muted">(${state.participants.length})</span></h2>
    ${state.meeting.status !== 'closed' && html`<${AddParticipant} state=${state} run=${run} busy=${busy} />`}
    ${state.participants.length === 0
      ? html`<p class="muted">${t('part.empty')}</p>`
      : html`<div class="table-wrap"><table>
          <thead><tr><th>${t('part.name')}</th><th>${t('part.role')}</th><th>${t('part.attendance')}</th><th></th></tr></thead>
          <tbody>${state.participants.map((p) => html`<${ParticipantRow} key=${p.id} state=${state} p=${p}
            run=${run} busy=${busy} open=${open} />`)}</tbody>
        </table></div>`}
  </section>`;
}
