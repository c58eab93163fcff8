// After the meeting (docs/records.md): the chair's conclusion on each agenda item (staff and the
// chair, during the session or after it); the minutes (biên bản) and the conclusion notice
// (thông báo kết luận), for the staff: drawn from the session's record, edited field by field,
// downloaded as DOCX or PDF, then made final (with a confirm step) — frozen, hashed, signed
// when the server has a certificate.

import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { download, request } from '../lib/api.js';
import { errorText, formatDateTime, localInputToUtc, t, utcToLocalInput } from '../lib/i18n.js';
import { useAction } from '../lib/hooks.js';

const PATHS = { minutes: 'minutes', conclusion_notice: 'conclusion-notice' };
const FINAL_COMMAND = { minutes: 'minutes.finalise', conclusion_notice: 'conclusion_notice.issue' };
const SLOW = { timeoutMs: 90000, attempts: 2 }; // finalising runs LibreOffice (and signs): seconds

function conclusionOf(state, itemId) {
  const c = (state.conclusions || []).find((x) => String(x.agenda_item_id) === String(itemId));
  return c ? c.text || '' : '';
}

function ConclusionRow({ state, item, run, busy }) {
  const saved = conclusionOf(state, item.id);
  const [text, setText] = useState(saved);
  const last = useRef(saved);
  useEffect(() => { // a conclusion typed elsewhere arrives: take it unless this one is being edited
    if (saved !== last.current && text === last.current) setText(saved);
    last.current = saved;
  }, [saved]);
  const current = state.meeting && String(state.meeting.current_item_id) === String(item.id);
  const depth = String(item.number || '').split('.').length - 1;
  return html`<li class=${`conclusion-row${current ? ' current' : ''}`} data-testid="conclusion-row" data-item-id=${item.id}
      style=${`margin-left:${depth * 1.2}rem`}>
    <div><span class="strong">${item.number}. ${item.title}</span>
      ${current && html` <span class="badge now">${t('rec.current')}</span>`}</div>
    <form class="inline-form" onSubmit=${(e) => { e.preventDefault(); run('conclusion.set', { meeting_id: state.meeting.id, item_id: item.id, text: text.trim() }); }}>
      <label class="wide">${t('rec.conclusion')}<textarea rows="2" data-testid="conclusion-text" value=${text}
        onInput=${(e) => setText(e.currentTarget.value)} /></label>
      <button type="submit" class="small" data-testid="conclusion-save" disabled=${busy || text.trim() === saved}>${t('rec.save')}</button>
    </form>
  </li>`;
}

export function ConclusionsPanel({ state, run, busy }) {
  const open = ['in_session', 'adjourned', 'closed'].includes(state.meeting.status);
  return html`<section class="card" data-testid="conclusions-panel">
    <h2>${t('rec.conclusions')}</h2>
    <p class="muted small-text">${t('rec.conclusions_hint')}</p>
    ${!open ? html`<p class="muted">${t('rec.not_yet')}</p>`
      : html`<ol class="plain-list">${state.agenda.map((item) => html`<${ConclusionRow} key=${item.id} state=${state} item=${item} run=${run} busy=${busy} />`)}</ol>`}
  </section>`;
}

// --- the documents --------------------------------------------------------------------------

function Field({ label, value, onChange, testid, type = 'text', rows = 0, wide = false }) {
  const input = rows
    ? html`<textarea rows=${rows} data-testid=${testid} value=${value ?? ''} onInput=${(e) => onChange(e.currentTarget.value)} />`
    : html`<input type=${type} data-testid=${testid} value=${value ?? ''} onInput=${(e) => onChange(e.currentTarget.value)} />`;
  return html`<label class=${wide ? 'wide' : ''}>${label}${input}</label>`;
}

function duration(seconds) {
  if (seconds == null) return '';
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return m ? t('rec.duration_ms', { m, s }) : t('rec.duration_s', { s });
}

