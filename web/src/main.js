// gridmap map UI: wiring of state, URL, map and panels.
//
// State lives in the URL (?sel=<grid code>&mode=dashboard|coverage|assign|export&metric=…&lang=…
// &basemap=…): a link reproduces the screen, and every selection or mode change is a history
// entry so the back button walks back through them.

import * as maplibregl from 'maplibre-gl';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import 'maplibre-gl/dist/maplibre-gl.css';
import './app.css';

import { api } from './api.js';
import * as assign from './assign.js';
import { lang, setLang, t } from './i18n.js';
import { COVERAGE_METRICS, fillColor } from './metrics.js';
import { bbox, indexReport, labelPoint, shortName } from './model.js';
import { basemapKind, buildingFill, buildStyle, l2Opacity, l3Opacity, LAYER_GROUPS, overlayLayers } from './style.js';
import { addPatterns } from './patterns.js';
import * as auth from './session.js';
import * as ui from './ui.js';
import * as undivided from './undivided.js';

maplibregl.setWorkerUrl(workerUrl);

const MODES = ['dashboard', 'coverage', 'export', 'assign'];

const state = {
  mode: 'dashboard',
  sel: '',
  metric: 'workload', // coverage mode's metric; the dashboard colours households
  basemap: '',
  basemapRefused: '', // the host the server's allow-list refused, if any
  city: null, // {name, bounds}
  report: null, // the city's coverage report
  idx: null,
  selReport: null,
  geoms: new Map(), // grid code → GeoJSON geometry (from /api/v1/grids)
  locating: false,
  layers: { grids: true, labels: true, buildings: true, units: true, roads: true, density: true, defects: true },
  dataVersion: null,
};

// Everything the app does is observable by tests through window.gridmap.
window.gridmap = { state, ready: false, errors: [] };

let map;
let selAbort = null;

function readURL() {
  const p = new URLSearchParams(location.search);
  const mode = p.get('mode');
  state.mode = MODES.includes(mode) ? mode : 'dashboard';
  state.sel = /^\d{15}$/.test(p.get('sel') || '') ? p.get('sel') : '';
  const metric = p.get('metric');
  if (COVERAGE_METRICS.includes(metric)) state.metric = metric;
  const l = p.get('lang') || localStorage.getItem('gridmap.lang') || 'zh';
  setLang(l);
  state.basemap = p.get('basemap') ?? localStorage.getItem('gridmap.basemap') ?? '';
}

function writeURL(push) {
  const p = new URLSearchParams(location.search);
  const set = (k, v) => (v ? p.set(k, v) : p.delete(k));
  set('sel', state.sel);
  set('mode', state.mode === 'dashboard' ? '' : state.mode);
  set('metric', state.mode === 'coverage' ? state.metric : '');
  const s = p.toString();
  const url = `${location.pathname}${s ? `?${s}` : ''}${location.hash}`;
  if (url === `${location.pathname}${location.search}${location.hash}`) return;
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
}

/** activeMetric is what the grid fill shows now. */
function activeMetric() {
  return state.mode === 'coverage' ? state.metric : 'households';
}

function bandOpts() {
  const o = state.report?.options;
  return { target: o?.target ?? 300, band: o?.band ?? 0.2 };
}

// ---- map -------------------------------------------------------------------------------

async function initialStyle() {
  const tilesUrl = new URL('/tiles.json', location.href).href;
  const opts = { tilesUrl, metric: activeMetric(), band: bandOpts(), selected: state.sel, basemap: state.basemap };
  if (basemapKind(state.basemap) !== 'style') return buildStyle(opts);
  // A basemap style: its sources and layers below ours; ours keep their own names.
  try {
    const res = await fetch(state.basemap);
    const base = await res.json();
    const own = buildStyle({ ...opts, basemap: '' });
    return {
      ...base,
      sources: { ...base.sources, ...own.sources },
      layers: [...base.layers, ...overlayLayers({ metric: activeMetric(), band: bandOpts(), selected: state.sel })],
    };
  } catch (err) {
    if (!state.basemapRefused) ui.toast(`${t('settings.basemap')}: ${err.message}`);
    return buildStyle({ ...opts, basemap: '' });
  }
}

