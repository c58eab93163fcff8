// The bridge point's own panels (/bridge): how many people sit there, its show of hands on the
// open poll, its request for the floor. Its link is weak: every command goes with a key kept
// until the server answers (lib/bridge.js Outbox), so "send again" after a time-out is the same
// command, never a second one.

import { html } from 'htm/preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { errorText, formatTime, t } from '../lib/i18n.js';
import { useConnState, useUnits } from '../lib/hooks.js';
import {
  Outbox, handsLimit, handsStatus, latestFinished, operatorPoint, parseCount, pointRequests, pointSpeaking,
  shownHands, validateHands,
} from '../lib/bridge.js';
import { CommandError, newKey } from '../lib/live.js';
import { currentItem, currentSpeaker, openPoll, pollOptions, speakerQueue } from '../lib/store.js';
import { bridgePoints } from './ConsolePolls.js';
import { PollResult, majorityText, optionLabel } from './PollResult.js';
import { SpeakerClock } from './Speakers.js';

const STAFF_ROLES = ['admin', 'secretariat'];
// Statuses in which the server takes a seated count and requests to speak
// (server/domain/meeting.attendance_open, server/commands/speakers.QUEUE_OPEN).
const COUNTS_OPEN = ['published', 'in_session', 'adjourned'];

// Page memory, not component state: a panel that re-mounts (language switch, the meeting
// reopened) must still reuse the key of a submission the server has not answered.
const outbox = new Outbox(newKey);
const acked = new Map(); // slot -> {counts|seated, at}: what the server acknowledged, and when

// Sends one command through the outbox; keeps the busy flag, the last error, and whether that
// error was the link (the same figures may be sent again under the same key) or a refusal.
function useSend(live) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const send = useCallback(async (slot, name, data) => {
    const key = outbox.keyFor(slot, data);
    setBusy(true);
    setError(null);
    try {
      const res = await live.command(name, data, { key });
      outbox.settle(slot, key);
      return res;
    } catch (e) {
      // A refusal is final for this key; a time-out is not: the key stays for "send again".
      if (e instanceof CommandError) outbox.settle(slot, key);
      setError(e);
      return null;
    } finally {
      setBusy(false);
    }
  }, [live]);
  return { send, busy, error, linkFailed: !!error && !(error instanceof CommandError) };
}

function SendState({ busy, error, linkFailed, live, testid }) {
  const conn = useConnState(live);
  if (busy) {
    return html`<p class="muted" data-testid=${`${testid}-pending`} role="status">${t('bridge.sending')}
      ${conn !== 'online' && html` ${t('bridge.waiting_link')}`}</p>`;
  }
  if (!error) return null;
  return html`<p class="error-text" role="alert" data-testid=${`${testid}-error`} data-code=${error.code || 'unknown'}>
    ${linkFailed ? t('bridge.retry_hint') : errorText(error)}</p>`;
}

function isStaff(user, state) {
  return ((user && user.roles) || []).some((r) => STAFF_ROLES.includes(r)) || (state.me && state.me.role === 'secretary');
}

// The point this page works for: the operator's own; the secretariat may pick one (the server
// lets the staff report for any point). -> {point, missing, picker}.
export function usePoint(state, user) {
  const units = useUnits();
  const own = operatorPoint(state, units);
  const [picked, setPicked] = useState('');
  if (own.code) return { point: own, missing: null, picker: null };
  if (own.missing === 'not_operator' && isStaff(user, state)) {
    const choices = bridgePoints(state, units);
    const point = choices.find((p) => p.code === picked) || null;
    return { point, missing: null, picker: { choices, picked, setPicked } };
  }
  return { point: null, missing: own.missing, picker: null };
}

export function PointPicker({ picker }) {
  return html`<label class="bridge-picker">${t('bridge.pick_point')}
    <select data-testid="bridge-point-picker" value=${picker.picked} onChange=${(e) => picker.setPicked(e.currentTarget.value)}>
      <option value="">${t('bridge.pick_none')}</option>
      ${picker.choices.map((p) => html`<option key=${p.code} value=${p.code}>${p.name}</option>`)}
    </select></label>`;
}

export function PointNotice({ missing }) {
  const key = missing === 'loading' ? 'bridge.loading_point' : missing === 'no_unit' ? 'bridge.no_unit' : 'bridge.not_operator';
  return html`<p class="card muted" data-testid="bridge-no-point" data-reason=${missing || ''}>${t(key)}</p>`;
}

