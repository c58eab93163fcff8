import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { download } from '../lib/api.js';
import { errorText, formatDateTime, localInputToUtc, t } from '../lib/i18n.js';
import { useAction, useUnits } from '../lib/hooks.js';
import { currentItem, groupComments, myComments, openRounds } from '../lib/store.js';

function anchorText(state, c) {
  const a = c.anchor || {};
  if (a.kind === 'passage') return `“${a.quote || ''}”`;
  if (a.kind === 'page') return t('cmt.anchor.page', { page: a.page });
  const item = state.agenda.find((i) => String(i.id) === String(a.agenda_item_id ?? c.agenda_item_id));
  return item ? `${item.number}. ${item.title}` : '';
}

function DecisionBadge({ c }) {
  const d = c.decision || 'pending';
  return html`<span class=${`badge decision-${d}`} data-testid="comment-decision" data-decision=${d}>${t(`cmt.decision.${d}`)}</span>`;
}

// The tablet: comment on the current item or a quoted passage; my comments with their triage.
export function TabletComments({ live, state, user }) {
  const item = currentItem(state);
  const rounds = openRounds(state);
  const [kind, setKind] = useState('item');
  const [quote, setQuote] = useState('');
  const [section, setSection] = useState('');
  const [text, setText] = useState('');
  const [proposed, setProposed] = useState('');
  const [visibility, setVisibility] = useState('secretariat');
  const [roundId, setRoundId] = useState('');
  const [sent, setSent] = useState(false);
  const action = useAction();
  const mine = myComments(state, user && user.id);
  const round = roundId || (rounds.length === 1 ? String(rounds[0].id) : '');
  const canSend = text.trim() && (kind === 'passage' ? quote.trim() : item);
  const submit = (e) => {
    e.preventDefault();
    if (!canSend) return;
    const anchor = kind === 'passage' ? { kind: 'passage', quote: quote.trim() } : { kind: 'item', agenda_item_id: item.id };
    action.run(async () => {
      await live.command('comment.add', {
        meeting_id: state.meeting.id,
        ...(round ? { round_id: Number(round) || round } : {}),
        anchor,
        ...(section.trim() ? { section: section.trim() } : {}),
        text: text.trim(),
        ...(proposed.trim() ? { proposed_text: proposed.trim() } : {}),
        visibility,
      });
      setText(''); setProposed(''); setQuote(''); setSection(''); setSent(true);
    });
  };
  return html`<section class="card comments" data-testid="tablet-comments">
    <h2>${t('cmt.title')}</h2>
    <form class="stack" onSubmit=${submit} data-testid="comment-form" onInput=${() => sent && setSent(false)}>
      ${rounds.length > 0 && html`<label>${t('cmt.round')}
        <select data-testid="comment-round" value=${round} onChange=${(e) => setRoundId(e.currentTarget.value)}>
          <option value="">${t('cmt.no_round')}</option>
          ${rounds.map((r) => html`<option key=${r.id} value=${String(r.id)}>${r.title}</option>`)}
        </select></label>`}
      <fieldset class="seg"><legend>${t('cmt.anchor')}</legend>
        <label class="check"><input type="radio" name="anchor" data-testid="comment-anchor-item" checked=${kind === 'item'}
          onChange=${() => setKind('item')} /> ${t('cmt.anchor.item')}${item ? `: ${item.number}. ${item.title}` : ''}</label>
        <label class="check"><input type="radio" name="anchor" data-testid="comment-anchor-passage" checked=${kind === 'passage'}
          onChange=${() => setKind('passage')} /> ${t('cmt.anchor.passage')}</label>
      </fieldset>
      ${kind === 'item' && !item && html`<p class="muted">${t('cmt.no_item')}</p>`}
      ${kind === 'passage' && html`<label>${t('cmt.quote')}
        <textarea rows="2" data-testid="comment-quote" value=${quote} onInput=${(e) => setQuote(e.currentTarget.value)}></textarea></label>`}
      <label>${t('cmt.section')}<input data-testid="comment-section" value=${section} onInput=${(e) => setSection(e.currentTarget.value)} /></label>
      <label>${t('cmt.text')}<textarea rows="3" required data-testid="comment-text" value=${text}
        onInput=${(e) => setText(e.currentTarget.value)}></textarea></label>
      <label>${t('cmt.proposed')}<textarea rows="2" data-testid="comment-proposed" value=${proposed}
        onInput=${(e) => setProposed(e.currentTarget.value)}></textarea></label>
      <label>${t('cmt.visibility')}
        <select data-testid="comment-visibility" value=${visibility} onChange=${(e) => setVisibility(e.currentTarget.value)}>
          <option value="secretariat">${t('cmt.vis.secretariat')}</option>
          <option value="all">${t('cmt.vis.all')}</option>
        </select></label>
      <button type="submit" class="primary big" data-testid="comment-send" disabled=${action.busy || !canSend}>${t('cmt.send')}</button>
      ${sent && html`<p class="ok-text" data-testid="comment-sent">✓ ${t('cmt.sent')}</p>`}
      ${action.error && html`<p class="error-text" role="alert" data-testid="comment-error">${errorText(action.error)}</p>`}
    </form>
    <h3>${t('cmt.mine')} <span class="muted">(${mine.length})</span></h3>
    ${mine.length === 0 ? html`<p class="muted">${t('cmt.none')}</p>`
      : html`<ul class="comment-list">${mine.map((c) => html`<li key=${c.id} class="comment" data-testid="my-comment" data-comment-id=${c.id}>
          <div class="comment-head"><span class="muted">${anchorText(state, c)}${c.section ? ` · ${c.section}` : ''}</span> <${DecisionBadge} c=${c} /></div>
          <div class="comment-text">${c.text}</div>
          ${c.proposed_text && html`<div class="proposed">→ ${c.proposed_text}</div>`}
          ${c.explanation && html`<div class="explanation" data-testid="comment-explanation"><strong>${t('cmt.explanation')}:</strong> ${c.explanation}</div>`}
        </li>`)}</ul>`}
  </section>`;
}

