// The devices of the `session` scenario (clients/sim/session.py) in Node, for
// `phonghop bench mixed --devices node`: Node's socket.io-client (the one the web pages
// use), many tablets and bridge points per process.
//
//   node session.cjs SPEC.json
//   (SPEC: url, socketio_client, tablets [{token}|{username, password}], points [...], seed,
//    index, spread, check_in_spread, step_timeout: seconds, as clients/sim/session.py's Share)
//
// The process is one of the scenario's workers: the coordinator (the secretariat, in
// Python) sends a phase as a JSON line {"phase", "args"} on standard input and this
// answers one JSON line {"ok": true, ...what the phase did} (or {"ok": false, "error"}),
// with the same phases, arguments and answers as clients/sim/session.py's Worker:
//   sign_in, codes {codes}, connect {meeting_id}, check_in {meeting_id}, see {seq},
//   documents {pages_each}, vote {meeting_id, poll_id, window}, floor {meeting_id,
//   item_id, speakers, comments}, drop, rejoin {meeting_id}, report, finish.
// Each device applies events by the client rule of docs/protocol.md (clients/sim/tablet.py's
// Device): a head per audience; a sequence at or below it is a duplicate (dropped,
// counted); a `prev` above it means an event was missed (resync). Every REST call and
// socket.io command is timed into the ops (ms per operation; errors and a few examples),
// which `report` hands over in clients/sim/tablet.py's Ops.as_dict() shape.
"use strict";
const fs = require("fs");
const http = require("http");
const crypto = require("crypto");
const readline = require("readline");
const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const { io } = require(spec.socketio_client);

const MOTION = ["yes", "no", "abstain"];
const PHASES = new Set(["sign_in", "codes", "connect", "check_in", "see", "documents", "vote", "floor", "drop",
                        "rejoin", "report", "finish"]);
const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const JOIN_RETRIES = 6; // joins answered `unavailable` asked again (about a minute and a half in all)
const clock = () => performance.now();
const hexKey = () => crypto.randomBytes(8).toString("hex");
// As aiohttp's connector in the python worker: at most 200 HTTP connections a process.
const agent = new http.Agent({ keepAlive: true, maxSockets: 200 });

class Failed extends Error {}

class Ops {
  constructor() {
    this.latencies = {};
    this.errors = {};
    this.examples = [];
  }

  ok(op, started) {
    (this.latencies[op] || (this.latencies[op] = [])).push(clock() - started);
  }

  failed(op, message) {
    this.errors[op] = (this.errors[op] || 0) + 1;
    if (this.examples.length < 20) this.examples.push(`${op}: ${message}`.slice(0, 300));
  }

  asDict() {
    return { latencies: this.latencies, errors: this.errors, examples: this.examples };
  }
}

// A seeded generator (mulberry32): the worker's choices repeat with the seed, as the
// python worker's random.Random does (not the same draws: another generator).
function seeded(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    randint: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    choice: (items) => items[Math.floor(next() * items.length)],
    sample(items, k) {
      const pool = items.slice();
      for (let i = 0; i < k; i++) {
        const j = i + Math.floor(next() * (pool.length - i));
        [pool[i], pool[j]] = [pool[j], pool[i]];
      }
      return pool.slice(0, k);
    },
  };
}

function describe(exc) {
  return `${(exc && exc.name) || "Error"}: ${(exc && exc.message) || exc}`;
}

class Device {
  constructor(worker, creds) {
    this.worker = worker;
    this.username = creds.username;
    this.password = creds.password;
    this.token = creds.token;
    this.user = null;
    this.socket = null;
    this.meetingId = null;
    this.heads = null; // audience -> head, from the first answer
    this.base = 0;
    this.applied = [];
    this.droppedDuplicates = 0;
    this.resyncs = 0;
    this.polls = new Map();
    this.documents = new Map();
    this.joining = null; // events that came while the join was on its way: applied after its answer
    this.resyncing = false;
    this.waiters = []; // wake-ups of wait_until, at every event applied
  }