async function initMap() {
  const style = await initialStyle();
  const bounds = state.city?.bounds;
  map = new maplibregl.Map({
    container: 'map',
    style,
    bounds: bounds ? [[bounds[0], bounds[1]], [bounds[2], bounds[3]]] : undefined,
    fitBoundsOptions: { padding: fitPadding() },
    center: bounds ? undefined : [118.72, 32.013],
    zoom: bounds ? undefined : 13.5,
    attributionControl: { compact: true },
    dragRotate: false,
    pitchWithRotate: false,
    maxPitch: 0,
    // fonts are local (see style.js); CJK also drawn from local fonts
    localIdeographFontFamily: "'Noto Sans CJK SC', 'Source Han Sans SC', 'WenQuanYi Micro Hei', 'PingFang SC', 'Microsoft YaHei', sans-serif",
  });
  window.gridmap.map = map;
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'bottom-right');
  map.setMissingStyleImageResolver((id) => addPatterns(map, id));
  map.on('error', (e) => {
    const msg = e?.error?.message || String(e?.error || e);
    window.gridmap.errors.push(msg);
    console.warn('map:', msg);
  });
  await new Promise((resolve) => map.once('load', resolve));
  addPatterns(map);
  applyLayerVisibility();
  hookMapEvents();
}

function applyFill() {
  if (!map) return;
  if (state.mode === 'assign') {
    assign.applyMapStyle();
    return;
  }
  map.setPaintProperty('buildings', 'fill-color', buildingFill());
  map.setPaintProperty('grid-fill-l3', 'fill-opacity', l3Opacity());
  map.setFilter('assign-lock', ['==', ['get', 'code'], '-']);
  const expr = fillColor(activeMetric(), bandOpts());
  map.setPaintProperty('grid-fill-l3', 'fill-color', expr);
  map.setPaintProperty('grid-fill-l2', 'fill-color', expr);
  map.setPaintProperty('grid-fill-l2', 'fill-opacity', l2Opacity(activeMetric()));
}

function applySelectionFilter() {
  if (!map) return;
  if (state.mode === 'assign') {
    assign.applyMapStyle();
    return;
  }
  const f = ['==', ['get', 'code'], state.sel || '-'];
  map.setFilter('selection-line', f);
  map.setFilter('selection-halo', f);
  const g = state.sel ? state.idx?.byCode.get(state.sel) : null;
  map.setFilter('selection-dim', g
    ? ['all', ['==', ['to-number', ['get', 'level']], g.level], ['!=', ['get', 'code'], g.code]]
    : ['==', ['get', 'code'], '-']);
}

function applyLayerVisibility() {
  for (const [group, ids] of Object.entries(LAYER_GROUPS)) {
    for (const id of ids) {
      if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', state.layers[group] ? 'visible' : 'none');
    }
  }
}

/** applyStates joins the coverage report to the tiles: feature-state per grid code. */
function applyStates() {
  if (!map || !state.report) return;
  undivided.applyMap(map, state.idx);
  const unstaffed = new Set((state.report.unstaffed?.grids || []).map((g) => g.code));
  for (const g of state.report.grids) {
    map.setFeatureState({ source: 'gridmap', sourceLayer: 'grids', id: g.id }, {
      households: g.households,
      staffing: unstaffed.has(g.code) ? 'unstaffed' : 'staffed',
      wl: g.workload?.status || null,
      dev: g.workload?.deviation ?? null,
      pp: g.polsby_popper,
    });
  }
}

/** labelText is what a grid's label says in the current mode. */
function labelText(g, report) {
  const parent = g.parent_id != null ? state.idx?.byId.get(g.parent_id) : null;
  const name = g.level === 3 ? shortName(g.name, parent?.name) : g.name;
  if (state.mode === 'assign' && g.level === 3) return assign.labelText(g.code, name);
  if (state.mode !== 'coverage' || g.level !== 3 || !report) return name;
  const rg = state.idx?.byCode.get(g.code);
  if (!rg) return name;
  if (state.metric === 'staffing') return state.idx.unstaffed.has(rg.id) ? `${name}\n✗ ${t('legend.unstaffed')}` : name;
  if (state.metric === 'workload') {
    const w = rg.workload;
    if (!w || w.per_worker == null) return `${name}\n✗ ${t('legend.unstaffed')}`;
    const mark = w.status === 'within' ? '✓' : w.status === 'over' ? '▲' : '▼';
    return `${name}\n${mark} ${Math.round(w.per_worker)}`;
  }
  if (state.metric === 'compactness') return `${name}\nPP ${rg.polsby_popper.toFixed(2)}`;
  return name;
}

