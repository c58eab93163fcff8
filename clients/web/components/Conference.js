// The online conference (docs/conference.md) in the console ("Hội nghị trực tuyến" tab), on the
// operations screen (/ops) and on the bridge point's page (/bridge). The conference itself comes
// with the meeting's state (state.conference); its points from the live board (lib/conference.js).

import { html } from 'htm/preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { request } from '../lib/api.js';
import {
  ConferenceBoard, MEDIA_STATES, STATES, filterPoints, floorHolder, levelsBelow, mutedHere, pointRequests,
  selectPoints, sparkline, totals, treeOrder,
} from '../lib/conference.js';
import { MediaSession, connectionTest } from '../lib/conference-media.js';
import { errorText, formatDateTime, formatTime, t } from '../lib/i18n.js';
import { useUnits } from '../lib/hooks.js';
import { dismissFloorNotice } from '../lib/store.js';
import { newKey } from '../lib/live.js';

const SHOWN = 300; // rows drawn at once; the rest behind "show more"

// The live board of a meeting, kept current while the component is mounted.
export function useConferenceBoard(live, meetingId, enabled = true) {
  const [, setTick] = useState(0);
  const [board, setBoard] = useState(null);
  useEffect(() => {
    if (!live || meetingId == null || !enabled) return undefined;
    const b = new ConferenceBoard(live, meetingId).start();
    const off = b.subscribe(() => setTick((n) => n + 1));
    setBoard(b);
    return () => { off(); b.stop(); setBoard(null); };
  }, [live, meetingId, enabled]);
  return board;
}

const pct = (x) => (x == null ? '—' : `${(x * 100).toFixed(x < 0.1 ? 1 : 0)} %`);
const ms = (x) => (x == null ? '—' : `${Math.round(x)} ms`);

export function StateBadge({ state }) {
  return html`<span class=${`badge conf-state conf-${state}`} data-testid="point-state" data-state=${state}>${t(`conf.state.${state}`)}</span>`;
}

export function LinkBadge({ link }) {
  if (!link) return html`<span class="muted" data-testid="point-link" data-link="">—</span>`;
  return html`<span class=${`badge link-${link}`} data-testid="point-link" data-link=${link}>${t(`conf.link.${link}`)}</span>`;
}

function TestBadge({ test }) {
  if (!test) return html`<span class="muted" data-testid="point-test" data-passed="">${t('conf.test.none')}</span>`;
  return html`<span class=${`badge ${test.passed ? 'ok-badge' : 'link-critical'}`} data-testid="point-test"
      data-passed=${test.passed ? 'true' : 'false'} title=${(test.reasons || []).map((r) => t(`conf.reason.${r}`)).join(', ')}>
    ${test.passed ? t('conf.test.passed') : t('conf.test.failed')}</span>`;
}

function ConferenceBadge({ conference }) {
  return html`<span class=${`badge conf-${conference.state}`} data-testid="conf-state" data-state=${conference.state}>
    ${t(`conf.cstate.${conference.state}`)}</span>`;
}

// The units in tree order, for pickers: [{unit, depth}].
function UnitOptions({ units, only = null }) {
  return treeOrder(units).filter(({ unit }) => !only || only(unit)).map(({ unit, depth }) => html`<option key=${unit.id}
    value=${unit.id}>${'\u00a0\u00a0'.repeat(depth)}${unit.name} (${unit.level})</option>`);
}

function ScheduleForm({ state, units, run, busy }) {
  const [host, setHost] = useState(String(state.meeting.unit_id));
  const submit = (e) => {
    e.preventDefault();
    run('conference.schedule', { meeting_id: state.meeting.id, host_unit_id: Number(host) });
  };
  return html`<form class="stack" onSubmit=${submit} data-testid="conf-schedule-form">
    <p class="muted">${t('conf.none_hint')}</p>
    <label>${t('conf.host')}
      <select data-testid="conf-host" value=${host} onChange=${(e) => setHost(e.currentTarget.value)}>
        <${UnitOptions} units=${units || []} /></select></label>
    <button type="submit" class="primary" data-testid="conf-schedule" disabled=${busy}>${t('conf.schedule')}</button>
  </form>`;
}

