import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { formatTime, t } from '../lib/i18n.js';
import { useUnits } from '../lib/hooks.js';
import { bridgePoints } from './ConsolePolls.js';

const ROLES = ['chair', 'secretary', 'delegate', 'guest', 'observer', 'operator'];

function PointRow({ code, name, info, state, run, busy }) {
  const [v, setV] = useState(info && info.seated != null ? String(info.seated) : '');
  const send = (e) => {
    e.preventDefault();
    run('attendance.point_count', { meeting_id: state.meeting.id, point: code, seated: Number(v) || 0 });
  };
  return html`<tr data-testid="point-row" data-point=${code}>
    <td>${name}</td>
    <td class="num" data-testid="point-seated">${info && info.seated != null ? info.seated : '—'}
      ${info && info.at && html`<div class="muted small-text">${formatTime(info.at)}</div>`}</td>
    ${run && html`<td><form class="point-form" onSubmit=${send}>
      <input type="number" min="0" class="tiny" aria-label=${t('att.seated')} data-testid="point-seated-input" value=${v}
        onInput=${(e) => setV(e.currentTarget.value)} />
      <button type="submit" class="small" data-testid="point-seated-save" disabled=${busy}>${t('att.report')}</button></form></td>`}
  </tr>`;
}

// Counts by role and by bridge point (docs/deliberation.md, "Attendance and quorum, live").
export function LiveAttendance({ state, run, busy }) {
  const units = useUnits();
  const q = state.quorum || {};
  const byRole = q.by_role || {};
  const byPoint = q.by_point || {};
  const points = bridgePoints(state, units);
  const codes = new Map(points.map((p) => [p.code, p.name]));
  for (const [code, info] of Object.entries(byPoint)) if (!codes.has(code)) codes.set(code, info.name || code);
  const seatedTotal = Object.values(byPoint).reduce((n, p) => n + (Number(p.seated) || 0), 0);
  return html`<section class="card live-attendance" data-testid="live-attendance">
    <h3>${t('att.by_role')}</h3>
    <table class="compact"><thead><tr><th>${t('part.role')}</th><th class="num">${t('att.present')}</th><th class="num">${t('att.invited')}</th></tr></thead>
      <tbody>${ROLES.filter((r) => byRole[r]).map((r) => html`<tr key=${r} data-testid="role-row" data-role=${r}>
        <td>${t(`role.${r}`)}</td><td class="num" data-testid="role-present">${byRole[r].present}</td>
        <td class="num" data-testid="role-invited">${byRole[r].invited}</td></tr>`)}</tbody></table>
    <h3>${t('att.by_point')} ${seatedTotal > 0 && html`<span class="muted">(${seatedTotal})</span>`}</h3>
    ${codes.size === 0 ? html`<p class="muted">${t('att.no_points')}</p>`
      : html`<div class="table-wrap"><table class="compact"><thead><tr><th>${t('att.point')}</th><th class="num">${t('att.seated')}</th>${run && html`<th></th>`}</tr></thead>
          <tbody>${[...codes.entries()].map(([code, name]) => html`<${PointRow} key=${code} code=${code} name=${name}
            info=${byPoint[code]} state=${state} run=${run} busy=${busy} />`)}</tbody></table></div>`}
  </section>`;
}