function refreshLabels() {
  if (!map) return;
  const features = [];
  for (const [code, geom] of state.geoms) {
    const g = state.idx?.byCode.get(code) || geom.__props;
    if (!g) continue;
    const pt = geom.__label || (geom.__label = labelPoint(geom));
    if (!pt) continue;
    features.push({
      type: 'Feature',
      geometry: { type: 'Point', coordinates: pt },
      properties: { code, level: g.level, label: labelText(g, state.report) },
    });
  }
  map.getSource('labels')?.setData({ type: 'FeatureCollection', features });
}

async function loadGeometries() {
  // Level 1 and 2 outlines and labels for the whole city; level 3 likewise (the demo city
  // has 134). Geometries also give the selection's bounds without another request.
  const levels = await Promise.all([1, 2, 3].map((level) => api.grids({ level, limit: 10000 })
    .catch(() => null)));
  if (levels.every(Boolean)) state.geoms.clear(); // after an edit: retired grids go
  for (const fc of levels.filter(Boolean)) {
    for (const f of fc.features || []) {
      const code = f.properties?.code;
      if (!code || !f.geometry) continue;
      f.geometry.__props = f.properties;
      state.geoms.set(code, f.geometry);
    }
  }
  refreshLabels();
}

let hovered = null;
function setHover(f) {
  if (hovered && (!f || hovered.id !== f.id || hovered.sourceLayer !== f.sourceLayer)) {
    map.setFeatureState({ source: 'gridmap', sourceLayer: hovered.sourceLayer, id: hovered.id }, { hover: false });
    hovered = null;
  }
  if (f && f.id !== undefined && !hovered) {
    hovered = { id: f.id, sourceLayer: f.sourceLayer };
    map.setFeatureState({ source: 'gridmap', sourceLayer: f.sourceLayer, id: f.id }, { hover: true });
  }
}

const CLICKABLE = ['units', 'buildings', 'gap-fill', 'overlap-fill', 'grid-fill-l3', 'grid-fill-l2', 'density'];

function hookMapEvents() {
  map.on('mousemove', (e) => {
    if (state.locating || assign.drawing()) {
      setHover(null);
      return;
    }
    const layers = ['buildings', 'grid-fill-l3', 'grid-fill-l2'].filter((id) => map.getLayer(id));
    const fs = map.queryRenderedFeatures(e.point, { layers });
    setHover(fs[0] || null);
    map.getCanvas().style.cursor = fs.length ? 'pointer' : '';
  });
  map.on('mouseout', () => setHover(null));
  map.on('click', (e) => {
    if (state.locating) {
      ui.showLocate(map, e.lngLat, { select });
      return;
    }
    if (state.mode === 'assign') return; // assign.js owns clicks there
    const layers = CLICKABLE.filter((id) => map.getLayer(id));
    const fs = map.queryRenderedFeatures(e.point, { layers });
    if (!fs.length) return;
    ui.showFeaturePopup(map, e.lngLat, fs, { select, report: state.report, idx: state.idx });
  });
  map.on('zoomend', () => ui.renderLegend(legendCtx()));
  map.on('idle', recheckEstimated);
  assign.attachMap(map);
}

// ---- selection -------------------------------------------------------------------------

function gridGeometry(code) {
  return state.geoms.get(code) || null;
}

/** fitPadding keeps fitted shapes clear of the tools (top) and the legend (bottom). */
function fitPadding(extra = 0) {
  const legend = document.getElementById('legend');
  const bottom = (legend?.offsetHeight || 0) + 20;
  return { top: 56 + extra, bottom: bottom + extra, left: 24 + extra, right: 24 + extra };
}

async function fitTo(code) {
  let geom = code ? gridGeometry(code) : null;
  if (code && !geom) {
    try {
      const f = await api.grid(code);
      geom = f.geometry;
    } catch {
      geom = null;
    }
  }
  const b = geom ? bbox(geom) : state.city?.bounds;
  if (b && map) map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: fitPadding(), maxZoom: 17, duration: 600 });
}

/** select makes code (or '' for the city) the selection: URL, tree, map and panel follow. */
export async function select(code, { push = true, fit = true } = {}) {
  state.sel = code || '';
  writeURL(push);
  ui.expandTo(state.idx, state.sel);
  if (matchMedia('(max-width: 1024px)').matches) document.body.classList.remove('open-left');
  applySelectionFilter();
  ui.renderTree(treeCtx());
  if (fit) fitTo(state.sel);
  await loadSelection();
}

