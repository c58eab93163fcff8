import { html } from 'htm/preact';
import { formatPercent, t } from '../lib/i18n.js';
import { MOTION_OPTIONS, pollOptions } from '../lib/store.js';

export function optionLabel(poll, id) {
  if (poll && poll.kind === 'motion' && MOTION_OPTIONS.includes(String(id))) return t(`poll.opt.${id}`);
  const o = pollOptions(poll).find((x) => String(x.id) === String(id));
  return o ? o.label : String(id);
}

const baseKind = (k) => t(`poll.basekind.${k || 'members'}`);

export function majorityText(m) {
  if (!m) return '';
  const p = { threshold: m.threshold, basekind: baseKind(m.base) };
  return t(m.strict ? 'poll.majority.strict' : 'poll.majority.at_least', p);
}

export function reasonText(result) {
  const r = result && result.reason;
  if (!r) return '';
  const params = { ...(r.params || {}) };
  params.basekind = baseKind(params.base_kind || (result.majority && result.majority.base));
  const key = `poll.reason.${r.code}`;
  return t(key, params) === key ? r.code : t(key, params);
}

// Options in the order to show: a motion as yes/no/abstain, others ranked by the server.
function rows(poll, result) {
  const list = result.options || [];
  if (poll.kind !== 'motion') return list;
  return MOTION_OPTIONS.map((id) => list.find((o) => o.option_id === id) || { option_id: id, count: 0, base: result.base, percent: null });
}

// The published (or, for the staff, closed) result: outcome, why, counts as bars with their base.
export function PollResult({ poll, big = false }) {
  const result = poll && poll.result;
  if (!result) return null;
  const winners = new Set((result.winners || []).map(String));
  const tied = new Set((result.tied || []).map(String));
  const list = rows(poll, result);
  const tally = result.tally || {};
  const q = result.quorum || {};
  const ok = result.outcome === 'passed';
  return html`<div class=${`poll-result${big ? ' big' : ''}`} data-testid="poll-result" data-outcome=${result.outcome}
      data-poll-id=${poll.id}>
    <div class=${`outcome outcome-${result.outcome} ${ok ? 'ok' : 'not-ok'}`} data-testid="poll-outcome">
      ${t(`poll.outcome.${result.outcome}`)}</div>
    <p class="reason" data-testid="poll-reason">${reasonText(result)}</p>
    <div class="bars" role="list">
      ${list.map((o) => {
        const base = o.base ?? result.base ?? 0;
        const width = base > 0 ? Math.min(100, (100 * (o.count || 0)) / base) : 0;
        const id = String(o.option_id);
        return html`<div class=${`bar-row opt-${id}${winners.has(id) ? ' winner' : ''}`} role="listitem" key=${id}
            data-testid="result-bar" data-option-id=${id} data-count=${o.count || 0}>
          <div class="bar-label">${optionLabel(poll, id)}
            ${winners.has(id) && poll.kind !== 'motion' && html` <span class="badge win">${t(poll.kind === 'election' ? 'poll.elected' : 'poll.adopted')}</span>`}
            ${tied.has(id) && html` <span class="badge tie">${t('poll.tied')}</span>`}</div>
          <div class="bar-track"><div class="bar-fill" style=${`width:${width}%`}></div>
            ${result.required > 0 && base > 0 && html`<div class="bar-mark" title=${majorityText(result.majority)}
              style=${`left:${Math.min(100, (100 * result.required) / base)}%`}></div>`}</div>
          <div class="bar-value"><strong data-testid="result-count">${o.count || 0}</strong>
            <span class="muted"> ${t('poll.percent_of', { pct: formatPercent(o.percent), basekind: baseKind(o.base_kind || (result.majority && result.majority.base)) })}</span></div>
        </div>`;
      })}
    </div>
    <div class="bases muted" data-testid="poll-bases">
      <div>${majorityText(result.majority)} — ${t('poll.base_line', { base: result.base, basekind: baseKind(result.majority && result.majority.base), required: result.required })}</div>
      <div>${t('poll.counts_line', { valid: tally.valid ?? 0, blank: tally.blank ?? 0, invalid: tally.invalid ?? 0, cast: tally.cast ?? 0 })}</div>
      ${q.members != null && html`<div>${t('poll.quorum_line', { counted: q.present, members: q.members, required: q.required, fraction: q.fraction })}</div>`}
    </div>
  </div>`;
}

// "Đã biểu quyết: X/Y".
export function PollProgress({ poll, testid = 'poll-progress' }) {
  const voted = poll.voted_count ?? 0;
  const entitled = poll.entitled_count ?? 0;
  const pct = entitled > 0 ? Math.min(100, (100 * voted) / entitled) : 0;
  return html`<div class="poll-progress" data-testid=${testid} data-voted=${voted} data-entitled=${entitled}>
    <span>${t('poll.voted_of', { voted, entitled })}</span>
    <div class="progress-track"><div class="progress-fill" style=${`width:${pct}%`}></div></div>
  </div>`;
}
