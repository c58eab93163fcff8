import { html } from 'htm/preact';
import { formatDateTime, t } from '../lib/i18n.js';
import { StatusBadge } from './StatusBadge.js';

export function MeetingHeader({ meeting, onBack, children }) {
  return html`<div class="meeting-header">
    ${onBack && html`<button type="button" class="link back" data-testid="back-to-list" onClick=${onBack}>
      ${t('meetings.back')}</button>`}
    <div class="meeting-header-row">
      <div>
        <h1 data-testid="meeting-heading">${meeting.title}</h1>
        <p class="muted">
          ${meeting.starts_at ? formatDateTime(meeting.starts_at) : t('meeting.no_time')}
          ${' · '}${meeting.place || t('meeting.no_place')}
        </p>
      </div>
      <${StatusBadge} status=${meeting.status} />
    </div>
    ${children}
  </div>`;
}