async function loadSelection() {
  if (selAbort) selAbort.abort();
  selAbort = new AbortController();
  const signal = selAbort.signal;
  if (state.mode === 'export') {
    ui.renderExport(panelCtx());
    return;
  }
  if (state.mode === 'assign') {
    assign.onSelection();
    return;
  }
  if (!state.sel) {
    state.selReport = state.report;
    ui.renderPanel(panelCtx());
    return;
  }
  ui.renderPanelLoading(panelCtx());
  try {
    state.selReport = await api.coverage(state.sel, { signal });
    ui.renderPanel(panelCtx());
  } catch (err) {
    if (err.name === 'AbortError') return;
    ui.renderPanelError(panelCtx(), err, () => loadSelection());
  }
}

function setMode(mode, { push = true } = {}) {
  if (mode === state.mode) return;
  const was = state.mode;
  state.mode = mode;
  writeURL(push);
  switchMode(was);
}

/** switchMode enters and leaves Assign mode around a mode change. */
function switchMode(was) {
  if (was === 'assign' && state.mode !== 'assign') assign.leave();
  if (state.mode === 'assign' && was !== 'assign' && map) assign.enter();
  renderChrome();
  applyFill();
  applySelectionFilter();
  refreshLabels();
  ui.renderLegend(legendCtx());
  loadSelection();
}

function setMetric(metric) {
  state.metric = metric;
  writeURL(false);
  applyFill();
  refreshLabels();
  ui.renderMetricPicker(metricCtx());
  ui.renderLegend(legendCtx());
}

// ---- contexts handed to the render functions ---------------------------------------------

function treeCtx() {
  return { state, select };
}
function panelCtx() {
  return { state, select, setMode, flyToGeometry, flyToBuilding, flyToGrid, estimated: householdsEstimated() };
}

/**
 * householdsEstimated tells whether the selection's household count includes estimates (some
 * buildings' households derived from footprint × floors). The tiles carry the flag per grid;
 * the city counts as estimated when any subdistrict is.
 */
function householdsEstimated() {
  if (!map || !map.getSource('gridmap')) return false;
  const filter = state.sel ? ['==', ['get', 'code'], state.sel] : ['==', ['to-number', ['get', 'level']], 1];
  return map.querySourceFeatures('gridmap', { sourceLayer: 'grids', filter })
    .some((f) => f.properties.households_estimated === true || f.properties.households_estimated === 'true');
}

let lastEstimated = false;
function recheckEstimated() {
  const now = householdsEstimated();
  if (now === lastEstimated) return;
  lastEstimated = now;
  if (state.mode !== 'export' && state.selReport) ui.renderPanel(panelCtx());
}
function legendCtx() {
  return { state, zoom: map ? map.getZoom() : 14, metric: activeMetric(), band: bandOpts(), assign: assign.legend() };
}
function metricCtx() {
  return { state, setMetric };
}

function flyToGeometry(geom) {
  const b = bbox(geom);
  if (!b || !map) return;
  map.getSource('focus')?.setData({ type: 'Feature', geometry: geom, properties: {} });
  map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: fitPadding(90), maxZoom: 16.5, duration: 700 });
  window.gridmap.focused = b;
}

async function flyToBuilding(id) {
  try {
    const f = await api.building(id);
    const geom = f.geometry || f.footprint;
    if (geom) flyToGeometry(geom);
  } catch (err) {
    ui.toast(err.message);
  }
}

async function flyToGrid(code) {
  let geom = gridGeometry(code);
  if (!geom) {
    try {
      geom = (await api.grid(code)).geometry;
    } catch (err) {
      ui.toast(err.message);
      return;
    }
  }
  flyToGeometry(geom);
}

// ---- chrome (header, tabs, tools) ---------------------------------------------------------

