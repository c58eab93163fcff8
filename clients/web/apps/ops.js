// Operations (/ops): for technical staff, the online conference's live board (docs/conference.md):
// every bridge point's state and link quality across the tree, worst first or as the tree, filters
// by level, state and link, counts by state and by level, a point's link history.

import { html } from 'htm/preact';
import { OpsBoard } from '../components/Conference.js';
import { CurrentItem } from '../components/CurrentItem.js';
import { ErrorBanner } from '../components/ErrorBanner.js';
import { MeetingHeader } from '../components/MeetingHeader.js';
import { MeetingList } from '../components/MeetingList.js';
import { useHashMeeting, useMeeting, useMeetings } from '../lib/hooks.js';
import { t } from '../lib/i18n.js';
import { mountApp } from './shell.js';

function OpsMeeting({ live, meetingId, onBack }) {
  const { state, error } = useMeeting(live, meetingId);
  if (!state || !state.loaded) return html`<div><${ErrorBanner} error=${error} /><p class="muted">${t('meeting.loading')}</p></div>`;
  return html`<div class="meeting-view ops" data-testid="meeting-view" data-meeting-id=${state.meeting.id}>
    <${MeetingHeader} meeting=${state.meeting} onBack=${onBack} />
    <${CurrentItem} state=${state} />
    <${OpsBoard} live=${live} state=${state} />
  </div>`;
}

function OpsMain({ live }) {
  const [meetingId, open] = useHashMeeting();
  const list = useMeetings(live);
  if (meetingId != null) return html`<${OpsMeeting} live=${live} meetingId=${meetingId} onBack=${() => open(null)} />`;
  return html`<div><p class="muted">${t('ops.pick')}</p>
    <${MeetingList} meetings=${list.meetings} error=${list.error} onOpen=${open} /></div>`;
}

mountApp({ appKey: 'app.ops', Main: OpsMain });