function InviteForm({ state, units, board, run, busy }) {
  const parents = useMemo(() => new Set((units || []).map((u) => String(u.parent_id))), [units]);
  const [root, setRoot] = useState(String(state.conference.host ? state.conference.host.unit_id : state.meeting.unit_id));
  const [levels, setLevels] = useState([]);
  const day = (state.conference.starts_at || state.meeting.starts_at || new Date().toISOString()).slice(0, 10);
  const offered = levelsBelow(units || [], root, day);
  const chosen = selectPoints(units || [], root, levels, day);
  const fresh = chosen.filter((u) => !(board && board.points.has(String(u.id))));
  const toggle = (level) => setLevels((ls) => (ls.includes(level) ? ls.filter((x) => x !== level) : [...ls, level]));
  const submit = (e) => {
    e.preventDefault();
    run('conference.invite', { meeting_id: state.meeting.id, root_unit_id: Number(root), levels });
  };
  return html`<form class="stack conf-invite" onSubmit=${submit} data-testid="conf-invite-form">
    <h3>${t('conf.invite_title')}</h3>
    <label>${t('conf.invite_root')}
      <select data-testid="conf-invite-root" value=${root} onChange=${(e) => { setRoot(e.currentTarget.value); setLevels([]); }}>
        <${UnitOptions} units=${units || []} only=${(u) => parents.has(String(u.id))} /></select></label>
    <fieldset class="conf-levels"><legend>${t('conf.invite_levels')}</legend>
      ${offered.map((level) => html`<label class="check" key=${level}><input type="checkbox" data-testid="conf-invite-level"
        data-level=${level} checked=${levels.includes(level)} onChange=${() => toggle(level)} /> ${level}</label>`)}</fieldset>
    <p class="muted" data-testid="conf-invite-preview" data-count=${chosen.length} data-new=${fresh.length}>
      ${t('conf.invite_preview', { n: chosen.length, k: fresh.length })}</p>
    <button type="submit" class="primary" data-testid="conf-invite" disabled=${busy || fresh.length === 0}>
      ${t('conf.invite', { n: fresh.length })}</button>
  </form>`;
}

function Controls({ state, run, busy, staff }) {
  const c = state.conference;
  const mid = state.meeting.id;
  const holder = floorHolder(c);
  const live = c.state === 'open' || c.state === 'locked';
  return html`<div class="conf-controls" data-testid="conf-controls">
    <div class="conf-head">
      <${ConferenceBadge} conference=${c} />
      <span>${t('conf.host')}: <strong data-testid="conf-host-name">${c.host && c.host.name}</strong></span>
      <span data-testid="conf-floor" data-floor=${c.floor ? c.floor.code : ''}>${t('conf.floor')}: <strong>${holder ? holder.name : '—'}</strong>${holder && holder.host ? html` <span class="muted">(${t('conf.host_feed')})</span>` : ''}</span>
      ${c.mute_all && html`<span class="badge warn-badge" data-testid="conf-muted">${t('conf.muted_all')}</span>`}
      <span class="muted">${t('conf.invited_n', { n: c.invited })}</span>
    </div>
    <div class="row-actions">
      ${c.state === 'scheduled' && html`<button type="button" class="primary" data-testid="conf-open" disabled=${busy}
        onClick=${() => run('conference.open', { meeting_id: mid })}>${t('conf.open')}</button>`}
      ${c.state === 'open' && html`<button type="button" data-testid="conf-lock" disabled=${busy}
        onClick=${() => run('conference.lock', { meeting_id: mid })}>${t('conf.lock')}</button>`}
      ${c.state === 'locked' && html`<button type="button" data-testid="conf-unlock" disabled=${busy}
        onClick=${() => run('conference.unlock', { meeting_id: mid })}>${t('conf.unlock')}</button>`}
      ${live && html`<button type="button" data-testid="conf-mute-all" aria-pressed=${c.mute_all ? 'true' : 'false'} disabled=${busy}
        onClick=${() => run('conference.mute_all', { meeting_id: mid, muted: !c.mute_all })}>
        ${c.mute_all ? t('conf.unmute_all') : t('conf.mute_all')}</button>`}
      ${live && c.floor && html`<button type="button" class="danger-outline" data-testid="conf-revoke" disabled=${busy}
        onClick=${() => run('floor.revoke', { meeting_id: mid })}>${t('conf.revoke')}</button>`}
      ${c.state !== 'ended' && (staff || live) && html`<button type="button" class="danger-outline" data-testid="conf-end" disabled=${busy}
        onClick=${() => window.confirm(t('conf.end_confirm')) && run('conference.end', { meeting_id: mid })}>${t('conf.end')}</button>`}
    </div>
  </div>`;
}

