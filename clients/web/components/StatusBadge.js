import { html } from 'htm/preact';
import { t } from '../lib/i18n.js';

export function StatusBadge({ status }) {
  return html`<span class=${`badge status-${status}`} data-testid="meeting-status" data-status=${status}>
    ${t(`status.${status}`)}</span>`;
}
