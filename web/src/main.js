// gridmap map UI: wiring of state, URL, map and panels.
//
// What loads when: the TileJSON (zoom rules, bounds) and the city's name first; then the map,
// which asks for the tiles on screen; the city's coverage summary (the KPIs), the first page
// of subdistricts for the tree and the first page of issues in view. A selection reads its own
// summary, its children and its issues; a grid's children come when it is opened in the tree.
// Nothing the UI asks for grows with the city (README, "The map UI").

// MapLibre's own rules first: ours (app.css) place the map and override them
import 'maplibre-gl/dist/maplibre-gl.css';
import './app.css';

import BUNDLED_STYLE from '../../tiles/style.json';

import { api, setAt as readAt, setOffline } from './api.js';
import * as assign from './assign.js';
import { $, h, toast } from './dom.js';
import * as exportpanel from './exportpanel.js';
import * as grids from './grids.js';
import * as timeline from './history.js';
import { lang, setLang, t, fmtTime } from './i18n.js';
import * as issues from './issues.js';
import { renderLayers, renderLegend, renderMetricPicker } from './legend.js';
import { hookLogin } from './login.js';
import * as liveMap from './map.js';
import {
  applyAt, applyFill, applyLabels, applyLayerVisibility, applySelection, createMap, fitBBox, flyToGeometry, focusBBox, outline,
  refreshTiles, showChanges, viewBBox,
} from './map.js';
import { ancestors, bbox } from './model.js';
import * as offline from './offline.js';
import * as panel from './panel.js';
import { showFeaturePopup, showLocate } from './popup.js';
import { hookSearch } from './search.js';
import * as auth from './session.js';
import { hookSettings, renderSettings } from './settings.js';
import { activeMetric, MODES, readBasemap, readURL, state, writeURL } from './state.js';
import { BUILDING_FILLS, L3_FILLS, zoomRules } from './style.js';
import * as tree from './tree.js';

// Everything the app does is observable by tests through window.gridmap.
window.gridmap = { state, ready: false, errors: [] };

const map = () => liveMap.map;

// ---- selection -------------------------------------------------------------------------

let selSeq = 0;

/** select makes code (or '' for the city) the selection: URL, tree, map and panel follow. */
export async function select(code, { push = true, fit = true } = {}) {
  state.sel = code || '';
  writeURL(push);
  if (matchMedia('(max-width: 1024px)').matches) document.body.classList.remove('open-left');
  const mine = ++selSeq;
  let g = state.sel ? grids.idx.byCode.get(state.sel) : null;
  applySelection();
  renderTree();
  // a selection the screen has not loaded (a link, a search hit): its row, chain and outline
  if (state.sel && (!g || !g.bbox || ancestors(grids.idx, g).length !== g.level - 1)) {
    try {
      const d = await grids.detail(state.sel);
      g = d.row;
      g.bbox ||= bbox(d.geometry);
    } catch (err) {
      if (mine === selSeq) toast(err.status === 404 && state.at ? t('history.notFound') : err.message);
    }
    if (mine !== selSeq) return;
    applySelection();
  }
  if (fit) fitBBox(g ? g.bbox : state.city?.bounds);
  await Promise.all([tree.expandTo(state.sel), loadSelection()]);
}

function loadSelection({ fresh = false } = {}) {
  if (state.offline) return renderOffline();
  timeline.load({ force: fresh });
  if (state.mode === 'export') return exportpanel.load({ fresh }).catch((err) => panel.renderPanelError(err, loadSelection));
  if (state.mode === 'assign') {
    assign.onSelection();
    return null;
  }
  return panel.load();
}

function setMode(mode, { push = true } = {}) {
  if (mode === state.mode) return;
  if (mode === 'assign' && state.at) {
    toast(t('history.assignOff'));
    return;
  }
  const was = state.mode;
  state.mode = mode;
  writeURL(push);
  switchMode(was);
}

