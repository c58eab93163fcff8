import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { t } from '../lib/i18n.js';
import { siblings } from '../lib/store.js';
import { AgendaItemBody, depths } from './AgendaTree.js';
import { OfferedDirectives } from './Directives.js';

function numberOrNull(v) {
  if (v === '' || v == null) return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? Math.round(n) : undefined;
}

// Title, presenter, minutes: used to add an item or a sub-item.
function ItemForm({ prefix, onSubmit, onCancel, busy, submitLabel }) {
  const [title, setTitle] = useState('');
  const [presenter, setPresenter] = useState('');
  const [minutes, setMinutes] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    if (!title.trim()) return;
    const ok = await onSubmit({
      title: title.trim(),
      presenter: presenter.trim() || undefined,
      planned_minutes: numberOrNull(minutes),
    });
    if (ok !== false) { setTitle(''); setPresenter(''); setMinutes(''); }
  };
  return html`<form class="item-form" onSubmit=${submit} data-testid=${`${prefix}-form`}>
    <input data-testid=${`${prefix}-title`} placeholder=${t('agenda.item_title')} aria-label=${t('agenda.item_title')}
      required value=${title} onInput=${(e) => setTitle(e.currentTarget.value)} />
    <input data-testid=${`${prefix}-presenter`} placeholder=${t('agenda.presenter')} aria-label=${t('agenda.presenter')}
      value=${presenter} onInput=${(e) => setPresenter(e.currentTarget.value)} />
    <input data-testid=${`${prefix}-minutes`} class="narrow" type="number" min="0" placeholder=${t('agenda.planned_minutes')}
      aria-label=${t('agenda.planned_minutes')} value=${minutes} onInput=${(e) => setMinutes(e.currentTarget.value)} />
    <button type="submit" class="primary" data-testid=${`${prefix}-submit`} disabled=${busy}>${submitLabel}</button>
    ${onCancel && html`<button type="button" class="secondary" onClick=${onCancel}>${t('agenda.cancel')}</button>`}
  </form>`;
}

function RenameForm({ item, onSave, onCancel, busy }) {
  const [title, setTitle] = useState(item.title);
  const [presenter, setPresenter] = useState(item.presenter || '');
  const [minutes, setMinutes] = useState(item.planned_minutes ?? '');
  const submit = (e) => {
    e.preventDefault();
    if (!title.trim()) return;
    // Send only what changed; an emptied field is cleared with null.
    const v = {};
    if (title.trim() !== item.title) v.title = title.trim();
    if (presenter.trim() !== (item.presenter || '')) v.presenter = presenter.trim() || null;
    const m = numberOrNull(minutes) ?? null;
    if (m !== (item.planned_minutes ?? null)) v.planned_minutes = m;
    if (Object.keys(v).length === 0) { onCancel(); return; }
    onSave(v);
  };
  return html`<form class="item-form" onSubmit=${submit}>
    <input data-testid="agenda-rename-input" aria-label=${t('agenda.item_title')} required value=${title}
      onInput=${(e) => setTitle(e.currentTarget.value)} />
    <input data-testid="agenda-rename-presenter" placeholder=${t('agenda.presenter')} aria-label=${t('agenda.presenter')}
      value=${presenter} onInput=${(e) => setPresenter(e.currentTarget.value)} />
    <input class="narrow" type="number" min="0" data-testid="agenda-rename-minutes" aria-label=${t('agenda.planned_minutes')}
      value=${minutes} onInput=${(e) => setMinutes(e.currentTarget.value)} />
    <button type="submit" class="primary" data-testid="agenda-rename-save" disabled=${busy}>${t('agenda.save')}</button>
    <button type="button" class="secondary" onClick=${onCancel}>${t('agenda.cancel')}</button>
  </form>`;
}

// The server's rules, mirrored so that only valid controls are shown.
const CURRENT_ALLOWED = ['published', 'in_session'];

