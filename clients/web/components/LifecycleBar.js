import { html } from 'htm/preact';
import { t } from '../lib/i18n.js';

// Which lifecycle steps are valid from each status.
export const TRANSITIONS = {
  draft: ['publish'],
  published: ['start'],
  in_session: ['adjourn', 'close'],
  adjourned: ['resume', 'close'],
  closed: [],
};

export function LifecycleBar({ meeting, run, busy }) {
  const steps = TRANSITIONS[meeting.status] || [];
  return html`<div class="lifecycle" data-testid="lifecycle">
    <span class="lifecycle-label">${t('life.title')}:</span>
    ${steps.length === 0 && html`<span class="muted">${t('life.none')}</span>`}
    ${steps.map((s) => html`<button type="button" key=${s} data-testid=${`life-${s}`} disabled=${busy}
      class=${s === 'close' ? 'danger' : 'primary'}
      onClick=${() => run(`meeting.${s}`, { meeting_id: meeting.id })}>${t(`life.${s}`)}</button>`)}
  </div>`;
}