/** switchMode enters and leaves Assign mode around a mode change. */
function switchMode(was) {
  if (was === 'assign' && state.mode !== 'assign') assign.leave();
  if (state.mode === 'assign' && was !== 'assign' && map()) assign.enter();
  renderChrome();
  applyFill();
  applySelection();
  applyLabels();
  legend();
  loadSelection();
}

/**
 * setAt shows the division as of at (RFC 3339; '' now): the tiles, the tree, the KPIs and the
 * panel of then, a banner saying so; Assign is off (the past is read-only).
 */
async function setAt(at, { push = true } = {}) {
  if (at === state.at) return;
  state.at = at;
  writeURL(push);
  await applyMoment();
}

/**
 * loadTreeRoots reads the tree's first page and, when a grid is selected, the city's figures
 * for the tree's first row (the selection's panel reads them when the city is the selection);
 * it returns both promises.
 */
function loadTreeRoots() {
  const roots = grids.loadChildren(null).then(renderTree).catch((err) => tree.renderTreeError(err));
  const city = state.sel ? api.summary().then((s) => {
    state.citySummary = s;
    renderTree();
    renderAsOf();
  }).catch(() => null) : null;
  return [roots, city];
}

/** applyMoment reads again, as of state.at, everything on screen that has a history. */
async function applyMoment() {
  readAt(state.at);
  if (state.at && state.mode === 'assign') {
    state.mode = 'coverage';
    writeURL(false);
    switchMode('assign');
    toast(t('history.assignOff'));
  }
  applyAt();
  grids.reset();
  state.summary = null;
  state.citySummary = null;
  renderChrome();
  legend(); // the past is uncoloured: the legend says so
  renderTree();
  if (state.mode !== 'export') panel.renderPanelLoading();
  const [roots, city] = loadTreeRoots();
  await Promise.all([roots, city, select(state.sel, { push: false, fit: false })]);
  window.gridmap.atApplied = state.at;
}

/** setChanges turns the changes overlay on from the moment from, or off (''). */
function setChanges(from, { push = true } = {}) {
  if (from === state.changes) return;
  state.changes = from;
  writeURL(push);
  timeline.renderControl();
  timeline.load();
  if (state.mode === 'coverage' && state.summary) panel.render();
}

function setMetric(metric) {
  state.metric = metric;
  writeURL(false);
  applyFill();
  applyLabels();
  renderMetricPicker({ state, setMetric });
  legend();
}

// ---- renders ---------------------------------------------------------------------------

function renderTree() {
  tree.renderTree({ state, select });
}

function legend() {
  renderLegend({ state, zoom: map() ? map().getZoom() : 14, metric: activeMetric(), band: state.band, assign: assign.legend() });
}

function renderAsOf() {
  const el = $('data-asof');
  if (state.offline) {
    const m = state.offline.meta;
    el.textContent = `${t('offline.package')}: ${state.offline.name}`;
    el.title = `data_version ${m.data_version} · ${t('offline.exportedAt')} ${fmtTime(m.exported_at)}`;
    return;
  }
  const s = state.citySummary || state.summary;
  el.textContent = s ? `${t('dataAsOf')} ${fmtTime(s.generated_at)}` : '';
  el.title = s ? `data_version ${s.data_version}` : '';
}

