import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { t } from '../lib/i18n.js';
import { useAction } from '../lib/hooks.js';
import { ErrorBanner } from './ErrorBanner.js';
import { LangSwitch } from './LangSwitch.js';

// Username/password, or (tablets, bridge points) a one-time pairing code.
export function LoginView({ appKey, allowPairing, onLoggedIn }) {
  const [mode, setMode] = useState('login');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [device, setDevice] = useState(t('auth.default_device'));
  const action = useAction();

  const submit = (e) => {
    e.preventDefault();
    action.run(async () => {
      const res = mode === 'login'
        ? await api.login(username.trim(), password)
        : await api.pair(code.trim(), device.trim() || t('auth.default_device'));
      onLoggedIn(res);
    });
  };

  return html`<div class="login-page">
    <div class="login-card card">
      <div class="login-head">
        <div><h1>${t('app.name')}</h1><p class="muted">${t(appKey)}</p></div>
        <${LangSwitch} />
      </div>
      ${allowPairing && html`<div class="tabs" role="tablist">
        <button type="button" role="tab" data-testid="tab-login" class=${mode === 'login' ? 'active' : ''}
          onClick=${() => setMode('login')}>${t('auth.tab_login')}</button>
        <button type="button" role="tab" data-testid="tab-pair" class=${mode === 'pair' ? 'active' : ''}
          onClick=${() => setMode('pair')}>${t('auth.tab_pair')}</button>
      </div>`}
      <form onSubmit=${submit} data-testid="login-form">
        ${mode === 'login' ? html`
          <label>${t('auth.username')}
            <input data-testid="login-username" autocomplete="username" autocapitalize="none" required
              value=${username} onInput=${(e) => setUsername(e.currentTarget.value)} /></label>
          <label>${t('auth.password')}
            <input data-testid="login-password" type="password" autocomplete="current-password" required
              value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} /></label>
          <button type="submit" class="primary big" data-testid="login-submit" disabled=${action.busy}>
            ${action.busy ? t('auth.working') : t('auth.login')}</button>
        ` : html`
          <p class="muted">${t('auth.pair_hint')}</p>
          <label>${t('auth.pair_code')}
            <input data-testid="pair-code" class="code-input" inputmode="text" autocomplete="one-time-code" required
              value=${code} onInput=${(e) => setCode(e.currentTarget.value)} /></label>
          <label>${t('auth.device_name')}
            <input data-testid="pair-device" value=${device} onInput=${(e) => setDevice(e.currentTarget.value)} /></label>
          <button type="submit" class="primary big" data-testid="pair-submit" disabled=${action.busy}>
            ${action.busy ? t('auth.working') : t('auth.pair')}</button>
        `}
      </form>
      <${ErrorBanner} error=${action.error} />
    </div>
  </div>`;
}
