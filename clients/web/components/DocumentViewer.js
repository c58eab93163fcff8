// The tablet's document viewer: one page at a time, large; swipe or buttons to turn, pinch or a
// button to zoom (the `zoom` image), a strip of thumbnails, and my private notes over the page
// (text notes, highlights, ink). Page 1 shows as soon as it exists; later pages appear as the
// server renders them (document_progress). Reads from the offline copy when the server is away.

import { html } from 'htm/preact';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { docsApi, frac, makeNote, notesOf } from '../lib/documents.js';
import { errorText, t } from '../lib/i18n.js';
import { renderProgress } from '../lib/store.js';

const INK_COLOR = '#1d4f91';
const HIGHLIGHT_COLOR = '#ffd54a';
const SWIPE_PX = 50;

// An image fetched with the Authorization header and shown from its object URL.
function PageImage({ library, url, alt, testid, onLoad, fallbackUrl }) {
  const [src, setSrc] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let alive = true;
    setError(null);
    if (!url) { setSrc(null); return undefined; }
    library.image(url)
      .catch((e) => (fallbackUrl ? library.image(fallbackUrl) : Promise.reject(e)))
      .then((u) => { if (alive) setSrc(u); })
      .catch((e) => { if (alive) { setSrc(null); setError(e); } });
    return () => { alive = false; };
  }, [library, url, fallbackUrl]);
  if (error) return html`<div class="page-error error-text" role="alert" data-testid=${`${testid}-error`}>${errorText(error)}</div>`;
  if (!src) return html`<div class="page-loading muted" data-testid=${`${testid}-loading`}>${t('view.loading')}</div>`;
  return html`<img src=${src} alt=${alt} data-testid=${testid} draggable="false" onLoad=${onLoad} />`;
}

function Thumb({ library, page, current, onPick, noteCount }) {
  const ref = useRef(null);
  useEffect(() => {
    if (current && ref.current && ref.current.scrollIntoView) ref.current.scrollIntoView({ block: 'nearest', inline: 'center' });
  }, [current]);
  return html`<button type="button" ref=${ref} class=${`thumb${current ? ' current' : ''}`} data-testid="viewer-thumb"
      data-page=${page.index} aria-current=${current ? 'page' : 'false'} onClick=${() => onPick(page.index)}>
    <${PageImage} library=${library} url=${page.thumb} alt=${t('doc.page_n', { n: page.index + 1 })} testid="thumb-img" />
    <span class="thumb-no">${page.index + 1}${noteCount ? html` <span class="pill">${noteCount}</span>` : ''}</span>
  </button>`;
}

// Saved ink and the strokes being drawn, on a canvas the size of the page as shown.
function InkCanvas({ notes, pending, frameRef }) {
  const canvas = useRef(null);
  const [size, setSize] = useState({ w: 0, h: 0 });
  useLayoutEffect(() => {
    const el = frameRef.current;
    if (!el) return undefined;
    const measure = () => setSize({ w: el.clientWidth, h: el.clientHeight });
    measure();
    if (typeof ResizeObserver === 'undefined') return undefined;
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [frameRef]);
  useEffect(() => {
    const c = canvas.current;
    if (!c || !size.w) return;
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(size.w * dpr);
    c.height = Math.round(size.h * dpr);
    const ctx = c.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, size.w, size.h);
    const draw = (strokes, color, width) => {
      ctx.strokeStyle = color || INK_COLOR;
      ctx.lineWidth = Math.max(1, (width || 0.003) * size.w);
      ctx.lineCap = 'round';
      ctx.lineJoin = 'round';
      for (const s of strokes || []) {
        if (!s || s.length < 2) continue;
        ctx.beginPath();
        ctx.moveTo(s[0] * size.w, s[1] * size.h);
        for (let i = 2; i + 1 < s.length; i += 2) ctx.lineTo(s[i] * size.w, s[i + 1] * size.h);
        if (s.length === 2) ctx.lineTo(s[0] * size.w + 0.5, s[1] * size.h + 0.5);
        ctx.stroke();
      }
    };
    for (const n of notes) if (n.kind === 'ink') draw(n.data && n.data.strokes, n.data && n.data.color, n.data && n.data.width);
    draw(pending, INK_COLOR, 0.003);
  }, [notes, pending, size]);
  return html`<canvas ref=${canvas} class="ink-canvas" data-testid="ink-canvas" style=${`width:${size.w}px;height:${size.h}px`}></canvas>`;
}

