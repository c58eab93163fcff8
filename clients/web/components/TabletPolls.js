import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { errorText, formatTime, t } from '../lib/i18n.js';
import { useAction } from '../lib/hooks.js';
import { hasVoted, openPoll, pollOptions } from '../lib/store.js';
import { PollProgress, PollResult, majorityText, optionLabel } from './PollResult.js';

function meVoting(state) {
  const pid = state.me && state.me.participant_id;
  if (pid == null) return false;
  const p = state.participants.find((x) => String(x.id) === String(pid));
  return !!(p && p.voting);
}

// The wire payload of a ballot (docs/deliberation.md, poll.vote).
function payloadOf(poll, picked) {
  if (poll.kind === 'motion') return { choice: picked[0] };
  if (poll.kind === 'choice') return { selections: picked };
  return { kept: picked };
}

function Choose({ poll, picked, setPicked, onNext }) {
  const opts = pollOptions(poll);
  if (poll.kind === 'motion') {
    return html`<div class="ballot-motion">${opts.map((o) => html`<button type="button" key=${o.id}
        class=${`huge vote-btn vote-${o.id}`} data-testid=${`vote-${o.id}`}
        onClick=${() => { setPicked([o.id]); onNext(); }}>${optionLabel(poll, o.id)}</button>`)}</div>`;
  }
  const set = new Set(picked.map(String));
  const toggle = (id) => setPicked(opts.map((o) => o.id).filter((x) => (String(x) === String(id) ? !set.has(String(x)) : set.has(String(x)))));
  if (poll.kind === 'choice') {
    const min = poll.min_selections ?? 1;
    const max = poll.max_selections ?? 1;
    const single = max === 1;
    const ok = picked.length >= min && picked.length <= max;
    return html`<div class="ballot-choice">
      <p class="muted">${t('poll.choose_range', { min, max })} · ${t('poll.chosen', { n: picked.length })}</p>
      ${opts.map((o) => html`<button type="button" key=${o.id} data-testid="vote-option" data-option-id=${o.id}
          aria-pressed=${set.has(String(o.id)) ? 'true' : 'false'}
          class=${`option-btn${set.has(String(o.id)) ? ' picked' : ''}`}
          onClick=${() => (single ? setPicked([o.id]) : toggle(o.id))}>
          <span class="tick" aria-hidden="true">${set.has(String(o.id)) ? '✓' : ''}</span>${o.label}</button>`)}
      <button type="button" class="primary big" data-testid="vote-next" disabled=${!ok} onClick=${onNext}>${t('poll.next')}</button>
    </div>`;
  }
  const seats = poll.seats ?? 1;
  const ok = picked.length >= 1 && picked.length <= seats;
  return html`<div class="ballot-election">
    <p class="muted">${t('poll.election_hint', { seats })}</p>
    <p class=${picked.length > seats ? 'error-text strong' : 'strong'} data-testid="kept-count">${t('poll.kept_count', { n: picked.length, seats })}</p>
    ${opts.map((o) => {
      const kept = set.has(String(o.id));
      return html`<div key=${o.id} class=${`candidate${kept ? '' : ' struck'}`} data-testid="candidate" data-option-id=${o.id}
          data-kept=${kept ? 'true' : 'false'}>
        <span class="candidate-name">${o.label}</span>
        <span class="buttons">
          <button type="button" class=${kept ? 'primary' : ''} data-testid="keep" aria-pressed=${kept ? 'true' : 'false'}
            onClick=${() => !kept && toggle(o.id)}>${t('poll.keep')}</button>
          <button type="button" class=${kept ? '' : 'danger'} data-testid="strike" aria-pressed=${kept ? 'false' : 'true'}
            onClick=${() => kept && toggle(o.id)}>${t('poll.strike')}</button>
        </span></div>`;
    })}
    <button type="button" class="primary big" data-testid="vote-next" disabled=${!ok} onClick=${onNext}>${t('poll.next')}</button>
  </div>`;
}