function renderChrome() {
  document.title = `gridmap · ${state.city?.name || ''}`;
  document.getElementById('city-name').textContent = state.city?.name || '';
  for (const m of MODES) {
    const b = document.getElementById(`tab-${m}`);
    b.textContent = t(`mode.${m}`);
    b.setAttribute('aria-selected', String(state.mode === m));
    b.classList.toggle('active', state.mode === m);
    if (m === 'assign') b.title = t('mode.assign.title');
  }
  document.getElementById('search').placeholder = t('search.placeholder');
  const lb = document.getElementById('lang-btn');
  lb.textContent = t('lang.switch');
  lb.title = t('lang.switch.title');
  const user = document.getElementById('user');
  user.textContent = auth.userLabel();
  user.title = auth.session.user ? t('auth.signedIn.title') : t('auth.signIn.title');
  user.dataset.role = auth.session.user?.role || '';
  document.getElementById('settings-btn').title = t('tool.settings');
  document.getElementById('tree-title').textContent = t('tree.title');
  const loc = document.getElementById('tool-locate');
  loc.textContent = `◎ ${t('tool.locate')}`;
  loc.setAttribute('aria-pressed', String(state.locating));
  loc.classList.toggle('active', state.locating);
  document.getElementById('tool-city').textContent = `⤢ ${t('tool.city')}`;
  document.getElementById('tool-layers').textContent = `◧ ${t('layers.title')}`;
  document.getElementById('toggle-left').title = t('tree.title');
  document.getElementById('toggle-right').title = t('tool.panels');
  const hint = document.getElementById('locate-hint');
  hint.textContent = t('tool.locate.hint');
  hint.hidden = !state.locating;
  document.body.dataset.mode = state.mode;
  ui.renderMetricPicker(metricCtx());
  ui.renderAsOf(state);
  ui.renderSettings(state);
}

function setLocating(on) {
  state.locating = on;
  if (map) map.getCanvas().style.cursor = on ? 'crosshair' : '';
  renderChrome();
}

function hookChrome() {
  for (const m of MODES) {
    document.getElementById(`tab-${m}`).addEventListener('click', () => setMode(m));
  }
  document.getElementById('lang-btn').addEventListener('click', () => {
    setLang(lang() === 'zh' ? 'en' : 'zh');
    localStorage.setItem('gridmap.lang', lang());
    const p = new URLSearchParams(location.search);
    if (p.has('lang')) {
      p.set('lang', lang());
      history.replaceState(null, '', `${location.pathname}?${p}${location.hash}`);
    }
    renderAll();
  });
  document.getElementById('tool-locate').addEventListener('click', () => setLocating(!state.locating));
  document.getElementById('tool-city').addEventListener('click', () => select(''));
  document.getElementById('tool-layers').addEventListener('click', (e) => {
    const box = document.getElementById('layers-box');
    box.hidden = !box.hidden;
    e.currentTarget.setAttribute('aria-expanded', String(!box.hidden));
    ui.renderLayers(state, (group, on) => {
      state.layers[group] = on;
      applyLayerVisibility();
    });
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && state.locating) setLocating(false);
  });
  for (const btn of document.querySelectorAll('[data-drawer]')) {
    btn.addEventListener('click', () => {
      const side = btn.dataset.drawer;
      document.body.classList.toggle(`open-${side}`);
    });
  }
  ui.hookSearch({ state, select });
  ui.hookSettings(state);
  ui.hookLogin(auth, onSession);
  window.addEventListener('popstate', () => {
    const before = { sel: state.sel, mode: state.mode, metric: state.metric };
    readURL();
    if (before.mode !== state.mode) switchMode(before.mode);
    renderChrome();
    if (before.mode !== state.mode || before.metric !== state.metric) {
      applyFill();
      refreshLabels();
      ui.renderLegend(legendCtx());
    }
    select(state.sel, { push: false });
  });
}

function renderAll() {
  renderChrome();
  ui.renderTree(treeCtx());
  refreshLabels();
  ui.renderLegend(legendCtx());
  if (state.mode === 'export') ui.renderExport(panelCtx());
  else if (state.mode === 'assign') assign.render();
  else if (state.selReport) ui.renderPanel(panelCtx());
}

/** onSession follows a sign-in or sign-out: the top bar and which tools are on. */
function onSession() {
  renderChrome();
  if (state.mode === 'assign') {
    assign.leave();
    assign.enter();
  }
}

// ---- data ------------------------------------------------------------------------------

async function loadCity() {
  const [tj, report] = await Promise.all([
    api.tileJSON().catch(() => null),
    api.coverage(),
  ]);
  let bounds = tj?.bounds || null;
  let name = tj?.name && tj.name !== 'gridmap' ? tj.name : '';
  try {
    const c = await api.city();
    if (c?.name) name = c.name;
    if (Array.isArray(c?.bbox)) bounds = c.bbox;
  } catch {
    // older servers have no /api/v1/city: the TileJSON says enough
  }
  state.city = { name, bounds };
  setReport(report);
}