function FloorRequests({ state, board, run, busy }) {
  const requests = pointRequests(state.speakers);
  const live = state.conference.state === 'open' || state.conference.state === 'locked';
  return html`<div class="conf-requests" data-testid="conf-requests">
    <h3>${t('conf.requests')} <span class="muted">(${requests.length})</span></h3>
    ${requests.length === 0 ? html`<p class="muted">${t('conf.requests_none')}</p>`
      : html`<ol class="speaker-list">${requests.map((r) => {
        const p = [...(board ? board.points.values() : [])].find((x) => x.code === r.point);
        return html`<li key=${r.id} class="speaker-row" data-testid="conf-request" data-request-id=${r.id} data-point=${r.point}>
          <div><strong>${r.name}</strong> ${p && html`<${StateBadge} state=${p.state} />`}
            <div class="muted">${r.topic || t('spk.no_topic')}</div></div>
          <button type="button" class="primary small" data-testid="conf-grant-request" disabled=${busy || !live}
            onClick=${() => run('floor.grant', { meeting_id: state.meeting.id, request_id: r.id })}>${t('conf.grant')}</button>
        </li>`;
      })}</ol>`}
  </div>`;
}

export function LevelTotals({ sums, testid = 'level-totals' }) {
  return html`<div class="table-wrap"><table class="compact" data-testid=${testid}>
    <thead><tr><th>${t('conf.level')}</th><th class="num">${t('conf.points')}</th>
      <th class="num">${t('conf.state.on_air')}</th><th class="num">${t('conf.connected')}</th>
      <th class="num">${t('conf.state.dropped')}</th><th class="num">${t('conf.test.passed')}</th>
      <th class="num">${t('conf.seated')}</th></tr></thead>
    <tbody>${[...sums.by_level, { ...sums, level: t('conf.all_levels'), whole: true }].map((x) => html`<tr key=${x.level}
        class=${x.whole ? 'strong' : ''} data-testid="level-row" data-level=${x.whole ? '' : x.level} data-points=${x.points}
        data-seated=${x.seated}>
      <td>${x.level}</td><td class="num">${x.points}</td><td class="num">${x.by_state.on_air}</td>
      <td class="num">${x.points - x.by_state.invited - x.by_state.dropped}</td><td class="num">${x.by_state.dropped}</td>
      <td class="num">${x.passed}</td><td class="num">${x.seated}</td></tr>`)}</tbody></table></div>`;
}

