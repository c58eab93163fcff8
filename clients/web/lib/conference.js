// The online conference's rules on the client (docs/conference.md): the live board of points kept
// from `conference.watch`, `conference.board` / `conference.my_point` messages and the logged
// `conference.points` events; totals by level, worst first, filters; the invitation preview over
// the tree (as server/domain/conference.py selects). Pure but for ConferenceBoard, which talks to a
// `live` object it is given (lib/live.js) and so runs in tests with a fake one.

export const STATES = ['invited', 'online', 'media_connected', 'ready', 'on_air', 'reconnecting', 'dropped'];
export const LINKS = ['normal', 'degraded', 'critical'];
export const MEDIA_STATES = ['media_connected', 'ready', 'on_air'];
export const CONNECTED_STATES = ['online', 'media_connected', 'ready', 'on_air', 'reconnecting'];

const levelKey = (s) => String(s || '').normalize('NFC').trim().toLocaleLowerCase('vi');

// Merge points (whole ones from the board, partial ones from events) into a map unit_id -> point.
export function mergePoints(map, points, removed = []) {
  const out = new Map(map);
  for (const p of points || []) {
    if (!p || p.unit_id == null) continue;
    const id = String(p.unit_id);
    const old = out.get(id);
    const next = { ...(old || { state: 'invited', link: null, test: null, seated: null, trouble: 30 }), ...p };
    if (next.operator === undefined && p.operator_user_id !== undefined) {
      next.operator = p.operator_user_id != null ? { user_id: p.operator_user_id, name: null } : null;
    }
    out.set(id, next);
  }
  for (const id of removed || []) out.delete(String(id));
  return out;
}

// Worst first (the server's `trouble`, then loss and round-trip time, then the name).
export function worstFirst(points) {
  const live = (p) => MEDIA_STATES.includes(p.state);
  return [...points].sort((a, b) => (b.trouble ?? 0) - (a.trouble ?? 0)
    || (live(b) ? b.loss || 0 : 0) - (live(a) ? a.loss || 0 : 0)
    || (live(b) ? b.rtt_ms || 0 : 0) - (live(a) ? a.rtt_ms || 0 : 0)
    || String(a.name || '').localeCompare(String(b.name || ''), 'vi')
    || Number(a.unit_id) - Number(b.unit_id));
}

function blank() {
  return {
    points: 0,
    by_state: Object.fromEntries(STATES.map((s) => [s, 0])),
    by_link: Object.fromEntries(LINKS.map((s) => [s, 0])),
    passed: 0, failed: 0, untested: 0, seated: 0, reported: 0,
  };
}

function add(t, p) {
  t.points += 1;
  if (p.state in t.by_state) t.by_state[p.state] += 1;
  if (MEDIA_STATES.includes(p.state) && p.link && p.link in t.by_link) t.by_link[p.link] += 1;
  const passed = p.test ? p.test.passed : null;
  if (passed === true) t.passed += 1;
  else if (passed === false) t.failed += 1;
  else t.untested += 1;
  if (p.seated != null) { t.seated += p.seated; t.reported += 1; }
}

// Totals of the whole roll call and by level, levels in `order` (top first) then by name.
export function totals(points, order = []) {
  const whole = blank();
  const byLevel = new Map();
  for (const p of points) {
    add(whole, p);
    const k = levelKey(p.level);
    if (!byLevel.has(k)) byLevel.set(k, { level: p.level, ...blank() });
    add(byLevel.get(k), p);
  }
  const rank = new Map(order.map((l, i) => [levelKey(l), i]));
  whole.by_level = [...byLevel.entries()]
    .sort(([a, x], [b, y]) => (rank.get(a) ?? order.length) - (rank.get(b) ?? order.length)
      || String(x.level).localeCompare(String(y.level), 'vi'))
    .map(([, v]) => v);
  return whole;
}

// Points matching the operations screen's filters: level, state, link ('none': no media link), text.
export function filterPoints(points, { level = '', state = '', link = '', q = '' } = {}) {
  const needle = fold(q);
  return points.filter((p) => (!level || levelKey(p.level) === levelKey(level))
    && (!state || p.state === state)
    && (!link || (link === 'none' ? !p.link : p.link === link))
    && (!needle || fold(`${p.name} ${p.code}`).includes(needle)));
}

// Case and diacritics folded, đ as d (as the server's search does).
export function fold(s) {
  return String(s || '').toLocaleLowerCase('vi').normalize('NFD').replace(/[\u0300-\u036f]/g, '')
    .replace(/đ/g, 'd').replace(/\s+/g, ' ').trim();
}

function validOn(u, day) {
  if (!day) return true;
  return (!u.valid_from || u.valid_from <= day) && (!u.valid_to || day <= u.valid_to);
}

// The units under `rootId` (itself included) whose level is one of `levels`, valid on `day`
// ("YYYY-MM-DD"), breadth first: the invitation's preview.
export function selectPoints(units, rootId, levels, day = null) {
  const wanted = new Set((levels || []).map(levelKey).filter(Boolean));
  if (!wanted.size || rootId == null) return [];
  const byParent = new Map();
  for (const u of units) {
    const k = u.parent_id == null ? 'root' : String(u.parent_id);
    if (!byParent.has(k)) byParent.set(k, []);
    byParent.get(k).push(u);
  }
  const root = units.find((u) => String(u.id) === String(rootId));
  if (!root) return [];
  const out = [];
  if (wanted.has(levelKey(root.level)) && validOn(root, day)) out.push(root);
  let frontier = [root];
  while (frontier.length) {
    const next = [];
    for (const u of frontier) {
      const children = [...(byParent.get(String(u.id)) || [])].sort((a, b) => a.id - b.id);
      for (const c of children) {
        if (validOn(c, day) && wanted.has(levelKey(c.level))) out.push(c);
        next.push(c);
      }
    }
    frontier = next;
  }
  return out;
}

