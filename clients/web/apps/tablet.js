// Tablet (/): delegates and the chair. Meeting list, agenda, attendance, check-in, polls,
// the list of speakers, comments on drafts, and the meeting's documents (read, annotate, offline);
// "Nhiệm vụ của tôi": the directives the delegate answers for, and their progress reports.

import { html } from 'htm/preact';
import { AgendaTree } from '../components/AgendaTree.js';
import { AttendancePanel } from '../components/AttendancePanel.js';
import { CheckIn } from '../components/CheckIn.js';
import { TabletComments } from '../components/Comments.js';
import { CurrentItem } from '../components/CurrentItem.js';
import { HomeNav, MyTasks, useHomeView } from '../components/Directives.js';
import { ErrorBanner } from '../components/ErrorBanner.js';
import { MeetingHeader } from '../components/MeetingHeader.js';
import { MeetingList } from '../components/MeetingList.js';
import { TabletSpeakers } from '../components/Speakers.js';
import { TabletDocuments } from '../components/TabletDocuments.js';
import { TabletPolls } from '../components/TabletPolls.js';
import { useWorkView, WorkSchedule } from '../components/WorkSchedule.js';
import { useDocumentKeeper, useHashMeeting, useMeeting, useMeetings } from '../lib/hooks.js';
import { t } from '../lib/i18n.js';
import { mountApp } from './shell.js';

function TabletMeeting({ live, meetingId, onBack, user }) {
  const { state, error } = useMeeting(live, meetingId);
  const library = useDocumentKeeper(live, meetingId, user);
  if (!state || !state.loaded) {
    return html`<div data-testid="meeting-loading"><${ErrorBanner} error=${error} />
      <p class="muted">${t('meeting.loading')}</p>
      <button type="button" class="link back" data-testid="back-to-list" onClick=${onBack}>${t('meetings.back')}</button></div>`;
  }
  const participant = state.me && state.me.participant_id != null;
  return html`<div class="meeting-view tablet" data-testid="meeting-view" data-meeting-id=${state.meeting.id}>
    <${MeetingHeader} meeting=${state.meeting} onBack=${onBack} />
    <div class="columns">
      <div class="col-main">
        <${CurrentItem} state=${state} />
        ${(participant || state.polls.length > 0) && html`<${TabletPolls} live=${live} state=${state} />`}
        ${library && html`<${TabletDocuments} live=${live} state=${state} library=${library} />`}
        <${AgendaTree} agenda=${state.agenda} currentId=${state.meeting.current_item_id} />
        ${participant && html`<${TabletComments} live=${live} state=${state} user=${user} />`}
      </div>
      <aside class="col-side">
        <${CheckIn} live=${live} state=${state} />
        <${TabletSpeakers} live=${live} state=${state} />
        <${AttendancePanel} state=${state} />
      </aside>
    </div>
  </div>`;
}

function TabletMain({ live, user }) {
  const [meetingId, open] = useHashMeeting();
  const [view, go] = useHomeView();
  const [work, goWork] = useWorkView(); // the published weekly schedule, to read (docs/programmes.md)
  const list = useMeetings(live);
  if (meetingId != null) return html`<${TabletMeeting} live=${live} meetingId=${meetingId} user=${user} onBack=${() => open(null)} />`;
  if (work && work.view === 'schedule') {
    return html`<div class="tablet-home"><${HomeNav} view="schedule" go=${go} views=${['meetings', 'schedule', 'tasks']} />
      <${WorkSchedule} live=${live} user=${user} office=${false} run=${null} busy=${false} weekKey=${work.arg}
        onWeek=${(key) => goWork('schedule', key)} onOpenMeeting=${open} /></div>`;
  }
  // The directives this delegate (or their unit) answers for, with the progress report.
  return html`<div class="tablet-home"><${HomeNav} view=${view === 'tasks' ? 'tasks' : 'meetings'} go=${go} views=${['meetings', 'schedule', 'tasks']} />
    ${view === 'tasks' ? html`<${MyTasks} live=${live} />` : html`<${MeetingList} meetings=${list.meetings} error=${list.error} onOpen=${open} />`}</div>`;
}

mountApp({ appKey: 'app.tablet', allowPairing: true, Main: TabletMain });
