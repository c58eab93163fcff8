// Live connection (socket.io): join/resync per docs/protocol.md and command sending.
//
// Client rule (protocol.md, "Live events and resync"): per meeting keep heads[audience], all
// starting at the snapshot's head. For each event: seq <= heads[audience] -> duplicate, drop it;
// prev > heads[audience] -> an event was missed, ask `resync` with since = min(heads) and apply
// the answer by the same rule; otherwise apply it and set heads[audience] = seq.
// On every (re)connect, `join` again with since = min(heads).

import { io } from 'socket.io-client';
import { ApiError, getToken, notifyUnauthorized } from './api.js';
import { MeetingStore } from './store.js';

// A fresh idempotency key per user action. crypto.randomUUID needs a secure context; tablets
// on a plain-http LAN have none, so fall back to getRandomValues (available everywhere).
export function newKey() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') {
    try { return c.randomUUID(); } catch (_) { /* insecure context */ }
  }
  const b = new Uint8Array(16);
  c.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export class CommandError extends ApiError {
  constructor(error) {
    const e = error || {};
    super(e.code || 'unknown', e.message, { details: e.details ?? null });
    this.name = 'CommandError';
  }
}

function isUnauthorized(err) {
  if (!err) return false;
  if (err.data && (err.data.code === 'unauthorized' || err.data === 'unauthorized')) return true;
  return typeof err.message === 'string' && err.message.includes('unauthorized');
}

const STAFF_ROLES = ['admin', 'secretariat'];
const UNLOGGED = ['poll.progress', 'poll.tally', 'document_progress'];
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30000;

// One meeting's synchronisation: heads per audience, join/resync, the event rule.
export class MeetingSync {
  constructor(live, meetingId, user) {
    this.live = live;
    this.meetingId = meetingId;
    this.user = user;
    this.store = new MeetingStore();
    this.heads = null; // null until the first snapshot
    this.snapshotHead = null;
    this.busy = false; // a join/resync is in flight: live events wait in the queue
    this.queue = [];
    this.pending = null; // 'join' | 'resync' asked while busy
    this.gap = false; // an event revealed a missed one
    this.gapStreak = 0;
    this.closed = false;
    this.error = null;
    this.retries = 0; // joins/resyncs the server could not answer just now, in a row
    this.retryTimer = null;
    // Called with each event as it is applied (in log order, replays after a resync included)
    // and with {type: 'snapshot', snapshot, head} for a snapshot: the documents keeper purges
    // recalled copies from here (lib/documents.js).
    this.appliedListeners = new Set();
  }

  onApplied(fn) {
    this.appliedListeners.add(fn);
    return () => this.appliedListeners.delete(fn);
  }

  notifyApplied(ev) {
    for (const fn of this.appliedListeners) {
      try { fn(ev); } catch (e) { console.error(e); } // a listener's bug must not stop the sync
    }
  }

  minHead() {
    if (!this.heads) return null;
    const values = Object.values(this.heads);
    return values.length ? Math.min(...values) : this.snapshotHead;
  }

  // The audiences this client receives; each starts at the snapshot's head.
  initialAudiences(snapshot) {
    const aud = ['meeting'];
    if (this.user && this.user.id != null) aud.push(`user:${this.user.id}`);
    const roles = (this.user && this.user.roles) || [];
    const meRole = snapshot && snapshot.me && snapshot.me.role;
    if (roles.some((r) => STAFF_ROLES.includes(r)) || meRole === 'secretary') aud.push('secretariat');
    return aud;
  }

  // Called on every (re)connect: since = min(heads), or null before the first snapshot.
  join() {
    return this.sync('join');
  }

  resync() {
    return this.sync('resync');
  }

  async sync(kind) {
    if (this.closed) return;
    if (this.busy) {
      if (this.pending !== 'join') this.pending = kind;
      return;
    }
    this.busy = true;
    const since = this.heads ? this.minHead() : null;
    try {
      const answer = await this.live.request(kind, { meeting_id: this.meetingId, since });
      if (this.closed) return;
      if (answer && answer.ok) {
        this.error = null;
        this.retries = 0;
        this.applyAnswer(answer);
      } else {
        this.error = new CommandError(answer && answer.error);
        this.live.emitMeetingError(this.meetingId, this.error);
        if (this.error.code === 'unauthorized') this.live.unauthorized();
        if (this.error.code === 'unavailable') this.retryLater(kind);
      }
    } catch (_) {
      // Timed out, or disconnected (then the next connect joins again). Still connected, the
      // server was too busy to answer: ask again later rather than stay out of the meeting.
      this.retryLater(kind);
    } finally {
      this.busy = false;
    }
    if (this.closed) return;
    const queued = this.queue;
    this.queue = [];
    if (this.heads) for (const ev of queued) this.applyByRule(ev);
    this.next();
  }

