// Secretariat console (/console): meetings, agenda editing, participants and attendance,
// lifecycle, quorum, device pairing; polls, the list of speakers, comments on drafts; the
// meeting's documents (upload, access, publish, present, recall); after the meeting, the chair's
// conclusions, the minutes and the conclusion notice; the follow-up of directives (per meeting, the
// dashboard across meetings, the caller's own tasks).

import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { AgendaEditor } from '../components/AgendaEditor.js';
import { AttendancePanel } from '../components/AttendancePanel.js';
import { ConsoleComments } from '../components/Comments.js';
import { ConsoleConference } from '../components/Conference.js';
import { ConsoleDocuments } from '../components/ConsoleDocuments.js';
import { ConsolePolls } from '../components/ConsolePolls.js';
import { ConsoleRecords } from '../components/ConsoleRecords.js';
import { CreateMeetingForm } from '../components/CreateMeetingForm.js';
import { DirectivesDashboard, HomeNav, MeetingDirectives, MyTasks, useHomeView } from '../components/Directives.js';
import { LiveAttendance } from '../components/LiveAttendance.js';
import { ConsoleSpeakers } from '../components/Speakers.js';
import { WorkProgrammes } from '../components/WorkProgrammes.js';
import { useWorkView, WorkSchedule } from '../components/WorkSchedule.js';
import { ErrorBanner } from '../components/ErrorBanner.js';
import { LifecycleBar } from '../components/LifecycleBar.js';
import { MeetingHeader } from '../components/MeetingHeader.js';
import { MeetingList } from '../components/MeetingList.js';
import { PairingPanel } from '../components/PairingPanel.js';
import { ParticipantsTable } from '../components/ParticipantsTable.js';
import { useHashMeeting, useMeeting, useMeetings } from '../lib/hooks.js';
import { t } from '../lib/i18n.js';
import { mountApp, useCommands } from './shell.js';

const TABS = ['session', 'documents', 'polls', 'speakers', 'conference', 'comments', 'records', 'directives'];
const STAFF_TABS = ['comments', 'documents']; // drafting work: not the chair's

function Tabs({ tab, setTab, state, tabs }) {
  const open = state.polls.filter((p) => p.state === 'open').length;
  const queue = state.speakers.filter((s) => s.state === 'waiting' || s.state === 'approved').length;
  const pending = state.comments.filter((c) => !c.decision).length;
  const rendering = state.documents.filter((d) => (d.latest || d.version) && (d.latest || d.version).status === 'rendering').length;
  const count = { polls: open, speakers: queue, comments: pending, documents: rendering };
  return html`<nav class="tabs console-tabs" role="tablist">${tabs.map((k) => html`<button type="button" role="tab" key=${k}
      data-testid=${`tab-${k}`} aria-selected=${tab === k ? 'true' : 'false'} class=${tab === k ? 'active' : ''}
      onClick=${() => setTab(k)}>${t(`console.tab.${k}`)}${count[k] ? html` <span class="pill">${count[k]}</span>` : ''}</button>`)}</nav>`;
}

// Staff (admin, secretariat, the meeting's secretary) run everything; the chair runs polls and
// the floor, not the drafting work (docs/deliberation.md, "who").
function isStaff(user, state) {
  return ((user && user.roles) || []).some((r) => r === 'admin' || r === 'secretariat') || (state.me && state.me.role === 'secretary');
}

