// REST client: bearer token from localStorage, typed errors from {"error": {code, message, details}}.

const TOKEN_KEY = 'phonghop.token';
const USER_KEY = 'phonghop.user';

export class ApiError extends Error {
  constructor(code, message, { status = 0, details = null } = {}) {
    super(message || code);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

// The server could not be reached (or answered something that is not our API).
export class NetworkError extends ApiError {
  constructor(message) {
    super('network', message);
    this.name = 'NetworkError';
  }
}

const unauthorizedListeners = new Set();
export function onUnauthorized(fn) {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}
export function notifyUnauthorized() {
  clearSession();
  for (const fn of unauthorizedListeners) fn();
}

export function getToken() {
  try { return localStorage.getItem(TOKEN_KEY); } catch (_) { return null; }
}

export function getStoredUser() {
  try { return JSON.parse(localStorage.getItem(USER_KEY) || 'null'); } catch (_) { return null; }
}

export function saveSession({ token, user }) {
  localStorage.setItem(TOKEN_KEY, token);
  localStorage.setItem(USER_KEY, JSON.stringify(user || null));
}

export function clearSession() {
  try {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(USER_KEY);
  } catch (_) { /* ignore */ }
}

export async function request(method, path, { body, idempotencyKey, auth = true } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const token = getToken();
  if (auth && token) headers.Authorization = `Bearer ${token}`;
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new NetworkError(e && e.message);
  }
  let payload = null;
  const text = await res.text();
  if (text) {
    try { payload = JSON.parse(text); } catch (_) { payload = null; }
  }
  if (!res.ok) {
    const err = payload && payload.error;
    const apiErr = err && err.code
      ? new ApiError(err.code, err.message, { status: res.status, details: err.details ?? null })
      : new ApiError(res.status === 401 ? 'unauthorized' : 'unknown', `HTTP ${res.status}`, { status: res.status });
    if (res.status === 401 && auth && token) notifyUnauthorized();
    throw apiErr;
  }
  return payload;
}

// Fetches a file with the bearer token and hands it to the browser as a download.
export async function download(path, filename) {
  const token = getToken();
  let res;
  try {
    res = await fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {}, cache: 'no-store' });
  } catch (e) {
    throw new NetworkError(e && e.message);
  }
  if (!res.ok) {
    let err = null;
    try { err = (await res.json()).error; } catch (_) { /* not JSON */ }
    if (res.status === 401) notifyUnauthorized();
    throw new ApiError((err && err.code) || (res.status === 401 ? 'unauthorized' : 'unknown'),
      (err && err.message) || `HTTP ${res.status}`, { status: res.status });
  }
  const blob = await res.blob();
  const disposition = res.headers.get('Content-Disposition') || '';
  const m = /filename\*=UTF-8''([^;]+)|filename="?([^";]+)"?/i.exec(disposition);
  const name = m ? decodeURIComponent(m[1] || m[2]) : filename;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return { name, size: blob.size };
}

export const api = {
  login: (username, password) =>
    request('POST', '/api/auth/login', { body: { username, password }, auth: false }),
  pair: (code, deviceName) =>
    request('POST', '/api/auth/pair', { body: { code, device_name: deviceName }, auth: false }),
  logout: () => request('POST', '/api/auth/logout', { body: {} }),
  // Every session of this account, on every device and paired tablet, this one included.
  logoutAll: () => request('POST', '/api/auth/logout-all', { body: {} }),
  me: () => request('GET', '/api/auth/me'),
  meetings: () => request('GET', '/api/meetings'),
  meeting: (id) => request('GET', `/api/meetings/${encodeURIComponent(id)}`),
  events: (id, since) =>
    request('GET', `/api/meetings/${encodeURIComponent(id)}/events?since=${encodeURIComponent(since)}`),
  units: () => request('GET', '/api/units'),
  receipts: (meetingId, pollId) =>
    request('GET', `/api/meetings/${encodeURIComponent(meetingId)}/polls/${encodeURIComponent(pollId)}/receipts`),
  users: () => request('GET', '/api/users'),
  createPairing: (userId) => request('POST', '/api/devices/pairing', { body: { user_id: userId } }),
  command: (name, data, key) =>
    request('POST', `/api/commands/${encodeURIComponent(name)}`, { body: data, idempotencyKey: key }),
};
