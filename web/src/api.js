// The JSON API the UI reads (issue 3, served by the same gridmap). Every call goes through
// getJSON, which turns the coded error body {"error":{"code","message"}} into an Error whose
// message is what a user can act on.

export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function getJSON(path, { signal } = {}) {
  let res;
  try {
    res = await fetch(path, { signal, headers: { Accept: 'application/json' } });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new APIError(0, 'ENETWORK', `${path}: ${err.message}`);
  }
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: fall through with the status
  }
  if (!res.ok) {
    const e = body && body.error;
    throw new APIError(res.status, e?.code || `HTTP${res.status}`, e?.message || `${path}: HTTP ${res.status}`);
  }
  return body;
}

const q = (params) => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
};

export const api = {
  health: (o) => getJSON('/healthz', o),
  city: (o) => getJSON('/api/v1/city', o),
  coverage: (grid, o) => getJSON(`/api/v1/coverage${q({ grid })}`, o),
  grids: (params, o) => getJSON(`/api/v1/grids${q(params)}`, o),
  grid: (key, o) => getJSON(`/api/v1/grids/${encodeURIComponent(key)}`, o),
  building: (id, o) => getJSON(`/api/v1/buildings/${encodeURIComponent(id)}`, o),
  buildings: (params, o) => getJSON(`/api/v1/buildings${q(params)}`, o),
  locate: (lon, lat, o) => getJSON(`/api/v1/locate${q({ lon, lat })}`, o),
  staff: (params, o) => getJSON(`/api/v1/staff${q(params)}`, o),
  tileJSON: (o) => getJSON('/tiles.json', o),
};

export const exportURL = {
  grids: ({ level, parent } = {}) => `/api/v1/export/grids.geojson${q({ level, parent })}`,
  buildings: ({ grid } = {}) => `/api/v1/export/buildings.geojson${q({ grid })}`,
  assignments: ({ grid } = {}) => `/api/v1/export/assignments.csv${q({ grid })}`,
};