function Confirm({ poll, picked, busy, onBack, onSend }) {
  const opts = pollOptions(poll);
  const set = new Set(picked.map(String));
  return html`<div class="ballot-confirm" data-testid="vote-confirm-step">
    <h3>${t('poll.confirm_title')}</h3>
    ${poll.kind === 'election'
      ? html`<ul class="confirm-list">${opts.map((o) => html`<li key=${o.id} class=${set.has(String(o.id)) ? 'kept' : 'struck'}>
          ${o.label} — ${set.has(String(o.id)) ? t('poll.keep') : t('poll.struck')}</li>`)}</ul>`
      : html`<ul class="confirm-list">${picked.map((id) => html`<li key=${id} class=${`kept vote-${id}`} data-testid="confirm-choice">
          ${optionLabel(poll, id)}</li>`)}</ul>`}
    <div class="buttons">
      <button type="button" class="secondary big" data-testid="vote-back" disabled=${busy} onClick=${onBack}>${t('poll.back')}</button>
      <button type="button" class="primary big" data-testid="vote-confirm" disabled=${busy} onClick=${onSend}>
        ${busy ? t('poll.sending') : t('poll.confirm')}</button>
    </div>
  </div>`;
}

function Voted({ poll, state, onChange }) {
  const receipt = state.receipts[String(poll.id)];
  return html`<div class="voted-box" data-testid="voted">
    <p class="checked-in">✓ ${t('poll.voted')}</p>
    ${receipt && html`<div class="receipt"><div class="muted">${t('poll.receipt')}</div>
      <div class="receipt-code" data-testid="receipt">${receipt}</div>
      <p class="muted">${t('poll.receipt_note')}</p></div>`}
    ${poll.may_change_vote && poll.state === 'open' && html`<button type="button" class="secondary" data-testid="vote-change"
      onClick=${onChange}>${t('poll.change_vote')}</button>`}
  </div>`;
}

// One ballot: choose -> confirm -> sent (ack) -> "Đã biểu quyết".
export function Ballot({ live, state, poll, onDone }) {
  const [step, setStep] = useState('choose');
  const [picked, setPicked] = useState([]);
  const [note, setNote] = useState(null);
  const [changing, setChanging] = useState(false);
  const action = useAction();
  useEffect(() => {
    setStep('choose');
    setNote(null);
    setChanging(false);
    // An election ballot starts as on paper: every name printed, the voter strikes.
    setPicked(poll.kind === 'election' ? (poll.options || []).map((o) => o.id) : []);
  }, [poll.id]);
  const voted = hasVoted(state, poll.id) && !changing;
  const pending = !!state.pendingVotes[String(poll.id)];
  const send = () => action.run(async () => {
    const store = () => { const sync = live.meetings.get(String(state.meeting.id)); return sync && sync.store; };
    if (store()) store().applyPendingVote(poll.id, true);
    try {
      // A secret ballot is acknowledged once written with a batch of others or at the close
      // (docs/ballot-secrecy.md): wait for it, retrying with the same key if the link drops.
      const opts = poll.secret ? { timeoutMs: 60000, attempts: 60 } : {};
      const res = await live.command('poll.vote', { meeting_id: state.meeting.id, poll_id: poll.id, ...payloadOf(poll, picked) }, opts);
      const r = (res && res.result) || {};
      if (store()) store().applyMyVote(poll.id, r);
      setNote(r.already_voted ? 'already' : null);
      setChanging(false);
      setStep('done');
      if (onDone) onDone(r);
    } finally {
      if (store()) store().applyPendingVote(poll.id, false);
    }
  });
  const again = () => {
    setChanging(true);
    setStep('choose');
    setPicked(poll.kind === 'election' ? (poll.options || []).map((o) => o.id) : []);
  };
  return html`<div class="ballot" data-testid="ballot" data-poll-id=${poll.id} data-kind=${poll.kind}>
    <div class="ballot-head">
      <span class="badge">${t(`poll.kind.${poll.kind}`)}</span>
      <span class="badge">${poll.secret ? t('poll.secret') : t('poll.named')}</span>
      ${poll.deadline && html`<span class="muted">${t('poll.closes_at', { time: formatTime(poll.deadline) })}</span>`}
    </div>
    <h2 class="ballot-title" data-testid="ballot-title">${poll.title}</h2>
    <p class="muted">${majorityText(poll.majority)}</p>
    ${pending && !voted
      ? html`<div class="voted-box" data-testid="vote-pending"><p class="strong">${t('poll.sending')}</p>
          ${poll.secret && html`<p class="muted">${t('poll.secret_pending')}</p>`}</div>`
      : voted || (step === 'done' && !changing)
      ? html`<${Voted} poll=${poll} state=${state} onChange=${again} />
          ${note === 'already' && html`<p class="muted" data-testid="already-counted">${t('poll.already_counted')}</p>`}`
      : step === 'confirm'
        ? html`<${Confirm} poll=${poll} picked=${picked} busy=${action.busy}
            onBack=${() => setStep('choose')} onSend=${send} />`
        : html`<${Choose} poll=${poll} picked=${picked} setPicked=${setPicked} onNext=${() => setStep('confirm')} />`}
    ${action.error && html`<p class="error-text" role="alert" data-testid="vote-error">${errorText(action.error)}</p>`}
    ${poll.may_change_vote && !voted && html`<p class="muted">${t('poll.may_change')}</p>`}
    ${poll.state === 'open' && html`<${PollProgress} poll=${poll} />`}
  </div>`;
}

