// The secretariat's documents (docs/documents.md): per agenda item (and the general papers) a
// drop zone taking several files at once, each uploaded with its own progress bar and then
// rendered with another; the list with order, access, publish, new version, remove, recall and
// present; the recall receipts of every tablet that held a copy.

import { html } from 'htm/preact';
import { useEffect, useReducer, useState } from 'preact/hooks';
import { docsApi } from '../lib/documents.js';
import { docErrorText, errorText, formatDateTime, t } from '../lib/i18n.js';
import { groupDocuments, mergeHolder, renderProgress } from '../lib/store.js';
import { nextToStart, processingOf, queueReducer, uploadFile, uploadPct } from '../lib/uploads.js';
import { SecretBadge } from './TabletDocuments.js';

const ROLES = ['chair', 'secretary', 'delegate', 'guest', 'observer', 'operator'];
const ACCESS = ['open', 'restricted', 'confidential'];

function Bar({ pct, testid, label, status }) {
  return html`<div class="bar-line" data-testid=${testid} data-pct=${pct} data-status=${status || ''}>
    <span class="bar-line-label small-text">${label}</span>
    <div class="progress-track"><div class=${`progress-fill${status === 'failed' ? ' failed' : ''}`} style=${`width:${pct}%`}></div></div>
    <span class="small-text num">${pct}%</span>
  </div>`;
}

function UploadItem({ item, documents, onDismiss }) {
  const proc = processingOf(item, documents);
  const processingShown = ['processing', 'done'].includes(item.phase) || (item.phase === 'failed' && item.documentId != null);
  return html`<li class="upload-item" data-testid="upload-item" data-phase=${item.phase} data-name=${item.name}
      data-document-id=${item.documentId ?? ''}>
    <div class="upload-head">
      <span class="strong">${item.name}</span>
      <span class=${`badge phase-${item.phase}`} data-testid="upload-phase">${t(`cdoc.phase.${item.phase}`)}</span>
      ${['done', 'failed'].includes(item.phase) && html`<button type="button" class="link small-text" data-testid="upload-dismiss"
        onClick=${() => onDismiss(item.id)}>${t('error.dismiss')}</button>`}
    </div>
    <${Bar} pct=${uploadPct(item)} testid="upload-progress" label=${t('cdoc.upload_bar')}
      status=${item.phase === 'failed' && !item.uploadId ? 'failed' : item.uploadId ? 'done' : ''} />
    ${processingShown && html`<${Bar} pct=${item.phase === 'failed' ? proc.pct : proc.pct} testid="process-progress"
      label=${proc.total != null ? `${t('cdoc.process_bar')} ${proc.ready}/${proc.total}` : t('cdoc.process_bar')}
      status=${item.phase === 'done' ? 'done' : item.phase === 'failed' ? 'failed' : proc.status} />`}
    ${item.error && html`<p class="error-text" role="alert" data-testid="upload-error" data-code=${item.error.code || ''}>
      ${docErrorText(item.error)}</p>`}
  </li>`;
}

// Accepts files dropped on it or picked with the (multiple) file input.
function DropZone({ itemId, onFiles, compact }) {
  const [over, setOver] = useState(false);
  const take = (list) => {
    const files = [...(list || [])];
    if (files.length) onFiles(files);
  };
  return html`<div class=${`drop-zone${over ? ' over' : ''}${compact ? ' compact' : ''}`} data-testid="drop-zone" data-item-id=${itemId ?? ''}
      onDragEnter=${(e) => { e.preventDefault(); setOver(true); }}
      onDragOver=${(e) => { e.preventDefault(); if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy'; setOver(true); }}
      onDragLeave=${() => setOver(false)}
      onDrop=${(e) => { e.preventDefault(); setOver(false); take(e.dataTransfer && e.dataTransfer.files); }}>
    <span class="muted">${compact ? t('cdoc.drop_short') : t('cdoc.drop')}</span>
    <label class="file-button">
      <input type="file" multiple class="sr" data-testid="file-input"
        onChange=${(e) => { take(e.currentTarget.files); e.currentTarget.value = ''; }} />
      <span class="button-like">${t('cdoc.choose')}</span>
    </label>
  </div>`;
}