function EditorRow({ state, item, depth, run, busy, editable }) {
  const [mode, setMode] = useState(null); // null | 'rename' | 'sub' | 'remove'
  const meetingId = state.meeting.id;
  const current = String(state.meeting.current_item_id) === String(item.id);
  const canSetCurrent = CURRENT_ALLOWED.includes(state.meeting.status);
  const sibs = siblings(state, item);
  const idx = sibs.findIndex((s) => String(s.id) === String(item.id));
  // Move to the slot of the neighbour: positions are those the server reports.
  const move = (delta) => run('agenda.move', {
    meeting_id: meetingId, item_id: item.id, parent_id: item.parent_id ?? null, position: sibs[idx + delta].position,
  });
  const done = (p) => p.then((r) => { if (r) setMode(null); return Boolean(r); });
  return html`<li class=${`editor-row depth-${Math.min(depth, 4)}${current ? ' current' : ''}`} data-testid="agenda-row"
      data-item-id=${item.id} data-current=${current ? 'true' : 'false'}>
    ${mode === 'rename'
      ? html`<${RenameForm} item=${item} busy=${busy} onCancel=${() => setMode(null)}
          onSave=${(v) => done(run('agenda.update', { meeting_id: meetingId, item_id: item.id, ...v }))} />`
      : html`<div class="editor-line">
          <${AgendaItemBody} item=${item} />
          ${editable && html`<div class="row-actions">
            <button type="button" class="small" data-testid="agenda-up" disabled=${busy || idx <= 0}
              title=${t('agenda.up')} onClick=${() => move(-1)}>↑<span class="sr">${t('agenda.up')}</span></button>
            <button type="button" class="small" data-testid="agenda-down" disabled=${busy || idx >= sibs.length - 1}
              title=${t('agenda.down')} onClick=${() => move(1)}>↓<span class="sr">${t('agenda.down')}</span></button>
            <button type="button" class="small" data-testid="agenda-rename" onClick=${() => setMode('rename')}>${t('agenda.rename')}</button>
            <button type="button" class="small" data-testid="agenda-add-sub" onClick=${() => setMode(mode === 'sub' ? null : 'sub')}>${t('agenda.add_sub')}</button>
            ${!canSetCurrent ? null : current
              ? html`<button type="button" class="small" data-testid="agenda-clear-current" disabled=${busy}
                  onClick=${() => run('agenda.set_current', { meeting_id: meetingId, item_id: null })}>${t('agenda.clear_current')}</button>`
              : html`<button type="button" class="small" data-testid="agenda-set-current" disabled=${busy}
                  onClick=${() => run('agenda.set_current', { meeting_id: meetingId, item_id: item.id })}>${t('agenda.set_current')}</button>`}
            ${mode === 'remove'
              ? html`<button type="button" class="small danger" data-testid="agenda-remove-confirm" disabled=${busy}
                  onClick=${() => done(run('agenda.remove', { meeting_id: meetingId, item_id: item.id }))}>${t('agenda.remove_confirm')}</button>`
              : html`<button type="button" class="small danger-outline" data-testid="agenda-remove"
                  onClick=${() => setMode('remove')}>${t('agenda.remove')}</button>`}
          </div>`}
        </div>`}
    ${mode === 'sub' && html`<div class="sub-form"><span class="muted">${t('agenda.add_sub_to', { n: item.number })}</span>
      <${ItemForm} prefix="agenda-sub" busy=${busy} submitLabel=${t('agenda.add')} onCancel=${() => setMode(null)}
        onSubmit=${(v) => done(run('agenda.add', { meeting_id: meetingId, parent_id: item.id, ...v }))} /></div>`}
  </li>`;
}

// The secretariat's agenda: add, add sub-item, rename, move, remove, set current; and the open
// directives of earlier meetings, offered for review (docs/directives.md).
export function AgendaEditor({ state, run, busy }) {
  const depth = depths(state.agenda);
  const editable = state.meeting.status !== 'closed';
  return html`<section class="card agenda-editor" data-testid="agenda-editor">
    <h2>${t('agenda.title')}</h2>
    ${state.agenda.length === 0
      ? html`<p class="muted" data-testid="agenda-empty">${t('agenda.empty')}</p>`
      : html`<ol class="editor-list">${state.agenda.map((item) => html`<${EditorRow} key=${item.id} state=${state}
          item=${item} depth=${depth.get(String(item.id)) || 0} run=${run} busy=${busy} editable=${editable} />`)}</ol>`}
    ${editable && html`<div class="add-item">
      <${ItemForm} prefix="agenda-add" busy=${busy} submitLabel=${t('agenda.add')}
        onSubmit=${(v) => run('agenda.add', { meeting_id: state.meeting.id, ...v }).then(Boolean)} />
    </div>`}
    ${editable && html`<${OfferedDirectives} state=${state} run=${run} busy=${busy} />`}
  </section>`;
}
