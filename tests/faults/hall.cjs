// A hall of tablets for tests/faults/test_hall_reconnect.py: Node's socket.io-client (the one
// the web pages use), one connection per tablet, all in this process.
//
//   node hall.cjs SPEC.json     (SPEC: url, meeting_id, tokens, client: path of socket.io-client)
//
// Each tablet connects (websocket) with socket.io-client's own reconnection, and on every
// (re)connect joins the meeting with `since` = its lowest head; events follow the client rule
// of docs/protocol.md: per audience a head, a sequence at or below it is a duplicate (dropped,
// counted), a `prev` above it means one was missed (resync). A tablet handles its messages one
// at a time, in order. JSON lines: {"ready"} once every tablet has joined; then on stdin
//   "status" -> {"status": {"online", "connects", "lowest"}}   (lowest: the smallest head)
//   "report" -> {"report": [{"first", "applied", "dropped", "resyncs", "connects"}, ...]}
//   "bye"
"use strict";
const fs = require("fs");
const readline = require("readline");
const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const { io } = require(spec.client);
const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

class Tablet {
  constructor(token) {
    this.token = token;
    this.heads = null; // audience -> head, from the first answer on
    this.first = null; // the head of the first join's answer
    this.applied = [];
    this.dropped = 0;
    this.resyncs = 0;
    this.connects = 0;
    this.online = false;
    this.queue = Promise.resolve();
    this.joined = null; // resolves at the first successful join
    this.firstJoin = new Promise((resolve) => { this.joined = resolve; });
  }

  since() {
    return this.heads === null ? null : Math.min(...Object.values(this.heads));
  }

  serial(work) {
    this.queue = this.queue.then(work).catch((e) => say({ error: String(e && e.message || e) }));
  }

  start() {
    const s = io(spec.url, {
      transports: ["websocket"], auth: { token: this.token }, forceNew: true, timeout: 60000,
      reconnection: true, reconnectionDelay: 500, reconnectionDelayMax: 4000, randomizationFactor: 0.5,
    });
    this.socket = s;
    s.on("connect", () => { this.connects++; this.serial(() => this.join()); });
    s.on("disconnect", () => { this.online = false; });
    s.on("connect_error", () => {}); // socket.io-client tries again by itself
    s.on("event", (e) => this.serial(() => this.onEvent(e)));
  }

  async join() {
    if (!this.socket.connected) return;
    let answer;
    try {
      answer = await this.socket.timeout(60000).emitWithAck("join", { meeting_id: spec.meeting_id, since: this.since() });
    } catch (e) {
      return; // the connection went meanwhile: the next connect joins again
    }
    if (!answer.ok) {
      say({ refused: answer.error });
      // Refused (rate limits, a busy server): hang up and come back, as the web client does.
      this.socket.disconnect();
      setTimeout(() => this.socket.connect(), 1000);
      return;
    }
    this.applyAnswer(answer);
    if (this.first === null) this.first = answer.head;
    this.online = true;
    this.joined();
  }

  applyAnswer(answer) {
    if (answer.snapshot !== undefined) {
      const heads = { meeting: answer.head };
      for (const a of Object.keys(this.heads || {})) heads[a] = answer.head;
      this.heads = heads;
      return;
    }
    for (const e of answer.events) this.apply(e);
    for (const a of Object.keys(this.heads)) this.heads[a] = Math.max(this.heads[a], answer.head);
  }

  apply(e) {
    if (this.heads[e.audience] === undefined) this.heads[e.audience] = this.since();
    const head = this.heads[e.audience];
    if (e.seq <= head) { this.dropped++; return true; }
    if (e.prev > head) return false;
    this.heads[e.audience] = e.seq;
    this.applied.push(e.seq);
    return true;
  }

  async onEvent(e) {
    if (this.heads === null || e.meeting_id !== spec.meeting_id) return; // the join's answer holds it
    if (this.apply(e)) return;
    this.resyncs++;
    let answer;
    try {
      answer = await this.socket.timeout(60000).emitWithAck("resync", { meeting_id: spec.meeting_id, since: this.since() });
    } catch (err) {
      return; // the connection went: the next join catches up
    }
    if (answer.ok) {
      this.applyAnswer(answer);
      this.apply(e);
    }
  }
}

async function main() {
  const tablets = spec.tokens.map((t) => new Tablet(t));
  // A hall switching on: twenty tablets at a time until all have joined once.
  let next = 0;
  const worker = async () => {
    while (next < tablets.length) {
      const t = tablets[next++];
      t.start();
      await t.firstJoin;
    }
  };
  await Promise.all(Array.from({ length: 20 }, worker));
  say({ ready: tablets.length });
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const order = line.trim();
    if (order === "status") {
      let lowest = Infinity;
      for (const t of tablets) lowest = Math.min(lowest, t.since());
      say({ status: { online: tablets.filter((t) => t.online).length,
                      connects: tablets.reduce((n, t) => n + t.connects, 0), lowest } });
    } else if (order === "report") {
      say({ report: tablets.map((t) => ({ first: t.first, applied: t.applied, dropped: t.dropped, resyncs: t.resyncs,
                                          connects: t.connects })) });
    } else {
      break;
    }
  }
  for (const t of tablets) t.socket.disconnect();
  say({ bye: true });
  process.exit(0);
}

main().catch((e) => { say({ fatal: String(e && e.stack || e) }); process.exit(1); });