function AccessEditor({ state, doc, run, busy, onDone }) {
  const [access, setAccess] = useState(doc.access || 'open');
  const [pids, setPids] = useState(((doc.readers && doc.readers.participant_ids) || []).map(String));
  const [roles, setRoles] = useState((doc.readers && doc.readers.roles) || []);
  const [cls, setCls] = useState(doc.classification || '');
  const toggle = (list, set, v) => set(list.includes(v) ? list.filter((x) => x !== v) : [...list, v]);
  const pick = (k) => {
    setAccess(k);
    if (k === 'confidential' && !cls) setCls(t('doc.classification_default'));
  };
  const save = (e) => {
    e.preventDefault();
    const readers = access === 'open' ? { participant_ids: [], roles: [] }
      : { participant_ids: pids.map((x) => (Number.isFinite(Number(x)) ? Number(x) : x)), roles };
    run('document.update', {
      meeting_id: state.meeting.id, document_id: doc.id, access, readers,
      ...(access === 'confidential' ? { classification: cls.trim() || t('doc.classification_default') } : {}),
    }).then((r) => { if (r) onDone(); });
  };
  return html`<form class="access-editor" data-testid="access-editor" onSubmit=${save}>
    <fieldset class="seg"><legend>${t('cdoc.access')}</legend>
      ${ACCESS.map((k) => html`<label class="check" key=${k}><input type="radio" name=${`access-${doc.id}`} data-testid=${`access-${k}`}
        checked=${access === k} onChange=${() => pick(k)} /> ${t(`access.${k}`)}</label>`)}
    </fieldset>
    ${access !== 'open' && html`<div class="access-readers">
      <fieldset class="seg"><legend>${t('access.roles')}</legend><div class="checks">
        ${ROLES.map((r) => html`<label class="check" key=${r}><input type="checkbox" data-testid="access-role" data-role=${r}
          checked=${roles.includes(r)} onChange=${() => toggle(roles, setRoles, r)} /> ${t(`role.${r}`)}</label>`)}
      </div></fieldset>
      <fieldset class="seg"><legend>${t('access.participants')}</legend><div class="checks reader-checks">
        ${state.participants.map((p) => html`<label class="check" key=${p.id}><input type="checkbox" data-testid="access-participant"
          data-participant-id=${p.id} checked=${pids.includes(String(p.id))} onChange=${() => toggle(pids, setPids, String(p.id))} />
          ${p.full_name}</label>`)}
      </div></fieldset>
    </div>`}
    ${access === 'confidential' && html`<label>${t('access.classification')}
      <input data-testid="access-classification" value=${cls} onInput=${(e) => setCls(e.currentTarget.value)} /></label>
      <p class="muted small-text">${t('access.confidential_hint')}</p>`}
    <div class="buttons">
      <button type="submit" class="primary" data-testid="access-save" disabled=${busy}>${t('access.save')}</button>
      <button type="button" class="secondary" onClick=${onDone}>${t('cdoc.cancel')}</button>
    </div>
  </form>`;
}

