// Preact hooks shared by the applications.

import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, getToken } from './api.js';
import { DocumentKeeper, libraryFor } from './documents.js';
import { getLang, onLangChange } from './i18n.js';

// Re-render when the language changes.
export function useLang() {
  const [lang, setLangState] = useState(getLang());
  useEffect(() => onLangChange(setLangState), []);
  return lang;
}

export function useConnState(live) {
  const [state, setState] = useState(live ? live.state : 'offline');
  useEffect(() => {
    if (!live) return undefined;
    setState(live.state);
    return live.on('state', setState);
  }, [live]);
  return state;
}

// The meetings this user may see; refetched on `meetings_changed` and after a reconnect.
export function useMeetings(live) {
  const [data, setData] = useState({ meetings: null, error: null });
  const seq = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++seq.current;
    try {
      const res = await api.meetings();
      if (mine === seq.current) setData({ meetings: res.meetings || [], error: null });
    } catch (e) {
      if (mine === seq.current) setData((d) => ({ meetings: d.meetings, error: e }));
    }
  }, []);
  useEffect(() => {
    reload();
    if (!live) return undefined;
    const offA = live.on('meetings_changed', reload);
    const offB = live.on('reconnect', reload);
    return () => { offA(); offB(); };
  }, [live, reload]);
  return { ...data, reload };
}

// Follows one meeting over the live connection; returns its state.
export function useMeeting(live, meetingId) {
  const [state, setState] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (!live || meetingId == null) return undefined;
    const sync = live.open(meetingId);
    setState(sync.store.state);
    setError(sync.error);
    const off = sync.store.subscribe(setState);
    const offErr = live.on('meeting_error', (e) => {
      if (String(e.meetingId) === String(meetingId)) setError(e.error);
    });
    return () => { off(); offErr(); live.close(meetingId); };
  }, [live, meetingId]);
  return { state, error };
}

// "#/m/<id>" opens a meeting; anything else is the list.
function parseHash() {
  const m = /^#\/m\/([^/?#]+)/.exec(window.location.hash || '');
  if (!m) return null;
  const id = decodeURIComponent(m[1]);
  return /^\d+$/.test(id) ? Number(id) : id; // ids are integers on the wire
}

export function useHashMeeting() {
  const [id, setId] = useState(parseHash());
  useEffect(() => {
    const on = () => setId(parseHash());
    // The hash may have changed between the first render and this effect (effects run
    // after paint): read it again, or that navigation would be lost.
    on();
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  const open = useCallback((meetingId) => {
    window.location.hash = meetingId == null ? '#/' : `#/m/${encodeURIComponent(meetingId)}`;
  }, []);
  return [id, open];
}

// Runs an async action, keeping a busy flag and the last error for display.
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = useCallback(async (fn) => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, clearError: () => setError(null) };
}

// Accounts (GET /api/users, secretariat only): null while loading, [] when refused.
const usersCache = new Map(); // token -> users
export function useUsers() {
  const token = getToken();
  const [users, setUsers] = useState(usersCache.get(token) || null);
  useEffect(() => {
    if (usersCache.has(token)) return;
    api.users()
      .then((r) => { usersCache.set(token, r.users || []); setUsers(r.users || []); })
      .catch(() => setUsers([]));
  }, [token]);
  return users;
}

// The current time, refreshed every `ms` (for countdowns); 0 stops the timer.
export function useNow(ms = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!ms) return undefined;
    const id = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(id);
  }, [ms]);
  return now;
}

// The organisation tree (GET /api/units), flat; null while loading.
let unitsCache = null;
export function useUnits() {
  const [units, setUnits] = useState(unitsCache);
  useEffect(() => {
    if (unitsCache) return;
    api.units()
      .then((r) => { unitsCache = r.units || []; setUnits(unitsCache); })
      .catch(() => setUnits([]));
  }, []);
  return units;
}

// The offline document library of this account, and the keeper that purges recalled copies of a
// followed meeting and confirms the purge (lib/documents.js).
export function useDocumentKeeper(live, meetingId, user) {
  const library = user ? libraryFor(user) : null;
  useEffect(() => {
    if (!live || meetingId == null || !library) return undefined;
    const sync = live.open(meetingId);
    const keeper = new DocumentKeeper({ library, live, sync, meetingId }).start();
    return () => keeper.stop();
  }, [live, meetingId, library]);
  return library;
}