function MinutesForm({ form, set }) {
  const c = form;
  const put = (name) => (v) => set({ ...c, [name]: v });
  const person = (name, key) => (v) => set({ ...c, [name]: { ...(c[name] || {}), [key]: v } });
  const item = (i, patch) => set({ ...c, items: c.items.map((x, n) => (n === i ? { ...x, ...patch } : x)) });
  const att = c.attendance || {};
  return html`<div class="record-form">
    <div class="grid-form">
      <${Field} label=${t('rec.issuer')} value=${c.issuer} onChange=${put('issuer')} testid="rec-issuer" rows=${2} />
      <${Field} label=${t('rec.number')} value=${c.number} onChange=${put('number')} testid="rec-number" />
      <${Field} label=${t('rec.symbol')} value=${c.symbol} onChange=${put('symbol')} testid="rec-symbol" />
      <${Field} label=${t('rec.place_name')} value=${c.place_name} onChange=${put('place_name')} testid="rec-place-name" />
      <${Field} label=${t('rec.date')} value=${c.date} onChange=${put('date')} testid="rec-date" type="date" />
      <${Field} label=${t('rec.title')} value=${c.title} onChange=${put('title')} testid="rec-title" wide=${true} />
      <${Field} label=${t('rec.started_at')} value=${utcToLocalInput(c.started_at)} type="datetime-local" testid="rec-started-at"
        onChange=${(v) => set({ ...c, started_at: localInputToUtc(v) })} />
      <${Field} label=${t('rec.ended_at')} value=${utcToLocalInput(c.ended_at)} type="datetime-local" testid="rec-ended-at"
        onChange=${(v) => set({ ...c, ended_at: localInputToUtc(v) })} />
      <${Field} label=${t('rec.place')} value=${c.place} onChange=${put('place')} testid="rec-place" wide=${true} />
      <${Field} label=${t('rec.chair')} value=${(c.chair || {}).name} onChange=${person('chair', 'name')} testid="rec-chair-name" />
      <${Field} label=${t('rec.person_title')} value=${(c.chair || {}).title} onChange=${person('chair', 'title')} testid="rec-chair-title" />
      <${Field} label=${t('rec.minute_taker')} value=${(c.minute_taker || {}).name} onChange=${person('minute_taker', 'name')} testid="rec-taker-name" />
      <${Field} label=${t('rec.person_title')} value=${(c.minute_taker || {}).title} onChange=${person('minute_taker', 'title')} testid="rec-taker-title" />
    </div>
    <p class="muted small-text" data-testid="rec-attendance">${t('rec.attendance', {
      present: (att.present || []).length, members: att.members || 0, absent: (att.absent || []).length,
      guests: (c.guests || []).length, documents: (c.documents || []).length })}</p>
    <${Field} label=${t('rec.opening')} value=${c.opening} onChange=${put('opening')} testid="rec-opening" rows=${3} wide=${true} />
    <h3>${t('rec.proceedings')}</h3>
    <ol class="plain-list record-items">${(c.items || []).map((it, i) => html`<li key=${String(it.item_id)} data-testid="rec-item" data-item-id=${it.item_id ?? ''}>
      <div class="strong">${it.number ? `${it.number}. ` : ''}${it.title}</div>
      <${Field} label=${t('rec.notes')} value=${it.notes} onChange=${(v) => item(i, { notes: v })} testid="rec-item-notes" rows=${2} wide=${true} />
      ${(it.speeches || []).map((s, k) => html`<${Field} key=${s.request_id} testid="rec-speech-summary" rows=${2} wide=${true}
        label=${`${s.name}${s.seconds != null ? ` (${duration(s.seconds)})` : ''}`} value=${s.summary}
        onChange=${(v) => item(i, { speeches: it.speeches.map((x, n) => (n === k ? { ...x, summary: v } : x)) })} />`)}
      ${(it.polls || []).map((p) => html`<p key=${p.poll_id} class="small-text" data-testid="rec-poll">${p.text}</p>`)}
      <${Field} label=${t('rec.conclusion')} value=${it.conclusion} onChange=${(v) => item(i, { conclusion: v })} testid="rec-item-conclusion" rows=${2} wide=${true} />
    </li>`)}</ol>
    <${Field} label=${t('rec.closing')} value=${c.closing} onChange=${put('closing')} testid="rec-closing" rows=${2} wide=${true} />
  </div>`;
}