function DocRow({ state, doc, idx, count, run, busy, onRevise }) {
  const [mode, setMode] = useState(null); // null | 'access' | 'remove' | 'recall'
  const [page, setPage] = useState('1');
  const meetingId = state.meeting.id;
  const p = renderProgress(state, doc, { staff: true });
  const latest = doc.latest || doc.version;
  const newer = doc.latest && doc.version && String(doc.latest.id) !== String(doc.version.id);
  const presented = state.presenting && String(state.presenting.document_id) === String(doc.id);
  const done = (pr) => pr.then((r) => { if (r) setMode(null); });
  const total = doc.version && doc.version.pages_total;
  const present = () => {
    const n = Math.max(1, Math.min(Number(page) || 1, total || Number(page) || 1));
    run('document.present', { meeting_id: meetingId, document_id: doc.id, page: n - 1 });
  };
  return html`<li class=${`cdoc-row${presented ? ' presented' : ''}`} data-testid="cdoc-row" data-document-id=${doc.id} data-status=${doc.status}>
    <div class="cdoc-main">
      <span class="doc-title strong" data-testid="cdoc-title">${doc.title}</span>
      <span class=${`badge cdoc-status-${doc.status}`} data-testid="cdoc-status">${t(`cdoc.status.${doc.status}`)}</span>
      <${SecretBadge} doc=${doc} />
      ${doc.access === 'restricted' && html`<span class="badge">${t('access.restricted')}</span>`}
      ${latest && html`<span class="muted small-text">${t('cdoc.version', { n: latest.number })} · ${latest.filename}${total != null ? ` · ${t('doc.pages', { n: total })}` : ''}</span>`}
      ${presented && html`<span class="badge now">${t('doc.presented')}</span>`}
    </div>
    ${newer && doc.latest.status === 'rendering' && html`<p class="muted small-text">${t('cdoc.new_version_note', { n: doc.latest.number })}</p>`}
    ${p.status === 'rendering' && html`<${Bar} pct=${p.pct} testid="cdoc-progress" status="rendering"
      label=${p.total != null ? `${t('cdoc.process_bar')} ${p.ready}/${p.total}` : t('cdoc.process_bar')} />`}
    ${p.status === 'failed' && html`<p class="error-text" role="alert" data-testid="cdoc-error" data-code=${(p.error && p.error.code) || ''}>
      ${docErrorText(p.error || { code: 'unknown' })}</p>`}
    ${doc.status !== 'recalled' && html`<div class="row-actions cdoc-actions">
      <button type="button" class="small" data-testid="cdoc-up" disabled=${busy || idx <= 0} title=${t('cdoc.up')}
        onClick=${() => run('document.move', { meeting_id: meetingId, document_id: doc.id, position: idx - 1 })}>↑<span class="sr">${t('cdoc.up')}</span></button>
      <button type="button" class="small" data-testid="cdoc-down" disabled=${busy || idx >= count - 1} title=${t('cdoc.down')}
        onClick=${() => run('document.move', { meeting_id: meetingId, document_id: doc.id, position: idx + 1 })}>↓<span class="sr">${t('cdoc.down')}</span></button>
      <button type="button" class="small" data-testid="cdoc-access" aria-expanded=${mode === 'access' ? 'true' : 'false'}
        onClick=${() => setMode(mode === 'access' ? null : 'access')}>${t('cdoc.access')}</button>
      ${doc.status === 'draft' && html`<button type="button" class="small primary" data-testid="cdoc-publish" disabled=${busy}
        onClick=${() => run('document.publish', { meeting_id: meetingId, document_ids: [doc.id] })}>${t('cdoc.publish')}</button>`}
      <label class="file-button small">
        <input type="file" class="sr" data-testid="cdoc-revise-input"
          onChange=${(e) => { const f = e.currentTarget.files && e.currentTarget.files[0]; if (f) onRevise(doc, f); e.currentTarget.value = ''; }} />
        <span class="button-like small" data-testid="cdoc-revise">${t('cdoc.revise')}</span>
      </label>
      ${doc.status === 'published' && doc.version && html`<span class="present-control">
        <input type="number" min="1" max=${total || undefined} class="tiny" data-testid="cdoc-present-page" aria-label=${t('cdoc.present_page')}
          value=${page} onInput=${(e) => setPage(e.currentTarget.value)} />
        <button type="button" class="small" data-testid="cdoc-present" disabled=${busy} onClick=${present}>${t('cdoc.present')}</button>
      </span>`}
      ${doc.status === 'draft' && (mode === 'remove'
        ? html`<button type="button" class="small danger" data-testid="cdoc-remove-confirm" disabled=${busy}
            onClick=${() => done(run('document.remove', { meeting_id: meetingId, document_id: doc.id }))}>${t('cdoc.remove_confirm')}</button>
          <button type="button" class="small" onClick=${() => setMode(null)}>${t('cdoc.cancel')}</button>`
        : html`<button type="button" class="small danger-outline" data-testid="cdoc-remove" onClick=${() => setMode('remove')}>${t('cdoc.remove')}</button>`)}
      ${doc.status === 'published' && (mode === 'recall'
        ? html`<button type="button" class="small danger" data-testid="cdoc-recall-confirm" disabled=${busy}
            onClick=${() => done(run('document.recall', { meeting_id: meetingId, document_ids: [doc.id] }))}>${t('cdoc.recall_confirm')}</button>
          <button type="button" class="small" onClick=${() => setMode(null)}>${t('cdoc.cancel')}</button>`
        : html`<button type="button" class="small danger-outline" data-testid="cdoc-recall" onClick=${() => setMode('recall')}>${t('cdoc.recall')}</button>`)}
    </div>`}
    ${mode === 'access' && html`<${AccessEditor} state=${state} doc=${doc} run=${run} busy=${busy} onDone=${() => setMode(null)} />`}
  </li>`;
}

