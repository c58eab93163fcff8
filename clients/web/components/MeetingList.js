import { html } from 'htm/preact';
import { formatDateTime, t } from '../lib/i18n.js';
import { ErrorBanner } from './ErrorBanner.js';
import { StatusBadge } from './StatusBadge.js';

// The meetings this user may see, each a large button that opens it.
export function MeetingList({ meetings, error, onOpen, title }) {
  return html`<section class="card meeting-list" data-testid="meeting-list">
    <h2>${title || t('meetings.title')}</h2>
    <${ErrorBanner} error=${error} />
    ${meetings == null
      ? html`<p class="muted">${t('meetings.loading')}</p>`
      : meetings.length === 0
        ? html`<p class="muted" data-testid="meetings-empty">${t('meetings.empty')}</p>`
        : html`<ul class="rows">${meetings.map((m) => html`<li key=${m.id}>
            <button type="button" class="meeting-row" data-testid="meeting-row" data-meeting-id=${m.id}
              data-status=${m.status} onClick=${() => onOpen(m.id)}>
              <span class="meeting-row-main">
                <span class="meeting-row-title" data-testid="meeting-title">${m.title}</span>
                <span class="muted">${m.starts_at ? formatDateTime(m.starts_at) : t('meeting.no_time')}
                  ${' · '}${m.place || t('meeting.no_place')}</span>
              </span>
              <${StatusBadge} status=${m.status} />
            </button></li>`)}</ul>`}
  </section>`;
}