// The point's name and its last reported count, always in view.
export function PointBanner({ state, point }) {
  const info = ((state.quorum && state.quorum.by_point) || {})[point.code];
  return html`<div class="bridge-banner" data-testid="bridge-point" data-point=${point.code}>
    <span class="bridge-banner-name">${t('bridge.point_name', { name: point.name })}</span>
    <span class="bridge-banner-seated" data-testid="bridge-banner-seated">${info && info.seated != null
      ? t('bridge.seated_last', { n: info.seated, time: formatTime(info.at) }) : t('bridge.seated_none')}</span>
  </div>`;
}

// attendance.point_count: how many people sit at the point.
export function SeatedCard({ live, state, point }) {
  const info = ((state.quorum && state.quorum.by_point) || {})[point.code] || null;
  const [value, setValue] = useState('');
  const [invalid, setInvalid] = useState(null);
  const [sent, setSent] = useState(null);
  const s = useSend(live);
  const open = COUNTS_OPEN.includes(state.meeting.status);
  const poll = openPoll(state);
  const frozen = poll ? handsLimit(poll, point.code) : null;
  const slot = `seated:${state.meeting.id}:${point.code}`;
  const submit = async (e) => {
    e.preventDefault();
    const r = parseCount(value);
    setInvalid(r.error || null);
    setSent(null);
    if (r.error) return;
    const res = await s.send(slot, 'attendance.point_count', { meeting_id: state.meeting.id, point: point.code, seated: r.value });
    if (res) {
      acked.set(slot, { seated: r.value, at: new Date().toISOString() });
      setSent(r.value);
      setValue('');
    }
  };
  return html`<section class="card bridge-seated" data-testid="bridge-seated">
    <h2>${t('bridge.seated_title')}</h2>
    <p class="bridge-figure" data-testid="seated-current" data-seated=${info && info.seated != null ? info.seated : ''}>
      ${info && info.seated != null ? t('bridge.seated_last', { n: info.seated, time: formatTime(info.at) }) : t('bridge.seated_none')}</p>
    ${poll && frozen != null && info && info.seated !== frozen
      && html`<p class="muted" data-testid="seated-frozen">${t('bridge.seated_frozen', { n: frozen })}</p>`}
    ${open ? html`<form class="bridge-row-form" onSubmit=${submit} noValidate>
        <label>${t('bridge.seated_input')}
          <input type="text" inputmode="numeric" autocomplete="off" class=${`bridge-number${invalid ? ' invalid' : ''}`}
            data-testid="seated-input" aria-invalid=${invalid ? 'true' : 'false'} value=${value}
            onInput=${(e) => { setValue(e.currentTarget.value); setInvalid(null); }} /></label>
        <button type="submit" class="primary bridge-go" data-testid="seated-submit" disabled=${s.busy}>
          ${s.linkFailed ? t('bridge.retry') : t('bridge.seated_send')}</button>
      </form>
      ${invalid && html`<p class="error-text" role="alert" data-testid="seated-invalid">${t(`bridge.err.${invalid}`)}</p>`}
      ${sent != null && !s.busy && html`<p class="ok-text" data-testid="seated-sent">✓ ${t('bridge.seated_sent', { n: sent })}</p>`}
      <${SendState} ...${s} live=${live} testid="seated" />`
      : html`<p class="muted" data-testid="seated-closed">${t('bridge.seated_closed')}</p>`}
  </section>`;
}

function SentFigures({ poll, rows, at }) {
  return html`<div class="bridge-sent" data-testid="hands-sent">
    <div class="ok-text">✓ ${t('bridge.hands_sent')}${at ? ` ${t('bridge.hands_sent_at', { time: formatTime(at) })}` : ''}</div>
    <ul class="bridge-sent-list">${rows.map((r) => html`<li key=${r.id} class=${`opt-${r.id}`} data-testid="hands-sent-count"
        data-option-id=${r.id} data-count=${r.n}><span>${optionLabel(poll, r.id)}</span><strong>${r.n}</strong></li>`)}</ul>
  </div>`;
}

