// Directives (docs/directives.md): REST reads, the evidence upload, and the small rules the
// screens share. The changes themselves are `directive.*` commands sent over the live connection.

import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, NetworkError, getToken, notifyUnauthorized, request } from './api.js';

export const STATUSES = ['new', 'in_progress', 'reported', 'completed', 'cancelled'];
export const OPEN = ['new', 'in_progress', 'reported'];
// Reopening is for what the secretariat closed or was told is done.
export const REOPENABLE = ['reported', 'completed', 'cancelled'];

// {a: 1, b: '', c: null} -> "?a=1": empty filters are left out.
export function queryString(params = {}) {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== '' && v !== false)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v === true ? '1' : v)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

export const directivesApi = {
  list: (params) => request('GET', `/api/directives${queryString(params)}`),
  dashboard: (params) => request('GET', `/api/directives/dashboard${queryString(params)}`),
  mine: (params) => request('GET', `/api/directives/mine${queryString(params)}`),
  one: (id) => request('GET', `/api/directives/${encodeURIComponent(id)}`),
  offered: (meetingId) => request('GET', `/api/meetings/${encodeURIComponent(meetingId)}/offered-directives`),
  xlsxUrl: (params) => `/api/directives.xlsx${queryString(params)}`,
  evidenceUrl: (directiveId, evidenceId) =>
    `/api/directives/${encodeURIComponent(directiveId)}/evidence/${encodeURIComponent(evidenceId)}`,
};

// POST the file as the body; the server reads its type from its bytes. Resolves with `evidence`.
export async function uploadEvidence(meetingId, directiveId, file, { token = getToken() } = {}) {
  let res;
  try {
    res = await fetch(`/api/meetings/${encodeURIComponent(meetingId)}/directives/${encodeURIComponent(directiveId)}`
      + `/evidence?filename=${encodeURIComponent(file.name)}`, {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': file.type || 'application/octet-stream',
        ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: file,
      cache: 'no-store',
    });
  } catch (e) {
    throw new NetworkError(e && e.message);
  }
  let payload = null;
  try { payload = await res.json(); } catch (_) { payload = null; }
  if (res.ok && payload && payload.evidence) return payload.evidence;
  if (res.status === 401) notifyUnauthorized();
  const err = payload && payload.error;
  throw new ApiError((err && err.code) || (res.status === 413 ? 'too_large' : 'unknown'),
    (err && err.message) || `HTTP ${res.status}`, { status: res.status, details: (err && err.details) ?? null });
}

// The CSS class of a directive's urgency: overdue in red, due soon in amber.
export function urgency(d) {
  const w = d.timeliness || {};
  if (w.overdue) return 'overdue';
  if (w.due_soon) return 'due-soon';
  if (w.late) return 'late';
  return '';
}

// Loads something about directives and loads it again when a directive changes anywhere this
// client hears of (Live's `directive` messages) and after a reconnect.
export function useDirectiveData(live, load, deps) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const seq = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++seq.current;
    try {
      const r = await load();
      if (mine === seq.current) { setData(r); setError(null); }
    } catch (e) {
      if (mine === seq.current) setError(e);
    }
  }, deps);
  useEffect(() => {
    reload();
    if (!live) return undefined;
    const offA = live.on('directive', reload);
    const offB = live.on('reconnect', reload);
    return () => { offA(); offB(); };
  }, [live, reload]);
  return { data, error, reload };
}

// The units as options, in tree order with their depth, for a <select>.
export function unitOptions(units) {
  const list = units || [];
  const below = new Map();
  for (const u of list) {
    const key = u.parent_id == null ? 'root' : String(u.parent_id);
    if (!below.has(key)) below.set(key, []);
    below.get(key).push(u);
  }
  const known = new Set(list.map((u) => String(u.id)));
  const out = [];
  const walk = (key, depth) => {
    for (const u of (below.get(key) || []).slice().sort((a, b) => a.name.localeCompare(b.name, 'vi'))) {
      out.push({ id: u.id, name: u.name, depth });
      walk(String(u.id), depth + 1);
    }
  };
  walk('root', 0);
  // Units whose parent is not in the list (should not happen) still appear.
  for (const u of list) if (u.parent_id != null && !known.has(String(u.parent_id))) out.push({ id: u.id, name: u.name, depth: 0 });
  return out;
}