function PresentBar({ state, run, busy }) {
  const p = state.presenting;
  if (!p) return null;
  const doc = state.documents.find((d) => String(d.id) === String(p.document_id));
  const total = doc && doc.version && doc.version.pages_total;
  const to = (page) => run('document.present', { meeting_id: state.meeting.id, document_id: p.document_id, page });
  return html`<div class="present-bar" data-testid="present-bar" data-document-id=${p.document_id} data-page=${p.page}>
    <span class="strong">${t('cdoc.presenting', { title: doc ? doc.title : `#${p.document_id}`, page: p.page + 1 })}</span>
    <span class="buttons">
      <button type="button" class="small" data-testid="present-prev" disabled=${busy || p.page <= 0} onClick=${() => to(p.page - 1)}>‹ ${t('view.prev')}</button>
      <button type="button" class="small" data-testid="present-next" disabled=${busy || (total != null && p.page >= total - 1)}
        onClick=${() => to(p.page + 1)}>${t('view.next')} ›</button>
      <button type="button" class="small danger-outline" data-testid="present-stop" disabled=${busy}
        onClick=${() => run('document.present', { meeting_id: state.meeting.id, document_id: null, page: 0 })}>${t('cdoc.present_stop')}</button>
    </span>
  </div>`;
}

// GET /recalls, refetched whenever a recall or a purge confirmation arrives.
function RecallPanel({ state }) {
  const meetingId = state.meeting.id;
  const [recalls, setRecalls] = useState(null);
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let alive = true;
    docsApi.recalls(meetingId)
      .then((r) => { if (alive) { setRecalls((r && r.recalls) || []); setError(null); } })
      .catch((e) => { if (alive) setError(e); });
    return () => { alive = false; };
  }, [meetingId, state.recallsSeen, tick]);
  // Confirmations that came after the last answer show at once.
  let shown = recalls || [];
  for (const c of state.purgeConfirmations) shown = mergeHolder(shown, c.recall_id, c.holder);
  const title = (id) => {
    const d = state.documents.find((x) => String(x.id) === String(id));
    return d ? d.title : `#${id}`;
  };
  return html`<section class="card recall-panel" data-testid="recall-panel">
    <div class="section-head"><h2>${t('recall.title')}</h2>
      <button type="button" class="small" data-testid="recall-refresh" onClick=${() => setTick(tick + 1)}>${t('recall.refresh')}</button></div>
    ${error && html`<p class="error-text" role="alert">${errorText(error)}</p>`}
    ${recalls && shown.length === 0 && html`<p class="muted" data-testid="recalls-empty">${t('recall.none')}</p>`}
    <ul class="recall-list">${shown.slice().reverse().map((r) => {
      const holders = r.holders || [];
      const done = holders.filter((h) => h.confirmed_at).length;
      return html`<li key=${r.id} class="recall" data-testid="recall" data-recall-id=${r.id}>
        <div class="recall-head"><span class="strong">${t('recall.at', { time: formatDateTime(r.at) })}</span>
          <span class="badge" data-testid="recall-count" data-done=${done} data-total=${holders.length}>${t('recall.count', { done, total: holders.length })}</span></div>
        <div class="muted small-text">${(r.document_ids || []).map(title).join('; ')}</div>
        ${holders.length === 0 ? html`<p class="muted small-text">${t('recall.no_holders')}</p>`
          : html`<table class="compact"><thead><tr><th>${t('recall.holder')}</th><th>${t('recall.device')}</th><th>${t('recall.confirmed')}</th></tr></thead>
            <tbody>${holders.map((h) => html`<tr key=${h.client} data-testid="recall-holder" data-client=${h.client} data-user-id=${h.user_id ?? ''}
                data-confirmed=${h.confirmed_at ? 'true' : 'false'}>
              <td>${h.full_name || ''}</td>
              <td>${h.device_name || t('recall.browser')}</td>
              <td data-testid="recall-holder-confirmed">${h.confirmed_at ? formatDateTime(h.confirmed_at)
                : html`<span class="warn-text">${t('recall.unconfirmed')}</span>`}</td>
            </tr>`)}</tbody></table>`}
      </li>`;
    })}</ul>
  </section>`;
}

