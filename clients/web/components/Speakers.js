import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { errorText, t } from '../lib/i18n.js';
import { useAction, useNow } from '../lib/hooks.js';
import {
  currentItem, currentSpeaker, finishedSpeakers, formatSeconds, myRequests, speakerClock, speakerQueue,
} from '../lib/store.js';

// The current speech's timer: remaining time (or elapsed without a limit), amber in the last
// 30 seconds, red once over.
export function SpeakerClock({ speaker, big = false }) {
  const now = useNow(500);
  const c = speakerClock(speaker.started_at, speaker.limit_seconds, now);
  const label = c.state === 'over' ? t('spk.over') : c.state === 'warning' ? t('spk.warning')
    : c.remaining == null ? t('spk.elapsed') : t('spk.remaining');
  const shown = c.remaining == null ? c.elapsed : Math.abs(c.remaining);
  return html`<div class=${`speaker-clock clock-${c.state}${big ? ' big' : ''}`} data-testid="speaker-clock"
      data-state=${c.state} role="timer">
    <div class="clock-label">${label}</div>
    <div class="clock-time" data-testid="speaker-clock-time">${c.state === 'over' ? '+' : ''}${formatSeconds(shown)}</div>
  </div>`;
}

// The tablet: ask to speak (topic, point of order), withdraw, my place; my countdown while I speak.
export function TabletSpeakers({ live, state }) {
  const [topic, setTopic] = useState('');
  const [order, setOrder] = useState(false);
  const action = useAction();
  const pid = state.me && state.me.participant_id;
  if (pid == null || state.me.role === 'observer') return null;
  const mine = myRequests(state);
  const cur = currentSpeaker(state);
  const speakingMe = cur && String(cur.participant_id) === String(pid);
  const item = currentItem(state);
  const request = (e) => {
    e.preventDefault();
    action.run(async () => {
      await live.command('speaker.request', {
        meeting_id: state.meeting.id,
        ...(item ? { agenda_item_id: item.id } : {}),
        ...(topic.trim() ? { topic: topic.trim() } : {}),
        kind: order ? 'point_of_order' : 'ordinary',
      });
      setTopic('');
      setOrder(false);
    });
  };
  const withdraw = (id) => action.run(() => live.command('speaker.withdraw', { meeting_id: state.meeting.id, request_id: id }));
  return html`<section class="card speakers" data-testid="tablet-speakers">
    <h2>${t('spk.title')}</h2>
    ${speakingMe && html`<div class="my-speech" data-testid="my-speech">
      <div class="strong">${t('spk.you_speaking')}</div>
      <${SpeakerClock} speaker=${cur} big=${true} />
    </div>`}
    ${!speakingMe && cur && html`<p class="muted" data-testid="someone-speaking">${t('spk.current')}: <strong>${cur.name}</strong></p>`}
    ${mine.map((r) => html`<div key=${r.id} class="my-request" data-testid="my-request" data-request-id=${r.id} data-state=${r.state}>
      <div><span class="strong" data-testid="my-place">${t('spk.place', { n: r.place })}</span>
        <span class=${`badge spk-${r.state}`}>${t(`spk.state.${r.state}`)}</span>
        ${r.kind === 'point_of_order' && html` <span class="badge warn-badge">${t('spk.kind.point_of_order')}</span>`}</div>
      ${r.topic && html`<div class="muted">${r.topic}</div>`}
      <button type="button" class="danger-outline" data-testid="speaker-withdraw" disabled=${action.busy}
        onClick=${() => withdraw(r.id)}>${t('spk.withdraw')}</button>
    </div>`)}
    ${!speakingMe && html`<form class="stack speak-form" onSubmit=${request} data-testid="speaker-request-form">
      <label>${t('spk.topic')}
        <input data-testid="speaker-topic" maxlength="300" value=${topic} onInput=${(e) => setTopic(e.currentTarget.value)} /></label>
      <label class="check"><input type="checkbox" data-testid="speaker-point-of-order" checked=${order}
        onChange=${(e) => setOrder(e.currentTarget.checked)} /> ${t('spk.point_of_order')}</label>
      <button type="submit" class="primary big" data-testid="speaker-request" disabled=${action.busy}>${t('spk.request')}</button>
    </form>`}
    ${action.error && html`<p class="error-text" role="alert" data-testid="speaker-error">${errorText(action.error)}</p>`}
  </section>`;
}