function HandsForm({ live, state, poll, point, limit, initial, onSent, onCancel }) {
  const opts = pollOptions(poll);
  const [values, setValues] = useState(() => Object.fromEntries(opts.map((o) => [String(o.id), initial ? String(initial[o.id] ?? 0) : ''])));
  const [tried, setTried] = useState(false);
  const s = useSend(live);
  const v = validateHands(poll, values, limit);
  const over = v.error && v.error.code === 'over';
  const slot = `hands:${state.meeting.id}:${poll.id}:${point.code}`;
  const submit = async (e) => {
    e.preventDefault();
    setTried(true);
    if (!v.ok) return; // refused here: nothing goes to the server
    const res = await s.send(slot, 'poll.hands', { meeting_id: state.meeting.id, poll_id: poll.id, point: point.code, counts: v.counts });
    if (res) {
      acked.set(slot, { counts: v.counts, at: new Date().toISOString(), echoed: false });
      onSent();
    }
  };
  const shown = tried || over ? v.error : null;
  return html`<form class="bridge-hands-form" onSubmit=${submit} noValidate data-testid="hands-form">
    <div class="bridge-hands-grid">
      ${opts.map((o) => {
        const id = String(o.id);
        const bad = tried && v.fields[id];
        return html`<label key=${id} class=${`bridge-hands-cell opt-${id}`}>${optionLabel(poll, id)}
          <input type="text" inputmode="numeric" autocomplete="off" class=${`bridge-number${bad ? ' invalid' : ''}`}
            data-testid="hands-input" data-option-id=${id} aria-invalid=${bad ? 'true' : 'false'} value=${values[id]}
            onInput=${(e) => { const x = e.currentTarget.value; setValues((m) => ({ ...m, [id]: x })); }} />
          ${bad && html`<span class="error-text small-text" data-testid="hands-field-error">${t(`bridge.err.${v.fields[id]}`)}</span>`}</label>`;
      })}
    </div>
    <p class=${`bridge-total${over ? ' error-text' : ''}`} data-testid="hands-total" data-total=${v.total} data-limit=${limit ?? ''}>
      ${t('bridge.hands_total', { total: v.total, limit: limit ?? '—' })}</p>
    ${shown && html`<p class="error-text strong" role="alert" data-testid="hands-invalid" data-code=${shown.code}>
      ${shown.code === 'over' ? t('bridge.err.over', { total: shown.total, limit: shown.limit }) : t('bridge.err.fields')}</p>`}
    <div class="buttons">
      <button type="submit" class="primary big" data-testid="hands-submit" disabled=${s.busy}>
        ${s.linkFailed ? t('bridge.retry') : t('bridge.hands_send')}</button>
      ${onCancel && html`<button type="button" class="secondary" data-testid="hands-cancel" disabled=${s.busy}
        onClick=${onCancel}>${t('bridge.hands_cancel')}</button>`}
    </div>
    <${SendState} ...${s} live=${live} testid="hands" />
  </form>`;
}

// The open poll at this point: its figures, sent or to send; afterwards the result.
export function HandsCard({ live, state, point }) {
  const open = openPoll(state);
  const poll = open || latestFinished(state);
  const [editing, setEditing] = useState(false);
  useEffect(() => setEditing(false), [poll && poll.id]);
  if (!poll) {
    return html`<section class="card bridge-poll" data-testid="bridge-poll"><h2>${t('poll.title')}</h2>
      <p class="muted">${t('poll.none')}</p></section>`;
  }
  const slot = `hands:${state.meeting.id}:${poll.id}:${point.code}`;
  const local = acked.get(slot);
  const shown = shownHands(poll, point.code, local);
  if (local && shown.echoed) local.echoed = true; // from now on the server's figures are the truth
  const { rows } = shown;
  const status = handsStatus(poll, point.code);
  const limit = handsLimit(poll, point.code);
  return html`<section class=${`card bridge-poll${poll.state === 'open' ? ' is-open' : ''}`} data-testid="bridge-poll"
      data-poll-id=${poll.id} data-state=${poll.state}>
    <div class="ballot-head">
      <span class=${`badge poll-state-${poll.state}`}>${poll.state === 'open' ? t('bridge.poll_now') : t(`poll.state.${poll.state}`)}</span>
      <span class="badge">${t(`poll.kind.${poll.kind}`)}</span>
    </div>
    <h2 class="bridge-poll-title" data-testid="bridge-poll-title">${poll.title}</h2>
    <p class="muted">${majorityText(poll.majority)}</p>
    ${poll.state === 'open' && html`<h3>${t('bridge.hands_title')}</h3>
      ${status === 'ok' && html`<p class="muted" data-testid="hands-limit" data-limit=${limit}>${t('bridge.hands_limit', { n: limit })}</p>`}
      ${status === 'secret' && html`<p class="muted" data-testid="hands-unavailable" data-reason="secret">${t('bridge.hands_secret')}</p>`}
      ${status === 'kind' && html`<p class="muted" data-testid="hands-unavailable" data-reason="kind">${t('bridge.hands_kind')}</p>`}
      ${status === 'not_at_open' && html`<p class="error-text" data-testid="hands-unavailable" data-reason="not_at_open">${t('bridge.hands_not_at_open')}</p>`}
      ${status === 'ok' && (rows && !editing
        ? html`<${SentFigures} poll=${poll} rows=${rows} at=${local && local.at} />
            <button type="button" class="secondary big" data-testid="hands-correct" onClick=${() => setEditing(true)}>${t('bridge.hands_correct')}</button>`
        : html`<${HandsForm} key=${`${poll.id}:${editing}`} live=${live} state=${state} poll=${poll} point=${point} limit=${limit}
            initial=${editing && rows ? Object.fromEntries(rows.map((r) => [r.id, r.n])) : null}
            onSent=${() => setEditing(false)} onCancel=${editing ? () => setEditing(false) : null} />`)}`}
    ${poll.state !== 'open' && html`
      ${rows && html`<${SentFigures} poll=${poll} rows=${rows} at=${null} />`}
      ${poll.state === 'published' && poll.result ? html`<${PollResult} poll=${poll} />`
        : html`<p class="muted" data-testid="bridge-poll-waiting">${t('poll.waiting_result')}</p>`}`}
  </section>`;
}