  get ops() {
    return this.worker.ops;
  }

  changed() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  // --- REST ---------------------------------------------------------------------------

  request(op, method, path, { json, key, raw } = {}) {
    const headers = {};
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (key) headers["Idempotency-Key"] = key;
    const body = json === undefined ? null : Buffer.from(JSON.stringify(json));
    if (body) {
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = body.length;
    }
    const started = clock();
    return new Promise((resolve, reject) => {
      const fail = (message) => {
        this.ops.failed(op, message);
        reject(new Failed(message));
      };
      const req = http.request(spec.url + path, { method, headers, agent, timeout: 300000 }, (resp) => {
        const chunks = [];
        resp.on("data", (c) => chunks.push(c));
        resp.on("error", (e) => fail(describe(e)));
        resp.on("end", () => {
          const content = Buffer.concat(chunks);
          if (resp.statusCode >= 400) return fail(`${method} ${path}: ${resp.statusCode} ${raw ? "" : content}`);
          let answer = content;
          if (!raw) {
            try {
              answer = JSON.parse(content.toString("utf8"));
            } catch (e) {
              return fail(describe(e));
            }
          }
          this.ops.ok(op, started);
          resolve(answer);
        });
      });
      req.on("timeout", () => req.destroy(new Error("timed out")));
      req.on("error", (e) => fail(describe(e)));
      req.end(body);
    });
  }

  async signIn() {
    if (this.token === undefined) {
      const answer = await this.request("login", "POST", "/api/auth/login",
                                        { json: { username: this.username, password: this.password } });
      this.token = answer.token;
      this.user = answer.user;
    } else {
      this.user = (await this.request("me", "GET", "/api/auth/me")).user;
    }
    return this.user;
  }

  async command(op, name, data) {
    // A command over socket.io (the tablets' way), with a fresh idempotency key.
    const started = clock();
    let answer;
    try {
      if (!this.socket) throw new Error("not connected");
      answer = await this.socket.timeout(120000).emitWithAck("command", { name, key: hexKey(), data });
    } catch (e) {
      this.ops.failed(op, describe(e));
      throw new Failed(describe(e));
    }
    if (!answer.ok) {
      this.ops.failed(op, JSON.stringify(answer.error));
      throw new Failed(JSON.stringify(answer.error));
    }
    this.ops.ok(op, started);
    return answer;
  }

  // --- socket.io and the client rule ------------------------------------------------------

  open() {
    return new Promise((resolve, reject) => {
      const s = io(spec.url, { transports: ["websocket"], auth: { token: this.token }, reconnection: false,
                               forceNew: true, timeout: 120000 });
      s.on("event", (e) => this.live(s, e));
      s.on("disconnect", (reason) => this.lost(s, reason));
      s.once("connect", () => resolve(s));
      s.once("connect_error", (e) => { s.close(); reject(e); });
    });
  }

  async connect(meetingId) {
    // Connect and join: a snapshot the first time, the missed events after that.
    this.meetingId = meetingId;
    this.joining = [];
    let started = clock();
    let s;
    try {
      s = await this.open();
    } catch (e) {
      this.joining = null;
      this.ops.failed("connect", describe(e));
      throw new Failed(describe(e));
    }
    this.socket = s;
    this.ops.ok("connect", started);
    const since = this.heads === null ? null : this.minHead();
    const op = since === null ? "join" : "rejoin";
    started = clock();
    let answer;
    for (let retries = 0; ; retries += 1) {
      try {
        answer = await s.timeout(120000).emitWithAck("join", { meeting_id: meetingId, since });
      } catch (e) {
        this.joining = null;
        this.ops.failed(op, describe(e));
        throw new Failed(describe(e));
      }
      // As the web client does (clients/web/lib/live.js, retryLater): a server too busy to
      // answer is asked again after a growing, jittered pause.
      if (answer.ok || answer.error?.code !== "unavailable" || retries >= JOIN_RETRIES) break;
      await sleep(Math.min(30000, 1000 * 2 ** retries) * (0.5 + Math.random() / 2));
    }
    if (!answer.ok) {
      this.joining = null;
      this.ops.failed(op, JSON.stringify(answer.error));
      throw new Failed(JSON.stringify(answer.error));
    }
    this.applyAnswer(answer);
    const early = this.joining;
    this.joining = null;
    for (const e of early) this.apply(e, true);
    this.ops.ok(op, started);
  }