function RollCall({ state, board, run, busy }) {
  const [all, setAll] = useState(false);
  if (!board || !board.loaded) return html`<p class="muted">${t('meeting.loading')}</p>`;
  const points = board.list();
  const sums = totals(points, board.levels);
  const live = state.conference.state === 'open' || state.conference.state === 'locked';
  const shown = all ? points : points.slice(0, SHOWN);
  return html`<div class="conf-roll" data-testid="conf-roll">
    <h3>${t('conf.roll')}</h3>
    <p class="muted" data-testid="conf-tests" data-passed=${sums.passed} data-failed=${sums.failed}>
      ${t('conf.tests_summary', { passed: sums.passed, failed: sums.failed, untested: sums.untested })}</p>
    <${LevelTotals} sums=${sums} />
    <div class="table-wrap"><table class="compact conf-points">
      <thead><tr><th>${t('conf.point')}</th><th>${t('conf.state')}</th><th>${t('conf.link')}</th><th>${t('conf.test')}</th>
        <th class="num">${t('conf.seated')}</th><th></th></tr></thead>
      <tbody>${shown.map((p) => html`<tr key=${p.unit_id} data-testid="roll-point" data-code=${p.code} data-state=${p.state}
          class=${p.floor ? 'has-floor' : ''}>
        <td><strong>${p.name}</strong>${p.host ? html` <span class="badge">${t('conf.host')}</span>` : ''}
          ${p.floor ? html` <span class="badge now" data-testid="roll-floor">${t('conf.has_floor')}</span>` : ''}
          ${!p.operator && !p.host ? html`<div class="muted small-text">${t('conf.no_operator')}</div>` : ''}</td>
        <td><${StateBadge} state=${p.state} /></td><td><${LinkBadge} link=${p.link} /></td><td><${TestBadge} test=${p.test} /></td>
        <td class="num" data-testid="roll-seated">${p.seated ?? '—'}</td>
        <td>${live && !p.host && !p.floor && MEDIA_STATES.includes(p.state) && html`<button type="button" class="small primary"
          data-testid="conf-grant-point" disabled=${busy}
          onClick=${() => run('floor.grant', { meeting_id: state.meeting.id, unit_id: p.unit_id })}>${t('conf.grant')}</button>`}</td>
      </tr>`)}</tbody></table></div>
    ${!all && points.length > SHOWN && html`<button type="button" class="link" onClick=${() => setAll(true)}>
      ${t('conf.show_all', { n: points.length })}</button>`}
  </div>`;
}

// The floor given back by the system: the chair must know why the picture changed.
function FloorNotices({ notices, onDismiss }) {
  if (!notices || !notices.length) return null;
  return html`<div class="floor-notices">${notices.map((n) => html`<div key=${n.seq} class="floor-notice warn" role="alert"
      data-testid="floor-returned" data-reason=${n.reason}>
    <span>${t(`conf.floor_returned.${n.reason === 'media_lost' ? 'media_lost' : 'dropped'}`, { name: n.point.name })}</span>
    ${n.at && html` <span class="muted">${formatTime(n.at)}</span>`}
    <button type="button" class="link" onClick=${() => onDismiss(n.seq)}>${t('doc.dismiss')}</button>
  </div>`)}</div>`;
}

// The console's "Hội nghị trực tuyến" tab.
export function ConsoleConference({ live, state, run, busy, staff }) {
  const units = useUnits();
  const board = useConferenceBoard(live, state.meeting.id, !!state.conference);
  const c = state.conference;
  const sync = live.meetings.get(String(state.meeting.id));
  return html`<section class="card conference" data-testid="console-conference">
    <h2>${t('conf.title')}</h2>
    <${FloorNotices} notices=${state.floorNotices}
      onDismiss=${(seq) => sync && sync.store.update((s) => dismissFloorNotice(s, seq))} />
    ${!c && (staff ? html`<${ScheduleForm} state=${state} units=${units} run=${run} busy=${busy} />`
      : html`<p class="muted">${t('conf.none')}</p>`)}
    ${c && html`<${Controls} state=${state} run=${run} busy=${busy} staff=${staff} />
      ${staff && (c.state === 'scheduled' || c.state === 'open') && html`<${InviteForm} state=${state} units=${units}
        board=${board} run=${run} busy=${busy} />`}
      <${FloorRequests} state=${state} board=${board} run=${run} busy=${busy} />
      <${RollCall} state=${state} board=${board} run=${run} busy=${busy} />`}
  </section>`;
}

// ------------------------------------------------------------------ the operations screen

