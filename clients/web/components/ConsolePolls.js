import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { formatTime, t } from '../lib/i18n.js';
import { useUnits } from '../lib/hooks.js';
import { currentItem, pollOptions, tallyCounts } from '../lib/store.js';
import { PollProgress, PollResult, majorityText, optionLabel } from './PollResult.js';

const KINDS = ['motion', 'choice', 'election'];
const BASES = ['members', 'present', 'valid'];

// Bridge points of the meeting: units with an operator participant (docs/deliberation.md).
export function bridgePoints(state, units) {
  const ids = new Set(state.participants.filter((p) => p.role === 'operator' && p.unit_id != null).map((p) => String(p.unit_id)));
  return (units || []).filter((u) => ids.has(String(u.id))).map((u) => ({ code: u.code, name: u.name }));
}

function CreatePoll({ state, run, busy, onDone }) {
  const item = currentItem(state);
  const [f, setF] = useState({
    kind: 'motion', title: '', options: '', seats: '1', min: '1', max: '1', secret: false,
    base: 'members', threshold: '1/2', strict: true, quorum: '', quorum_of: 'present', duration: '', may_change: false,
    item: item ? String(item.id) : '',
  });
  const set = (k) => (e) => {
    const el = e.currentTarget;
    setF((x) => ({ ...x, [k]: el.type === 'checkbox' ? el.checked : el.value }));
  };
  const lines = f.options.split('\n').map((s) => s.trim()).filter(Boolean);
  const submit = (e) => {
    e.preventDefault();
    const data = {
      meeting_id: state.meeting.id, kind: f.kind, title: f.title.trim(),
      ...(f.item ? { agenda_item_id: Number(f.item) } : {}),
      secret: f.secret,
      majority: { base: f.base, threshold: f.threshold.trim() || '1/2', strict: f.strict },
      quorum_of: f.quorum_of,
      may_change_vote: f.secret ? false : f.may_change,
      ...(f.quorum.trim() ? { quorum: f.quorum.trim() } : {}),
      ...(Number(f.duration) > 0 ? { duration: Number(f.duration) } : {}),
    };
    if (f.kind !== 'motion') data.options = lines.map((label) => ({ label }));
    if (f.kind === 'choice') { data.min_selections = Number(f.min); data.max_selections = Number(f.max); }
    if (f.kind === 'election') data.seats = Number(f.seats);
    run('poll.create', data).then((ok) => { if (ok) onDone(); });
  };
  return html`<form class="poll-form" onSubmit=${submit} data-testid="poll-form">
    <div class="grid-form">
      <label class="wide">${t('poll.f.title')}<input required data-testid="poll-title" value=${f.title} onInput=${set('title')} /></label>
      <label>${t('poll.f.kind')}<select data-testid="poll-kind" value=${f.kind} onChange=${set('kind')}>
        ${KINDS.map((k) => html`<option key=${k} value=${k}>${t(`poll.kind.${k}`)}</option>`)}</select></label>
      <label>${t('poll.f.item')}<select data-testid="poll-item" value=${f.item} onChange=${set('item')}>
        <option value="">${t('poll.f.no_item')}</option>
        ${state.agenda.map((i) => html`<option key=${i.id} value=${String(i.id)}>${i.number}. ${i.title}</option>`)}</select></label>
      ${f.kind !== 'motion' && html`<label class="wide">${t(f.kind === 'election' ? 'poll.f.candidates' : 'poll.f.options')}
        <textarea rows="4" data-testid="poll-options" value=${f.options} onInput=${set('options')}></textarea></label>`}
      ${f.kind === 'choice' && html`<label>${t('poll.f.min')}<input type="number" min="0" data-testid="poll-min" value=${f.min} onInput=${set('min')} /></label>
        <label>${t('poll.f.max')}<input type="number" min="1" data-testid="poll-max" value=${f.max} onInput=${set('max')} /></label>`}
      ${f.kind === 'election' && html`<label>${t('poll.f.seats')}<input type="number" min="1" data-testid="poll-seats" value=${f.seats} onInput=${set('seats')} /></label>`}
      <label>${t('poll.f.base')}<select data-testid="poll-base" value=${f.base} onChange=${set('base')}>
        ${BASES.map((b) => html`<option key=${b} value=${b}>${t(`poll.basekind.${b}`)}</option>`)}</select></label>
      <label>${t('poll.f.threshold')}<input data-testid="poll-threshold" value=${f.threshold} onInput=${set('threshold')} /></label>
      <label>${t('poll.f.quorum')}<input data-testid="poll-quorum" placeholder=${state.meeting.quorum || '2/3'} value=${f.quorum} onInput=${set('quorum')} /></label>
      <label>${t('poll.f.quorum_of')}<select data-testid="poll-quorum-of" value=${f.quorum_of} onChange=${set('quorum_of')}>
        ${['present', 'voting'].map((q) => html`<option key=${q} value=${q}>${t(`poll.quorum_of.${q}`)}</option>`)}</select></label>
      <label>${t('poll.f.duration')}<input type="number" min="0" data-testid="poll-duration" value=${f.duration} onInput=${set('duration')} /></label>
    </div>
    <div class="checks">
      <label class="check"><input type="checkbox" data-testid="poll-strict" checked=${f.strict} onChange=${set('strict')} /> ${t('poll.f.strict')}</label>
      <label class="check"><input type="checkbox" data-testid="poll-secret" checked=${f.secret} onChange=${set('secret')} /> ${t('poll.f.secret')}</label>
      <label class="check"><input type="checkbox" data-testid="poll-may-change" disabled=${f.secret} checked=${f.may_change && !f.secret}
        onChange=${set('may_change')} /> ${t('poll.f.may_change')}</label>
    </div>
    <p class="muted">${majorityText({ base: f.base, threshold: f.threshold, strict: f.strict })}</p>
    <div class="buttons">
      <button type="submit" class="primary" data-testid="poll-create" disabled=${busy || !f.title.trim() || (f.kind !== 'motion' && lines.length === 0)}>${t('poll.create')}</button>
      <button type="button" class="secondary" onClick=${onDone}>${t('poll.cancel')}</button>
    </div>
  </form>`;
}

