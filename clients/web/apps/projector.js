// Projector (/projector): big enough to read from the back of the hall. The current agenda item;
// during a poll the count of ballots; after publication the result as bars with its bases; the
// current speaker with a countdown; the quorum; the page of a document being presented, large.

import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { CurrentItem } from '../components/CurrentItem.js';
import { ErrorBanner } from '../components/ErrorBanner.js';
import { MeetingList } from '../components/MeetingList.js';
import { PollResult } from '../components/PollResult.js';
import { SpeakerClock } from '../components/Speakers.js';
import { useDocumentKeeper, useHashMeeting, useMeeting, useMeetings } from '../lib/hooks.js';
import { errorText, t } from '../lib/i18n.js';
import { currentSpeaker, lastPublished, openPoll } from '../lib/store.js';
import { mountApp } from './shell.js';

function ProjectorPoll({ poll }) {
  if (poll.state === 'open') {
    const voted = poll.voted_count ?? 0;
    const entitled = poll.entitled_count ?? 0;
    const pct = entitled > 0 ? Math.min(100, (100 * voted) / entitled) : 0;
    return html`<section class="proj-panel proj-poll" data-testid="projector-poll" data-state="open" data-poll-id=${poll.id}>
      <div class="proj-kicker">${t(`poll.kind.${poll.kind}`)}${poll.secret ? ` · ${t('poll.secret')}` : ''}</div>
      <h2 class="proj-poll-title">${poll.title}</h2>
      <div class="proj-voting" data-testid="projector-voting">${t('proj.voting', { voted, entitled })}</div>
      <div class="progress-track big"><div class="progress-fill" style=${`width:${pct}%`}></div></div>
    </section>`;
  }
  return html`<section class="proj-panel proj-poll" data-testid="projector-poll" data-state=${poll.state} data-poll-id=${poll.id}>
    <div class="proj-kicker">${t('proj.result')}</div>
    <h2 class="proj-poll-title">${poll.title}</h2>
    <${PollResult} poll=${poll} big=${true} />
  </section>`;
}

function ProjectorSpeaker({ speaker }) {
  return html`<section class="proj-panel proj-speaker" data-testid="projector-speaker" data-request-id=${speaker.id}>
    <div class="proj-speaker-main">
      <div class="proj-kicker">${speaker.kind === 'point_of_order' ? t('spk.kind.point_of_order') : t('spk.current')}</div>
      <div class="proj-speaker-name" data-testid="projector-speaker-name">${speaker.name}</div>
      ${speaker.topic && html`<div class="proj-speaker-topic" data-testid="projector-speaker-topic">${speaker.topic}</div>`}
    </div>
    <${SpeakerClock} speaker=${speaker} big=${true} />
  </section>`;
}

function ProjectorQuorum({ q }) {
  if (!q) return null;
  return html`<footer class=${`proj-quorum ${q.reached ? 'ok' : 'not-ok'}`} data-testid="projector-quorum"
      data-reached=${q.reached ? 'true' : 'false'}>
    <span>${t('proj.quorum', { present: q.present, members: q.members, required: q.required })}</span>
    <strong>${q.reached ? t('quorum.reached') : t('quorum.not_reached')}</strong>
  </footer>`;
}

// The presented page (docs/documents.md, `presenting`): its image is fetched with the
// Authorization header like any page; the large `zoom` rendering suits a hall's screen.
function ProjectorPage({ library, meetingId, presenting, state }) {
  const [src, setSrc] = useState(null);
  const [error, setError] = useState(null);
  const docId = presenting.document_id;
  const page = presenting.page || 0;
  useEffect(() => {
    let alive = true;
    setError(null);
    (async () => {
      const list = await library.pages(meetingId, docId);
      const p = (list.pages || []).find((x) => x.index === page);
      if (!p) throw Object.assign(new Error('page not ready'), { code: 'not_found' });
      return library.image(p.zoom || p.tablet).catch(() => library.image(p.tablet));
    })().then((u) => { if (alive) setSrc(u); }).catch((e) => { if (alive) { setSrc(null); setError(e); } });
    return () => { alive = false; };
  }, [library, meetingId, docId, page, presenting.version_id]);
  const doc = state.documents.find((d) => String(d.id) === String(docId));
  return html`<section class="proj-document" data-testid="projector-document" data-document-id=${docId} data-page=${page}>
    <div class="proj-document-head">
      <span class="proj-kicker">${doc ? doc.title : ''}</span>
      <span class="proj-page-no" data-testid="projector-page-no">${t('proj.page', { n: page + 1 })}</span>
    </div>
    ${error ? html`<p class="error-text">${errorText(error)}</p>`
      : src ? html`<img class="proj-page" src=${src} alt=${t('proj.page', { n: page + 1 })} data-testid="projector-page-image" />`
        : html`<p class="muted">${t('view.loading')}</p>`}
  </section>`;
}

function ProjectorMeeting({ live, meetingId, user }) {
  const { state, error } = useMeeting(live, meetingId);
  const library = useDocumentKeeper(live, meetingId, user);
  if (!state || !state.loaded) return html`<div><${ErrorBanner} error=${error} /><p class="muted">${t('meeting.loading')}</p></div>`;
  const open = openPoll(state);
  const shownPoll = open || lastPublished(state);
  const speaker = currentSpeaker(state);
  const presenting = library && state.presenting;
  const busy = !!(shownPoll || speaker || presenting);
  return html`<div class=${`projector-view${busy ? ' busy' : ''}`} data-testid="meeting-view" data-meeting-id=${state.meeting.id}>
    <h1 class="projector-title" data-testid="meeting-heading">${state.meeting.title}</h1>
    ${presenting && html`<${ProjectorPage} library=${library} meetingId=${state.meeting.id} presenting=${presenting} state=${state} />`}
    ${!presenting && (!busy || state.meeting.current_item_id != null) && html`<${CurrentItem} state=${state} big=${!busy} />`}
    ${open && html`<${ProjectorPoll} poll=${open} />`}
    ${speaker && html`<${ProjectorSpeaker} speaker=${speaker} />`}
    ${!open && shownPoll && html`<${ProjectorPoll} poll=${shownPoll} />`}
    <${ProjectorQuorum} q=${state.quorum} />
  </div>`;
}

function ProjectorMain({ live, user }) {
  const [meetingId, open] = useHashMeeting();
  const list = useMeetings(live);
  if (meetingId != null) return html`<${ProjectorMeeting} live=${live} meetingId=${meetingId} user=${user} />`;
  return html`<${MeetingList} title=${t('proj.pick')} meetings=${list.meetings} error=${list.error} onOpen=${open} />`;
}

mountApp({ appKey: 'app.projector', Main: ProjectorMain });
