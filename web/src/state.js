// The app's state and the URL that carries it.
//
// State lives in the URL (?sel=<grid code>&mode=dashboard|coverage|assign|export&metric=…&lang=…
// &basemap=…&basemap_crs=…&at=<moment>&changes=<moment>): a link reproduces the screen, and every selection or mode change is a history
// entry so the back button walks back through them.

import { setLang } from './i18n.js';
import { COVERAGE_METRICS } from './metrics.js';

export const MODES = ['dashboard', 'coverage', 'export', 'assign'];

export const state = {
  mode: 'dashboard',
  sel: '',
  metric: 'workload', // coverage mode's metric; the dashboard colours households
  basemap: '', // the basemap shown: an XYZ template or a style URL ('' none)
  basemapCRS: 'wgs84', // its coordinate system: 'wgs84' (also CGCS2000) or 'gcj02'
  basemapAttribution: '',
  basemapOwn: null, // this browser's own choice ({url, crs}; url '' is "none"), null: the server's
  basemapDefault: null, // the server's default (GET /api/v1/config): {url, crs, attribution} or null
  basemapRefused: '', // the host the server's allow-list refused, if any
  city: null, // {name, bounds}
  zooms: null, // the tiles' zoom rules (TileJSON gridmap.zooms, style.js zoomRules)
  tiles: null, // the TileJSON
  style: null, // the map style document (/style.json; offline: the copy built into the UI)
  offline: null, // an open offline package (offline.js open): {url, name, meta, bounds}
  summary: null, // /coverage/summary of the selection
  citySummary: null, // /coverage/summary of the city
  band: { target: 300, band: 0.2 }, // the coverage options the summaries were rated with
  idx: null, // the grids loaded so far (grids.js)
  locating: false,
  layers: { grids: true, labels: true, buildings: true, units: true, roads: true, density: true, defects: true },
  dataVersion: null,
  // the moment the division is shown as of (RFC 3339, UTC; '' now): a past moment is read-only
  at: '',
  // the changes overlay: the start of its period ('' off); it ends at the moment shown
  changes: '',
};

/**
 * moment normalises a moment a URL or a control gives (a date, or RFC 3339) to RFC 3339 in
 * UTC without fractions, '' when it is none. A date alone is its first instant in UTC, as
 * the server reads it.
 */
export function moment(s) {
  if (!s || !/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(s)) return '';
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s.replace(' ', 'T'));
  if (Number.isNaN(d.getTime())) return '';
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

export function readURL() {
  const p = new URLSearchParams(location.search);
  const mode = p.get('mode');
  state.mode = MODES.includes(mode) ? mode : 'dashboard';
  state.sel = /^\d{15}$/.test(p.get('sel') || '') ? p.get('sel') : '';
  const metric = p.get('metric');
  if (COVERAGE_METRICS.includes(metric)) state.metric = metric;
  state.at = moment(p.get('at'));
  // a moment not in the past is now, as the server reads it
  if (state.at && Date.parse(state.at) >= Date.now()) state.at = '';
  state.changes = moment(p.get('changes'));
  // the past is read-only: a link to Assign at a past moment opens Coverage there
  if (state.at && state.mode === 'assign') state.mode = 'coverage';
  const l = p.get('lang') || localStorage.getItem('gridmap.lang') || 'zh';
  setLang(l);
}

/**
 * readBasemap chooses the basemap: the address's (?basemap=&basemap_crs=), else this
 * browser's (the settings dialog), else the server's default (config: GET /api/v1/config).
 * An empty ?basemap= or saved choice is "no basemap", even over the server's default.
 */
export function readBasemap(config) {
  const p = new URLSearchParams(location.search);
  const url = p.get('basemap') ?? localStorage.getItem('gridmap.basemap');
  const crs = p.has('basemap') ? p.get('basemap_crs') : localStorage.getItem('gridmap.basemapCRS');
  state.basemapOwn = url === null ? null : { url, crs: crs === 'gcj02' ? 'gcj02' : 'wgs84' };
  state.basemapDefault = config?.basemap || null;
  const b = state.basemapOwn || state.basemapDefault || { url: '', crs: 'wgs84' };
  state.basemap = b.url;
  state.basemapCRS = b.crs === 'gcj02' ? 'gcj02' : 'wgs84';
  state.basemapAttribution = b === state.basemapDefault ? b.attribution || '' : '';
}

/** writeURL puts the state in the address: a new history entry when push. */
export function writeURL(push) {
  const p = new URLSearchParams(location.search);
  const set = (k, v) => (v ? p.set(k, v) : p.delete(k));
  set('sel', state.sel);
  set('mode', state.mode === 'dashboard' ? '' : state.mode);
  set('metric', state.mode === 'coverage' ? state.metric : '');
  set('at', state.at);
  set('changes', state.changes);
  const s = p.toString();
  const url = `${location.pathname}${s ? `?${s}` : ''}${location.hash}`;
  if (url === `${location.pathname}${location.search}${location.hash}`) return;
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
}

/** activeMetric is what the grid fill shows now. */
export function activeMetric() {
  return state.mode === 'coverage' ? state.metric : 'households';
}
