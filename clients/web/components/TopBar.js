import { html } from 'htm/preact';
import { t } from '../lib/i18n.js';
import { CalendarButton } from './CalendarLink.js';
import { ConnectionBadge } from './ConnectionBadge.js';
import { LangSwitch } from './LangSwitch.js';

export function TopBar({ appKey, live, user, onLogout, onLogoutAll }) {
  return html`<header class="topbar">
    <div class="brand"><strong>${t('app.name')}</strong><span class="app-kind">${t(appKey)}</span></div>
    <div class="topbar-right">
      ${live && html`<${ConnectionBadge} live=${live} />`}
      <${LangSwitch} />
      ${user && html`<${CalendarButton} />`}
      ${user && html`<span class="user" data-testid="current-user" data-user-id=${user.id}>${user.full_name || user.username}</span>`}
      ${onLogoutAll && html`<button type="button" class="secondary" data-testid="logout-all" onClick=${onLogoutAll}>${t('auth.logout_all')}</button>`}
      ${onLogout && html`<button type="button" class="secondary" data-testid="logout" onClick=${onLogout}>${t('auth.logout')}</button>`}
    </div>
  </header>`;
}
