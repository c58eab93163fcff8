import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { localInputToUtc, t } from '../lib/i18n.js';
import { ErrorBanner } from './ErrorBanner.js';

// Units in tree order (parents before children), with their depth.
export function unitTree(units) {
  const kids = new Map();
  for (const u of units) {
    const k = u.parent_id == null ? '' : String(u.parent_id);
    if (!kids.has(k)) kids.set(k, []);
    kids.get(k).push(u);
  }
  const ids = new Set(units.map((u) => String(u.id)));
  const out = [];
  const walk = (key, depth) => {
    for (const u of kids.get(key) || []) {
      out.push({ unit: u, depth });
      if (depth < 32) walk(String(u.id), depth + 1);
    }
  };
  walk('', 0);
  // Units whose parent is not in the list are roots too.
  for (const u of units) {
    if (u.parent_id != null && !ids.has(String(u.parent_id))) { out.push({ unit: u, depth: 0 }); walk(String(u.id), 1); }
  }
  return out;
}

export function unitName(u) {
  return u.name || u.title || u.code || String(u.id);
}

export function CreateMeetingForm({ defaultUnitId, run, busy, onCreated, onCancel }) {
  const [units, setUnits] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [title, setTitle] = useState('');
  const [unitId, setUnitId] = useState(defaultUnitId == null ? '' : String(defaultUnitId));
  const [place, setPlace] = useState('');
  const [startsAt, setStartsAt] = useState('');
  const [quorum, setQuorum] = useState('');
  useEffect(() => {
    api.units().then((r) => setUnits(r.units || [])).catch(setLoadError);
  }, []);
  const submit = async (e) => {
    e.preventDefault();
    const unit = (units || []).find((u) => String(u.id) === unitId);
    const data = { title: title.trim(), unit_id: unit ? unit.id : unitId };
    if (place.trim()) data.place = place.trim();
    if (startsAt) data.starts_at = localInputToUtc(startsAt);
    if (quorum.trim()) data.quorum = quorum.trim();
    const res = await run('meeting.create', data);
    if (res) {
      const r = res.result || {};
      onCreated((r.meeting && r.meeting.id) ?? r.meeting_id ?? r.id);
    }
  };
  return html`<section class="card create-meeting" data-testid="create-meeting">
    <h2>${t('create.title')}</h2>
    <${ErrorBanner} error=${loadError} />
    <form onSubmit=${submit} class="stack">
      <label>${t('create.meeting_title')}
        <input data-testid="create-title" required value=${title} onInput=${(e) => setTitle(e.currentTarget.value)} /></label>
      <label>${t('create.unit')}
        <select data-testid="create-unit" required value=${unitId} onChange=${(e) => setUnitId(e.currentTarget.value)}>
          <option value="">${t('create.pick_unit')}</option>
          ${(units ? unitTree(units) : []).map(({ unit, depth }) => html`<option key=${unit.id} value=${String(unit.id)}>
            ${'\u00a0\u00a0'.repeat(depth)}${unitName(unit)}</option>`)}
        </select></label>
      <label>${t('create.place')}
        <input data-testid="create-place" value=${place} onInput=${(e) => setPlace(e.currentTarget.value)} /></label>
      <label>${t('create.starts_at')}
        <input data-testid="create-starts-at" type="datetime-local" value=${startsAt}
          onInput=${(e) => setStartsAt(e.currentTarget.value)} /></label>
      <label>${t('create.quorum')}
        <input data-testid="create-quorum" class="narrow" pattern="\\d+/\\d+" placeholder="2/3" value=${quorum}
          onInput=${(e) => setQuorum(e.currentTarget.value)} /></label>
      <div class="buttons">
        <button type="submit" class="primary" data-testid="create-submit" disabled=${busy}>${t('create.submit')}</button>
        <button type="button" class="secondary" onClick=${onCancel}>${t('create.cancel')}</button>
      </div>
    </form>
  </section>`;
}
