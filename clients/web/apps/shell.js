// The frame every page shares: session, login, live connection, top bar.

import { html } from 'htm/preact';
import { render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, clearSession, getStoredUser, getToken, onUnauthorized, saveSession } from '../lib/api.js';
import { formatDateTime, t } from '../lib/i18n.js';
import { useAction, useLang } from '../lib/hooks.js';
import { Live } from '../lib/live.js';
import { forgetOffline } from '../lib/documents.js';
import { LoginView } from '../components/LoginView.js';
import { TopBar } from '../components/TopBar.js';

function Shell({ appKey, allowPairing, Main }) {
  const lang = useLang();
  const [session, setSession] = useState(() => ({ token: getToken(), user: getStoredUser() }));
  const [live, setLive] = useState(null);
  // Failed sign-ins on this account since the last one, told once at sign-in (SECURITY.md).
  const [notice, setNotice] = useState(null);

  // The session ended: the offline copy of the papers ends with it (SECURITY.md).
  const userRef = useRef(session.user);
  userRef.current = session.user;
  useEffect(() => onUnauthorized(() => {
    forgetOffline(userRef.current).catch(() => {});
    setSession({ token: null, user: null });
  }), []);
  useEffect(() => { document.title = `${t(appKey)} — ${t('app.name')}`; }, [lang, appKey]);

  // Check the stored token once; a 401 sends us back to the login form.
  useEffect(() => {
    if (!session.token) return;
    api.me().then((r) => {
      if (r && r.user) {
        saveSession({ token: session.token, user: r.user });
        setSession((s) => (s.token === session.token ? { ...s, user: r.user } : s));
      }
    }).catch(() => { /* offline: keep the stored user */ });
  }, [session.token]);

  useEffect(() => {
    if (!session.token) { setLive(null); return undefined; }
    const l = new Live({ user: session.user });
    setLive(l);
    return () => l.stop();
  }, [session.token]);
  useEffect(() => { if (live) live.user = session.user; }, [live, session.user]);

  const onLoggedIn = useCallback((res) => {
    setNotice(res.notice || null);
    saveSession(res);
    setSession({ token: res.token, user: res.user });
  }, []);

  const logout = useCallback(async () => {
    try { await api.logout(); } catch (_) { /* the session ends here anyway */ }
    forgetOffline(userRef.current).catch(() => {});
    clearSession();
    setSession({ token: null, user: null });
  }, []);

  // Sign out everywhere (lost tablet, shared computer): every session of the account ends on
  // the server, whose sockets it closes; then this device signs out as for a plain sign-out.
  const logoutAll = useCallback(async () => {
    if (!window.confirm(t('auth.logout_all_confirm'))) return;
    try {
      await api.logoutAll();
    } catch (err) {
      if (err && err.code !== 'unauthorized') { window.alert(t('auth.logout_all_failed')); return; }
    }
    forgetOffline(userRef.current).catch(() => {});
    clearSession();
    setSession({ token: null, user: null });
  }, []);

  if (!session.token) return html`<${LoginView} appKey=${appKey} allowPairing=${allowPairing} onLoggedIn=${onLoggedIn} />`;
  return html`<div class="app">
    <${TopBar} appKey=${appKey} live=${live} user=${session.user} onLogout=${logout} onLogoutAll=${logoutAll} />
    ${notice && html`<div class="error-banner" role="alert" data-testid="login-notice">
      <span>${notice.failed_attempts > 0 && t('auth.failed_notice', {
        n: notice.failed_attempts, time: formatDateTime(notice.last_failed_at), address: notice.last_failed_address || '?',
      })} ${notice.lockouts > 0 && t('auth.lockout_notice', { k: notice.lockouts })}</span>
      <button type="button" class="link" onClick=${() => setNotice(null)}>${t('error.dismiss')}</button>
    </div>`}
    <main class="main">${live && html`<${Main} live=${live} user=${session.user} lang=${lang} />`}</main>
  </div>`;
}

export function mountApp({ appKey, allowPairing = false, Main }) {
  render(html`<${Shell} appKey=${appKey} allowPairing=${allowPairing} Main=${Main} />`, document.getElementById('app'));
}

// Sends commands over the live connection with a busy flag and the last error.
export function useCommands(live) {
  const action = useAction();
  const run = useCallback((name, data) => action.run(() => live.command(name, data)), [live, action.run]);
  return { run, busy: action.busy, error: action.error, clearError: action.clearError };
}