function NoticeForm({ form, set }) {
  const c = form;
  const put = (name) => (v) => set({ ...c, [name]: v });
  const section = (i, patch) => set({ ...c, sections: c.sections.map((x, n) => (n === i ? { ...x, ...patch } : x)) });
  return html`<div class="record-form">
    <div class="grid-form">
      <${Field} label=${t('rec.issuer')} value=${c.issuer} onChange=${put('issuer')} testid="rec-issuer" rows=${2} />
      <${Field} label=${t('rec.number')} value=${c.number} onChange=${put('number')} testid="rec-number" />
      <${Field} label=${t('rec.symbol')} value=${c.symbol} onChange=${put('symbol')} testid="rec-symbol" />
      <${Field} label=${t('rec.place_name')} value=${c.place_name} onChange=${put('place_name')} testid="rec-place-name" />
      <${Field} label=${t('rec.date')} value=${c.date} onChange=${put('date')} testid="rec-date" type="date" />
      <${Field} label=${t('rec.subject')} value=${c.subject} onChange=${put('subject')} testid="rec-subject" rows=${2} wide=${true} />
    </div>
    <${Field} label=${t('rec.intro')} value=${c.intro} onChange=${put('intro')} testid="rec-intro" rows=${3} wide=${true} />
    <h3>${t('rec.sections')}</h3>
    <ol class="plain-list">${(c.sections || []).map((s, i) => html`<li key=${i} data-testid="rec-section">
      <${Field} label=${t('rec.section_title')} value=${s.title} onChange=${(v) => section(i, { title: v })} testid="rec-section-title" wide=${true} />
      <${Field} label=${t('rec.section_text')} value=${s.text} onChange=${(v) => section(i, { text: v })} testid="rec-section-text" rows=${3} wide=${true} />
      <button type="button" class="small danger-outline" onClick=${() => set({ ...c, sections: c.sections.filter((_, n) => n !== i) })}>${t('rec.section_remove')}</button>
    </li>`)}</ol>
    <button type="button" class="small" data-testid="rec-section-add"
      onClick=${() => set({ ...c, sections: [...(c.sections || []), { item_id: null, title: '', text: '' }] })}>${t('rec.section_add')}</button>
    <${Field} label=${t('rec.closing')} value=${c.closing} onChange=${put('closing')} testid="rec-closing" rows=${2} wide=${true} />
    <div class="grid-form">
      <${Field} label=${t('rec.authority')} value=${c.authority} onChange=${put('authority')} testid="rec-authority" />
      <${Field} label=${t('rec.signer_title')} value=${c.signer_title} onChange=${put('signer_title')} testid="rec-signer-title" />
      <${Field} label=${t('rec.signer_name')} value=${c.signer_name} onChange=${put('signer_name')} testid="rec-signer-name" />
      <${Field} label=${t('rec.recipients')} value=${(c.recipients || []).join('\n')} rows=${4} wide=${true} testid="rec-recipients"
        onChange=${(v) => set({ ...c, recipients: v.split('\n') })} />
    </div>
  </div>`;
}

// What the update command takes from the form (docs/records.md): the editable fields only.
export function editsOf(kind, c) {
  const text = (v) => (v == null ? '' : String(v));
  const common = {
    issuer: text(c.issuer), number: text(c.number), symbol: text(c.symbol), place_name: text(c.place_name),
    ...(c.date ? { date: c.date } : {}),
  };
  if (kind === 'minutes') {
    return {
      ...common,
      title: text(c.title), place: text(c.place), started_at: c.started_at || null, ended_at: c.ended_at || null,
      chair: { name: text((c.chair || {}).name), title: text((c.chair || {}).title) },
      minute_taker: { name: text((c.minute_taker || {}).name), title: text((c.minute_taker || {}).title) },
      opening: text(c.opening), closing: text(c.closing),
      items: (c.items || []).map((it) => ({
        item_id: it.item_id ?? null, notes: text(it.notes), conclusion: text(it.conclusion),
        speeches: (it.speeches || []).map((s) => ({ request_id: s.request_id, summary: text(s.summary) })),
      })),
    };
  }
  return {
    ...common,
    subject: text(c.subject), intro: text(c.intro), closing: text(c.closing), authority: text(c.authority),
    signer_title: text(c.signer_title), signer_name: text(c.signer_name),
    sections: (c.sections || []).map((s) => ({ item_id: s.item_id ?? null, title: text(s.title), text: text(s.text) })),
    recipients: (c.recipients || []).map((r) => r.trim()).filter(Boolean),
  };
}

