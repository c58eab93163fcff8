import { html } from 'htm/preact';
import { t } from '../lib/i18n.js';
import { attendanceCounts } from '../lib/store.js';

const STATUSES = ['present', 'absent', 'excused', 'unknown'];

// Counts by attendance status, and the quorum.
export function AttendancePanel({ state }) {
  const counts = attendanceCounts(state);
  const q = state.quorum;
  return html`<section class="card attendance" data-testid="attendance-summary">
    <h2>${t('att.summary')}</h2>
    <dl class="counts">${STATUSES.map((s) => html`<div key=${s} class=${`count count-${s}`}>
      <dt>${t(`att.${s}`)}</dt><dd data-testid=${`att-count-${s}`}>${counts[s] || 0}</dd></div>`)}</dl>
    ${q && html`<div class=${`quorum ${q.reached ? 'ok' : 'not-ok'}`} data-testid="quorum-panel"
        data-reached=${q.reached ? 'true' : 'false'}>
      <div class="quorum-title">${t('quorum.title')}</div>
      <div class="quorum-numbers" data-testid="quorum-present">${t('quorum.present', q)}</div>
      <div class="muted" data-testid="quorum-required">${t('quorum.required', { required: q.required, fraction: q.fraction })}</div>
      <div class="quorum-status" data-testid="quorum-status">${q.reached ? t('quorum.reached') : t('quorum.not_reached')}</div>
    </div>`}
  </section>`;
}
