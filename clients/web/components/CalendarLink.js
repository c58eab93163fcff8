// "Lịch của tôi": every signed-in person's calendar subscription link (docs/programmes.md). The
// link is secret (it opens the feed without signing in): copy it into the phone's calendar, make
// a new one if it leaked (the old one stops at once), or revoke it.

import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { request } from '../lib/api.js';
import { useAction } from '../lib/hooks.js';
import { t } from '../lib/i18n.js';
import { ErrorBanner } from './ErrorBanner.js';

async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (_) {
    // No clipboard API outside a secure context (plain http on the office network): select and copy.
    if (!input) return false;
    input.select();
    return document.execCommand && document.execCommand('copy');
  }
}

export function CalendarPanel({ onClose }) {
  const [feed, setFeed] = useState(null);
  const [copied, setCopied] = useState(false);
  const action = useAction();
  const input = useRef(null);
  useEffect(() => { action.run(() => request('GET', '/api/me/calendar').then(setFeed)); }, []);
  const make = () => action.run(() => request('POST', '/api/me/calendar', { body: {} }).then((f) => { setFeed(f); setCopied(false); }));
  const revoke = () => action.run(() => request('DELETE', '/api/me/calendar').then(setFeed));
  const copy = async () => setCopied(await copyText(feed.url, input.current));
  return html`<div class="card calendar-panel" role="dialog" aria-label=${t('cal.title')} data-testid="calendar-panel">
    <div class="calendar-panel-head"><strong>${t('cal.title')}</strong>
      <button type="button" class="link" data-testid="calendar-close" onClick=${onClose}>${t('cal.close')}</button></div>
    <p class="small-text">${t('cal.hint')}</p>
    <${ErrorBanner} error=${action.error} onDismiss=${action.clearError} />
    ${feed == null ? html`<p class="muted">${t('meetings.loading')}</p>` : feed.active ? html`
      <input ref=${input} readonly class="calendar-url" data-testid="calendar-url" value=${feed.url}
        onFocus=${(e) => e.currentTarget.select()} />
      <div class="buttons">
        <button type="button" class="primary" data-testid="calendar-copy" onClick=${copy}>${copied ? t('cal.copied') : t('cal.copy')}</button>
        <a class="button-like small" data-testid="calendar-webcal" href=${feed.webcal_url}>${t('cal.open')}</a>
      </div>
      <p class="small-text warn-text">${t('cal.secret')}</p>
      <div class="buttons">
        <button type="button" class="secondary" data-testid="calendar-rotate" disabled=${action.busy} onClick=${make}>${t('cal.rotate')}</button>
        <button type="button" class="danger-outline" data-testid="calendar-revoke" disabled=${action.busy} onClick=${revoke}>${t('cal.revoke')}</button>
      </div>` : html`
      <button type="button" class="primary" data-testid="calendar-make" disabled=${action.busy} onClick=${make}>${t('cal.make')}</button>`}
  </div>`;
}

export function CalendarButton() {
  const [open, setOpen] = useState(false);
  return html`<span class="calendar-button">
    <button type="button" class="secondary" data-testid="calendar-open" aria-expanded=${open ? 'true' : 'false'}
      onClick=${() => setOpen(!open)}>${t('cal.button')}</button>
    ${open && html`<${CalendarPanel} onClose=${() => setOpen(false)} />`}
  </span>`;
}