// Seated counts at each point when the poll opens (named polls only: a show of hands is not secret).
function OpenControls({ poll, state, run, busy, points, staff }) {
  const byPoint = (state.quorum && state.quorum.by_point) || {};
  const [counts, setCounts] = useState(() => Object.fromEntries(points.map((p) => [p.code, String((byPoint[p.code] && byPoint[p.code].seated) || '')])));
  const open = () => {
    const pp = {};
    if (!poll.secret) for (const [code, v] of Object.entries(counts)) if (Number(v) > 0) pp[code] = Number(v);
    run('poll.open', { meeting_id: state.meeting.id, poll_id: poll.id, ...(Object.keys(pp).length ? { points_present: pp } : {}) });
  };
  return html`<div class="open-controls">
    ${!poll.secret && points.length > 0 && html`<details><summary>${t('poll.points_at_open')}</summary>
      <div class="points-grid">${points.map((p) => html`<label key=${p.code}>${p.name}
        <input type="number" min="0" class="tiny" data-testid="poll-point-present" data-point=${p.code} value=${counts[p.code] || ''}
          onInput=${(e) => { const v = e.currentTarget.value; setCounts((c) => ({ ...c, [p.code]: v })); }} /></label>`)}</div></details>`}
    <button type="button" class="primary" data-testid="poll-open" disabled=${busy} onClick=${open}>${t('poll.open')}</button>
    ${staff && html`<button type="button" class="danger-outline small" data-testid="poll-delete" disabled=${busy}
      onClick=${() => run('poll.delete', { meeting_id: state.meeting.id, poll_id: poll.id })}>${t('poll.delete')}</button>`}
  </div>`;
}

function HandsRow({ poll, state, run, busy, code, present }) {
  const opts = pollOptions(poll);
  const prior = (poll.point_counts && poll.point_counts[code]) || {};
  const [v, setV] = useState(() => Object.fromEntries(opts.map((o) => [o.id, prior[o.id] != null ? String(prior[o.id]) : ''])));
  const send = (e) => {
    e.preventDefault();
    const counts = Object.fromEntries(opts.map((o) => [o.id, Number(v[o.id]) || 0]));
    run('poll.hands', { meeting_id: state.meeting.id, poll_id: poll.id, point: code, counts });
  };
  const name = (state.quorum && state.quorum.by_point && state.quorum.by_point[code] && state.quorum.by_point[code].name) || code;
  return html`<form class="hands-row" onSubmit=${send} data-testid="hands-row" data-point=${code}>
    <div class="hands-point"><div class="strong">${name}</div><div class="muted">${t('poll.hands_present', { n: present })}
      ${poll.point_counts && poll.point_counts[code] ? ' · ✓' : ''}</div></div>
    ${opts.map((o) => html`<label key=${o.id} class="hands-cell">${optionLabel(poll, o.id)}
      <input type="number" min="0" class="tiny" data-testid="hands-count" data-option-id=${o.id} value=${v[o.id]}
        onInput=${(e) => { const x = e.currentTarget.value; setV((s) => ({ ...s, [o.id]: x })); }} /></label>`)}
    <button type="submit" class="small" data-testid="hands-send" disabled=${busy}>${t('poll.hands_send')}</button>
  </form>`;
}