  drop() {
    // Lose the connection without saying goodbye: its TCP socket destroyed under it (as
    // when the access point reboots), then the client put away.
    const s = this.socket;
    this.socket = null;
    if (!s) return;
    try {
      s.io.engine.transport.ws._socket.destroy(); // no close frame, no FIN handshake first
    } catch (e) { /* not a websocket: close as well as we can */ }
    s.close();
  }

  close() {
    if (this.socket) {
      const s = this.socket;
      this.socket = null;
      s.close();
    }
  }

  lost(s, reason) {
    // The server closed the connection, or it broke, without the scenario asking.
    if (s !== this.socket) return;
    this.socket = null;
    this.ops.failed("connection", `lost (${reason || "no reason given"})`);
    this.changed();
  }

  head(audience) {
    if (this.heads === null) return 0;
    return this.heads[audience] !== undefined ? this.heads[audience] : this.base;
  }

  minHead() {
    return Math.min(this.base, ...Object.values(this.heads));
  }

  live(s, e) {
    if (s !== this.socket || e.meeting_id !== this.meetingId) return;
    if (this.joining !== null) this.joining.push(e);
    else if (this.heads !== null) this.apply(e, true);
  }

  applyAnswer(answer) {
    if (answer.snapshot !== undefined) {
      // Only what the scenario reads is kept: a hall's snapshot is some 250 KB a device.
      const snap = answer.snapshot;
      this.heads = {};
      this.base = answer.head;
      this.polls = new Map((snap.polls || []).map((p) => [p.id, p]));
      this.documents = new Map((snap.documents || []).map((d) => [d.id, d]));
    }
    for (const e of answer.events || []) this.apply(e, false);
    // An `events` answer holds every event this device may see up to its head.
    this.base = Math.max(this.base, answer.head);
    for (const a of Object.keys(this.heads)) this.heads[a] = Math.max(this.heads[a], answer.head);
    this.changed();
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
    const data = e.data || {};
    if (e.type === "poll.updated" && data.poll) this.polls.set(data.poll.id, data.poll);
    else if (e.type === "document.changed" && data.document) this.documents.set(data.document.id, data.document);
    else if (e.type === "document.hidden" || e.type === "document.removed") this.documents.delete(data.document_id);
    this.changed();
  }

  async resync() {
    if (this.resyncing) return;
    this.resyncing = true;
    this.resyncs++;
    const s = this.socket;
    const started = clock();
    try {
      const answer = await s.timeout(120000).emitWithAck("resync", { meeting_id: this.meetingId,
                                                                    since: this.minHead() });
      if (!answer.ok) throw new Error(JSON.stringify(answer.error));
      if (s === this.socket) this.applyAnswer(answer);
      this.ops.ok("resync", started);
    } catch (e) {
      this.ops.failed("resync", describe(e));
    } finally {
      this.resyncing = false;
    }
  }

  async waitUntil(predicate, timeoutSeconds) {
    const deadline = clock() + timeoutSeconds * 1000;
    while (!predicate()) {
      const remaining = deadline - clock();
      if (remaining <= 0) return false;
      let timer;
      await new Promise((wake) => {
        this.waiters.push(wake);
        timer = setTimeout(wake, Math.min(remaining, 1000));
      });
      clearTimeout(timer);
    }
    return true;
  }

