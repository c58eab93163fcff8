import { html } from 'htm/preact';
import { errorText, formatTime, t } from '../lib/i18n.js';
import { useAction } from '../lib/hooks.js';
import { attendanceOf } from '../lib/store.js';

// The delegate's own check-in ("Điểm danh").
export function CheckIn({ live, state }) {
  const action = useAction();
  const pid = state.me && state.me.participant_id;
  if (pid == null) return html`<p class="muted" data-testid="not-participant">${t('att.not_participant')}</p>`;
  const mine = attendanceOf(state, pid);
  const status = (mine && mine.status) || 'unknown';
  const checkIn = () => action.run(() => live.command('attendance.check_in', { meeting_id: state.meeting.id }));
  return html`<section class="card check-in" data-testid="my-attendance" data-status=${status}>
    ${status === 'present'
      ? html`<p class="checked-in" data-testid="checked-in">✓ ${t('att.checked_in', { time: formatTime(mine.at) })}</p>`
      : html`<button type="button" class="primary huge" data-testid="check-in" disabled=${action.busy}
          onClick=${checkIn}>${t('att.check_in')}</button>
          ${status !== 'unknown' && html`<p class="muted">${t(`att.${status}`)}</p>`}`}
    ${action.error && html`<p class="error-text" role="alert" data-testid="check-in-error">${errorText(action.error)}</p>`}
  </section>`;
}
