import { html } from 'htm/preact';
import { errorText, t } from '../lib/i18n.js';

export function ErrorBanner({ error, onDismiss }) {
  if (!error) return null;
  return html`<div class="error-banner" role="alert" data-testid="error-banner" data-code=${error.code || 'unknown'}>
    <span>${errorText(error)}</span>
    ${onDismiss && html`<button type="button" class="link" onClick=${onDismiss}>${t('error.dismiss')}</button>`}
  </div>`;
}