  duplicatesApplied() {
    return this.applied.length - new Set(this.applied).size;
  }
}

class Worker {
  constructor() {
    this.ops = new Ops();
    this.rng = seeded(spec.seed * 1000003 + spec.index);
    this.tablets = spec.tablets.map((c) => new Device(this, c));
    this.points = spec.points.map((c) => new Device(this, c));
    this.unitCodes = {}; // a point operator's user id -> the point's unit code
  }

  get devices() {
    return this.tablets.concat(this.points);
  }

  joined(devices) {
    return devices.filter((d) => d.socket !== null && d.heads !== null);
  }

  async each(devices, work, spread = spec.spread) {
    // work(device) for each device, started at a random moment within `spread` seconds; a
    // device whose step failed has its failure counted already.
    const delays = devices.map(() => this.rng.uniform(0, spread));
    await Promise.all(devices.map(async (d, i) => {
      await sleep(delays[i] * 1000);
      try {
        await work(d);
      } catch (e) {
        if (!(e instanceof Failed)) this.ops.failed("step", describe(e)); // a bug of the step: counted
      }
    }));
  }

  // --- phases (names are the messages of the coordinator) ----------------------------------

  async sign_in() {
    await this.each(this.devices, (d) => d.signIn(), Math.min(spec.spread, 1.0));
    return { tablets: this.tablets.map((d) => d.user), points: this.points.map((d) => d.user) };
  }

  async codes({ codes }) {
    this.unitCodes = codes;
    return {};
  }

  async connect({ meeting_id }) {
    await this.each(this.devices, async (d) => { if (d.user) await d.connect(meeting_id); });
    return { joined: this.devices.filter((d) => d.heads !== null).length };
  }

  async check_in({ meeting_id }) {
    // The hall first, then the points: every check-in's event carries the quorum, whose
    // list of points grows with each report.
    await this.each(this.joined(this.tablets), (d) => d.command("check_in", "attendance.check_in", { meeting_id }),
                    spec.check_in_spread);
    await this.each(this.joined(this.points), (d) => d.command("point_count", "attendance.point_count", {
      meeting_id, point: this.unitCodes[String(d.user.id)], seated: this.rng.randint(10, 60) }));
    return {};
  }

  async see({ seq }) {
    // Every joined device reaches `seq` in the meeting's audience.
    let late = 0;
    await Promise.all(this.joined(this.devices).map(async (d) => {
      const started = clock();
      if (await d.waitUntil(() => d.head("meeting") >= seq, spec.step_timeout)) {
        this.ops.ok("see_event", started);
      } else {
        late++;
        this.ops.failed("see_event", `event ${seq} not seen within ${spec.step_timeout} s (head ${d.head("meeting")})`);
      }
    }));
    return { late };
  }

  async documents({ pages_each }) {
    let fetched = 0;
    await this.each(this.joined(this.tablets), async (d) => {
      for (const doc of Array.from(d.documents.values())) {
        if (doc.status !== "published") continue;
        let listing = null;
        const deadline = clock() + spec.step_timeout * 1000;
        while (clock() < deadline) { // rendered on upload: wait for its first pages
          listing = await d.request("page_list", "GET", `/api/documents/${doc.id}/pages`);
          if (listing.pages.length) break;
          await sleep(500);
        }
        if (!listing || !listing.pages.length) {
          this.ops.failed("page_list", `document ${doc.id} has no page ready`);
          continue;
        }
        for (const page of this.rng.sample(listing.pages, Math.min(pages_each, listing.pages.length))) {
          const body = await d.request("page_image", "GET", page.tablet, { raw: true });
          if (!(body[0] === 0xff && body[1] === 0xd8)) this.ops.failed("page_image", `${page.tablet} is not a JPEG`);
          fetched++;
        }
      }
    });
    return { pages: fetched };
  }