function History({ meetingId, point, onClose }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let stop = false;
    request('GET', `/api/meetings/${encodeURIComponent(meetingId)}/conference/points/${encodeURIComponent(point.unit_id)}/links`)
      .then((r) => { if (!stop) setData(r.samples || []); })
      .catch((e) => { if (!stop) setError(e); });
    return () => { stop = true; };
  }, [meetingId, point.unit_id, point.link_at]);
  const recent = (data || []).slice(-12).reverse();
  return html`<section class="card ops-history" data-testid="ops-history" data-code=${point.code}>
    <div class="conf-head"><h3>${t('ops.history', { name: point.name })}</h3>
      <button type="button" class="link" data-testid="ops-history-close" onClick=${onClose}>${t('cal.close')}</button></div>
    ${error && html`<p class="error-text">${errorText(error)}</p>`}
    ${data && data.length === 0 && html`<p class="muted" data-testid="ops-history-empty">${t('ops.history_none')}</p>`}
    ${data && data.length > 0 && html`<svg class="sparkline" viewBox="0 0 160 32" width="320" height="64" role="img"
        aria-label=${t('ops.loss_line')} data-testid="ops-sparkline" data-samples=${data.length}>
        <polyline fill="none" stroke="currentColor" stroke-width="1.5" points=${sparkline(data)} /></svg>
      <table class="compact"><thead><tr><th>${t('ops.at')}</th><th class="num">${t('ops.loss')}</th><th class="num">RTT</th>
        <th class="num">Jitter</th><th class="num">kbit/s</th><th>${t('conf.link')}</th></tr></thead>
        <tbody>${recent.map((s) => html`<tr key=${s.at + s.span} data-testid="ops-sample"><td>${formatTime(s.at)}${s.span > 5 ? ` (${s.span}s)` : ''}</td>
          <td class="num">${pct(s.loss)}</td><td class="num">${ms(s.rtt_ms)}</td><td class="num">${ms(s.jitter_ms)}</td>
          <td class="num">${s.bitrate_kbps ?? '—'}</td><td><${LinkBadge} link=${s.quality} /></td></tr>`)}</tbody></table>`}
  </section>`;
}

function TreeView({ board, points, units, onPick }) {
  const [open, setOpen] = useState({});
  const byParent = new Map();
  for (const p of points) {
    const k = String(p.parent_id);
    if (!byParent.has(k)) byParent.set(k, []);
    byParent.get(k).push(p);
  }
  const groups = treeOrder(units || []).filter(({ unit }) => byParent.has(String(unit.id)));
  return html`<div class="ops-tree" data-testid="ops-tree">${groups.map(({ unit, depth }) => {
    const mine = byParent.get(String(unit.id));
    const sums = totals(mine, board.levels);
    const worst = Math.max(...mine.map((p) => p.trouble || 0));
    const isOpen = open[unit.id] ?? mine.length <= 20;
    return html`<div key=${unit.id} class="ops-branch" style=${`margin-left:${depth}rem`} data-testid="ops-branch"
        data-unit=${unit.code} data-points=${sums.points}>
      <button type="button" class="link strong" onClick=${() => setOpen((o) => ({ ...o, [unit.id]: !isOpen }))}>
        ${isOpen ? '▾' : '▸'} ${unit.name}</button>
      <span class=${`badge ${worst >= 80 ? 'link-critical' : worst >= 50 ? 'link-degraded' : 'ok-badge'}`}>${sums.points}</span>
      <span class="muted small-text">${STATES.filter((s) => sums.by_state[s]).map((s) => `${t(`conf.state.${s}`)}: ${sums.by_state[s]}`).join(' · ')}</span>
      ${isOpen && html`<ul class="ops-branch-points">${mine.map((p) => html`<li key=${p.unit_id} data-testid="ops-tree-point"
          data-code=${p.code} data-state=${p.state}><button type="button" class="link" onClick=${() => onPick(p)}>${p.name}</button>
        <${StateBadge} state=${p.state} /> <${LinkBadge} link=${p.link} /></li>`)}</ul>`}
    </div>`;
  })}</div>`;
}

