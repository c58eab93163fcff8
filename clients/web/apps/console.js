// Secretariat console (/console): meetings, agenda editing, participants and attendance,
// lifecycle, quorum, device pairing.

import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { AgendaEditor } from '../components/AgendaEditor.js';
import { AttendancePanel } from '../components/AttendancePanel.js';
import { CreateMeetingForm } from '../components/CreateMeetingForm.js';
import { ErrorBanner } from '../components/ErrorBanner.js';
import { LifecycleBar } from '../components/LifecycleBar.js';
import { MeetingHeader } from '../components/MeetingHeader.js';
import { MeetingList } from '../components/MeetingList.js';
import { PairingPanel } from '../components/PairingPanel.js';
import { ParticipantsTable } from '../components/ParticipantsTable.js';
import { useHashMeeting, useMeeting, useMeetings } from '../lib/hooks.js';
import { t } from '../lib/i18n.js';
import { mountApp, useCommands } from './shell.js';

function ConsoleMeeting({ live, meetingId, onBack }) {
  const { state, error } = useMeeting(live, meetingId);
  const cmd = useCommands(live);
  if (!state || !state.loaded) {
    return html`<div data-testid="meeting-loading"><${ErrorBanner} error=${error} />
      <p class="muted">${t('meeting.loading')}</p>
      <button type="button" class="link back" data-testid="back-to-list" onClick=${onBack}>${t('meetings.back')}</button></div>`;
  }
  return html`<div class="meeting-view console" data-testid="meeting-view" data-meeting-id=${state.meeting.id}>
    <${MeetingHeader} meeting=${state.meeting} onBack=${onBack}>
      <${LifecycleBar} meeting=${state.meeting} run=${cmd.run} busy=${cmd.busy} />
    </${MeetingHeader}>
    <${ErrorBanner} error=${cmd.error} onDismiss=${cmd.clearError} />
    <div class="columns">
      <div class="col-main">
        <${AgendaEditor} state=${state} run=${cmd.run} busy=${cmd.busy} />
      </div>
      <aside class="col-side">
        <${AttendancePanel} state=${state} />
        <${PairingPanel} participants=${state.participants} />
      </aside>
    </div>
    <${ParticipantsTable} state=${state} run=${cmd.run} busy=${cmd.busy} />
  </div>`;
}

function ConsoleMain({ live, user }) {
  const [meetingId, open] = useHashMeeting();
  const [creating, setCreating] = useState(false);
  const list = useMeetings(live);
  const cmd = useCommands(live);
  if (meetingId != null) return html`<${ConsoleMeeting} live=${live} meetingId=${meetingId} onBack=${() => open(null)} />`;
  return html`<div class="console-home">
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
