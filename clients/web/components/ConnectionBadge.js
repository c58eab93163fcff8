import { html } from 'htm/preact';
import { t } from '../lib/i18n.js';
import { useConnState } from '../lib/hooks.js';

// Online / connecting / reconnecting, always visible in the top bar.
export function ConnectionBadge({ live }) {
  const state = useConnState(live);
  return html`<span class=${`conn conn-${state}`} data-testid="conn-status" data-state=${state} role="status"
    aria-live="polite"><span class="conn-dot" aria-hidden="true"></span>${t(`conn.${state}`)}</span>`;
}
