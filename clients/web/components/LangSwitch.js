import { html } from 'htm/preact';
import { LANGS, getLang, setLang, t } from '../lib/i18n.js';

// Two buttons, VI and EN; the choice is remembered in localStorage.
export function LangSwitch() {
  const lang = getLang();
  return html`<div class="lang-switch" role="group" aria-label=${t('lang.label')}>
    ${LANGS.map((l) => html`<button type="button" key=${l} data-testid=${`lang-${l}`}
      class=${l === lang ? 'active' : ''} aria-pressed=${l === lang ? 'true' : 'false'}
      title=${t(`lang.${l}`)} onClick=${() => setLang(l)}>${l.toUpperCase()}</button>`)}
  </div>`;
}