// After publication of a secret poll: find my receipt in the published list (GET .../receipts).
function ReceiptCheck({ state, poll }) {
  const receipt = state.receipts[String(poll.id)];
  const [found, setFound] = useState(null); // null: not checked; false: missing; line
  const action = useAction();
  if (!receipt) return null;
  const check = () => action.run(async () => {
    const r = await api.receipts(state.meeting.id, poll.id);
    setFound((r.receipts || []).find((x) => x.receipt === receipt) || false);
  });
  return html`<div class="receipt-check" data-testid="receipt-check">
    <span class="muted">${t('poll.receipt')}: </span><code data-testid="receipt-code">${receipt}</code>
    ${poll.state === 'published' && html` <button type="button" class="small" data-testid="receipt-check-btn" disabled=${action.busy}
      onClick=${check}>${t('poll.receipt_check')}</button>`}
    ${found && html`<div class="ok-text" data-testid="receipt-found">✓ ${t('poll.receipt_found')}:
      ${(found.selections || []).map((id) => optionLabel(poll, id)).join(', ') || '—'}</div>`}
    ${found === false && html`<div class="error-text" data-testid="receipt-missing">${t('poll.receipt_missing')}</div>`}
    ${action.error && html`<div class="error-text">${errorText(action.error)}</div>`}
  </div>`;
}

// The polls panel of the tablet: the open poll pops up over the page; results stay in the panel.
export function TabletPolls({ live, state }) {
  const open = openPoll(state);
  const [hidden, setHidden] = useState(null); // poll id the delegate put aside
  const canVote = meVoting(state);
  const [keep, setKeep] = useState(null); // a secret poll whose receipt just came: stays up until dismissed
  const show = open && canVote && String(hidden) !== String(open.id);
  const kept = keep != null && state.polls.find((p) => String(p.id) === String(keep));
  const sheetPoll = show ? open : kept || null;
  const onDone = (r) => { if (r && r.receipt) setKeep(open ? open.id : null); };
  const others = state.polls.filter((p) => p.state !== 'draft' && (!open || String(p.id) !== String(open.id)))
    .sort((a, b) => String(b.opened_at || '').localeCompare(String(a.opened_at || '')));
  return html`<section class="card polls" data-testid="tablet-polls">
    <h2>${t('poll.title')}</h2>
    ${open && html`<div class="poll-line current" data-testid="poll-open-line" data-poll-id=${open.id}>
      <div class="strong">${open.title}</div>
      <${PollProgress} poll=${open} />
      ${canVote && !show && html`<button type="button" class="primary" data-testid="poll-show"
        onClick=${() => setHidden(null)}>${hasVoted(state, open.id) ? t('poll.voted') : t('poll.now')}</button>`}
    </div>`}
    ${!open && others.length === 0 && html`<p class="muted">${t('poll.none')}</p>`}
    ${others.map((p) => html`<div key=${p.id} class="poll-line" data-testid="poll-line" data-poll-id=${p.id} data-state=${p.state}>
      <div><span class="strong">${p.title}</span> <span class=${`badge poll-state-${p.state}`}>${t(`poll.state.${p.state}`)}</span>
        ${hasVoted(state, p.id) && html` <span class="badge ok-badge">✓ ${t('poll.voted')}</span>`}</div>
      ${p.secret && (p.state === 'closed' || p.state === 'published') && html`<${ReceiptCheck} state=${state} poll=${p} />`}
      ${p.state === 'published' && p.result ? html`<${PollResult} poll=${p} />`
        : p.state === 'closed' ? html`<p class="muted">${t('poll.waiting_result')}</p>` : null}
    </div>`)}
    ${sheetPoll && html`<div class="sheet-backdrop" data-testid="poll-sheet">
      <div class="sheet card" role="dialog" aria-modal="true" aria-label=${sheetPoll.title}>
        <${Ballot} live=${live} state=${state} poll=${sheetPoll} onDone=${onDone} />
        <button type="button" class="link" data-testid="poll-hide" onClick=${() => { setHidden(sheetPoll.id); setKeep(null); }}>
          ${hasVoted(state, sheetPoll.id) ? t('error.dismiss') : t('poll.later')}</button>
      </div></div>`}
  </section>`;
}
