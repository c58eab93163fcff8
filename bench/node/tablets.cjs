// Simulated tablets for `phonghop bench fanout` and `phonghop bench reconnect`: Node's
// socket.io-client (the one the web pages use), many tablets per process.
//
//   node tablets.cjs SPEC.json     (SPEC: url, meeting_id, since, tokens, socketio_client, concurrency)
//
// Each tablet connects (websocket), joins the meeting with `since` and applies events by
// the client rule of docs/protocol.md: per audience a head; a sequence at or below it is
// a duplicate (dropped, counted); a `prev` above it means one was missed (resync). The
// process speaks JSON lines: it prints {"ready"} once all are joined, then reads commands
// on standard input:
//   {"cmd": "mark"}                      forget the arrival times recorded so far
//   {"cmd": "arrivals"}                  -> {"arrivals": {seq: [epoch ms, ...]}} since the mark
//   {"cmd": "drop", "down_ms", "jitter_ms"}
//        every tablet loses its connection at once (its TCP socket destroyed, no goodbye,
//        as when the access point reboots), comes back after down_ms + a random part of
//        jitter_ms, connects again and joins with since = min(heads)
//        -> {"dropped_at": epoch ms} at once, then {"current": [epoch ms per tablet]} once
//        every tablet has applied its join's answer
//   {"cmd": "check", "expected": [seq...]}   -> {"lost", "duplicate", "dropped_duplicates",
//        "resyncs", "behind"}: expected events never applied, events applied twice, tablets
//        whose meeting head is short of the last expected event
//   {"cmd": "bye"}
"use strict";
const fs = require("fs");
const readline = require("readline");
const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const { io } = require(spec.socketio_client);
const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();

let arrivals = new Map(); // seq -> [epoch ms]

class Tablet {
  constructor(token) {
    this.token = token;
    this.heads = null; // audience -> head, from the first answer
    this.base = 0;
    this.applied = [];
    this.droppedDuplicates = 0;
    this.resyncs = 0;
    this.socket = null;
    this.resyncing = false;
    this.joining = null; // events that came while the join was on its way: applied after its answer
  }

  head(audience) {
    return this.heads[audience] !== undefined ? this.heads[audience] : this.base;
  }

  minHead() {
    return Math.min(this.base, ...Object.values(this.heads));
  }

  applyAnswer(answer) {
    if (answer.snapshot !== undefined || this.heads === null) {
      this.heads = {};
      this.base = answer.head;
    }
    for (const e of answer.events || []) this.apply(e, false);
    // An `events` answer holds every event this tablet may see up to its head.
    this.base = Math.max(this.base, answer.head);
    for (const a of Object.keys(this.heads)) this.heads[a] = Math.max(this.heads[a], answer.head);
  }

  apply(e, live) {
    const h = this.head(e.audience);
    if (e.seq <= h) {
      this.droppedDuplicates++;
      return;
    }
    if (live && e.prev > h) {
      this.resync();
      return;
    }
    this.heads[e.audience] = e.seq;
    this.applied.push(e.seq);
    if (live) {
      const t = now();
      let list = arrivals.get(e.seq);
      if (!list) arrivals.set(e.seq, (list = []));
      list.push(t);
    }
  }

  async resync() {
    if (this.resyncing) return;
    this.resyncing = true;
    this.resyncs++;
    try {
      const answer = await this.socket.timeout(60000).emitWithAck("resync", { meeting_id: spec.meeting_id, since: this.minHead() });
      if (answer.ok) this.applyAnswer(answer);
    } catch (e) { /* the next event or reconnect tries again */ }
    this.resyncing = false;
  }

  connectOnce() {
    return new Promise((resolve, reject) => {
      const s = io(spec.url, { transports: ["websocket"], auth: { token: this.token }, reconnection: false,
                               forceNew: true, timeout: 120000 });
      s.on("event", (e) => {
        if (s !== this.socket) return;
        if (this.joining !== null) this.joining.push(e);
        else if (this.heads !== null) this.apply(e, true);
      });
      s.once("connect", () => resolve(s));
      s.once("connect_error", (e) => { s.close(); reject(e); });
    });
  }

  async connect(since) {
    for (let attempt = 0; ; attempt++) {
      try {
        this.joining = [];
        const s = await this.connectOnce();
        this.socket = s;
        const answer = await s.timeout(120000).emitWithAck("join", { meeting_id: spec.meeting_id, since });
        if (!answer.ok) throw new Error(JSON.stringify(answer));
        this.applyAnswer(answer);
        const early = this.joining;
        this.joining = null;
        for (const e of early) this.apply(e, true);
        return now();
      } catch (e) {
        if (this.socket) this.socket.close();
        this.socket = null;
        this.joining = null;
        if (attempt === 9) throw e;
        await sleep(200 * (attempt + 1));
      }
    }
  }

  drop() {
    const s = this.socket;
    this.socket = null;
    try {
      s.io.engine.transport.ws._socket.destroy(); // no close frame, no FIN handshake first
    } catch (e) { /* not a websocket: close as well as we can */ }
    s.close();
  }
}

async function pool(items, limit, work) {
  let next = 0;
  const worker = async () => { while (next < items.length) { const i = next++; await work(items[i], i); } };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function main() {
  const started = performance.now();
  const tablets = spec.tokens.map((t) => new Tablet(t));
  await pool(tablets, spec.concurrency || 20, (t) => t.connect(spec.since));
  say({ ready: (performance.now() - started) / 1000 });
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    const msg = JSON.parse(line);
    if (msg.cmd === "bye") break;
    if (msg.cmd === "mark") {
      arrivals = new Map();
      say({ marked: true });
    } else if (msg.cmd === "arrivals") {
      say({ arrivals: Object.fromEntries(arrivals) });
    } else if (msg.cmd === "drop") {
      const droppedAt = now();
      for (const t of tablets) t.drop();
      say({ dropped_at: droppedAt });
      const current = await Promise.all(tablets.map(async (t) => {
        await sleep(msg.down_ms + Math.random() * msg.jitter_ms);
        return t.connect(t.minHead());
      }));
      say({ current });
    } else if (msg.cmd === "check") {
      let lost = 0, duplicate = 0, behind = 0, dropped = 0, resyncs = 0;
      const expected = msg.expected;
      const last = expected.length ? expected[expected.length - 1] : 0;
      for (const t of tablets) {
        const seen = new Set();
        for (const seq of t.applied) { if (seen.has(seq)) duplicate++; seen.add(seq); }
        for (const seq of expected) if (!seen.has(seq)) lost++;
        if (t.head("meeting") < last) behind++;
        dropped += t.droppedDuplicates;
        resyncs += t.resyncs;
      }
      say({ lost, duplicate, dropped_duplicates: dropped, resyncs, behind });
    }
  }
  for (const t of tablets) if (t.socket) t.socket.close();
  process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
