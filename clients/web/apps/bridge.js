// Bridge point (/bridge): the operator of a point (điểm cầu) on a weak link. Its seated count,
// its show of hands on the open poll, its request for the floor; the current item and the agenda.
// The online conference (components/Conference.js): the point's state and link, its connection
// test, camera and microphone, the main feed, who holds the floor.

import { html } from 'htm/preact';
import { AgendaTree } from '../components/AgendaTree.js';
import {
  FloorCard, HandsCard, PointBanner, PointNotice, PointPicker, SeatedCard, usePoint,
} from '../components/BridgePoint.js';
import { BridgeConference } from '../components/Conference.js';
import { CurrentItem } from '../components/CurrentItem.js';
import { ErrorBanner } from '../components/ErrorBanner.js';
import { MeetingHeader } from '../components/MeetingHeader.js';
import { MeetingList } from '../components/MeetingList.js';
import { useHashMeeting, useMeeting, useMeetings } from '../lib/hooks.js';
import { t } from '../lib/i18n.js';
import { openPoll } from '../lib/store.js';
import { mountApp } from './shell.js';

function BridgeMeeting({ live, meetingId, onBack, user }) {
  const { state, error } = useMeeting(live, meetingId);
  if (!state || !state.loaded) {
    return html`<div data-testid="meeting-loading"><${ErrorBanner} error=${error} />
      <p class="muted">${t('meeting.loading')}</p>
      <button type="button" class="link back" data-testid="back-to-list" onClick=${onBack}>${t('meetings.back')}</button></div>`;
  }
  return html`<${BridgeView} live=${live} state=${state} onBack=${onBack} user=${user} />`;
}

function BridgeView({ live, state, onBack, user }) {
  const { point, missing, picker } = usePoint(state, user);
  // The point's own figures in the wide column, the open poll's first (a small laptop shows it
  // without scrolling), then the agenda; the item under discussion beside them, above the
  // request for the floor.
  const voting = !!openPoll(state);
  const hands = point && html`<${HandsCard} key=${`hands:${point.code}`} live=${live} state=${state} point=${point} />`;
  const seated = point && html`<${SeatedCard} key=${`seated:${point.code}`} live=${live} state=${state} point=${point} />`;
  return html`<div class="meeting-view bridge" data-testid="meeting-view" data-meeting-id=${state.meeting.id}>
    <${MeetingHeader} meeting=${state.meeting} onBack=${onBack} />
    ${picker && html`<${PointPicker} picker=${picker} />`}
    ${point ? html`<${PointBanner} state=${state} point=${point} />` : !picker && html`<${PointNotice} missing=${missing} />`}
    <div class="columns">
      <div class="col-main">
        ${point && (voting ? [hands, seated] : [seated, hands])}
        <${AgendaTree} agenda=${state.agenda} currentId=${state.meeting.current_item_id} />
      </div>
      <aside class="col-side">
        ${point && !picker && html`<${BridgeConference} live=${live} state=${state} point=${point} />`}
        <${CurrentItem} state=${state} />
        ${point && !picker && html`<${FloorCard} live=${live} state=${state} point=${point} />`}
      </aside>
    </div>
  </div>`;
}

function BridgeMain({ live, user }) {
  const [meetingId, open] = useHashMeeting();
  const list = useMeetings(live);
  if (meetingId != null) return html`<${BridgeMeeting} live=${live} meetingId=${meetingId} user=${user} onBack=${() => open(null)} />`;
  return html`<${MeetingList} meetings=${list.meetings} error=${list.error} onOpen=${open} />`;
}

mountApp({ appKey: 'app.bridge', allowPairing: true, Main: BridgeMain });