function TriageRow({ c, state, run, busy }) {
  const [explaining, setExplaining] = useState(false);
  const [why, setWhy] = useState(c.explanation || '');
  const triage = (decision, explanation) => run('comment.triage', {
    meeting_id: state.meeting.id, comment_id: c.id, decision, ...(explanation ? { explanation } : {}),
  }).then((ok) => { if (ok) setExplaining(false); });
  return html`<tr data-testid="comment-row" data-comment-id=${c.id}>
    <td><span class="strong">${(c.author && c.author.name) || ''}</span></td>
    <td class="muted">${anchorText(state, c)}${c.section ? html`<br />${c.section}` : ''}</td>
    <td><div data-testid="comment-row-text">${c.text}</div>
      ${c.proposed_text && html`<div class="proposed">→ ${c.proposed_text}</div>`}
      ${c.visibility === 'all' && html`<span class="badge">${t('cmt.vis.all')}</span>`}</td>
    <td><${DecisionBadge} c=${c} />
      ${c.explanation && html`<div class="muted">${c.explanation}</div>`}
      <div class="att-actions">
        <button type="button" class="small" data-testid="triage-accepted" disabled=${busy} onClick=${() => triage('accepted')}>${t('cmt.accept')}</button>
        <button type="button" class="small" data-testid="triage-explained" disabled=${busy} onClick=${() => setExplaining(!explaining)}>${t('cmt.explain')}</button>
        <button type="button" class="small" data-testid="triage-noted" disabled=${busy} onClick=${() => triage('noted')}>${t('cmt.note')}</button>
      </div>
      ${explaining && html`<form class="reason-form" onSubmit=${(e) => { e.preventDefault(); triage('explained', why.trim()); }}>
        <input data-testid="triage-explanation" required placeholder=${t('cmt.explain_placeholder')} value=${why}
          onInput=${(e) => setWhy(e.currentTarget.value)} />
        <button type="submit" class="small primary" data-testid="triage-explanation-save" disabled=${busy || !why.trim()}>${t('spk.save')}</button>
      </form>`}
    </td>
  </tr>`;
}

function RoundForm({ state, run, busy, units }) {
  const [title, setTitle] = useState('');
  const [deadline, setDeadline] = useState('');
  const [picked, setPicked] = useState([]);
  const submit = (e) => {
    e.preventDefault();
    const d = localInputToUtc(deadline);
    run('comment_round.open', {
      meeting_id: state.meeting.id, title: title.trim(), ...(d ? { deadline: d } : {}),
      ...(picked.length ? { units: picked.map((x) => Number(x)) } : {}),
    }).then((ok) => { if (ok) { setTitle(''); setDeadline(''); setPicked([]); } });
  };
  return html`<details class="round-details" data-testid="round-details">
    <summary>${t('cmt.round_open')}</summary>
    <form class="round-form" onSubmit=${submit} data-testid="round-form">
      <div class="grid-form">
        <label class="wide">${t('cmt.round_title')}<input required data-testid="round-title" value=${title} onInput=${(e) => setTitle(e.currentTarget.value)} /></label>
        <label>${t('cmt.deadline')}<input type="datetime-local" data-testid="round-deadline" value=${deadline}
          onInput=${(e) => setDeadline(e.currentTarget.value)} /></label>
        <label class="wide">${t('cmt.units')}<select multiple size="6" data-testid="round-units"
            onChange=${(e) => setPicked([...e.currentTarget.selectedOptions].map((o) => o.value))}>
          ${(units || []).map((u) => html`<option key=${u.id} value=${String(u.id)} selected=${picked.includes(String(u.id))}>${u.name}</option>`)}
        </select></label>
      </div>
      <button type="submit" class="primary" data-testid="round-open" disabled=${busy || !title.trim()}>${t('cmt.round_open')}</button>
    </form>
  </details>`;
}