// The operations screen: every point's state and link, worst first (or as the tree), filters,
// counts by state and by level, a point's link history.
export function OpsBoard({ live, state }) {
  const units = useUnits();
  const board = useConferenceBoard(live, state.meeting.id, !!state.conference);
  const [filters, setFilters] = useState({ level: '', state: '', link: '', q: '' });
  const [view, setView] = useState('worst');
  const [picked, setPicked] = useState(null);
  const [all, setAll] = useState(false);
  if (!state.conference) return html`<p class="card muted" data-testid="ops-none">${t('conf.none')}</p>`;
  if (!board || !board.loaded) {
    return html`<p class="muted" data-testid="ops-loading">${board && board.error ? errorText(board.error) : t('meeting.loading')}</p>`;
  }
  const points = board.list();
  const sums = totals(points, board.levels);
  const shownPoints = filterPoints(points, filters);
  const rows = all ? shownPoints : shownPoints.slice(0, SHOWN);
  const set = (k) => (e) => setFilters((f) => ({ ...f, [k]: e.currentTarget.value }));
  const pick = (p) => setPicked(p.unit_id);
  const current = picked != null ? board.points.get(String(picked)) : null;
  const holder = floorHolder(state.conference);
  return html`<div class="ops-board" data-testid="ops-board">
    <div class="conf-head">
      <${ConferenceBadge} conference=${state.conference} />
      <span data-testid="ops-floor">${t('conf.floor')}: <strong>${holder ? holder.name : '—'}</strong></span>
      ${state.conference.mute_all && html`<span class="badge warn-badge">${t('conf.muted_all')}</span>`}
    </div>
    <div class="ops-counts" role="group" aria-label=${t('ops.counts')}>${STATES.map((s) => html`<button type="button" key=${s}
        class=${`ops-count conf-${s}${filters.state === s ? ' active' : ''}`} data-testid="ops-count" data-state=${s}
        data-n=${sums.by_state[s]} onClick=${() => setFilters((f) => ({ ...f, state: f.state === s ? '' : s }))}>
      <span class="ops-count-n">${sums.by_state[s]}</span><span>${t(`conf.state.${s}`)}</span></button>`)}
      ${['degraded', 'critical'].map((l) => html`<button type="button" key=${l} class=${`ops-count link-${l}${filters.link === l ? ' active' : ''}`}
        data-testid="ops-link-count" data-link=${l} data-n=${sums.by_link[l]}
        onClick=${() => setFilters((f) => ({ ...f, link: f.link === l ? '' : l }))}>
        <span class="ops-count-n">${sums.by_link[l]}</span><span>${t(`conf.link.${l}`)}</span></button>`)}
    </div>
    <div class="ops-filters toolbar">
      <label>${t('conf.level')}<select data-testid="ops-filter-level" value=${filters.level} onChange=${set('level')}>
        <option value="">${t('ops.any')}</option>${sums.by_level.map((x) => html`<option key=${x.level} value=${x.level}>${x.level}</option>`)}</select></label>
      <label>${t('conf.state')}<select data-testid="ops-filter-state" value=${filters.state} onChange=${set('state')}>
        <option value="">${t('ops.any')}</option>${STATES.map((s) => html`<option key=${s} value=${s}>${t(`conf.state.${s}`)}</option>`)}</select></label>
      <label>${t('conf.link')}<select data-testid="ops-filter-link" value=${filters.link} onChange=${set('link')}>
        <option value="">${t('ops.any')}</option><option value="normal">${t('conf.link.normal')}</option>
        <option value="degraded">${t('conf.link.degraded')}</option><option value="critical">${t('conf.link.critical')}</option>
        <option value="none">${t('ops.no_link')}</option></select></label>
      <label>${t('ops.search')}<input data-testid="ops-search" value=${filters.q} onInput=${set('q')} /></label>
      <span class="tabs ops-views">${['worst', 'tree'].map((v) => html`<button type="button" key=${v} data-testid=${`ops-view-${v}`}
        class=${view === v ? 'active' : ''} onClick=${() => setView(v)}>${t(`ops.view.${v}`)}</button>`)}</span>
    </div>
    ${current && html`<${History} meetingId=${state.meeting.id} point=${current} onClose=${() => setPicked(null)} />`}
    ${view === 'worst' ? html`<div class="table-wrap"><table class="compact ops-points" data-testid="ops-points"
        data-count=${shownPoints.length}>
      <thead><tr><th>${t('conf.point')}</th><th>${t('conf.level')}</th><th>${t('conf.state')}</th><th>${t('ops.since')}</th>
        <th>${t('conf.link')}</th><th class="num">${t('ops.loss')}</th><th class="num">RTT</th><th class="num">Jitter</th>
        <th class="num">kbit/s</th><th>${t('conf.test')}</th><th class="num">${t('conf.seated')}</th></tr></thead>
      <tbody>${rows.map((p) => html`<tr key=${p.unit_id} data-testid="ops-point" data-code=${p.code} data-state=${p.state}
          data-link=${p.link || ''} class=${`trouble-${p.trouble >= 80 ? 'high' : p.trouble >= 50 ? 'mid' : 'low'}`}
          onClick=${() => pick(p)}>
        <td><button type="button" class="link" data-testid="ops-point-name">${p.name}</button>${p.floor ? html` <span class="badge now">${t('conf.has_floor')}</span>` : ''}</td>
        <td>${p.level}</td><td><${StateBadge} state=${p.state} /></td><td class="small-text">${formatTime(p.since)}</td>
        <td><${LinkBadge} link=${p.link} /></td><td class="num">${pct(p.loss)}</td><td class="num">${ms(p.rtt_ms)}</td>
        <td class="num">${ms(p.jitter_ms)}</td><td class="num">${p.bitrate_kbps ?? '—'}</td><td><${TestBadge} test=${p.test} /></td>
        <td class="num">${p.seated ?? '—'}</td></tr>`)}</tbody></table></div>
      ${!all && shownPoints.length > SHOWN && html`<button type="button" class="link" onClick=${() => setAll(true)}>
        ${t('conf.show_all', { n: shownPoints.length })}</button>`}`
      : html`<${TreeView} board=${board} points=${shownPoints} units=${units} onPick=${pick} />`}
    <h3>${t('conf.by_level')}</h3>
    <${LevelTotals} sums=${sums} />
  </div>`;
}