function renderChrome() {
  document.title = `gridmap · ${state.city?.name || ''}`;
  $('city-name').textContent = state.city?.name || '';
  for (const m of MODES) {
    const b = $(`tab-${m}`);
    b.textContent = t(`mode.${m}`);
    b.setAttribute('aria-selected', String(state.mode === m));
    b.classList.toggle('active', state.mode === m);
    if (m === 'assign') b.title = state.at ? t('history.assignOff') : t('mode.assign.title');
    // offline, what needs the server is off: editing and exports; a past moment is read-only
    b.disabled = (Boolean(state.offline) && (m === 'assign' || m === 'export')) || (m === 'assign' && Boolean(state.at));
  }
  $('search').placeholder = t('search.placeholder');
  const lb = $('lang-btn');
  lb.textContent = t('lang.switch');
  lb.title = t('lang.switch.title');
  const user = $('user');
  user.textContent = auth.userLabel();
  user.title = auth.session.user ? t('auth.signedIn.title') : t('auth.signIn.title');
  user.dataset.role = auth.session.user?.role || '';
  $('settings-btn').title = t('tool.settings');
  $('tree-title').textContent = t('tree.title');
  const loc = $('tool-locate');
  loc.textContent = `◎ ${t('tool.locate')}`;
  loc.setAttribute('aria-pressed', String(state.locating));
  loc.classList.toggle('active', state.locating);
  $('tool-city').textContent = `⤢ ${t('tool.city')}`;
  $('tool-layers').textContent = `◧ ${t('layers.title')}`;
  $('toggle-left').title = t('tree.title');
  $('toggle-right').title = t('tool.panels');
  const hint = $('locate-hint');
  hint.textContent = t('tool.locate.hint');
  hint.hidden = !state.locating;
  document.body.dataset.mode = state.mode;
  renderMetricPicker({ state, setMetric });
  timeline.renderControl();
  timeline.renderBanner();
  renderAsOf();
  renderSettings(state);
}

function renderAll() {
  renderChrome();
  renderTree();
  applyLabels();
  legend();
  if (state.offline) renderOffline();
  else if (state.mode === 'export') exportpanel.render();
  else if (state.mode === 'assign') assign.render();
  else if (state.summary) panel.render();
}

function setLocating(on) {
  state.locating = on;
  if (map()) map().getCanvas().style.cursor = on ? 'crosshair' : '';
  renderChrome();
}

function hookChrome() {
  for (const m of MODES) $(`tab-${m}`).addEventListener('click', () => setMode(m));
  $('lang-btn').addEventListener('click', () => {
    setLang(lang() === 'zh' ? 'en' : 'zh');
    localStorage.setItem('gridmap.lang', lang());
    const p = new URLSearchParams(location.search);
    if (p.has('lang')) {
      p.set('lang', lang());
      history.replaceState(null, '', `${location.pathname}?${p}${location.hash}`);
    }
    renderAll();
  });
  $('tool-locate').addEventListener('click', () => setLocating(!state.locating));
  $('tool-city').addEventListener('click', () => select(''));
  $('tool-layers').addEventListener('click', (e) => {
    const box = $('layers-box');
    box.hidden = !box.hidden;
    e.currentTarget.setAttribute('aria-expanded', String(!box.hidden));
    renderLayers(state, (group, on) => {
      state.layers[group] = on;
      applyLayerVisibility();
    });
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && state.locating) setLocating(false);
  });
  for (const btn of document.querySelectorAll('[data-drawer]')) {
    btn.addEventListener('click', () => document.body.classList.toggle(`open-${btn.dataset.drawer}`));
  }
  hookSearch({ select });
  hookSettings(state);
  hookLogin(auth, onSession);
  window.addEventListener('popstate', () => {
    const before = { sel: state.sel, mode: state.mode, metric: state.metric, at: state.at };
    readURL();
    if (before.mode !== state.mode) switchMode(before.mode);
    renderChrome();
    if (before.mode !== state.mode || before.metric !== state.metric) {
      applyFill();
      applyLabels();
      legend();
    }
    // a moment of its own: everything is read again as of it (the selection too)
    if (before.at !== state.at) applyMoment();
    else select(state.sel, { push: false });
  });
}

/** onSession follows a sign-in or sign-out: the top bar and which tools are on. */
function onSession() {
  renderChrome();
  if (state.mode === 'assign') {
    assign.leave();
    assign.enter();
  } else if (!state.offline && state.mode !== 'export') {
    panel.render(); // the selection's lock button is for planners
  }
}

const CLICKABLE = ['units', ...BUILDING_FILLS, 'gap-fill', 'overlap-fill', ...L3_FILLS, 'grid-fill-l2', 'density'];