function QueueRow({ s, i, n, state, run, busy }) {
  const [limit, setLimit] = useState(s.limit_seconds ? String(s.limit_seconds) : '300');
  const mid = state.meeting.id;
  const speaking = !!currentSpeaker(state);
  return html`<li class=${`speaker-row spk-${s.state}`} data-testid="speaker-row" data-request-id=${s.id} data-state=${s.state}>
    <div class="speaker-main">
      <span class="queue-no">${i + 1}</span>
      <div><div><span class="strong" data-testid="speaker-name">${s.name}</span>
        ${s.kind === 'point_of_order' && html` <span class="badge warn-badge">${t('spk.kind.point_of_order')}</span>`}
        <span class=${`badge spk-${s.state}`}>${t(`spk.state.${s.state}`)}</span></div>
        <div class="muted" data-testid="speaker-topic-text">${s.topic || t('spk.no_topic')}</div></div>
    </div>
    <div class="row-actions tight">
      ${s.state === 'waiting' && html`<button type="button" class="small primary" data-testid="speaker-approve" disabled=${busy}
        onClick=${() => run('speaker.approve', { meeting_id: mid, request_id: s.id })}>${t('spk.approve')}</button>`}
      <button type="button" class="small" data-testid="speaker-up" disabled=${busy || i === 0}
        onClick=${() => run('speaker.move', { meeting_id: mid, request_id: s.id, position: i - 1 })}>↑ ${t('spk.up')}</button>
      <button type="button" class="small" data-testid="speaker-down" disabled=${busy || i === n - 1}
        onClick=${() => run('speaker.move', { meeting_id: mid, request_id: s.id, position: i + 1 })}>↓ ${t('spk.down')}</button>
      ${s.state === 'approved' && html`<span class="limit-start">
        <input class="tiny" type="number" min="10" step="10" aria-label=${t('spk.limit')} data-testid="speaker-limit"
          value=${limit} onInput=${(e) => setLimit(e.currentTarget.value)} />
        <button type="button" class="small primary" data-testid="speaker-start" disabled=${busy || speaking}
          onClick=${() => run('speaker.start', { meeting_id: mid, request_id: s.id, ...(Number(limit) > 0 ? { limit_seconds: Number(limit) } : {}) })}>
          ${t('spk.start')}</button></span>`}
      <button type="button" class="small danger-outline" data-testid="speaker-decline" disabled=${busy}
        onClick=${() => run('speaker.withdraw', { meeting_id: mid, request_id: s.id })}>${t('spk.decline')}</button>
    </div>
  </li>`;
}

function FinishedRow({ s, state, run, busy, staff }) {
  const [text, setText] = useState(s.summary || '');
  return html`<li class="speaker-row spk-done" data-testid="speaker-done" data-request-id=${s.id}>
    <div><span class="strong">${s.name}</span> <span class="muted">${s.topic || ''}</span>
      ${s.seconds != null && html` <span class="badge">${formatSeconds(s.seconds)}</span>`}</div>
    ${staff ? html`<form class="inline-form" onSubmit=${(e) => { e.preventDefault(); run('speaker.summary', { meeting_id: state.meeting.id, request_id: s.id, summary: text.trim() }); }}>
      <label>${t('spk.summary')}<input data-testid="speaker-summary" value=${text} onInput=${(e) => setText(e.currentTarget.value)} /></label>
      <button type="submit" class="small" data-testid="speaker-summary-save" disabled=${busy || text.trim() === (s.summary || '')}>${t('spk.save')}</button>
    </form>` : s.summary && html`<div class="muted">${t('spk.summary')}: ${s.summary}</div>`}
  </li>`;
}

// The console: the queue with approve, move, start with a limit, decline; the current speech and
// its timer with stop; a summary per finished speech.
export function ConsoleSpeakers({ state, run, busy, staff = true }) {
  const queue = speakerQueue(state);
  const cur = currentSpeaker(state);
  const done = finishedSpeakers(state);
  return html`<section class="card speakers" data-testid="console-speakers">
    <h2>${t('spk.title')}</h2>
    <div class="current-speech" data-testid="current-speech">
      ${cur
        ? html`<div class="speech-now"><div><div class="muted">${t('spk.current')}</div>
            <div class="strong big-name" data-testid="current-speaker-name">${cur.name}</div>
            <div class="muted">${cur.topic || ''}</div></div>
            <${SpeakerClock} speaker=${cur} />
            <button type="button" class="danger" data-testid="speaker-stop" disabled=${busy}
              onClick=${() => run('speaker.stop', { meeting_id: state.meeting.id, request_id: cur.id })}>${t('spk.stop')}</button></div>`
        : html`<p class="muted">${t('spk.none_speaking')}</p>`}
    </div>
    <h3>${t('spk.queue')} <span class="muted">(${queue.length})</span></h3>
    ${queue.length === 0 ? html`<p class="muted">${t('spk.empty')}</p>`
      : html`<ol class="speaker-list">${queue.map((s, i) => html`<${QueueRow} key=${s.id} s=${s} i=${i} n=${queue.length}
          state=${state} run=${run} busy=${busy} />`)}</ol>`}
    ${done.length > 0 && html`<h3>${t('spk.finished')}</h3>
      <ol class="speaker-list">${done.map((s) => html`<${FinishedRow} key=${s.id} s=${s} state=${state} run=${run} busy=${busy} staff=${staff} />`)}</ol>`}
  </section>`;
}