// A text note shows its text; a highlight or ink is named by its badge alone.
function noteLabel(n) {
  return n.kind === 'text' ? (n.data && n.data.text) || '' : '';
}

// My notes on this document: the text form, and the list with delete buttons.
function NotesPanel({ notes, page, tool, textPos, onSaveText, onDelete, onGo, pendingInk, onSaveInk, onClearInk, busy, error, saved }) {
  const [text, setText] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    if (!text.trim()) return;
    if (await onSaveText(text.trim())) setText('');
  };
  return html`<section class="notes-panel" data-testid="notes-panel">
    <h3>${t('note.title')}</h3>
    <p class="muted small-text">${t('note.private_hint')}</p>
    ${tool === 'text' && html`<p class="muted small-text">${t('note.place_hint')}${textPos ? ' ✓' : ''}</p>`}
    ${tool === 'highlight' && html`<p class="muted small-text">${t('note.highlight_hint')}</p>`}
    ${tool === 'ink' && html`<div class="stack-tight"><p class="muted small-text">${t('note.ink_hint')}</p>
      <div class="buttons">
        <button type="button" class="small primary" data-testid="ink-save" disabled=${busy || !pendingInk.length} onClick=${onSaveInk}>${t('note.ink_save')}</button>
        <button type="button" class="small" data-testid="ink-clear" disabled=${!pendingInk.length} onClick=${onClearInk}>${t('note.ink_clear')}</button>
      </div></div>`}
    <form class="note-form" onSubmit=${submit}>
      <textarea rows="3" maxlength="5000" data-testid="note-text" placeholder=${t('note.text_placeholder')}
        aria-label=${t('note.text_placeholder')} value=${text} onInput=${(e) => setText(e.currentTarget.value)}></textarea>
      <button type="submit" class="primary" data-testid="note-save" disabled=${busy || !text.trim()}>${t('note.save')}</button>
    </form>
    ${saved && html`<p class="ok-text" data-testid="note-saved">✓ ${t('note.saved')}</p>`}
    ${error && html`<p class="error-text" role="alert" data-testid="note-error">${errorText(error)}</p>`}
    ${notes.document.length === 0
      ? html`<p class="muted" data-testid="notes-empty">${t('note.none')}</p>`
      : html`<ul class="note-list">${notes.document.map((n) => html`<li key=${n.id} data-testid="note-item" data-note-id=${n.id}
          data-kind=${n.kind} data-page=${n.page} class=${n.page === page ? 'here' : ''}>
          <button type="button" class="link" onClick=${() => onGo(n.page)}>${t('doc.page_n', { n: n.page + 1 })}</button>
          <span class="badge">${t(`note.kind.${n.kind}`)}</span>
          <span class="note-text" data-testid="note-item-text">${noteLabel(n)}</span>
          <button type="button" class="small danger-outline" data-testid="note-delete" disabled=${busy} onClick=${() => onDelete(n)}>${t('note.delete')}</button>
        </li>`)}</ul>`}
    ${notes.older.length > 0 && html`<p class="muted small-text" data-testid="notes-older">${t('note.older', { n: notes.older.length })}</p>`}
  </section>`;
}