// speaker.request for the point (the server names the point from the operator's unit), its place
// in the queue, withdraw; the countdown while the point has the floor.
export function FloorCard({ live, state, point }) {
  const [topic, setTopic] = useState('');
  const s = useSend(live);
  const mine = pointRequests(state, point.code);
  const speaking = pointSpeaking(state, point.code);
  const cur = currentSpeaker(state);
  const queue = speakerQueue(state);
  const open = COUNTS_OPEN.includes(state.meeting.status);
  const mid = state.meeting.id;
  const request = async (e) => {
    e.preventDefault();
    const item = currentItem(state);
    const data = { meeting_id: mid, ...(item ? { agenda_item_id: item.id } : {}), ...(topic.trim() ? { topic: topic.trim() } : {}) };
    const res = await s.send(`floor:${mid}:${point.code}`, 'speaker.request', data);
    if (res) setTopic('');
  };
  const withdraw = (id) => s.send(`withdraw:${mid}:${id}`, 'speaker.withdraw', { meeting_id: mid, request_id: id });
  return html`<section class="card bridge-floor" data-testid="bridge-floor">
    <h2>${t('bridge.floor_title')}</h2>
    ${speaking && html`<div class="my-speech" data-testid="floor-speaking">
      <div class="strong">${t('bridge.floor_speaking')}</div><${SpeakerClock} speaker=${speaking} big=${true} /></div>`}
    ${!speaking && cur && html`<p class="muted" data-testid="floor-someone">${t('spk.current')}: <strong>${cur.name}</strong></p>`}
    <p class="muted" data-testid="floor-queue" data-count=${queue.length}>${t('bridge.floor_queue', { n: queue.length })}</p>
    ${mine.map((r) => html`<div key=${r.id} class="my-request" data-testid="floor-request-line" data-request-id=${r.id} data-state=${r.state}>
      <div><span class="strong bridge-place" data-testid="floor-place" data-place=${r.place}>${t('bridge.floor_place', { n: r.place, total: queue.length })}</span>
        <span class=${`badge spk-${r.state}`}>${t(`spk.state.${r.state}`)}</span></div>
      ${r.topic && html`<div class="muted">${r.topic}</div>`}
      <button type="button" class="danger-outline big" data-testid="floor-withdraw" disabled=${s.busy}
        onClick=${() => withdraw(r.id)}>${t('spk.withdraw')}</button>
    </div>`)}
    ${open && !speaking && mine.length === 0 && html`<form class="stack" onSubmit=${request} data-testid="floor-form">
      <label>${t('bridge.floor_topic')}
        <input data-testid="floor-topic" maxlength="500" value=${topic} onInput=${(e) => setTopic(e.currentTarget.value)} /></label>
      <button type="submit" class="primary big" data-testid="floor-request" disabled=${s.busy}>
        ${s.linkFailed ? t('bridge.retry') : t('bridge.floor_request')}</button>
    </form>`}
    ${!open && html`<p class="muted" data-testid="floor-closed">${t('bridge.floor_closed')}</p>`}
    <${SendState} ...${s} live=${live} testid="floor" />
  </section>`;
}
