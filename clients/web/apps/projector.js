// Projector (/projector): the current agenda item, big.

import { html } from 'htm/preact';
import { CurrentItem } from '../components/CurrentItem.js';
import { ErrorBanner } from '../components/ErrorBanner.js';
import { MeetingList } from '../components/MeetingList.js';
import { useHashMeeting, useMeeting, useMeetings } from '../lib/hooks.js';
import { t } from '../lib/i18n.js';
import { mountApp } from './shell.js';

function ProjectorMeeting({ live, meetingId }) {
  const { state, error } = useMeeting(live, meetingId);
  if (!state || !state.loaded) return html`<div><${ErrorBanner} error=${error} /><p class="muted">${t('meeting.loading')}</p></div>`;
  return html`<div class="projector-view" data-testid="meeting-view" data-meeting-id=${state.meeting.id}>
    <h1 class="projector-title" data-testid="meeting-heading">${state.meeting.title}</h1>
    <${CurrentItem} state=${state} big=${true} />
  </div>`;
}

function ProjectorMain({ live }) {
  const [meetingId, open] = useHashMeeting();
  const list = useMeetings(live);
  if (meetingId != null) return html`<${ProjectorMeeting} live=${live} meetingId=${meetingId} />`;
  return html`<${MeetingList} title=${t('proj.pick')} meetings=${list.meetings} error=${list.error} onOpen=${open} />`;
}

mountApp({ appKey: 'app.projector', Main: ProjectorMain });