  // A server that could not answer (a reconnect storm, its database restarting) is asked
  // again after a growing, jittered pause, so a thousand tablets do not all come back at once.
  retryLater(kind) {
    if (this.closed || this.retryTimer || !this.live.connected) return;
    this.retries += 1;
    const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (this.retries - 1)) * (0.5 + Math.random() / 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.closed && this.live.connected) this.sync(this.heads ? kind : 'join');
    }, delay);
  }

  // After an answer or a live event: follow up on a pending request or a gap.
  next() {
    if (this.busy || this.closed) return;
    const pending = this.pending;
    this.pending = null;
    if (pending === 'join') {
      this.join();
    } else if (this.gap || pending === 'resync') {
      this.gap = false;
      this.gapStreak += 1;
      if (this.gapStreak > 3) {
        // The log keeps disagreeing with us: start again from a fresh snapshot.
        this.heads = null;
        this.gapStreak = 0;
        this.join();
      } else {
        this.resync();
      }
    } else {
      this.gapStreak = 0;
    }
  }

  applyAnswer(answer) {
    if (answer.snapshot) {
      const snap = answer.snapshot;
      const head = answer.head ?? snap.head ?? 0;
      this.snapshotHead = head;
      this.heads = {};
      for (const a of this.initialAudiences(snap)) this.heads[a] = head;
      this.gap = false;
      this.store.applySnapshot(snap);
      this.notifyApplied({ type: 'snapshot', snapshot: snap, head });
      return;
    }
    if (!this.heads) {
      // Events without a snapshot to apply them to: ask for one.
      this.pending = 'join';
      return;
    }
    for (const ev of answer.events || []) this.applyByRule(ev);
    // An events answer holds every event this client may see up to `head`, so every
    // audience is current to it; without this a quiet audience (user:<id>) would keep
    // min(heads) low and each reconnect would fetch the same events again.
    if (!this.gap && answer.head != null) {
      for (const a of Object.keys(this.heads)) this.heads[a] = Math.max(this.heads[a], answer.head);
      this.snapshotHead = Math.max(this.snapshotHead, answer.head);
    }
  }

  // A live event from the socket.
  onEvent(ev) {
    if (this.closed) return;
    if (this.busy || !this.heads) {
      this.queue.push(ev);
      return;
    }
    this.applyByRule(ev);
    if (this.gap) this.next();
  }

  // poll.progress / poll.tally / document_progress: counts, not state; no seq, so no rule:
  // applied as they come.
  onUnlogged(kind, msg) {
    if (this.closed || !this.heads) return;
    if (kind === 'poll.progress') this.store.applyProgress(msg);
    else if (kind === 'poll.tally') this.store.applyTally(msg);
    else if (kind === 'document_progress') this.store.applyDocProgress(msg);
  }

  applyByRule(ev) {
    const aud = ev.audience || 'meeting';
    if (!(aud in this.heads)) this.heads[aud] = this.snapshotHead;
    const head = this.heads[aud];
    if (ev.seq <= head) return; // duplicate
    if (ev.prev != null && ev.prev > head) {
      this.gap = true; // missed one: the resync (since = min(heads)) brings it and this one
      return;
    }
    this.heads[aud] = ev.seq;
    this.store.applyEvent(ev);
    this.notifyApplied(ev);
  }

  close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}