function RecordPanel({ live, state, kind }) {
  const meta = (state.records || {})[kind] || null;
  const [doc, setDoc] = useState(null); // the record with its content, as last read or saved
  const [form, setForm] = useState(null);
  const [dirty, setDirty] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const action = useAction();
  const mid = state.meeting.id;
  const base = `/api/meetings/${encodeURIComponent(mid)}/${PATHS[kind]}`;
  const take = (record) => { setDoc(record); setForm(record ? record.content : null); setDirty(false); };

  // Read the content when the record appears or changes elsewhere (unless edits are pending here).
  useEffect(() => {
    if (!meta) { take(null); return; }
    if (doc && doc.revision >= meta.revision) return;
    if (dirty) return;
    request('GET', base).then((r) => take(r.record)).catch(() => {});
  }, [meta && meta.revision, meta && meta.state]);

  const command = (name, data, options) => action.run(async () => {
    const r = await live.command(name, { meeting_id: mid, ...data }, options);
    take(r.result.record);
    return r;
  });
  const draft = () => command(`${kind}.draft`, {});
  const save = () => command(`${kind}.update`, { revision: doc.revision, ...editsOf(kind, form) });
  const finalise = () => command(FINAL_COMMAND[kind], { revision: doc.revision }, SLOW).then(() => setConfirming(false));
  const fetchFile = (ext) => action.run(() => download(`${base}.${ext}`, `${PATHS[kind]}-${mid}.${ext}`));
  const final = meta && meta.state === 'final';
  const edit = (next) => { setForm(next); setDirty(true); };

  return html`<section class="card record" data-testid=${`record-${kind}`} data-state=${meta ? meta.state : 'none'}
      data-revision=${doc ? doc.revision : ''}>
    <h2>${t(`rec.kind.${kind}`)} ${meta && html`<span class=${`badge ${final ? 'ok-badge' : ''}`} data-testid="record-state">${t(`rec.state.${kind}.${meta.state}`)}</span>`}</h2>
    ${!meta && html`<p class="muted">${t(`rec.none.${kind}`)}</p>`}
    <div class="buttons wrap">
      ${!final && html`<button type="button" class=${meta ? 'secondary' : 'primary'} data-testid="record-draft" disabled=${action.busy}
        onClick=${draft}>${meta ? t('rec.redraw') : t('rec.draw')}</button>`}
      <button type="button" data-testid="record-docx" disabled=${action.busy} onClick=${() => fetchFile('docx')}>${t('rec.docx')}</button>
      <button type="button" data-testid="record-pdf" disabled=${action.busy} onClick=${() => fetchFile('pdf')}>${t('rec.pdf')}</button>
    </div>
    ${meta && !final && html`<p class="muted small-text">${t(`rec.redraw_hint.${kind}`)}</p>`}
    ${action.busy && html`<p class="muted" data-testid="record-busy">${t('rec.working')}</p>`}
    ${action.error && html`<p class="error-text" role="alert" data-testid="record-error">${errorText(action.error)}</p>`}
    ${final && doc && html`<dl class="record-final" data-testid="record-final">
      <dt>${t('rec.final_at')}</dt><dd>${formatDateTime(meta.final_at)}</dd>
      <dt>DOCX SHA-256</dt><dd class="mono small-text" data-testid="record-docx-sha">${meta.files && meta.files.docx.sha256}</dd>
      <dt>PDF SHA-256</dt><dd class="mono small-text" data-testid="record-pdf-sha">${meta.files && meta.files.pdf.sha256}</dd>
      <dt>${t('rec.signed')}</dt><dd data-testid="record-signed">${meta.signed_by || t('rec.unsigned')}</dd>
    </dl>`}
    ${!final && form && html`<form onSubmit=${(e) => { e.preventDefault(); save(); }} data-testid="record-form">
      ${kind === 'minutes' ? html`<${MinutesForm} form=${form} set=${edit} />` : html`<${NoticeForm} form=${form} set=${edit} />`}
      <div class="buttons wrap sticky-actions">
        <button type="submit" class="primary" data-testid="record-save" disabled=${action.busy || !dirty}>${t('rec.save')}</button>
        ${dirty && html`<span class="muted small-text" data-testid="record-dirty">${t('rec.unsaved')}</span>`}
        ${!confirming
          ? html`<button type="button" class="danger-outline" data-testid="record-finalise" disabled=${action.busy || dirty}
              onClick=${() => setConfirming(true)}>${t(`rec.finalise.${kind}`)}</button>`
          : html`<span class="confirm" data-testid="record-confirm">${t(`rec.finalise_warning.${kind}`)}
              <button type="button" class="danger" data-testid="record-finalise-confirm" disabled=${action.busy} onClick=${finalise}>
                ${t('rec.finalise_confirm')}</button>
              <button type="button" class="secondary" onClick=${() => setConfirming(false)}>${t('rec.cancel')}</button></span>`}
      </div>
    </form>`}
  </section>`;
}

// The console's "Biên bản" tab: conclusions for the staff and the chair; the documents for the staff.
// In session the conclusions come first; once the meeting is closed, the documents do.
export function ConsoleRecords({ live, state, run, busy, staff }) {
  const conclusions = html`<${ConclusionsPanel} key="conclusions" state=${state} run=${run} busy=${busy} />`;
  const records = staff ? [
    html`<${RecordPanel} key="minutes" live=${live} state=${state} kind="minutes" />`,
    html`<${RecordPanel} key="conclusion_notice" live=${live} state=${state} kind="conclusion_notice" />`,
  ] : [];
  const after = state.meeting.status === 'closed';
  return html`<div data-testid="console-records">${after ? [...records, conclusions] : [conclusions, ...records]}</div>`;
}
