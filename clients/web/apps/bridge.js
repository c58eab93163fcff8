// Bridge point (/bridge): for now, the meeting list and the current agenda item.

import { html } from 'htm/preact';
import { AgendaTree } from '../components/AgendaTree.js';
import { CurrentItem } from '../components/CurrentItem.js';
import { ErrorBanner } from '../components/ErrorBanner.js';
import { MeetingHeader } from '../components/MeetingHeader.js';
import { MeetingList } from '../components/MeetingList.js';
import { useHashMeeting, useMeeting, useMeetings } from '../lib/hooks.js';
import { t } from '../lib/i18n.js';
import { mountApp } from './shell.js';

function BridgeMeeting({ live, meetingId, onBack }) {
  const { state, error } = useMeeting(live, meetingId);
  if (!state || !state.loaded) return html`<div><${ErrorBanner} error=${error} /><p class="muted">${t('meeting.loading')}</p></div>`;
  return html`<div class="meeting-view" data-testid="meeting-view" data-meeting-id=${state.meeting.id}>
    <${MeetingHeader} meeting=${state.meeting} onBack=${onBack} />
    <p class="muted">${t('bridge.soon')}</p>
    <${CurrentItem} state=${state} />
    <${AgendaTree} agenda=${state.agenda} currentId=${state.meeting.current_item_id} />
  </div>`;
}

function BridgeMain({ live }) {
  const [meetingId, open] = useHashMeeting();
  const list = useMeetings(live);
  if (meetingId != null) return html`<${BridgeMeeting} live=${live} meetingId=${meetingId} onBack=${() => open(null)} />`;
  return html`<${MeetingList} meetings=${list.meetings} error=${list.error} onOpen=${open} />`;
}

mountApp({ appKey: 'app.bridge', allowPairing: true, Main: BridgeMain });