function ConsoleMeeting({ live, meetingId, onBack, user }) {
  const { state, error } = useMeeting(live, meetingId);
  const cmd = useCommands(live);
  const [tab, setTab] = useState('session');
  if (!state || !state.loaded) {
    return html`<div data-testid="meeting-loading"><${ErrorBanner} error=${error} />
      <p class="muted">${t('meeting.loading')}</p>
      <button type="button" class="link back" data-testid="back-to-list" onClick=${onBack}>${t('meetings.back')}</button></div>`;
  }
  const staff = isStaff(user, state);
  return html`<div class="meeting-view console" data-testid="meeting-view" data-meeting-id=${state.meeting.id}>
    <${MeetingHeader} meeting=${state.meeting} onBack=${onBack}>
      <${LifecycleBar} meeting=${state.meeting} run=${cmd.run} busy=${cmd.busy} />
    </${MeetingHeader}>
    <${ErrorBanner} error=${cmd.error} onDismiss=${cmd.clearError} />
    <${Tabs} tab=${tab} setTab=${setTab} state=${state} tabs=${staff ? TABS : TABS.filter((k) => !STAFF_TABS.includes(k))} />
    <div class="columns">
      <div class="col-main">
        ${tab === 'session' && html`<${AgendaEditor} state=${state} run=${cmd.run} busy=${cmd.busy} />`}
        ${tab === 'polls' && html`<${ConsolePolls} state=${state} run=${cmd.run} busy=${cmd.busy} staff=${staff} />`}
        ${tab === 'speakers' && html`<${ConsoleSpeakers} state=${state} run=${cmd.run} busy=${cmd.busy} staff=${staff} />`}
        ${tab === 'comments' && staff && html`<${ConsoleComments} state=${state} run=${cmd.run} busy=${cmd.busy} />`}
        ${tab === 'documents' && staff && html`<${ConsoleDocuments} live=${live} state=${state} run=${cmd.run} busy=${cmd.busy} />`}
        ${tab === 'records' && html`<${ConsoleRecords} live=${live} state=${state} run=${cmd.run} busy=${cmd.busy} staff=${staff} />`}
        ${tab === 'directives' && html`<${MeetingDirectives} live=${live} state=${state} staff=${staff} />`}
        ${tab === 'conference' && html`<${ConsoleConference} live=${live} state=${state} run=${cmd.run} busy=${cmd.busy} staff=${staff} />`}
      </div>
      <aside class="col-side">
        <${AttendancePanel} state=${state} />
        <${LiveAttendance} state=${state} run=${staff ? cmd.run : null} busy=${cmd.busy} />
        ${tab === 'session' && html`<${PairingPanel} participants=${state.participants} />`}
      </aside>
    </div>
    ${tab === 'session' && html`<${ParticipantsTable} state=${state} run=${cmd.run} busy=${cmd.busy} />`}
  </div>`;
}

function ConsoleMain({ live, user }) {
  const [meetingId, open] = useHashMeeting();
  const [view, go] = useHomeView();
  const [work, goWork] = useWorkView(); // the weekly schedule and the work programmes (docs/programmes.md)
  const [creating, setCreating] = useState(false);
  const list = useMeetings(live);
  const cmd = useCommands(live);
  if (meetingId != null) return html`<${ConsoleMeeting} live=${live} meetingId=${meetingId} user=${user} onBack=${() => open(null)} />`;
  // After the meeting: the follow-up of directives across meetings, and the caller's own tasks.
  const nav = html`<${HomeNav} view=${work ? work.view : view} go=${go}
    views=${['meetings', 'schedule', 'programmes', 'directives', 'tasks']} />`;
  const office = ((user && user.roles) || []).some((r) => r === 'admin' || r === 'secretariat');
  const workProps = { live, user, office, run: cmd.run, busy: cmd.busy, error: cmd.error, clearError: cmd.clearError, onOpenMeeting: open };
  if (work && work.view === 'schedule') {
    return html`<div class="console-home">${nav}<${WorkSchedule} ...${workProps} weekKey=${work.arg}
      onWeek=${(key) => goWork('schedule', key)} /></div>`;
  }
  if (work && work.view === 'programmes') {
    return html`<div class="console-home">${nav}<${WorkProgrammes} ...${workProps} programmeId=${work.arg}
      onOpen=${(id) => goWork('programmes', id)} /></div>`;
  }
  if (view === 'directives') return html`<div class="console-home">${nav}<${DirectivesDashboard} live=${live} /></div>`;
  if (view === 'tasks') return html`<div class="console-home">${nav}<${MyTasks} live=${live} /></div>`;
  return html`<div class="console-home">
    ${nav}
    <div class="toolbar">
      <button type="button" class="primary" data-testid="create-meeting-open" onClick=${() => setCreating(true)}>
        ${t('create.open')}</button>
    </div>
    <${ErrorBanner} error=${cmd.error} onDismiss=${cmd.clearError} />
    ${creating && html`<${CreateMeetingForm} defaultUnitId=${user && user.unit_id} run=${cmd.run} busy=${cmd.busy}
      onCancel=${() => setCreating(false)}
      onCreated=${(id) => { setCreating(false); list.reload(); if (id != null) open(id); }} />`}
    <div class="columns">
      <div class="col-main"><${MeetingList} meetings=${list.meetings} error=${list.error} onOpen=${open} /></div>
      <aside class="col-side"><${PairingPanel} participants=${[]} /></aside>
    </div>
  </div>`;
}

mountApp({ appKey: 'app.console', Main: ConsoleMain });