export function ConsoleDocuments({ live, state, run, busy }) {
  const meetingId = state.meeting.id;
  const [queue, dispatch] = useReducer(queueReducer, []);
  const [confirmAll, setConfirmAll] = useState(false);
  const groups = groupDocuments(state.agenda, state.documents, { allItems: true });
  const drafts = state.documents.filter((d) => d.status === 'draft');
  const published = state.documents.filter((d) => d.status === 'published');

  // Each file: upload (XHR, its own bar) -> document.add / document.revise -> rendering.
  const runItem = async (item) => {
    dispatch({ type: 'start', id: item.id });
    try {
      const upload = await uploadFile(meetingId, item.file, {
        onProgress: (loaded, total) => dispatch({ type: 'progress', id: item.id, loaded, total }),
      });
      dispatch({ type: 'uploaded', id: item.id, upload });
      const res = item.mode === 'revise'
        ? await live.command('document.revise', { meeting_id: meetingId, document_id: item.documentId, upload_id: upload.id })
        : await live.command('document.add', {
          meeting_id: meetingId, upload_id: upload.id, ...(item.agendaItemId != null ? { agenda_item_id: item.agendaItemId } : {}),
        });
      // document.add answers {document}; document.revise {document_id, version_id, number}.
      const r = (res && res.result) || {};
      const doc = r.document;
      const v = doc && (doc.latest || doc.version);
      dispatch({
        type: 'added', id: item.id, documentId: doc ? doc.id : r.document_id ?? item.documentId, versionId: v ? v.id : r.version_id ?? null,
      });
    } catch (e) {
      dispatch({ type: 'failed', id: item.id, error: { code: e.code || 'unknown', message: e.message, details: e.details } });
    }
  };
  useEffect(() => {
    for (const item of nextToStart(queue)) runItem(item);
  }, [queue]);
  useEffect(() => { dispatch({ type: 'reconcile', documents: state.documents }); }, [state.documents, queue]);

  const addFiles = (agendaItemId, files) => dispatch({ type: 'add', files, agendaItemId });
  const revise = (doc, file) => dispatch({
    type: 'add', files: [file], agendaItemId: doc.agenda_item_id, documentId: doc.id,
    previousVersionId: doc.latest ? doc.latest.id : doc.version ? doc.version.id : null,
  });

  return html`<div class="console-documents" data-testid="console-documents">
    <section class="card">
      <div class="section-head"><h2>${t('doc.title')}</h2>
        <span class="buttons">
          <button type="button" class="primary" data-testid="publish-all" disabled=${busy || drafts.length === 0}
            onClick=${() => run('document.publish', { meeting_id: meetingId })}>${t('cdoc.publish_all')}${drafts.length ? ` (${drafts.length})` : ''}</button>
          ${confirmAll
            ? html`<button type="button" class="danger" data-testid="recall-all-confirm" disabled=${busy}
                onClick=${() => run('document.recall', { meeting_id: meetingId }).then(() => setConfirmAll(false))}>${t('cdoc.recall_all_confirm')}</button>
              <button type="button" class="secondary" onClick=${() => setConfirmAll(false)}>${t('cdoc.cancel')}</button>`
            : html`<button type="button" class="danger-outline" data-testid="recall-all" disabled=${busy || published.length === 0}
                onClick=${() => setConfirmAll(true)}>${t('cdoc.recall_all')}</button>`}
        </span>
      </div>
      <${PresentBar} state=${state} run=${run} busy=${busy} />
      ${groups.map((g) => {
        const itemId = g.item ? g.item.id : null;
        const mine = queue.filter((q) => String(q.agendaItemId ?? '') === String(itemId ?? ''));
        const docs = g.documents;
        // An item without papers takes one line: the agenda is long, most items have none.
        const compact = docs.length === 0 && mine.length === 0;
        return html`<div key=${g.key} class=${`cdoc-group${compact ? ' compact' : ''}`} data-testid="cdoc-group" data-item-id=${itemId ?? ''}>
          <h3>${g.item ? html`<span class="agenda-number">${g.item.number}</span> ${g.item.title}` : t('doc.general')}</h3>
          <${DropZone} itemId=${itemId} compact=${compact} onFiles=${(files) => addFiles(itemId, files)} />
          ${mine.length > 0 && html`<ul class="upload-list">${mine.map((q) => html`<${UploadItem} key=${q.id} item=${q}
            documents=${state.documents} onDismiss=${(id) => dispatch({ type: 'dismiss', id })} />`)}</ul>`}
          ${docs.length > 0 && html`<ol class="cdoc-list">${docs.map((d, i) => html`<${DocRow} key=${d.id} state=${state} doc=${d}
            idx=${i} count=${docs.length} run=${run} busy=${busy} onRevise=${revise} />`)}</ol>`}
        </div>`;
      })}
    </section>
    <${RecallPanel} state=${state} />
  </div>`;
}
