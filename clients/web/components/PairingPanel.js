import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { formatTime, t } from '../lib/i18n.js';
import { useAction, useUsers } from '../lib/hooks.js';
import { ErrorBanner } from './ErrorBanner.js';

// Parses the server's QR SVG and inserts it without scripts or event handlers.
function SafeSvg({ svg }) {
  const ref = useRef(null);
  useEffect(() => {
    const host = ref.current;
    if (!host) return;
    host.replaceChildren();
    if (!svg) return;
    const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
    const root = doc.documentElement;
    if (!root || root.nodeName.toLowerCase() !== 'svg') return;
    for (const el of root.querySelectorAll('script, foreignObject')) el.remove();
    for (const el of [root, ...root.querySelectorAll('*')]) {
      for (const a of [...el.attributes]) {
        if (/^on/i.test(a.name) || /^\s*javascript:/i.test(a.value)) el.removeAttribute(a.name);
      }
    }
    host.appendChild(document.importNode(root, true));
  }, [svg]);
  return html`<div class="qr" data-testid="pairing-qr" ref=${ref}></div>`;
}

// Accounts to pair: GET /api/users, else (no such right) the meeting's participants.
function useAccounts(participants) {
  const users = useUsers();
  if (users && users.length) {
    return users.map((u) => ({ id: u.id, label: u.full_name ? `${u.full_name} (${u.username})` : u.username }));
  }
  return (participants || []).filter((p) => p.user_id != null).map((p) => ({ id: p.user_id, label: p.full_name }));
}

export function PairingPanel({ participants }) {
  const accounts = useAccounts(participants);
  const [userId, setUserId] = useState('');
  const [pairing, setPairing] = useState(null);
  const action = useAction();
  const create = (e) => {
    e.preventDefault();
    const acc = accounts.find((a) => String(a.id) === userId);
    if (!acc) return;
    action.run(async () => setPairing(await api.createPairing(acc.id)));
  };
  return html`<section class="card pairing" data-testid="pairing-panel">
    <h2>${t('pair.title')}</h2>
    <form onSubmit=${create} class="inline-form">
      <label>${t('pair.account')}
        <select data-testid="pairing-account" required value=${userId} onChange=${(e) => setUserId(e.currentTarget.value)}>
          <option value="">${t('pair.pick_account')}</option>
          ${accounts.map((a) => html`<option key=${a.id} value=${String(a.id)}>${a.label}</option>`)}
        </select></label>
      <button type="submit" class="primary" data-testid="pairing-create" disabled=${action.busy || !userId}>${t('pair.create')}</button>
    </form>
    <${ErrorBanner} error=${action.error} />
    ${pairing && html`<div class="pairing-result">
      <div>
        <div class="muted">${t('pair.code')}</div>
        <div class="pair-code" data-testid="pairing-code">${pairing.code}</div>
        <div class="muted" data-testid="pairing-expires">${t('pair.expires', { time: formatTime(pairing.expires_at) })}</div>
        <p class="muted">${t('pair.hint')}</p>
      </div>
      <${SafeSvg} svg=${pairing.qr_svg} />
    </div>`}
  </section>`;
}