function hookMapEvents() {
  const m = map();
  m.on('click', (e) => {
    if (state.locating) {
      showLocate(m, e.lngLat, { select });
      return;
    }
    if (state.mode === 'assign') return; // assign.js owns clicks there
    const fs = m.queryRenderedFeatures(e.point, { layers: CLICKABLE.filter((id) => m.getLayer(id)) });
    if (fs.length) showFeaturePopup(m, e.lngLat, fs, { state, select });
  });
  m.on('zoomend', legend);
  m.on('moveend', (e) => {
    if (!state.offline && (state.mode === 'dashboard' || state.mode === 'coverage')) issues.onMove(e);
  });
  assign.attachMap(m);
}

// ---- data ------------------------------------------------------------------------------

async function loadCity() {
  const [tj, city, config, style] = await Promise.all([
    api.tileJSON(),
    api.city().catch(() => null), // older servers have no /api/v1/city: the TileJSON says enough
    api.config().catch(() => null), // nor /api/v1/config: no default basemap then
    api.style().catch(() => null),
  ]);
  readBasemap(config);
  // the server's style; an older server's: the copy built in, its hatches drawn here
  state.style = style || { ...BUNDLED_STYLE, sprite: undefined };
  state.tiles = tj;
  state.zooms = zoomRules(tj);
  let name = tj?.name && tj.name !== 'gridmap' ? tj.name : '';
  if (city?.name) name = city.name;
  state.city = { name, bounds: Array.isArray(city?.bbox) ? city.bbox : tj?.bounds || null };
  state.dataVersion = city?.data_version ?? null;
}

/** refreshData reads again what is on screen after the data changed (an edit, a new version). */
async function refreshData() {
  await grids.reloadLoaded();
  const city = state.sel && state.mode !== 'export' ? api.summary().then((s) => { state.citySummary = s; }) : null;
  await Promise.all([city, state.mode === 'assign' ? null : loadSelection({ fresh: true })]);
  renderTree();
  applySelection();
  renderAsOf();
}

async function refreshIfChanged() {
  if (state.offline) return;
  try {
    // a --private server's /healthz tells nothing but up or down: ask the city (signed in)
    let v = (await api.health()).data_version;
    if (v == null) v = (await api.city()).data_version;
    if (v == null || v === state.dataVersion) return;
    state.dataVersion = v;
    refreshTiles();
    await refreshData();
    toast(t('refresh.updated'));
  } catch {
    // a missed refresh is retried at the next tick
  }
}

/**
 * afterWrite follows an edit made here (res: the edit's reply): tiles at once; the tree, the
 * city's figures and the selection's in the background — the Assign panel reads its own
 * balance meanwhile.
 */
let writeSeq = 0;
async function afterWrite(res) {
  refreshTiles();
  if (res?.data_version) state.dataVersion = res.data_version;
  const seq = ++writeSeq;
  try {
    await grids.reloadLoaded();
    const s = await api.summary();
    // edits in quick succession (undo, redo, undo): only the latest one's figures may land
    if (seq !== writeSeq) return;
    state.citySummary = s;
    renderTree();
    renderAsOf();
    window.gridmap.summaryVersion = s.data_version;
  } catch (err) {
    toast(err.message);
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
    toast(t('settings.basemap.refused', { host }));
    renderSettings(state);
  });
}

// ---- offline packages --------------------------------------------------------------------