  async vote({ meeting_id, poll_id, window }) {
    let acked = 0;
    const open = (d) => (d.polls.get(poll_id) || {}).state === "open";
    const tablet = async (d) => {
      if (!(await d.waitUntil(() => open(d), spec.step_timeout))) {
        this.ops.failed("vote", `poll ${poll_id} never seen open`);
        return;
      }
      const answer = await d.command("vote", "poll.vote", { meeting_id, poll_id, choice: this.rng.choice(MOTION) });
      if (answer.result.accepted && !answer.result.already_voted) acked++;
      else this.ops.failed("vote", `not accepted: ${JSON.stringify(answer.result)}`);
    };
    const point = async (d) => {
      if (!(await d.waitUntil(() => open(d), spec.step_timeout))) {
        this.ops.failed("hands", `poll ${poll_id} never seen open`);
        return;
      }
      const poll = d.polls.get(poll_id);
      const code = this.unitCodes[String(d.user.id)];
      const present = (poll.points_present || {})[code] || 0;
      const yes = this.rng.randint(0, present);
      const no = this.rng.randint(0, present - yes);
      await d.command("hands", "poll.hands", { meeting_id, poll_id, point: code,
                                               counts: { yes, no, abstain: present - yes - no } });
    };
    await Promise.all([this.each(this.joined(this.tablets), tablet, window),
                       this.each(this.joined(this.points), point, window)]);
    return { acked };
  }

  async floor({ meeting_id, item_id, speakers, comments }) {
    const asked = [];
    const tablets = this.joined(this.tablets);
    const speak = async (d) => {
      const answer = await d.command("speaker_request", "speaker.request", { meeting_id, agenda_item_id: item_id,
                                                                            topic: "Ý kiến về báo cáo" });
      asked.push(answer.result.request_id);
    };
    const comment = (d) => d.command("comment", "comment.add", {
      meeting_id, anchor: { kind: "item", agenda_item_id: item_id },
      text: "Đề nghị bổ sung số liệu so sánh cùng kỳ.", visibility: "all" });
    const point = (d) => d.command("speaker_request", "speaker.request", { meeting_id, agenda_item_id: item_id,
                                                                          topic: "Điểm cầu xin phát biểu" });
    await Promise.all([this.each(tablets.slice(0, speakers), speak),
                       this.each(tablets.slice(speakers, speakers + comments), comment),
                       this.each(this.joined(this.points).slice(0, 1), point)]);
    return { requests: asked };
  }

  async drop() {
    for (const d of this.joined(this.devices)) d.drop();
    return {};
  }

  async rejoin({ meeting_id }) {
    const devices = this.devices.filter((d) => d.heads !== null);
    await this.each(devices, (d) => d.connect(meeting_id));
    return { rejoined: devices.filter((d) => d.socket !== null).length };
  }

  async report() {
    const devices = this.devices;
    const duplicates = devices.reduce((n, d) => n + d.duplicatesApplied(), 0);
    if (duplicates) this.ops.failed("events", `${duplicates} events applied twice`);
    const out = { ops: this.ops.asDict(), duplicates_applied: duplicates,
                  dropped_duplicates: devices.reduce((n, d) => n + d.droppedDuplicates, 0),
                  resyncs: devices.reduce((n, d) => n + d.resyncs, 0) };
    this.ops = new Ops();
    return out;
  }

  async finish() {
    for (const d of this.devices) d.close();
    agent.destroy();
    return {};
  }
}

async function main() {
  const worker = new Worker();
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const message = JSON.parse(line);
    const name = message.phase;
    if (!PHASES.has(name)) {
      say({ ok: false, error: `no phase ${name}` });
      continue;
    }
    try {
      say({ ok: true, ...(await worker[name](message.args || {})) });
    } catch (e) { // the worker itself failed: the coordinator stops the run
      say({ ok: false, error: describe(e) });
    }
    if (name === "finish") break;
  }
  process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