// The console: rounds, the comments table with triage, grouped; the summary as DOCX / XLSX.
export function ConsoleComments({ state, run, busy }) {
  const units = useUnits();
  const [group, setGroup] = useState('section');
  const [roundFilter, setRoundFilter] = useState('');
  const dl = useAction();
  const unitName = (id) => {
    const u = (units || []).find((x) => String(x.id) === String(id));
    return u ? u.name : String(id);
  };
  const comments = state.comments.filter((c) => !roundFilter || String(c.round_id) === roundFilter);
  const groups = groupComments(comments, group, { unitName });
  const exportUrl = (ext) => {
    const q = new URLSearchParams({ group });
    if (roundFilter) q.set('round', roundFilter);
    return `/api/meetings/${encodeURIComponent(state.meeting.id)}/comments/summary.${ext}?${q}`;
  };
  const save = (ext) => dl.run(() => download(exportUrl(ext), `tong-hop-y-kien-${state.meeting.id}.${ext}`));
  return html`<section class="card comments" data-testid="console-comments">
    <h2>${t('cmt.title')} <span class="muted">(${state.comments.length})</span></h2>
    <${RoundForm} state=${state} run=${run} busy=${busy} units=${units} />
    ${state.commentRounds.length > 0 && html`<ul class="round-list" data-testid="round-list">${state.commentRounds.map((r) => html`
      <li key=${r.id} data-testid="round-row" data-round-id=${r.id} data-state=${r.state}>
        <span class="strong">${r.title}</span> <span class="badge">${t(`cmt.round_state.${r.state === 'closed' ? 'closed' : 'open'}`)}</span>
        ${r.deadline && html` <span class="muted">${t('cmt.until', { time: formatDateTime(r.deadline) })}</span>`}
        ${r.state !== 'closed' && html` <button type="button" class="small" data-testid="round-close" disabled=${busy}
          onClick=${() => run('comment_round.close', { meeting_id: state.meeting.id, round_id: r.id })}>${t('cmt.round_close')}</button>`}
      </li>`)}</ul>`}
    <div class="inline-form toolbar-row">
      <label>${t('cmt.group')}<select data-testid="comment-group" value=${group} onChange=${(e) => setGroup(e.currentTarget.value)}>
        ${['section', 'unit', 'delegate'].map((g) => html`<option key=${g} value=${g}>${t(`cmt.group.${g}`)}</option>`)}</select></label>
      <label>${t('cmt.round')}<select data-testid="comment-round-filter" value=${roundFilter} onChange=${(e) => setRoundFilter(e.currentTarget.value)}>
        <option value="">${t('cmt.all_rounds')}</option>
        ${state.commentRounds.map((r) => html`<option key=${r.id} value=${String(r.id)}>${r.title}</option>`)}</select></label>
      <button type="button" data-testid="export-docx" disabled=${dl.busy} onClick=${() => save('docx')}>${t('cmt.export_docx')}</button>
      <button type="button" data-testid="export-xlsx" disabled=${dl.busy} onClick=${() => save('xlsx')}>${t('cmt.export_xlsx')}</button>
    </div>
    ${dl.error && html`<p class="error-text" role="alert">${errorText(dl.error)}</p>`}
    ${comments.length === 0 ? html`<p class="muted">${t('cmt.none')}</p>`
      : html`<div class="table-wrap"><table class="comments-table">
          <thead><tr><th>${t('cmt.author')}</th><th>${t('cmt.on')}</th><th>${t('cmt.text')}</th><th>${t('cmt.decision')}</th></tr></thead>
          ${groups.map((g) => html`<tbody key=${g.key} data-testid="comment-group-block">
            <tr class="group-row"><th colspan="4">${g.key || (group === 'section' ? t('cmt.no_section') : '—')} <span class="muted">(${g.items.length})</span></th></tr>
            ${g.items.map((c) => html`<${TriageRow} key=${c.id} c=${c} state=${state} run=${run} busy=${busy} />`)}
          </tbody>`)}
        </table></div>`}
  </section>`;
}
