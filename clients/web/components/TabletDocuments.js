// The tablet's documents: grouped under their agenda items, with the confidential mark, the
// rendering progress, the new-version and recall notices; search without diacritics; follow the
// presenter; the offline copy; the viewer.

import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { docsApi, fold } from '../lib/documents.js';
import { errorText, formatBytes, formatDateTime, t } from '../lib/i18n.js';
import {
  applyNotes, canOpen, dismissDocNotice, dismissRecallNotice, groupDocuments, readableDocuments, renderProgress,
} from '../lib/store.js';
import { DocumentViewer } from './DocumentViewer.js';

export function SecretBadge({ doc }) {
  if (doc.access !== 'confidential') return null;
  return html`<span class="badge secret-badge" data-testid="doc-confidential">${doc.classification || t('doc.classification_default')}</span>`;
}

// The offline copy of this meeting: what it holds, and the download with its progress.
function OfflineBar({ library, meetingId, documents }) {
  const [status, setStatus] = useState(null);
  const [progress, setProgress] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  useEffect(() => {
    let alive = true;
    const read = () => library.offlineStatus(meetingId).then((s) => { if (alive) setStatus(s); }).catch(() => {});
    read();
    const off = library.subscribe((id) => { if (String(id) === String(meetingId)) read(); });
    return () => { alive = false; off(); };
  }, [library, meetingId]);
  const current = (status ? status.documents : []).filter((s) => documents.some((d) => String(d.id) === String(s.id)
    && d.version && String(d.version.id) === String(s.version_id)));
  const readable = documents.filter((d) => d.version);
  const download = async () => {
    setBusy(true);
    setError(null);
    try {
      await library.downloadMeeting(meetingId, setProgress);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const pct = progress && progress.total ? Math.round((100 * progress.done) / progress.total) : busy ? 0 : 100;
  const complete = readable.length > 0 && current.length >= readable.length;
  return html`<div class="offline-bar" data-testid="offline-bar">
    <button type="button" class=${complete ? 'secondary' : 'primary'} data-testid="doc-download" disabled=${busy || readable.length === 0}
      onClick=${download}>${status && status.documents.length ? t('doc.download_again') : t('doc.download')}</button>
    ${progress && html`<div class="download-progress" data-testid="doc-download-progress" data-done=${progress.done}
        data-total=${progress.total} data-state=${busy ? 'running' : error ? 'failed' : 'done'}>
      <span class="small-text">${t('doc.downloading', { done: progress.done, total: progress.total, size: formatBytes(progress.bytes) })}</span>
      <div class="progress-track"><div class="progress-fill" style=${`width:${pct}%`}></div></div>
    </div>`}
    ${status && status.documents.length > 0 && html`<span class="muted small-text" data-testid="doc-offline-status"
        data-count=${current.length}>${t('doc.downloaded', { n: current.length, total: readable.length })}${status.lease_until
        ? ` · ${t('doc.lease', { time: formatDateTime(status.lease_until) })}` : ''}</span>`}
    ${error && html`<span class="error-text" role="alert" data-testid="doc-download-error">${errorText(error)}</span>`}
  </div>`;
}

// A snippet with the query marked, compared as the server does: the whole phrase, without case
// or diacritics, any run of spaces matching any other.
function Snippet({ text, query }) {
  const words = fold(query).trim().split(/\s+/).filter(Boolean);
  if (!text || !words.length) return html`<span>${text || ''}</span>`;
  const folded = fold(text);
  // fold() keeps the length of a precomposed (NFC) text, so indexes match the original.
  if (folded.length !== text.length) return html`<span>${text}</span>`;
  const re = new RegExp(words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('\\s+'), 'g');
  const parts = [];
  let last = 0;
  for (const m of folded.matchAll(re)) {
    if (!m[0]) break;
    parts.push(text.slice(last, m.index), html`<mark>${text.slice(m.index, m.index + m[0].length)}</mark>`);
    last = m.index + m[0].length;
  }
  parts.push(text.slice(last));
  return html`<span>${parts}</span>`;
}

function SearchBox({ meetingId, onOpen }) {
  const [q, setQ] = useState('');
  const [answer, setAnswer] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    if (!q.trim()) return;
    setBusy(true);
    setError(null);
    try {
      setAnswer(await docsApi.search(meetingId, q.trim()));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const hits = (answer && answer.hits) || [];
  return html`<div class="doc-search">
    <form class="search-form" role="search" onSubmit=${submit}>
      <input type="search" data-testid="doc-search-input" value=${q} placeholder=${t('doc.search_placeholder')}
        aria-label=${t('doc.search')} onInput=${(e) => setQ(e.currentTarget.value)} />
      <button type="submit" class="primary" data-testid="doc-search-submit" disabled=${busy || !q.trim()}>${t('doc.search_go')}</button>
    </form>
    ${error && html`<p class="error-text" role="alert" data-testid="doc-search-error">${errorText(error)}</p>`}
    ${answer && html`<div data-testid="search-results" data-count=${hits.length}>
      <p class="muted small-text">${hits.length ? t('doc.search_hits', { n: hits.length }) : t('doc.search_none')}</p>
      <ul class="hit-list">${hits.map((h, i) => html`<li key=${`${h.document_id}-${h.page}-${i}`}>
        <button type="button" class="hit" data-testid="search-hit" data-document-id=${h.document_id} data-page=${h.page}
            onClick=${() => onOpen(h.document_id, h.page)}>
          <span class="hit-head"><strong>${h.title}</strong> · ${t('doc.page_n', { n: h.page + 1 })}</span>
          <span class="hit-snippet" data-testid="search-hit-snippet"><${Snippet} text=${h.snippet} query=${answer.query || q} /></span>
        </button></li>`)}</ul>
    </div>`}
  </div>`;
}

function DocumentRow({ state, doc, onOpen, presented }) {
  const p = renderProgress(state, doc);
  const openable = canOpen(doc);
  const revised = state.docNotices[String(doc.id)] === 'revised';
  const total = doc.version && doc.version.pages_total;
  return html`<li class="doc-row" data-testid="doc-row" data-document-id=${doc.id} data-status=${doc.status}>
    <button type="button" class="doc-open" data-testid="doc-open" disabled=${!openable} onClick=${() => onOpen(doc.id, 0)}>
      <svg class="doc-icon" viewBox="0 0 24 24" width="28" height="28" aria-hidden="true"><path fill="currentColor"
        d="M6 2h8l6 6v12a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2zm7 1.5V9h5.5L13 3.5zM8 13h8v1.5H8V13zm0 3.5h8V18H8v-1.5z" /></svg>
      <span class="doc-main">
        <span class="doc-title" data-testid="doc-title">${doc.title}</span>
        <span class="doc-meta">
          <${SecretBadge} doc=${doc} />
          ${p.status === 'ready' && total != null && html`<span class="muted small-text">${t('doc.pages', { n: total })}</span>`}
          ${presented && html`<span class="badge now" data-testid="doc-presented">${t('doc.presented')}</span>`}
        </span>
        ${revised && html`<span class="doc-notice" data-testid="doc-revised">${t('doc.revised')}</span>`}
        ${p.status === 'failed' && !doc.version && html`<span class="error-text small-text">${t('doc.failed')}</span>`}
        ${(p.status === 'rendering' || !doc.version) && p.status !== 'failed' && html`<span class="doc-progress" data-testid="doc-progress"
            data-ready=${p.ready} data-total=${p.total ?? ''}>
          <span class="small-text muted">${p.total != null ? t('doc.rendering', { ready: p.ready, total: p.total }) : t('doc.rendering_unknown')}</span>
          <span class="progress-track"><span class="progress-fill" style=${`width:${p.pct}%`}></span></span>
        </span>`}
      </span>
    </button>
  </li>`;
}

function RecallNotices({ notices, onDismiss }) {
  if (!notices.length) return null;
  return html`<div class="recall-notices">${notices.map((n) => html`<div key=${n.recall_id} class="recall-notice" role="alert"
      data-testid="recall-notice" data-recall-id=${n.recall_id}>
    <div><strong>${t('doc.recalled')}</strong>: ${n.titles.join('; ')}
      <div class="small-text">${t('doc.recalled_hint')}</div></div>
    <button type="button" class="small" data-testid="recall-notice-dismiss" onClick=${() => onDismiss(n.recall_id)}>${t('doc.dismiss')}</button>
  </div>`)}</div>`;
}

export function TabletDocuments({ live, state, library }) {
  const meetingId = state.meeting.id;
  const sync = live.meetings.get(String(meetingId));
  const store = sync && sync.store;
  const [viewer, setViewer] = useState(null); // {docId, request: {page, nonce}}
  const [follow, setFollow] = useState(false);
  const docs = readableDocuments(state);
  const groups = groupDocuments(state.agenda, docs);

  // My notes: loaded on open and after every reconnect (the `note` messages are not logged, so
  // one missed while offline is only found by asking again).
  useEffect(() => {
    if (!store) return undefined;
    let alive = true;
    const load = () => docsApi.notes(meetingId)
      .then((r) => { if (alive) store.update((s) => applyNotes(s, (r && r.notes) || [])); })
      .catch(() => { /* offline: keep what we have */ });
    load();
    const off = live.on('reconnect', load);
    return () => { alive = false; off(); };
  }, [live, store, meetingId]);

  const open = (docId, page = 0) => {
    if (store) store.update((s) => dismissDocNotice(s, docId));
    setViewer({ docId, request: { page, nonce: Date.now() + Math.random() } });
  };

  // Follow the presenter: turn to the presented page when I can read that document.
  const pres = state.presenting;
  useEffect(() => {
    if (!follow || !pres) return;
    const doc = state.documents.find((d) => String(d.id) === String(pres.document_id));
    if (doc && doc.status !== 'recalled' && canOpen(doc)) open(doc.id, pres.page || 0);
  }, [follow, pres && pres.document_id, pres && pres.page]);

  const viewed = viewer && state.documents.find((d) => String(d.id) === String(viewer.docId));
  // A document recalled, hidden or removed closes its viewer.
  const viewable = viewed && viewed.status !== 'recalled' && canOpen(viewed);
  useEffect(() => {
    if (viewer && !viewable) setViewer(null);
  }, [viewer, viewable]);

  return html`<section class="card documents" data-testid="tablet-documents">
    <div class="section-head">
      <h2>${t('doc.title')}</h2>
      <label class="check follow-toggle"><input type="checkbox" data-testid="follow-presenter" checked=${follow}
        onChange=${(e) => setFollow(e.currentTarget.checked)} /> ${t('doc.follow')}</label>
    </div>
    <${RecallNotices} notices=${state.recallNotices} onDismiss=${(id) => store && store.update((s) => dismissRecallNotice(s, id))} />
    <${OfflineBar} library=${library} meetingId=${meetingId} documents=${docs} />
    <${SearchBox} meetingId=${meetingId} onOpen=${(docId, page) => {
      const d = state.documents.find((x) => String(x.id) === String(docId));
      if (d && canOpen(d)) open(d.id, page);
    }} />
    ${docs.length === 0
      ? html`<p class="muted" data-testid="docs-empty">${t('doc.none')}</p>`
      : groups.map((g) => html`<div key=${g.key} class="doc-group" data-testid="doc-group" data-item-id=${g.item ? g.item.id : ''}>
          <h3>${g.item ? html`<span class="agenda-number">${g.item.number}</span> ${g.item.title}` : t('doc.general')}</h3>
          <ul class="doc-list">${g.documents.map((d) => html`<${DocumentRow} key=${d.id} state=${state} doc=${d} onOpen=${open}
            presented=${pres && String(pres.document_id) === String(d.id)} />`)}</ul>
        </div>`)}
    ${viewable && html`<${DocumentViewer} key=${viewed.id} library=${library} state=${state} store=${store} meetingId=${meetingId}
      doc=${viewed} request=${viewer.request} onClose=${() => setViewer(null)} />`}
  </section>`;
}