/** renderOffline fills the panels for an open package: what it is, what works without the server. */
function renderOffline() {
  const o = state.offline;
  const m = o.meta;
  const what = m.grid ? `${m.grid.name || ''} · ${m.grid.code}` : (m.bbox || m.bounds || []).join(', ');
  $('panel').replaceChildren(h('div.offline#offline-info', { dataset: { version: String(m.data_version ?? '') } },
    h('h2', null, t('offline.title')),
    h('table.attrs', null, h('tbody', null, [
      [t('offline.file'), o.name],
      [t('offline.area'), what],
      [t('offline.dataVersion'), String(m.data_version ?? '–')],
      [t('offline.exportedAt'), m.exported_at ? fmtTime(m.exported_at) : '–'],
    ].map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v))))),
    h('p.help', null, t('offline.works')),
    h('p.help', null, t('offline.needsServer')),
    h('button', { type: 'button', onclick: openPackage }, t('offline.openAnother'))));
  $('panel').dataset.sel = '';
  $('tree').replaceChildren(h('p.empty', null, t('offline.noTree')));
}

/**
 * openPackage asks for a .pmtiles file and shows it: the map from the archive with the same
 * style, and no call to any server from then on (a reload goes back to the server).
 */
async function openPackage() {
  const file = await offline.pick();
  if (!file) return;
  let pkg;
  try {
    pkg = await offline.open(file);
  } catch (err) {
    toast(`${t('offline.bad')}: ${err.message}`);
    return;
  }
  if (state.mode === 'assign') assign.leave();
  setOffline(t('offline.noServer'));
  state.offline = pkg;
  state.style = BUNDLED_STYLE;
  state.tiles = pkg.meta;
  state.zooms = zoomRules(pkg.meta);
  state.city = { name: pkg.meta.grid?.name || pkg.meta.name || pkg.name, bounds: pkg.bounds };
  state.dataVersion = pkg.meta.data_version ?? null;
  state.mode = state.mode === 'coverage' ? 'coverage' : 'dashboard';
  state.sel = '';
  state.summary = null;
  state.citySummary = null;
  writeURL(false);
  window.gridmap.ready = false;
  if (map()) map().remove();
  await createMap();
  hookMapEvents();
  applyFill();
  applySelection();
  applyLabels();
  renderChrome();
  legend();
  renderOffline();
  window.gridmap.ready = true;
  window.gridmap.offline = { name: pkg.name, data_version: pkg.meta.data_version };
}

async function main() {
  readURL();
  readAt(state.at);
  watchBasemapRefusal();
  state.idx = grids.idx;
  assign.init({
    state, map, select, afterWrite, flyToGeometry,
    refreshLabels: applyLabels, renderLegend: legend, renderTree,
  });
  panel.init({ select, setMode, renderTree, renderAsOf });
  exportpanel.init({ openPackage });
  timeline.init({ state, setAt, setChanges, flyToGeometry, showChanges });
  issues.init({ state, focusBBox, outline, viewBBox, map });
  hookChrome();
  renderChrome();
  panel.renderPanelLoading();
  try {
    await Promise.all([loadCity(), auth.restore().catch(() => null)]);
  } catch (err) {
    panel.renderPanelError(err, () => location.reload());
    // no server: a grid worker in the field opens the package they carry
    $('panel').append(h('div.offline-open', null, h('p.help', null, t('offline.hint')),
      h('button.primary#offline-open', { type: 'button', onclick: openPackage }, t('offline.open'))));
    tree.renderTreeError(err);
    window.gridmap.errors.push(err.message);
    return;
  }
  renderChrome();
  // the tree's first page and the city's figures while the map starts
  const [roots, city] = loadTreeRoots();
  await createMap();
  hookMapEvents();
  applyFill();
  applySelection();
  applyLabels();
  legend();
  if (state.mode === 'assign') assign.enter();
  await Promise.all([roots, city, select(state.sel, { push: false, fit: Boolean(state.sel) })]);
  window.gridmap.ready = true;
  window.gridmap.readyMs = Math.round(performance.now());
  document.body.dataset.ready = 'true';
  // Dashboard auto-refresh: cheap health poll, a reload of what is on screen only when the
  // data version moved. ?refresh=<seconds> (at least 2) changes the period, e.g. for a wall
  // display or a test.
  const every = Math.max(2, Number(new URLSearchParams(location.search).get('refresh')) || 30);
  setInterval(refreshIfChanged, every * 1000);
}

main();