// doc: the document (from the meeting state); request: {page, nonce} to turn to from outside
// (a search hit, the presenter).
export function DocumentViewer({ library, state, store, meetingId, doc, request, onClose }) {
  const [info, setInfo] = useState(null); // the page list answer
  const [loadError, setLoadError] = useState(null);
  const [page, setPage] = useState((request && request.page) || 0);
  const [zoom, setZoom] = useState(false);
  const [tool, setTool] = useState('none');
  const [drag, setDrag] = useState(null); // highlight rectangle being drawn [x, y, w, h]
  const [pendingInk, setPendingInk] = useState([]);
  const [textPos, setTextPos] = useState(null);
  const [busy, setBusy] = useState(false);
  const [noteError, setNoteError] = useState(null);
  const [saved, setSaved] = useState(false);
  const frameRef = useRef(null);
  const pointers = useRef(new Map());
  const gesture = useRef(null);
  const fetching = useRef(false);
  const prog = renderProgress(state, doc);
  const versionId = doc.version && doc.version.id;

  const again = useRef(false);
  const loadPages = useCallback(async () => {
    // One request at a time; a call meanwhile asks once more after it (more pages, a new version).
    if (fetching.current) { again.current = true; return; }
    fetching.current = true;
    try {
      do {
        again.current = false;
        try {
          const answer = await library.pages(meetingId, doc.id);
          setInfo(answer);
          setLoadError(null);
        } catch (e) {
          setLoadError(e);
        }
      } while (again.current);
    } finally {
      fetching.current = false;
    }
  }, [library, meetingId, doc.id]);

  // A new version, or more pages rendered than the list holds: ask again.
  const listed = info ? info.pages.length : 0;
  useEffect(() => { loadPages(); }, [loadPages, versionId]);
  useEffect(() => {
    if (info && !info.offline && prog.ready > listed) loadPages();
  }, [prog.ready, listed, info, loadPages]);

  useEffect(() => {
    if (request) setPage(request.page || 0);
  }, [request && request.nonce]);

  const pages = info ? info.pages : [];
  const total = (info && info.pages_total) || prog.total || pages.length;
  const current = pages.find((p) => p.index === page) || null;
  const last = pages.length ? Math.max(...pages.map((p) => p.index)) : 0;
  const go = (p) => { setPage(Math.max(0, Math.min(p, last))); setDrag(null); setTextPos(null); };
  const prev = () => go(page - 1);
  const next = () => go(page + 1);

  useEffect(() => {
    const onKey = (e) => {
      if (e.target && ['TEXTAREA', 'INPUT'].includes(e.target.tagName)) return;
      if (e.key === 'ArrowRight' || e.key === 'PageDown') next();
      else if (e.key === 'ArrowLeft' || e.key === 'PageUp') prev();
      else if (e.key === 'Escape') onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  const notes = notesOf(state.notes || [], doc.id, page, info ? info.version_id : versionId);
  const noteCounts = {};
  for (const n of notes.document) noteCounts[n.page] = (noteCounts[n.page] || 0) + 1;

  const saveNote = async (kind, data) => {
    setBusy(true);
    setNoteError(null);
    setSaved(false);
    const note = makeNote({ documentId: doc.id, versionId: info ? info.version_id : versionId, page, kind, data });
    try {
      const answer = await docsApi.saveNote(note);
      store.applyNote({ note: (answer && answer.note) || note, deleted: false });
      setSaved(true);
      return true;
    } catch (e) {
      setNoteError(e);
      return false;
    } finally {
      setBusy(false);
    }
  };
  const deleteNote = async (n) => {
    setBusy(true);
    setNoteError(null);
    try {
      await docsApi.deleteNote(n.id);
      store.applyNote({ note: { id: n.id }, deleted: true });
    } catch (e) {
      setNoteError(e);
    } finally {
      setBusy(false);
    }
  };

  // Pointer input over the page: swipe and pinch to read; drag, draw or tap for notes.
  const at = (e) => {
    const r = frameRef.current.getBoundingClientRect();
    return [frac((e.clientX - r.left) / r.width), frac((e.clientY - r.top) / r.height)];
  };
  const onDown = (e) => {
    pointers.current.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (e.currentTarget.setPointerCapture) {
      try { e.currentTarget.setPointerCapture(e.pointerId); } catch (_) { /* synthetic pointer */ }
    }
    if (pointers.current.size === 2) {
      // A second finger: a pinch, not the stroke or rectangle the first one began.
      const was = gesture.current;
      if (was && was.kind === 'ink') setPendingInk((s) => s.slice(0, -1));
      if (was && was.kind === 'rect') setDrag(null);
      const [a, b] = [...pointers.current.values()];
      gesture.current = { kind: 'pinch', dist: Math.hypot(a.x - b.x, a.y - b.y) || 1 };
      return;
    }
    const [x, y] = at(e);
    if (tool === 'highlight') { gesture.current = { kind: 'rect', x, y }; setDrag([x, y, 0, 0]); }
    else if (tool === 'ink') { gesture.current = { kind: 'ink' }; setPendingInk((s) => [...s, [x, y]]); }
    else if (tool === 'text') { gesture.current = null; setTextPos([x, y]); }
    else gesture.current = { kind: 'swipe', x: e.clientX, y: e.clientY };
  };
  const onMove = (e) => {
    if (!pointers.current.has(e.pointerId)) return;
    pointers.current.set(e.pointerId, { x: e.clientX, y: e.clientY });
    const g = gesture.current;
    if (!g) return;
    if (g.kind === 'pinch' && pointers.current.size >= 2) {
      const [a, b] = [...pointers.current.values()];
      const ratio = Math.hypot(a.x - b.x, a.y - b.y) / g.dist;
      if (ratio > 1.25) setZoom(true);
      else if (ratio < 0.8) setZoom(false);
      return;
    }
    const [x, y] = at(e);
    if (g.kind === 'rect') setDrag([Math.min(g.x, x), Math.min(g.y, y), Math.abs(x - g.x), Math.abs(y - g.y)]);
    else if (g.kind === 'ink') setPendingInk((s) => { const out = s.slice(); out[out.length - 1] = [...out[out.length - 1], x, y]; return out; });
  };
  const onUp = (e) => {
    pointers.current.delete(e.pointerId);
    const g = gesture.current;
    if (!g) return;
    if (g.kind === 'pinch') { if (pointers.current.size === 0) gesture.current = null; return; }
    gesture.current = null;
    if (g.kind === 'swipe' && !zoom) {
      const dx = e.clientX - g.x;
      const dy = e.clientY - g.y;
      if (Math.abs(dx) > SWIPE_PX && Math.abs(dx) > Math.abs(dy)) { if (dx < 0) next(); else prev(); }
    } else if (g.kind === 'rect') {
      const r = drag;
      setDrag(null);
      if (r && r[2] > 0.005 && r[3] > 0.005) saveNote('highlight', { rects: [r.map(frac)], color: HIGHLIGHT_COLOR });
    }
  };
  const onCancel = (e) => { pointers.current.delete(e.pointerId); gesture.current = null; setDrag(null); };

  const saveText = (text) => {
    const [x, y] = textPos || [0.05, 0.05];
    return saveNote('text', { x, y, text }).then((ok) => { if (ok) setTextPos(null); return ok; });
  };
  const saveInk = () => saveNote('ink', { strokes: pendingInk.filter((s) => s.length >= 2), color: INK_COLOR, width: 0.003 })
    .then((ok) => { if (ok) setPendingInk([]); });

  const waiting = !current && page < (total || 0);
  return html`<div class="viewer-backdrop" data-testid="document-viewer" data-document-id=${doc.id} data-page=${page}
      data-version-id=${info ? info.version_id : ''} role="dialog" aria-modal="true" aria-label=${doc.title}>
    <div class="viewer">
      <header class="viewer-bar">
        <div class="viewer-title">
          <strong data-testid="viewer-title">${doc.title}</strong>
          ${doc.access === 'confidential' && html`<span class="badge secret-badge">${doc.classification || t('doc.classification_default')}</span>`}
          ${info && info.offline && html`<span class="badge warn-badge" data-testid="viewer-offline">${t('doc.offline_reading')}</span>`}
        </div>
        <div class="viewer-controls">
          <button type="button" class="small" data-testid="viewer-prev" disabled=${page <= 0} onClick=${prev}>‹ ${t('view.prev')}</button>
          <span class="viewer-page-no" data-testid="viewer-page-no">${t('view.page_of', { n: page + 1, total: total || '…' })}</span>
          <button type="button" class="small" data-testid="viewer-next" disabled=${page >= last} onClick=${next}>${t('view.next')} ›</button>
          <button type="button" class="small" data-testid="viewer-zoom" aria-pressed=${zoom ? 'true' : 'false'}
            onClick=${() => setZoom(!zoom)}>${zoom ? t('view.unzoom') : t('view.zoom')}</button>
          <span class="tools" role="radiogroup" aria-label=${t('view.tool')}>${['none', 'text', 'highlight', 'ink'].map((k) => html`<button
              type="button" key=${k} class=${`small${tool === k ? ' active' : ''}`} data-testid=${`tool-${k}`} role="radio"
              aria-checked=${tool === k ? 'true' : 'false'} onClick=${() => { setTool(k); setTextPos(null); }}>${t(`note.tool.${k}`)}</button>`)}</span>
          <button type="button" class="small secondary" data-testid="viewer-close" onClick=${onClose}>${t('view.close')}</button>
        </div>
      </header>
      ${prog.status === 'rendering' && prog.total != null && html`<div class="viewer-progress" data-testid="viewer-progress">
        <span class="muted small-text">${t('doc.rendering', { ready: prog.ready, total: prog.total })}</span>
        <div class="progress-track"><div class="progress-fill" style=${`width:${prog.pct}%`}></div></div></div>`}
      <div class="viewer-body">
        <div class=${`viewer-stage${zoom ? ' zoomed' : ''}`} data-testid="viewer-stage">
          ${loadError && !info && html`<p class="error-text" role="alert" data-testid="viewer-error">${errorText(loadError)}</p>`}
          ${current
            ? html`<div class=${`page-frame tool-${tool}`} ref=${frameRef}>
                <${PageImage} library=${library} url=${zoom ? current.zoom || current.tablet : current.tablet}
                  fallbackUrl=${zoom ? current.tablet : null} alt=${t('doc.page_n', { n: page + 1 })} testid="viewer-image" />
                <div class="page-overlay" data-testid="page-overlay" onPointerDown=${onDown} onPointerMove=${onMove}
                    onPointerUp=${onUp} onPointerCancel=${onCancel}>
                  ${notes.here.filter((n) => n.kind === 'highlight').flatMap((n) => ((n.data && n.data.rects) || []).map((r, i) => html`<div
                      key=${`${n.id}-${i}`} class="hl" data-testid="note-highlight" data-note-id=${n.id}
                      style=${`left:${r[0] * 100}%;top:${r[1] * 100}%;width:${r[2] * 100}%;height:${r[3] * 100}%;background:${(n.data && n.data.color) || HIGHLIGHT_COLOR}`}></div>`))}
                  ${drag && html`<div class="hl drawing" style=${`left:${drag[0] * 100}%;top:${drag[1] * 100}%;width:${drag[2] * 100}%;height:${drag[3] * 100}%`}></div>`}
                  <${InkCanvas} notes=${notes.here} pending=${pendingInk} frameRef=${frameRef} />
                  ${notes.here.filter((n) => n.kind === 'text').map((n) => html`<div key=${n.id} class="text-note" data-testid="note-marker"
                      data-note-id=${n.id} title=${n.data && n.data.text}
                      style=${`left:${((n.data && n.data.x) || 0) * 100}%;top:${((n.data && n.data.y) || 0) * 100}%`}>✎</div>`)}
                  ${textPos && html`<div class="text-note placing" style=${`left:${textPos[0] * 100}%;top:${textPos[1] * 100}%`}>✎</div>`}
                </div>
              </div>`
            : waiting || (!info && !loadError)
              ? html`<p class="muted page-waiting" data-testid="viewer-waiting">${info ? t('view.page_waiting') : t('view.loading')}</p>`
              : null}
        </div>
        <${NotesPanel} notes=${notes} page=${page} tool=${tool} textPos=${textPos} onSaveText=${saveText} onDelete=${deleteNote}
          onGo=${go} pendingInk=${pendingInk} onSaveInk=${saveInk} onClearInk=${() => setPendingInk([])} busy=${busy}
          error=${noteError} saved=${saved} />
      </div>
      <nav class="thumb-strip" aria-label=${t('view.thumbs')} data-testid="thumb-strip">
        ${pages.map((p) => html`<${Thumb} key=${p.index} library=${library} page=${p} current=${p.index === page}
          onPick=${go} noteCount=${noteCounts[p.index] || 0} />`)}
      </nav>
    </div>
  </div>`;
}
