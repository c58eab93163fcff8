import { html } from 'htm/preact';
import { t } from '../lib/i18n.js';
import { currentItem } from '../lib/store.js';

// The item under discussion; `big` for the projector.
export function CurrentItem({ state, big }) {
  const item = currentItem(state);
  return html`<section class=${`card current-item${big ? ' big' : ''}`} data-testid="current-item"
      data-item-id=${item ? item.id : ''}>
    <div class="current-label">${t('agenda.current')}</div>
    ${item
      ? html`<div class="current-title"><span class="current-number" data-testid="current-number">${item.number}</span>
          <span data-testid="current-title">${item.title}</span></div>
          ${item.presenter && html`<div class="current-presenter">${t('agenda.presenter')}: ${item.presenter}</div>`}`
      : html`<div class="muted" data-testid="current-none">${big ? t('proj.waiting') : t('agenda.none_current')}</div>`}
  </section>`;
}