// ------------------------------------------------------------------ the bridge point's page

function BridgeMedia({ live, state, point, mine }) {
  const preview = useRef(null);
  const feed = useRef(null);
  const [session, setSession] = useState(null);
  const [status, setStatus] = useState('idle');
  const [error, setError] = useState(null);
  const [test, setTest] = useState(null);
  const mid = state.meeting.id;
  const muted = mutedHere(state.conference, point.unitId);
  useEffect(() => () => { if (session) session.close(); }, [session]);
  useEffect(() => { if (session) session.setMuted(muted); }, [session, muted]);
  const runTest = async () => {
    setError(null);
    setStatus('testing');
    try {
      const r = await connectionTest(live, mid, { key: newKey() });
      setTest(r);
      setStatus(session ? 'joined' : 'idle');
    } catch (e) {
      setError(e);
      setStatus(session ? 'joined' : 'idle');
    }
  };
  const join = async () => {
    setError(null);
    setStatus('joining');
    try {
      const s = await MediaSession.open(live, mid, {
        onLocal: (stream) => { if (preview.current) preview.current.srcObject = stream; },
        onRemote: (stream) => { if (feed.current) feed.current.srcObject = stream; },
        onEnd: () => { setStatus('idle'); setSession(null); },
      });
      s.setMuted(muted);
      setSession(s);
      setStatus('joined');
    } catch (e) {
      setError(e);
      setStatus('idle');
    }
  };
  const leave = () => { if (session) session.close(); setSession(null); setStatus('idle'); };
  const report = (media) => live.command('point.report', { meeting_id: mid, media }).catch(setError);
  const shownTest = test || (mine && mine.test);
  const inMedia = mine && MEDIA_STATES.includes(mine.state);
  return html`<div class="bridge-media" data-testid="bridge-media" data-status=${status}>
    <div class="bridge-videos">
      <figure><video ref=${preview} autoplay muted playsinline data-testid="bridge-preview"></video>
        <figcaption>${t('bridge.conf.preview')}${muted ? ` — ${t('bridge.conf.mic_off')}` : ''}</figcaption></figure>
      <figure><video ref=${feed} autoplay playsinline data-testid="bridge-main-feed"></video>
        <figcaption>${t('bridge.conf.main_feed')}</figcaption></figure>
    </div>
    <div class="row-actions">
      <button type="button" class="secondary" data-testid="bridge-test-run" disabled=${status === 'testing' || status === 'joining'}
        onClick=${runTest}>${status === 'testing' ? t('bridge.conf.testing') : t('bridge.conf.test')}</button>
      ${!session ? html`<button type="button" class="primary" data-testid="bridge-join" disabled=${status !== 'idle'}
          onClick=${join}>${status === 'joining' ? t('bridge.conf.joining') : t('bridge.conf.join')}</button>`
        : html`<button type="button" class="danger-outline" data-testid="bridge-leave" onClick=${leave}>${t('bridge.conf.leave')}</button>`}
      ${!session && html`<button type="button" data-testid="bridge-codec" aria-pressed=${inMedia ? 'true' : 'false'}
        onClick=${() => report(inMedia ? 'lost' : 'connected')}>${inMedia ? t('bridge.conf.codec_off') : t('bridge.conf.codec_on')}</button>`}
    </div>
    ${shownTest && html`<div class=${`bridge-verdict ${shownTest.passed ? 'ok-text' : 'error-text'}`} data-testid="bridge-test-verdict"
        data-passed=${shownTest.passed ? 'true' : 'false'}>
      ${shownTest.passed ? t('bridge.conf.passed') : t('bridge.conf.failed')}
      <span class="muted"> ${t('bridge.conf.figures', { bitrate: shownTest.bitrate_kbps ?? '—', loss: pct(shownTest.loss),
        rtt: ms(shownTest.rtt_ms), jitter: ms(shownTest.jitter_ms) })}</span>
      ${!shownTest.passed && (shownTest.reasons || []).length > 0 && html`<div>${shownTest.reasons.map((r) => t(`conf.reason.${r}`)).join('; ')}</div>`}
    </div>`}
    ${error && html`<p class="error-text" role="alert" data-testid="bridge-media-error">${errorText(error)}</p>`}
    <p class="muted small-text">${t('bridge.conf.codec_hint')}</p>
  </div>`;
}