export class Live {
  constructor({ user } = {}) {
    this.user = user || null;
    this.state = 'connecting';
    this.everConnected = false;
    this.meetings = new Map();
    this.listeners = { state: new Set(), reconnect: new Set(), meetings_changed: new Set(), meeting_error: new Set(), note: new Set(), directive: new Set() };
    this.socket = io({
      auth: (cb) => cb({ token: getToken() }),
      reconnectionDelay: 500,
      reconnectionDelayMax: 3000,
      timeout: 8000,
    });
    this.socket.on('connect', () => this.onConnect());
    this.socket.on('disconnect', (reason) => {
      this.setState(reason === 'io client disconnect' ? 'offline' : 'reconnecting');
      if (reason === 'io server disconnect' && !this.stopped) {
        // The server hung up on us: socket.io does not reconnect by itself in that case.
        setTimeout(() => !this.stopped && this.socket.connect(), 1000);
      }
    });
    this.socket.on('connect_error', (err) => {
      if (isUnauthorized(err)) {
        this.unauthorized();
        return;
      }
      this.setState(this.everConnected ? 'reconnecting' : 'connecting');
      if (!this.socket.active && !this.stopped) {
        // Refused by the server for another reason: try again later.
        setTimeout(() => !this.stopped && this.socket.connect(), 2000);
      }
    });
    this.socket.on('event', (ev) => {
      if (!ev) return;
      // docs/directives.md: a responsible person hears of their directives on their own audience,
      // often from a meeting they do not follow; the screens of directives read them again.
      if (typeof ev.type === 'string' && ev.type.startsWith('directive.')) this.emit('directive', ev);
      const sync = this.meetings.get(String(ev.meeting_id));
      if (!sync) return;
      // Unlogged counts (no seq) may also come as `event`s: apply them directly.
      if (ev.seq == null && UNLOGGED.includes(ev.type)) {
        sync.onUnlogged(ev.type, { meeting_id: ev.meeting_id, ...(ev.data || {}) });
        return;
      }
      sync.onEvent(ev);
    });
    // docs/deliberation.md: counts while a poll is open, not in the event log.
    for (const kind of ['poll.progress', 'poll.tally']) {
      this.socket.on(kind, (msg) => {
        const sync = msg && this.meetings.get(String(msg.meeting_id));
        if (sync) sync.onUnlogged(kind, msg);
      });
    }
    // docs/documents.md: rendering progress, not in the event log.
    this.socket.on('document_progress', (msg) => {
      const sync = msg && this.meetings.get(String(msg.meeting_id));
      if (sync) sync.onUnlogged('document_progress', msg);
    });
    // docs/documents.md, "Private notes": my note changed on another of my devices. It names no
    // meeting: every followed meeting's store takes it (a note only shows on its document).
    this.socket.on('note', (msg) => {
      if (!msg || !msg.note) return;
      for (const sync of this.meetings.values()) if (!sync.closed) sync.store.applyNote(msg);
      this.emit('note', msg);
    });
    this.socket.on('meetings_changed', () => this.emit('meetings_changed'));
  }

  get connected() {
    return this.socket.connected;
  }

  on(kind, fn) {
    this.listeners[kind].add(fn);
    return () => this.listeners[kind].delete(fn);
  }

  emit(kind, arg) {
    for (const fn of this.listeners[kind]) fn(arg);
  }

  unauthorized() {
    this.stop();
    notifyUnauthorized();
  }

  emitMeetingError(meetingId, err) {
    this.emit('meeting_error', { meetingId, error: err });
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.emit('state', state);
  }

  onConnect() {
    const again = this.everConnected;
    this.everConnected = true;
    this.setState('online');
    for (const sync of this.meetings.values()) sync.join();
    if (again) this.emit('reconnect');
  }

  // emit with ack and a time limit; rejects on time-out.
  request(event, payload, timeoutMs = 10000) {
    return this.socket.timeout(timeoutMs).emitWithAck(event, payload);
  }

  waitConnected(timeoutMs) {
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.socket.off('connect', done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.socket.off('connect', done);
        reject(new ApiError('timeout', 'not connected'));
      }, timeoutMs);
      this.socket.on('connect', done);
    });
  }

  // Send one user action. The key is made once and reused on every retry, so a command that
  // reached the server before the link dropped is not applied twice.
  async command(name, data, { key = newKey(), attempts = 4, timeoutMs = 8000 } = {}) {
    let lastError = null;
    for (let i = 0; i < attempts; i += 1) {
      try {
        await this.waitConnected(timeoutMs * 2);
        const ack = await this.request('command', { name, key, data }, timeoutMs);
        if (ack && ack.ok) return { result: ack.result, seq: ack.seq ?? null, key };
        const err = new CommandError(ack && ack.error);
        if (err.code === 'unauthorized') notifyUnauthorized();
        throw err;
      } catch (e) {
        if (e instanceof CommandError) throw e;
        lastError = e;
      }
    }
    throw lastError instanceof ApiError ? lastError : new ApiError('timeout', lastError && lastError.message);
  }

  // Start following a meeting; returns its MeetingSync (with .store).
  open(meetingId) {
    const id = String(meetingId);
    let sync = this.meetings.get(id);
    if (!sync) {
      sync = new MeetingSync(this, meetingId, this.user);
      this.meetings.set(id, sync);
      if (this.socket.connected) sync.join();
    }
    return sync;
  }

  close(meetingId) {
    const id = String(meetingId);
    const sync = this.meetings.get(id);
    if (sync) sync.close();
    this.meetings.delete(id);
  }

  stop() {
    this.stopped = true;
    for (const sync of this.meetings.values()) sync.close();
    this.meetings.clear();
    this.socket.disconnect();
    this.setState('offline');
  }
}