function LiveTally({ poll, state }) {
  const counts = tallyCounts(state, poll.id);
  if (!counts || poll.secret) return null;
  return html`<div class="live-tally" data-testid="live-tally"><span class="muted">${t('poll.live_tally')}:</span>
    ${pollOptions(poll).map((o) => html`<span key=${o.id} class="tally-cell" data-testid="live-tally-cell" data-option-id=${o.id}>
      ${optionLabel(poll, o.id)}: <strong>${counts[o.id] ?? 0}</strong></span>`)}</div>`;
}

function PollCard({ poll, state, run, busy, points, staff }) {
  const mid = state.meeting.id;
  const points_present = poll.points_present || {};
  const handsOk = !poll.secret && (poll.kind === 'motion' || (poll.kind === 'choice' && poll.max_selections === 1));
  return html`<li class=${`poll-card poll-${poll.state}`} data-testid="console-poll" data-poll-id=${poll.id} data-state=${poll.state}>
    <div class="poll-card-head">
      <div><span class="strong" data-testid="console-poll-title">${poll.title}</span>
        <span class=${`badge poll-state-${poll.state}`} data-testid="console-poll-state">${t(`poll.state.${poll.state}`)}</span>
        <span class="badge">${t(`poll.kind.${poll.kind}`)}</span>
        <span class="badge">${poll.secret ? t('poll.secret') : t('poll.named')}</span></div>
      <div class="muted">${majorityText(poll.majority)}${poll.kind === 'election' ? ` · ${t('poll.f.seats')}: ${poll.seats}` : ''}
        ${poll.deadline && poll.state === 'open' ? ` · ${t('poll.closes_at', { time: formatTime(poll.deadline) })}` : ''}</div>
      ${poll.kind !== 'motion' && html`<div class="muted">${pollOptions(poll).map((o) => o.label).join(' · ')}</div>`}
    </div>
    ${poll.state === 'draft' && html`<${OpenControls} poll=${poll} state=${state} run=${run} busy=${busy} points=${points} staff=${staff} />`}
    ${poll.state === 'open' && html`<${PollProgress} poll=${poll} testid="console-poll-progress" />
      <${LiveTally} poll=${poll} state=${state} />
      ${handsOk && Object.keys(points_present).length > 0 && html`<div class="hands" data-testid="hands"><div class="muted">${t('poll.hands')}</div>
        ${Object.entries(points_present).map(([code, n]) => html`<${HandsRow} key=${code} poll=${poll} state=${state}
          run=${run} busy=${busy} code=${code} present=${n} />`)}</div>`}
      <button type="button" class="danger" data-testid="poll-close" disabled=${busy}
        onClick=${() => run('poll.close', { meeting_id: mid, poll_id: poll.id })}>${t('poll.close')}</button>`}
    ${(poll.state === 'closed' || poll.state === 'published') && html`
      ${poll.state === 'closed' && html`<${PollProgress} poll=${poll} testid="console-poll-progress" />`}
      <${PollResult} poll=${poll} />
      ${poll.state === 'closed' && html`<button type="button" class="primary" data-testid="poll-publish" disabled=${busy}
        onClick=${() => run('poll.publish', { meeting_id: mid, poll_id: poll.id })}>${t('poll.publish')}</button>`}`}
  </li>`;
}

// The console's polls: create, open (with people at bridge points), live count, close, publish.
export function ConsolePolls({ state, run, busy, staff = true }) {
  const [creating, setCreating] = useState(false);
  const units = useUnits();
  const points = bridgePoints(state, units);
  const order = { open: 0, draft: 1, closed: 2, published: 3 };
  const polls = state.polls.slice().sort((a, b) => (order[a.state] ?? 9) - (order[b.state] ?? 9)
    || String(b.published_at || b.opened_at || '').localeCompare(String(a.published_at || a.opened_at || '')) || (b.id > a.id ? 1 : -1));
  return html`<section class="card polls" data-testid="console-polls">
    <div class="section-head"><h2>${t('poll.title')}</h2>
      ${staff && !creating && html`<button type="button" class="primary" data-testid="poll-create-open" onClick=${() => setCreating(true)}>${t('poll.create_open')}</button>`}</div>
    ${creating && html`<${CreatePoll} state=${state} run=${run} busy=${busy} onDone=${() => setCreating(false)} />`}
    ${polls.length === 0 ? html`<p class="muted">${t('poll.none')}</p>`
      : html`<ul class="poll-list">${polls.map((p) => html`<${PollCard} key=${p.id} poll=${p} state=${state} run=${run} busy=${busy} points=${points} staff=${staff} />`)}</ul>`}
  </section>`;
}