// The point's own card: its state and link, the conference, who holds the floor, the test, media.
export function BridgeConference({ live, state, point }) {
  const c = state.conference;
  const board = useConferenceBoard(live, state.meeting.id, !!c);
  if (!c) return null;
  const mine = board ? board.points.get(String(point.unitId)) : null;
  const holder = floorHolder(c);
  const mineHasFloor = c.floor && String(c.floor.unit_id) === String(point.unitId);
  return html`<section class="card bridge-conference" data-testid="bridge-conference">
    <h2>${t('conf.title')}</h2>
    <div class="conf-head">
      <${ConferenceBadge} conference=${c} />
      ${mine ? html`<span data-testid="bridge-point-state" data-state=${mine.state}>${t('bridge.conf.my_state')}: <${StateBadge} state=${mine.state} /></span>`
        : html`<span class="muted" data-testid="bridge-point-state" data-state="">${board && board.loaded ? t('bridge.conf.not_invited') : t('meeting.loading')}</span>`}
      ${mine && html`<span>${t('conf.link')}: <${LinkBadge} link=${mine.link} /></span>`}
    </div>
    <p class=${mineHasFloor ? 'bridge-floor-mine strong' : ''} data-testid="bridge-floor-holder"
        data-floor=${c.floor ? c.floor.code : ''} data-mine=${mineHasFloor ? 'true' : 'false'}>
      ${mineHasFloor ? t('bridge.conf.floor_mine') : holder ? t('bridge.conf.floor_is', { name: holder.name }) : ''}
      ${holder && holder.host && !mineHasFloor ? html` <span class="muted">(${t('conf.host_feed')})</span>` : ''}</p>
    ${c.mute_all && !mineHasFloor && html`<p class="badge warn-badge" data-testid="bridge-muted">${t('bridge.conf.muted')}</p>`}
    ${mine && c.state !== 'ended' && html`<${BridgeMedia} live=${live} state=${state} point=${point} mine=${mine} />`}
    ${mine && mine.seated != null && html`<p class="muted">${t('conf.seated')}: ${mine.seated}</p>`}
    ${c.starts_at && c.state === 'scheduled' && html`<p class="muted">${t('bridge.conf.starts', { time: formatDateTime(c.starts_at) })}</p>`}
  </section>`;
}