function setReport(report) {
  state.report = report;
  state.idx = indexReport(report);
  state.dataVersion = report.data_version;
  if (!state.sel) state.selReport = report;
}

async function refreshIfChanged() {
  try {
    // a --private server's /healthz tells nothing but up or down: ask the city (signed in)
    let v = (await api.health()).data_version;
    if (v == null) v = (await api.city()).data_version;
    if (v == null || v === state.dataVersion) return;
    refreshTiles();
    setReport(await api.coverage());
    applyStates();
    refreshLabels();
    ui.renderTree(treeCtx());
    await loadSelection();
    renderChrome();
    ui.toast(t('refresh.updated'));
  } catch {
    // a missed refresh is retried at the next tick
  }
}

/**
 * refreshTiles has the map fetch its tiles again. Tiles are served with max-age=0 and an ETag
 * keyed on the data version, so the reload revalidates each: tiles an edit changed come anew,
 * the others answer 304.
 */
function refreshTiles() {
  if (!map?.getSource('gridmap')) return;
  map.refreshTiles('gridmap');
  window.gridmap.tileRefreshes = (window.gridmap.tileRefreshes || 0) + 1;
}

/**
 * afterWrite follows an edit made here (res: the edit's reply): tiles at once; the coverage
 * report (tree, KPIs, map states) and the grid outlines in the background — the Assign panel
 * reads its own balance meanwhile.
 */
let writeSeq = 0;
async function afterWrite(res) {
  refreshTiles();
  if (res?.data_version) state.dataVersion = res.data_version;
  const seq = ++writeSeq;
  try {
    const [report] = await Promise.all([api.coverage(), loadGeometries()]);
    // edits in quick succession (undo, redo, undo): only the latest one's report may land
    if (seq !== writeSeq) return;
    setReport(report);
    applyStates();
    refreshLabels();
    ui.renderTree(treeCtx());
    ui.renderAsOf(state);
    window.gridmap.reportVersion = report.data_version;
  } catch (err) {
    ui.toast(err.message);
  }
}

// A basemap on a host the operator did not allow (--basemap-hosts) is blocked by the server's
// Content-Security-Policy: say so, in a toast and in the settings dialog, rather than leave
// the map without its basemap and no word why.
function watchBasemapRefusal() {
  document.addEventListener('securitypolicyviolation', (e) => {
    let host;
    try {
      host = new URL(e.blockedURI).host;
    } catch {
      return;
    }
    if (!state.basemap || !host || host === location.host || state.basemapRefused === host) return;
    state.basemapRefused = host;
    ui.toast(t('settings.basemap.refused', { host }));
    ui.renderSettings(state);
  });
}

async function main() {
  readURL();
  watchBasemapRefusal();
  assign.init({
    state, map: () => map, select, afterWrite, flyToGeometry,
    refreshLabels, renderLegend: () => ui.renderLegend(legendCtx()),
  });
  hookChrome();
  renderChrome();
  ui.renderPanelLoading(panelCtx());
  try {
    await Promise.all([loadCity(), auth.restore().catch(() => null)]);
  } catch (err) {
    ui.renderPanelError(panelCtx(), err, () => location.reload());
    ui.renderTreeError(err);
    window.gridmap.errors.push(err.message);
  }
  renderChrome();
  ui.renderTree(treeCtx());
  ui.renderLegend(legendCtx());
  await initMap();
  applyFill();
  applyStates();
  applySelectionFilter();
  ui.renderLegend(legendCtx());
  await loadGeometries();
  if (state.mode === 'assign') assign.enter();
  await select(state.sel, { push: false, fit: Boolean(state.sel) });
  window.gridmap.ready = true;
  window.gridmap.readyMs = Math.round(performance.now());
  document.body.dataset.ready = 'true';
  // Dashboard auto-refresh: cheap health poll, full reload only when the data version moved.
  // ?refresh=<seconds> (at least 2) changes the period, e.g. for a wall display or a test.
  const every = Math.max(2, Number(new URLSearchParams(location.search).get('refresh')) || 30);
  setInterval(refreshIfChanged, every * 1000);
}

main();