// The level names found under `rootId` (itself included), top first.
export function levelsBelow(units, rootId, day = null) {
  const root = units.find((u) => String(u.id) === String(rootId));
  if (!root) return [];
  const byParent = new Map();
  for (const u of units) {
    const k = String(u.parent_id);
    if (!byParent.has(k)) byParent.set(k, []);
    byParent.get(k).push(u);
  }
  const seen = new Map();
  let frontier = [root];
  let depth = 0;
  while (frontier.length) {
    for (const u of frontier) if (validOn(u, day) && !seen.has(levelKey(u.level))) seen.set(levelKey(u.level), [depth, u.level]);
    frontier = frontier.flatMap((u) => byParent.get(String(u.id)) || []);
    depth += 1;
  }
  return [...seen.values()].sort((a, b) => a[0] - b[0] || String(a[1]).localeCompare(String(b[1]), 'vi')).map((x) => x[1]);
}

// The units depth first (children by name), for pickers and the tree: [{unit, depth}].
export function treeOrder(units) {
  const byParent = new Map();
  const ids = new Set(units.map((u) => String(u.id)));
  for (const u of units) {
    const k = u.parent_id == null || !ids.has(String(u.parent_id)) ? 'root' : String(u.parent_id);
    if (!byParent.has(k)) byParent.set(k, []);
    byParent.get(k).push(u);
  }
  for (const list of byParent.values()) list.sort((a, b) => String(a.name).localeCompare(String(b.name), 'vi'));
  const out = [];
  const walk = (key, depth) => {
    for (const u of byParent.get(key) || []) {
      out.push({ unit: u, depth });
      walk(String(u.id), depth + 1);
    }
  };
  walk('root', 0);
  return out;
}

// The floor's point, or the host when nobody holds it: {unit_id, code, name, host: bool} | null.
export function floorHolder(conference) {
  if (!conference) return null;
  if (conference.floor) return { ...conference.floor, host: false };
  return conference.host ? { ...conference.host, host: true } : null;
}

// Whether this point must keep its microphone off: all are muted and it does not hold the floor.
export function mutedHere(conference, unitId) {
  return !!(conference && conference.mute_all && !(conference.floor && String(conference.floor.unit_id) === String(unitId)));
}

// The points' own requests for the floor on the list of speakers (waiting or approved), in order.
export function pointRequests(speakers) {
  return (speakers || []).filter((s) => s.point && (s.state === 'waiting' || s.state === 'approved'));
}

// A small line of link loss for a sparkline: samples -> "x,y x,y ..." in a w×h box, loss from 0
// to max(10 %, the worst seen).
export function sparkline(samples, w = 160, h = 32) {
  if (!samples || samples.length === 0) return '';
  const top = Math.max(0.1, ...samples.map((s) => s.loss || 0));
  const n = samples.length;
  return samples.map((s, i) => {
    const x = n === 1 ? w : (i * w) / (n - 1);
    const y = h - ((s.loss || 0) / top) * h;
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  }).join(' ');
}

// The live board of one meeting: the map of points, kept current. `live` is lib/live.js's Live
// (or a fake with socket.on/off, request and open).
export class ConferenceBoard {
  constructor(live, meetingId) {
    this.live = live;
    this.meetingId = meetingId;
    this.points = new Map();
    this.levels = [];
    this.loaded = false;
    this.error = null;
    this.listeners = new Set();
    this.offs = [];
  }

  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  notify() {
    for (const fn of this.listeners) fn(this);
  }

  mine(msg) {
    return msg && String(msg.meeting_id) === String(this.meetingId);
  }

  start() {
    const socket = this.live.socket;
    const onBoard = (msg) => { if (this.mine(msg)) this.apply(msg.points); };
    const onMine = (msg) => { if (this.mine(msg) && msg.point) this.apply([msg.point]); };
    const onConnect = () => this.watch();
    socket.on('conference.board', onBoard);
    socket.on('conference.my_point', onMine);
    socket.on('connect', onConnect);
    this.offs.push(() => socket.off('conference.board', onBoard), () => socket.off('conference.my_point', onMine),
      () => socket.off('connect', onConnect));
    // Logged events (invitations, removals, verdicts) through the meeting's sync, in log order.
    const sync = this.live.open(this.meetingId);
    this.offs.push(sync.onApplied((ev) => {
      if (ev.type === 'conference.points') this.apply(ev.data.points, ev.data.removed);
      else if (ev.type === 'conference.updated' || ev.type === 'snapshot') this.watchSoon();
    }));
    if (socket.connected) this.watch();
    return this;
  }

  stop() {
    for (const off of this.offs) off();
    this.offs = [];
    clearTimeout(this.timer);
  }

  // The conference changed (opened, the floor moved): every point's state may have, read it whole.
  watchSoon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.watch(), 300);
  }

  async watch() {
    try {
      const ack = await this.live.request('conference.watch', { meeting_id: this.meetingId });
      if (ack && ack.ok) {
        const board = ack.board;
        this.points = board ? mergePoints(new Map(), board.points) : new Map();
        this.levels = board ? board.levels || this.levels : [];
        this.loaded = true;
        this.error = null;
      } else {
        this.error = (ack && ack.error) || { code: 'unknown' };
      }
    } catch (e) {
      this.error = { code: 'timeout', message: e && e.message };
    }
    this.notify();
  }

  apply(points, removed = []) {
    this.points = mergePoints(this.points, points, removed);
    this.notify();
  }

  list() {
    return worstFirst([...this.points.values()]);
  }
}
