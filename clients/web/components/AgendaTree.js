import { html } from 'htm/preact';
import { t } from '../lib/i18n.js';

// Depth of each item from its parent chain (the list is in display order).
export function depths(agenda) {
  const byId = new Map(agenda.map((i) => [String(i.id), i]));
  const memo = new Map();
  const depth = (item, guard = 0) => {
    const id = String(item.id);
    if (memo.has(id)) return memo.get(id);
    const parent = item.parent_id == null ? null : byId.get(String(item.parent_id));
    const d = parent && guard < 32 ? depth(parent, guard + 1) + 1 : 0;
    memo.set(id, d);
    return d;
  };
  return new Map(agenda.map((i) => [String(i.id), depth(i)]));
}

export function AgendaItemBody({ item }) {
  return html`<span class="agenda-number" data-testid="agenda-number">${item.number}</span>
    <span class="agenda-body">
      <span class="agenda-title" data-testid="agenda-title">${item.title}</span>
      <span class="agenda-meta">
        ${item.presenter && html`<span data-testid="agenda-presenter">${t('agenda.presenter')}: ${item.presenter}</span>`}
        ${item.planned_minutes != null && html`<span data-testid="agenda-minutes">${t('agenda.minutes', { n: item.planned_minutes })}</span>`}
      </span>
    </span>`;
}

// Read-only agenda: numbers (1, 2, 2.1), presenter, planned minutes, the current item highlighted.
export function AgendaTree({ agenda, currentId }) {
  const depth = depths(agenda);
  return html`<section class="card agenda" data-testid="agenda-tree">
    <h2>${t('agenda.title')}</h2>
    ${agenda.length === 0
      ? html`<p class="muted" data-testid="agenda-empty">${t('agenda.empty')}</p>`
      : html`<ol class="agenda-list">${agenda.map((item) => {
          const current = currentId != null && String(item.id) === String(currentId);
          return html`<li key=${item.id} data-testid="agenda-item" data-item-id=${item.id}
            data-current=${current ? 'true' : 'false'} aria-current=${current ? 'step' : undefined}
            class=${`agenda-item depth-${Math.min(depth.get(String(item.id)) || 0, 4)}${current ? ' current' : ''}`}>
            <${AgendaItemBody} item=${item} />
            ${current && html`<span class="badge now">${t('agenda.current')}</span>`}
          </li>`;
        })}</ol>`}
  </section>`;
}
