// The frame every page shares: session, login, live connection, top bar.

import { html } from 'htm/preact';
import { render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, clearSession, getStoredUser, getToken, onUnauthorized, saveSession } from '../lib/api.js';
import { t } from '../lib/i18n.js';
import { useAction, useLang } from '../lib/hooks.js';
import { Live } from '../lib/live.js';
import { LoginView } from '../components/LoginView.js';
import { TopBar } from '../components/TopBar.js';

function Shell({ appKey, allowPairing, Main }) {
  const lang = useLang();
  const [session, setSession] = useState(() => ({ token: getToken(), user: getStoredUser() }));
  const [live, setLive] = useState(null);

  useEffect(() => onUnauthorized(() => setSession({ token: null, user: null })), []);
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
    saveSession(res);
    setSession({ token: res.token, user: res.user });
  }, []);

  const logout = useCallback(async () => {
    try { await api.logout(); } catch (_) { /* the session ends here anyway */ }
    clearSession();
    setSession({ token: null, user: null });
  }, []);

  if (!session.token) return html`<${LoginView} appKey=${appKey} allowPairing=${allowPairing} onLoggedIn=${onLoggedIn} />`;
  return html`<div class="app">
    <${TopBar} appKey=${appKey} live=${live} user=${session.user} onLogout=${logout} />
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
