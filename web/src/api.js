// The JSON API the UI reads (served by the same gridmap). Every call goes through
// getJSON, which turns the coded error body {"error":{"code","message"}} into an Error whose
// message is what a user can act on. With an offline package open there is no server: every
// call fails at once (EOFFLINE) and nothing is sent.

export class APIError extends Error {
  constructor(status, code, message, detail = {}) {
    super(message);
    this.status = status;
    this.code = code;
    // the rest of the error body: a 412 carries etag, current_version, changed_by, changed_at
    this.detail = detail;
  }
}

// The signed-in session's CSRF token: every write made with the session cookie sends it as
// X-CSRF-Token (README, "Signing in"). null when nobody is signed in.
let csrf = null;

export function setCSRF(token) {
  csrf = token || null;
}

let offlineNote = '';

/** setOffline turns the API off (note: what a call answers) or back on (''). */
export function setOffline(note) {
  offlineNote = note || '';
}

/** isOffline tells whether an offline package is open (no call reaches a server). */
export function isOffline() {
  return offlineNote !== '';
}

function guard(path) {
  if (offlineNote) throw new APIError(0, 'EOFFLINE', `${path}: ${offlineNote}`);
}

async function reply(res, path) {
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: fall through with the status
  }
  if (!res.ok) {
    const e = body && body.error;
    const { code, message, ...detail } = e || {};
    throw new APIError(res.status, code || `HTTP${res.status}`, message || `${path}: HTTP ${res.status}`, detail);
  }
  return body;
}

/**
 * send makes a write: JSON body, the session's CSRF token, If-Match when given. It resolves
 * to the parsed reply (null for 204) and rejects with an APIError carrying the server's code
 * and message (401, 403, 409, 412 …), which the UI shows as they are.
 */
export async function send(method, path, body, { ifMatch } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (csrf) headers['X-CSRF-Token'] = csrf;
  if (ifMatch) headers['If-Match'] = ifMatch;
  guard(path);
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new APIError(0, 'ENETWORK', `${path}: ${err.message}`);
  }
  return reply(res, path);
}

/** gridETag is the ETag of a grid's version, as GET /api/v1/grids/{id} gives it. */
export function gridETag(id, version) {
  return `"grid-${id}-v${version}"`;
}

export async function getJSON(path, { signal } = {}) {
  guard(path);
  let res;
  try {
    res = await fetch(path, { signal, headers: { Accept: 'application/json' } });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new APIError(0, 'ENETWORK', `${path}: ${err.message}`);
  }
  return reply(res, path);
}

const q = (params) => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
};

// The moment the screen shows (README "History and reports"): '' is now. The reads of the
// division (grids, a grid, the coverage summary) carry it as at=; the rest has no history.
let asOf = '';

/** setAt makes the division's reads answer as at the moment at (RFC 3339; '' now). */
export function setAt(at) {
  asOf = at || '';
}

/** tilesAt returns the tile URL templates of a TileJSON for the moment at ('' now). */
export function tilesAt(templates, at) {
  if (!at) return templates;
  return templates.map((u) => `${u}${u.includes('?') ? '&' : '?'}at=${encodeURIComponent(at)}`);
}

export const api = {
  health: (o) => getJSON('/healthz', o),
  city: (o) => getJSON('/api/v1/city', o),
  // the server's settings for the UI: the operator's default basemap
  config: (o) => getJSON('/api/v1/config', o),
  // what the screens show: key figures, a page of issues, a page of grids — each bounded by
  // its page or by the selection, never the whole city's report
  summary: (grid, o) => getJSON(`/api/v1/coverage/summary${q({ grid, at: asOf })}`, o),
  issues: (params, o) => getJSON(`/api/v1/coverage/issues${q(params)}`, o),
  grids: (params, o) => getJSON(`/api/v1/grids${q({ at: asOf, ...params })}`, o),
  // at: a moment of its own (a change list's item as it stood), else the screen's
  grid: (key, o, at = asOf) => getJSON(`/api/v1/grids/${encodeURIComponent(key)}${q({ at })}`, o),
  building: (id, o) => getJSON(`/api/v1/buildings/${encodeURIComponent(id)}`, o),
  buildings: (params, o) => getJSON(`/api/v1/buildings${q(params)}`, o),
  locate: (lon, lat, o) => getJSON(`/api/v1/locate${q({ lon, lat })}`, o),
  staff: (params, o) => getJSON(`/api/v1/staff${q(params)}`, o),
  tileJSON: (o) => getJSON('/tiles.json', o),
  style: (o) => getJSON('/style.json', o),
  balance: (parent, o) => getJSON(`/api/v1/balance${q({ parent })}`, o),
  session: (o) => getJSON('/api/v1/session', o),
  workers: (o) => getJSON('/api/v1/workers?limit=10000', o),
  assignments: (params, o) => getJSON(`/api/v1/assignments${q(params)}`, o),
  ops: (o) => getJSON('/api/v1/ops?limit=50', o),
  // what changed between from and to (default now) under parent: the lists, a page of each,
  // or (geo) the areas the page's grids gained and lost
  changes: (params, o) => getJSON(`/api/v1/changes${q(params)}`, o),
  changesGeo: (params, o) => getJSON(`/api/v1/changes${q({ ...params, f: 'geojson' })}`, o),
};

/** edit holds the writes of the Assign mode (README, "Editing endpoints"). */
export const edit = {
  login: (token) => send('POST', '/api/v1/session', { token }),
  logout: () => send('DELETE', '/api/v1/session'),
  paint: (id, etag, body) => send('POST', `/api/v1/grids/${id}/paint`, body, { ifMatch: etag }),
  split: (id, etag, body) => send('POST', `/api/v1/grids/${id}/split`, body, { ifMatch: etag }),
  merge: (grids, name) => send('POST', '/api/v1/grids/merge', name ? { grids, name } : { grids }),
  // auto-divide and rebalance: a dry run needs no If-Match; an apply sends the parent's ETag
  divide: (id, body, etag) => send('POST', `/api/v1/grids/${id}/divide`, body, { ifMatch: etag }),
  rebalance: (id, body, etag) => send('POST', `/api/v1/grids/${id}/rebalance`, body, { ifMatch: etag }),
  // a setting, not an edit of the division: no If-Match, the grid's version stays
  lock: (id) => send('POST', `/api/v1/grids/${id}/lock`),
  unlock: (id) => send('POST', `/api/v1/grids/${id}/unlock`),
  undo: () => send('POST', '/api/v1/ops/undo'),
  redo: () => send('POST', '/api/v1/ops/redo'),
  dropOp: (id) => send('POST', `/api/v1/ops/${id}/drop`),
  assign: (body) => send('POST', '/api/v1/assignments', body),
  endAssignment: (id) => send('DELETE', `/api/v1/assignments/${id}`),
};

/** exportURL: the downloads; at (the screen's moment) on those that have a history. */
export const exportURL = {
  grids: ({ level, parent } = {}) => `/api/v1/export/grids.geojson${q({ level, parent, at: asOf })}`,
  buildings: ({ grid } = {}) => `/api/v1/export/buildings.geojson${q({ grid, at: asOf })}`,
  assignments: ({ grid } = {}) => `/api/v1/export/assignments.csv${q({ grid, at: asOf })}`,
  offline: ({ grid }) => `/api/v1/export/offline.pmtiles${q({ grid })}`,
  // the statistical report of parent's subtree (the city when none), as at the screen's moment
  report: ({ parent, lang, format = 'xlsx' } = {}) => `/api/v1/reports/summary.${format}${q({ parent, at: asOf, lang })}`,
};
