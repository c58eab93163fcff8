// A bridge point's picture and sound in the browser (docs/conference.md, "Media"): the connection
// test and the point's own connection to the media node, signalled over socket.io (`media.offer`,
// `media.verdict`, `media.close`). No STUN server, ever: the node answers with all its candidates,
// and the page sends its offer once its own are gathered. Without a camera or a microphone (a
// kiosk, a headless test) a drawn picture and a quiet tone are sent instead.

import { CommandError } from './live.js';

const GATHER_MS = 3000;
const CONNECT_MS = 15000;

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function syntheticStream() {
  const canvas = document.createElement('canvas');
  canvas.width = 320;
  canvas.height = 180;
  const ctx = canvas.getContext('2d');
  let n = 0;
  const timer = setInterval(() => {
    n += 1;
    ctx.fillStyle = `hsl(${(n * 3) % 360}, 55%, 40%)`;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = '#fff';
    ctx.font = '20px sans-serif';
    ctx.fillText(new Date().toLocaleTimeString(), 12, 30);
  }, 100);
  const stream = canvas.captureStream(10);
  let audio = null;
  try {
    const Ctx = globalThis.AudioContext || globalThis.webkitAudioContext;
    audio = new Ctx();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    gain.gain.value = 0.02;
    const dest = audio.createMediaStreamDestination();
    osc.connect(gain).connect(dest);
    osc.start();
    for (const track of dest.stream.getAudioTracks()) stream.addTrack(track);
  } catch (_) { /* no sound: the picture alone */ }
  stream.release = () => { clearInterval(timer); if (audio) audio.close().catch(() => {}); };
  return stream;
}

// The camera and microphone, or a drawn picture when there are none.
export async function localStream() {
  const md = globalThis.navigator && navigator.mediaDevices;
  if (md && md.getUserMedia) {
    try {
      return await md.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 360 } }, audio: true });
    } catch (_) { /* refused or absent: fall back */ }
  }
  return syntheticStream();
}

function stopStream(stream) {
  if (!stream) return;
  for (const track of stream.getTracks()) track.stop();
  if (stream.release) stream.release();
}

function gathered(pc, ms) {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') { resolve(); return; }
    const done = () => {
      if (pc.iceGatheringState !== 'complete') return;
      pc.removeEventListener('icegatheringstatechange', done);
      resolve();
    };
    pc.addEventListener('icegatheringstatechange', done);
    setTimeout(resolve, ms); // what was gathered by then goes
  });
}

function connected(pc, ms) {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (pc.connectionState === 'connected') { cleanup(); resolve(); }
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') {
        cleanup();
        reject(new CommandError({ code: 'media_failed', message: `the media connection ${pc.connectionState}` }));
      }
    };
    const timer = setTimeout(() => { cleanup(); reject(new CommandError({ code: 'media_failed', message: 'no media connection' })); }, ms);
    const cleanup = () => { clearTimeout(timer); pc.removeEventListener('connectionstatechange', check); };
    pc.addEventListener('connectionstatechange', check);
    check();
  });
}

function preferVp8(transceiver) {
  const caps = globalThis.RTCRtpReceiver && RTCRtpReceiver.getCapabilities ? RTCRtpReceiver.getCapabilities('video') : null;
  if (!caps || !transceiver.setCodecPreferences) return;
  const vp8 = caps.codecs.filter((c) => /vp8/i.test(c.mimeType));
  const rtx = caps.codecs.filter((c) => /rtx/i.test(c.mimeType));
  if (vp8.length) transceiver.setCodecPreferences([...vp8, ...rtx]); // the node relays VP8 only
}

async function offer(live, meetingId, role, stream, onRemote) {
  const pc = new RTCPeerConnection({ iceServers: [] });
  const remote = new MediaStream();
  pc.addEventListener('track', (e) => {
    remote.addTrack(e.track);
    if (onRemote) onRemote(remote);
  });
  const video = stream.getVideoTracks()[0];
  const audio = stream.getAudioTracks()[0];
  const tv = video ? pc.addTransceiver(video, { direction: 'sendrecv', streams: [stream] }) : pc.addTransceiver('video', { direction: 'recvonly' });
  preferVp8(tv);
  if (audio) pc.addTransceiver(audio, { direction: 'sendrecv', streams: [stream] });
  else pc.addTransceiver('audio', { direction: 'recvonly' });
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc, GATHER_MS);
  let ack;
  try {
    ack = await live.request('media.offer', { meeting_id: meetingId, sdp: pc.localDescription.sdp, role }, 20000);
  } catch (e) {
    pc.close();
    throw new CommandError({ code: 'timeout', message: e && e.message });
  }
  if (!ack || !ack.ok) {
    pc.close();
    throw new CommandError(ack && ack.error);
  }
  await pc.setRemoteDescription({ type: 'answer', sdp: ack.sdp });
  return pc;
}

// The connection test: a short stream to the media node, echoed back; the node's verdict is
// recorded as the point's test and returned ({passed, quality, loss, rtt_ms, jitter_ms, bitrate_kbps, reasons}).
export async function connectionTest(live, meetingId, { key, seconds = 4 } = {}) {
  const stream = await localStream();
  let pc = null;
  try {
    pc = await offer(live, meetingId, 'probe', stream, null);
    await connected(pc, CONNECT_MS);
    await sleep(seconds * 1000);
    const ack = await live.request('media.verdict', { meeting_id: meetingId, key }, 20000);
    if (!ack || !ack.ok) throw new CommandError(ack && ack.error);
    return ack.result.test;
  } finally {
    if (pc) pc.close();
    stopStream(stream);
  }
}

// The point on the media node: its camera and microphone up, the main feed down.
export class MediaSession {
  static async open(live, meetingId, { onLocal, onRemote, onEnd } = {}) {
    const stream = await localStream();
    if (onLocal) onLocal(stream);
    let pc;
    try {
      pc = await offer(live, meetingId, 'point', stream, onRemote);
      await connected(pc, CONNECT_MS);
    } catch (e) {
      if (pc) pc.close();
      stopStream(stream);
      throw e;
    }
    return new MediaSession(live, meetingId, pc, stream, onEnd);
  }

  constructor(live, meetingId, pc, stream, onEnd) {
    this.live = live;
    this.meetingId = meetingId;
    this.pc = pc;
    this.stream = stream;
    this.closed = false;
    pc.addEventListener('connectionstatechange', () => {
      if (!this.closed && (pc.connectionState === 'failed' || pc.connectionState === 'closed')) {
        this.close();
        if (onEnd) onEnd();
      }
    });
  }

  // All muted but the floor's point: this point's microphone goes silent (its picture stays).
  setMuted(muted) {
    for (const track of this.stream.getAudioTracks()) track.enabled = !muted;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.pc.close();
    stopStream(this.stream);
    this.live.request('media.close', { meeting_id: this.meetingId, role: 'point' }).catch(() => {});
  }
}
