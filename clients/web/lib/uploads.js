// The console's upload queue (docs/documents.md, "Upload", "Add", "Revise"): each file is
// streamed with XMLHttpRequest (fetch has no upload progress), then turned into a document
// (`document.add`) or a new version (`document.revise`), then rendered by the server, whose
// progress comes with `document_progress` and `document.changed`. Pure state here; the
// component drives it.

import { ApiError, NetworkError, getToken, notifyUnauthorized } from './api.js';

// queued -> uploading -> adding -> processing -> done; any step may end in failed.
export const PHASES = ['queued', 'uploading', 'adding', 'processing', 'done', 'failed'];
export const MAX_PARALLEL = 2;

let counter = 0;

// Pure reducer over the list of queue items.
export function queueReducer(queue, action) {
  const patch = (id, fn) => queue.map((x) => (x.id === id ? { ...x, ...fn(x) } : x));
  switch (action.type) {
    case 'add':
      return [...queue, ...action.files.map((f) => ({
        id: `u${++counter}`,
        file: f,
        name: f.name,
        size: f.size ?? null,
        agendaItemId: action.agendaItemId ?? null,
        mode: action.documentId != null ? 'revise' : 'add',
        documentId: action.documentId ?? null,
        previousVersionId: action.previousVersionId ?? null,
        versionId: null,
        phase: 'queued',
        loaded: 0,
        total: f.size ?? null,
        uploadId: null,
        error: null,
      }))];
    case 'start':
      return patch(action.id, () => ({ phase: 'uploading', loaded: 0, error: null }));
    case 'progress':
      return patch(action.id, (x) => ({ loaded: action.loaded, total: action.total ?? x.total }));
    case 'uploaded':
      return patch(action.id, (x) => ({ phase: 'adding', uploadId: action.upload.id, loaded: x.total ?? x.loaded }));
    case 'added':
      return patch(action.id, (x) => ({
        phase: 'processing', documentId: action.documentId ?? x.documentId, versionId: action.versionId ?? null,
      }));
    case 'failed':
      return patch(action.id, () => ({ phase: 'failed', error: action.error || { code: 'unknown' } }));
    case 'dismiss':
      return queue.filter((x) => x.id !== action.id);
    case 'reconcile':
      return reconcileQueue(queue, action.documents);
    default:
      return queue;
  }
}

// The version a queue item waits for: the one `document.add`/`revise` answered, else for a
// revision the newest that is not the one before it.
function awaitedVersion(item, doc) {
  const v = doc.latest || doc.version;
  if (!v) return null;
  if (item.versionId != null) return String(v.id) === String(item.versionId) ? v : null;
  if (item.mode === 'revise' && item.previousVersionId != null && String(v.id) === String(item.previousVersionId)) return null;
  return v;
}

// Moves processing items to done or failed as their version's status says.
export function reconcileQueue(queue, documents) {
  let changed = false;
  const out = queue.map((item) => {
    if (item.phase !== 'processing' || item.documentId == null) return item;
    const doc = documents.find((d) => String(d.id) === String(item.documentId));
    if (!doc) return item;
    const v = awaitedVersion(item, doc);
    if (!v) return item;
    if (v.status === 'ready') { changed = true; return { ...item, phase: 'done', versionId: v.id }; }
    if (v.status === 'failed') { changed = true; return { ...item, phase: 'failed', versionId: v.id, error: v.error || { code: 'unknown' } }; }
    return item;
  });
  return changed ? out : queue;
}

// The items to start now, keeping at most `max` uploads on the wire.
export function nextToStart(queue, max = MAX_PARALLEL) {
  const running = queue.filter((x) => x.phase === 'uploading').length;
  return queue.filter((x) => x.phase === 'queued').slice(0, Math.max(0, max - running));
}

// Processing numbers of an item: {ready, total, pct, status} from its document.
export function processingOf(item, documents) {
  const doc = item.documentId != null && documents.find((d) => String(d.id) === String(item.documentId));
  const v = doc && awaitedVersion(item, doc);
  if (item.phase === 'done') return { ready: v ? v.pages_ready : null, total: v ? v.pages_total : null, pct: 100, status: 'ready' };
  if (!v) return { ready: 0, total: null, pct: 0, status: 'rendering' };
  const total = v.pages_total;
  const pct = v.status === 'ready' ? 100 : total ? Math.min(100, Math.round((100 * (v.pages_ready || 0)) / total)) : 0;
  return { ready: v.pages_ready || 0, total, pct, status: v.status };
}

export function uploadPct(item) {
  if (item.phase === 'queued') return 0;
  if (['adding', 'processing', 'done'].includes(item.phase)) return 100;
  if (item.phase === 'failed' && item.uploadId) return 100;
  return item.total ? Math.min(100, Math.round((100 * item.loaded) / item.total)) : 0;
}

// POST /api/meetings/{id}/uploads?filename=..., the file as the body, with upload progress.
// Resolves with the `upload`; rejects with an ApiError carrying the server's code.
export function uploadFile(meetingId, file, { onProgress = () => {}, makeXhr = () => new XMLHttpRequest(), token = getToken() } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = makeXhr();
    xhr.open('POST', `/api/meetings/${encodeURIComponent(meetingId)}/uploads?filename=${encodeURIComponent(file.name)}`);
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : null);
    xhr.onerror = () => reject(new NetworkError('upload failed'));
    xhr.onabort = () => reject(new ApiError('aborted', 'aborted'));
    xhr.onload = () => {
      let payload = null;
      try { payload = JSON.parse(xhr.responseText || 'null'); } catch (_) { payload = null; }
      if (xhr.status >= 200 && xhr.status < 300 && payload && payload.upload) {
        resolve(payload.upload);
        return;
      }
      const err = payload && payload.error;
      if (xhr.status === 401) notifyUnauthorized();
      const code = (err && err.code) || (xhr.status === 413 ? 'too_large' : xhr.status === 415 ? 'unsupported_type' : 'unknown');
      reject(new ApiError(code, (err && err.message) || `HTTP ${xhr.status}`, { status: xhr.status, details: (err && err.details) ?? null }));
    };
    xhr.send(file);
  });
}
