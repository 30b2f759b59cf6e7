// Auto-divide and rebalance (自动划分 / 重新平衡) in Assign mode: a planner divides the
// selected community (or subdistrict) into grids balanced by households, or rebalances its
// grids with few building moves (README, "Auto-divide and rebalance").
//
// A dry run first: the server answers the proposal (the children's boundaries, households,
// Polsby–Popper, the moves) and writes nothing; it is drawn over the map in distinct colours
// with each proposed grid's households against the band, and the panel shows a bar per grid, a
// histogram and the summary. Apply sends the same parameters with the parent's ETag and the
// dry run's fingerprint, so exactly the preview is written — or nothing, when the data changed
// since (409/412: preview again). The apply is one operation on the server like a paint: the
// Assign mode's save path (assign/save.js write) refreshes tiles, tree, KPIs and the balance panel,
// and its undo (↶, Ctrl+Z) restores the previous division.
//
// Locked grids (../lock.js) are kept: the divide leaves them as they are and divides the
// rest around them; the rebalance neither moves buildings out of them nor into them. The
// server keeps every locked child whatever the request says; the section names the ones this
// screen knows of before the preview (and sends them as `keep`, so what it said is what is
// kept), and the preview marks every grid the answer kept.

import { api, edit } from '../api.js';
import { anchor, polygonsOf, swatches } from '../assigntools.js';
import { bandBar } from '../bars.js';
import { bandStatus, histogram, MARKS } from '../dividetools.js';
import { h } from '../dom.js';
import * as loaded from '../grids.js';
import { fmtInt, fmtNum, lang, refusal, t } from '../i18n.js';
import { lockIcon } from '../lock.js';
import { WORKLOAD } from '../metrics.js';
import { bbox, labelPoint, shortName } from '../model.js';
import { canEditGrids, denyReason } from '../session.js';
import { assignBuildingFill, FONT, setBuildingFill } from '../style.js';

const EMPTY = { type: 'FeatureCollection', features: [] };
const SRC = 'divide-preview'; // the proposed grids
const LABELS = 'divide-labels'; // one point per proposed grid
const MOVES = 'divide-moves'; // rebalance: moved buildings and arrows to their new grid
const MAX_ARROWS = 200; // moves drawn on the map; the panel lists them all
const MAX_LISTED = 100; // moves listed before "… and n more"

// The panel's state; section() rebuilds the section from it.
const D = {
  mode: '', // '' (closed), 'divide' or 'rebalance'
  parentCode: '', // the grid the section works on
  // the parameters as typed ('' = the server's default)
  params: { target: '', band: '', k: '', seed: '1', maxMoves: '' },
  busy: '',
  preview: null, // {mode, parent, request, res, colours}
  note: null, // {kind, text, detail, stale}
  seq: 0, // previews started: only the latest one's answer is shown
  settled: 0, // previews answered or refused (tests wait on it)
};

let X; // wiring from assign.js: app (main.js's ctx), A (its state), write, render, applyMapStyle
let moved = []; // building ids given feature-state moved

/** init wires the section to the Assign mode (once). */
export function init(ctx) {
  X = ctx;
  window.gridmap.divide = { state: D, open, preview, apply, discard };
}

const map = () => X?.app.map();

/** parentGrid is the grid the section divides: the selected level-1 or level-2 grid, or the community of a selected grid. */
function parentGrid() {
  const { state } = X.app;
  const g = state.sel ? state.idx?.byCode.get(state.sel) : null;
  if (!g) return null;
  if (g.level === 3) return state.idx.byId.get(g.parent_id) || null;
  return g;
}

/**
 * children are the parent's current grids: the balance panel's (fresh after each save) for the
 * community being edited, else the loaded page of its children (grids.js), asked for the
 * first time here; null while either is on its way.
 */
function children(p) {
  if (X.A.community?.id === p.id) return X.A.balance ? X.A.balance.grids : null;
  if (loaded.page(p.id)) return loaded.childrenOf(p.id);
  loaded.loadChildren(p.id).then(() => X.render(), () => null);
  return null;
}

/** lockedOf are the locked grids among kids: the Assign mode's locks, or the rows' own. */
function lockedOf(kids) {
  return kids.filter((g) => g.locked === true || X.A.locked.has(g.code));
}

/** open opens the section in a mode ('divide' or 'rebalance'). */
export function open(mode = 'divide') {
  if (D.mode !== mode) discard();
  D.mode = mode;
  D.note = null;
  X.render();
}

function close() {
  discard();
  D.mode = '';
  D.note = null;
  X.render();
}

/** leave takes the preview off the map (the Assign mode is left). */
export function leave() {
  D.seq++;
  D.busy = '';
  discard(false);
}

// ---- the request ------------------------------------------------------------------------------

/** requestBody reads the parameters; {error} when one is not a number. */
function requestBody(mode, p) {
  const num = (key, scale = 1) => {
    const s = String(D.params[key]).trim();
    if (s === '') return 0;
    const v = Number(s);
    return Number.isFinite(v) && v >= 0 ? v * scale : NaN;
  };
  const kids = children(p) || [];
  const body = {
    target: num('target'),
    band: num('band', 0.01),
    // the locked children are the kept grids
    keep: lockedOf(kids).map((g) => g.code),
  };
  if (mode === 'divide') Object.assign(body, { k: num('k'), seed: num('seed') });
  else body.max_moves = num('maxMoves');
  const bad = Object.entries(body).find(([, v]) => Number.isNaN(v));
  if (bad) return { error: t('divide.badParam', { name: t(`divide.param.${bad[0] === 'max_moves' ? 'maxMoves' : bad[0]}`) }) };
  return body;
}

/** preview asks the server for a dry run of the open mode and draws it. */
export async function preview() {
  const p = parentGrid();
  const mode = D.mode;
  if (!p || !mode) return null;
  const request = requestBody(mode, p);
  if (request.error) {
    D.note = { kind: 'error', text: request.error };
    X.render();
    return null;
  }
  const seq = ++D.seq;
  discard(false);
  D.busy = t('divide.busy.preview');
  D.note = null;
  X.render();
  try {
    const res = await edit[mode](p.id, { ...request, dry_run: true });
    if (seq !== D.seq || parentGrid()?.code !== p.code) return null;
    const colours = swatches(res.features.map((f) => f.properties.code));
    D.preview = { mode, parent: p, request, res, colours };
    draw();
    return res;
  } catch (err) {
    if (seq !== D.seq) return null;
    const { why, detail } = refusal(err);
    D.note = { kind: 'error', code: err.code, text: t('divide.failed', { code: err.code, why }), detail };
    return null;
  } finally {
    if (seq === D.seq) {
      D.busy = '';
      D.settled++;
      X.render();
    }
  }
}

/**
 * apply writes the preview: the same parameters, the parent's ETag (If-Match) and the dry
 * run's fingerprint. Through the Assign mode's save path, so the map, tree, KPIs, balance
 * panel and undo stack follow as after any edit.
 */
export async function apply() {
  const pv = D.preview;
  if (!pv || X.A.busy) return null;
  const body = { ...pv.request, dry_run: false, fingerprint: pv.res.fingerprint };
  const name = pv.parent.name;
  return X.write(t(`divide.busy.${pv.mode}`), () => edit[pv.mode](pv.parent.id, body, pv.res.parent.etag), (res) => {
    discard(false);
    D.mode = '';
    D.note = null;
    const s = res.summary || {};
    return pv.mode === 'divide'
      ? t('divide.done.divide', { name, k: s.k, in: s.in_band })
      : t('divide.done.rebalance', { name, n: s.moves, in: s.in_band, k: s.k });
  }, null, undefined, (err) => {
    // the data changed since the preview (409: another fingerprint; 412/428: the parent's
    // version): nothing was written; the preview is gone, the parameters stay
    if (![409, 412, 428].includes(err.status)) return false;
    discard(false);
    D.note = { kind: 'error', stale: true, code: err.code, text: t('divide.stale', { code: err.code }), detail: err.message };
    return true;
  });
}

/** discard takes the preview away (from the map too); render: rebuild the panel. */
export function discard(render = true) {
  const had = Boolean(D.preview);
  D.preview = null;
  const m = map();
  if (m?.getSource(SRC)) {
    m.getSource(SRC).setData(EMPTY);
    m.getSource(LABELS).setData(EMPTY);
    m.getSource(MOVES).setData(EMPTY);
  }
  for (const id of moved) m?.setFeatureState({ source: 'gridmap', sourceLayer: 'buildings', id }, { moved: false });
  moved = [];
  if (had && m) {
    // the Assign mode's own colours and the grid labels come back
    X.applyMapStyle();
    if (m.getLayer('label-l3')) m.setLayoutProperty('label-l3', 'visibility', X.app.state.layers.labels ? 'visible' : 'none');
  }
  if (render) X.render();
}

// ---- the map ----------------------------------------------------------------------------------

/** arrowImage: a dark triangle pointing east, drawn once (MapLibre turns it along each arrow). */
function addArrow(m) {
  if (m.hasImage('divide-arrow')) return;
  const s = 24;
  const c = document.createElement('canvas');
  c.width = c.height = s;
  const g = c.getContext('2d');
  g.fillStyle = '#111827';
  g.strokeStyle = '#ffffff';
  g.lineWidth = 2;
  g.beginPath();
  g.moveTo(4, 4);
  g.lineTo(21, 12);
  g.lineTo(4, 20);
  g.closePath();
  g.stroke();
  g.fill();
  m.addImage('divide-arrow', g.getImageData(0, 0, s, s), { pixelRatio: 2 });
}

/** ensureLayers adds the preview's sources and layers (once per style). */
function ensureLayers(m) {
  if (m.getSource(SRC)) return;
  addArrow(m);
  m.addSource(SRC, { type: 'geojson', data: EMPTY });
  m.addSource(LABELS, { type: 'geojson', data: EMPTY });
  m.addSource(MOVES, { type: 'geojson', data: EMPTY });
  // under roads and buildings, over the current grids' fill
  const below = m.getLayer('roads') ? 'roads' : undefined;
  m.addLayer({
    id: 'divide-fill', type: 'fill', source: SRC,
    paint: { 'fill-color': ['get', 'color'], 'fill-opacity': 0.55 },
  }, below);
  m.addLayer({
    id: 'divide-moved', type: 'fill', source: 'gridmap', 'source-layer': 'buildings', minzoom: 14,
    paint: { 'fill-color': '#111827', 'fill-opacity': ['case', ['boolean', ['feature-state', 'moved'], false], 0.9, 0] },
  });
  m.addLayer({
    id: 'divide-line', type: 'line', source: SRC,
    paint: { 'line-color': '#111827', 'line-width': ['interpolate', ['linear'], ['zoom'], 12, 1.5, 17, 3.5] },
  });
  m.addLayer({
    id: 'divide-moves-line', type: 'line', source: MOVES, filter: ['==', ['geometry-type'], 'LineString'],
    paint: { 'line-color': '#111827', 'line-width': 1.6, 'line-dasharray': [3, 2] },
  });
  m.addLayer({
    id: 'divide-moves-arrow', type: 'symbol', source: MOVES, filter: ['==', ['geometry-type'], 'LineString'],
    layout: {
      'symbol-placement': 'line-center', 'icon-image': 'divide-arrow', 'icon-rotation-alignment': 'map',
      'icon-allow-overlap': true, 'icon-ignore-placement': true,
    },
  });
  m.addLayer({
    id: 'divide-moves-from', type: 'circle', source: MOVES, filter: ['==', ['geometry-type'], 'Point'],
    paint: { 'circle-radius': 4, 'circle-color': '#ffffff', 'circle-stroke-color': '#111827', 'circle-stroke-width': 2 },
  });
  m.addLayer({
    id: 'divide-label', type: 'symbol', source: LABELS,
    layout: {
      'text-field': ['get', 'label'], 'text-font': FONT, 'text-size': 12, 'text-max-width': 8,
      'text-padding': 2,
    },
    paint: { 'text-color': '#0f172a', 'text-halo-color': '#ffffff', 'text-halo-width': 2 },
  });
}

/** gridMark: the households of a proposed grid with its status against the band. */
function gridLine(f, s) {
  const p = f.properties;
  const status = bandStatus(p.households, s.low, s.high);
  return `${fmtInt(p.households)} ${t('unit.households')} ${MARKS[status]}`;
}

/** draw lays the preview over the map and fits the map to it. */
function draw() {
  const m = map();
  const pv = D.preview;
  if (!m || !pv) return;
  ensureLayers(m);
  const features = pv.res.features.map((f) => ({
    type: 'Feature', geometry: f.geometry,
    properties: { index: f.properties.index, code: f.properties.code, households: f.properties.households, color: pv.colours.get(f.properties.code) },
  }));
  m.getSource(SRC).setData({ type: 'FeatureCollection', features });
  drawLabels(pv);
  // the proposal stands in for the current grids while it is shown: their fill, labels and
  // building colours would only compete with it
  m.setPaintProperty('grid-fill-l3', 'fill-opacity', 0);
  setBuildingFill(m, assignBuildingFill(new Map()));
  if (m.getLayer('label-l3')) m.setLayoutProperty('label-l3', 'visibility', 'none');
  const b = bbox(pv.res);
  if (b) m.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: { top: 130, bottom: 130, left: 40, right: 40 }, maxZoom: 17, duration: 400 });
  if (pv.mode === 'rebalance') drawMoves(pv);
}

/** drawLabels labels each proposed grid with its households against the band, in the UI's language. */
function drawLabels(pv) {
  const s = pv.res.summary;
  pv.lang = lang();
  map()?.getSource(LABELS)?.setData({
    type: 'FeatureCollection',
    features: pv.res.features.map((f) => ({
      type: 'Feature', geometry: { type: 'Point', coordinates: labelPoint(f.geometry) },
      properties: { code: f.properties.code, label: `${shortName(f.properties.name, pv.parent.name)}\n${gridLine(f, s)}` },
    })).filter((f) => f.geometry.coordinates),
  });
}

/** drawMoves marks each moved building and draws an arrow from it to its new grid. */
async function drawMoves(pv) {
  const m = map();
  const list = pv.res.moves || [];
  for (const mv of list) {
    m.setFeatureState({ source: 'gridmap', sourceLayer: 'buildings', id: mv.building_id }, { moved: true });
    moved.push(mv.building_id);
  }
  const to = new Map(pv.res.features.map((f) => [f.properties.code, labelPoint(f.geometry)]));
  const shown = list.slice(0, MAX_ARROWS);
  const at = await Promise.all(shown.map((mv) => api.building(mv.building_id).then((f) => {
    const ring = polygonsOf(f.geometry || f.footprint)[0]?.[0];
    return ring ? anchor(ring) : null;
  }).catch(() => null)));
  if (D.preview !== pv) return; // discarded meanwhile
  const features = [];
  shown.forEach((mv, k) => {
    const a = at[k];
    const b = to.get(mv.to);
    if (!a || !b) return;
    features.push({ type: 'Feature', properties: { building: mv.building_id }, geometry: { type: 'LineString', coordinates: [a, b] } });
    features.push({ type: 'Feature', properties: { building: mv.building_id }, geometry: { type: 'Point', coordinates: a } });
  });
  m.getSource(MOVES)?.setData({ type: 'FeatureCollection', features });
  pv.arrows = features.length / 2;
}

// ---- the section ------------------------------------------------------------------------------

const statusColour = { under: WORKLOAD.under, within: '#4d9221', over: WORKLOAD.over };

/** histogramView: households per proposed grid, in bins, with the band marked. */
function histogramView(values, s) {
  const hg = histogram(values, { low: s.low, high: s.high });
  const bins = hg.bins.map((b) => ({ ...b }));
  if (hg.overflow) bins.push({ lo: hg.overflow.lo, hi: hg.top + hg.width, n: hg.overflow.n, status: 'over', overflow: true });
  const end = bins[bins.length - 1].hi;
  const maxN = Math.max(1, ...bins.map((b) => b.n));
  const pct = (v) => `${(((Math.min(Math.max(v, hg.start), end) - hg.start) / (end - hg.start)) * 100).toFixed(2)}%`;
  const range = (b) => (b.overflow ? `> ${fmtInt(b.lo)}` : `${fmtInt(b.lo)}–${fmtInt(b.hi)}`);
  return h('div.dhist', { role: 'img', 'aria-label': t('divide.hist.aria', { k: values.length }), title: t('divide.hist.def') },
    h('div.dhist-plot', null,
      h('span.dhist-band', { style: `left:${pct(s.low)};width:calc(${pct(s.high)} - ${pct(s.low)})` }),
      h('span.dhist-target', { style: `left:${pct(s.target)}` }),
      bins.map((b) => h('span.dhist-bar', {
        dataset: { lo: String(b.lo), n: String(b.n), status: b.status },
        title: t('divide.hist.bin', { range: range(b), n: b.n }),
        style: `left:${pct(b.lo)};width:calc(${pct(b.hi)} - ${pct(b.lo)});height:${((b.n / maxN) * 88).toFixed(1)}%;background:${statusColour[b.status]}`,
      }, b.n ? h('span.dhist-n', null, String(b.n)) : null))),
    h('div.dhist-axis', null,
      h('span', null, fmtInt(hg.start)),
      h('span.dhist-axis-band', { style: `left:${pct((s.low + s.high) / 2)}` }, `${t('legend.within')} ${fmtInt(s.low)}–${fmtInt(s.high)}`),
      h('span', null, hg.overflow ? `> ${fmtInt(hg.top)}` : fmtInt(end))));
}

/** gridRows: a row per proposed grid, its households as a bar against the band. */
function gridRows(pv) {
  const s = pv.res.summary;
  const fs = pv.res.features;
  const max = Math.max(s.target * 2, ...fs.map((f) => f.properties.households), ...fs.map((f) => f.properties.households_before || 0)) * 1.05;
  const scale = { lo: s.low, hi: s.high, target: s.target, band: s.band, max };
  return h('div.dgrids', null, fs.map((f) => {
    const p = f.properties;
    const status = bandStatus(p.households, s.low, s.high);
    const w = { per_worker: p.households, status, deviation: (p.households - s.target) / s.target };
    const before = p.households_before;
    const changed = before != null && before !== p.households;
    return h('div.dgrid', {
      dataset: { code: p.code, index: String(p.index), households: String(p.households), inBand: String(p.in_band), kept: String(p.kept), pp: String(p.polsby_popper) },
      title: `${p.name} · ${p.code}`,
    },
    h('span.aswatch', { style: `background:${pv.colours.get(p.code)}`, 'aria-hidden': 'true' }),
    h('span.dname', null, shortName(p.name, pv.parent.name), p.kept ? h('span.dkept', null, ' ', lockIcon(), ` ${t('assign.locked')}`) : null),
    h('span.dhh', { title: t('kpi.households.def') },
      changed ? `${fmtInt(before)} → ` : '', `${fmtInt(p.households)} ${MARKS[status]}`),
    h('span.dbar', null, bandBar(w, scale, { title: t('divide.bar.def', { lo: fmtInt(s.low), hi: fmtInt(s.high) }) })),
    h('span.dmeta', null, `PP ${fmtNum(p.polsby_popper, 2)}`, p.parts > 1 ? ` · ${t('assign.parts', { n: p.parts })}` : ''));
  }));
}

function summaryLine(pv) {
  const s = pv.res.summary;
  const secs = fmtNum((s.elapsed_ms ?? 0) / 1000, 2);
  const parts = pv.mode === 'divide'
    ? [t('divide.sum.k', { k: s.k }), t('divide.sum.inBand', { in: s.in_band, k: s.k })]
    : [t('divide.sum.moves', { n: s.moves }), t('divide.sum.inBandBefore', { in: s.in_band, before: s.in_band_before, k: s.k })];
  parts.push(t('divide.sum.pp', { mean: fmtNum(s.mean_polsby_popper, 2), min: fmtNum(s.min_polsby_popper, 2) }));
  parts.push(t('divide.sum.oversize', { n: (s.oversize || []).length }));
  parts.push(t('divide.sum.time', { s: secs }));
  return h('p.dsummary', {
    dataset: { k: String(s.k), inBand: String(s.in_band), moves: String(s.moves) },
    title: t('divide.sum.def'),
  }, parts.join(' · '));
}

/** notes: what the answer says beyond the figures (retired grids, unreachable band, skipped moves). */
function answerNotes(pv) {
  const s = pv.res.summary;
  const out = [];
  if (pv.mode === 'divide' && s.retired?.length) out.push(t(pv.parent.level === 1 ? 'divide.retires.1' : 'divide.retires', { n: s.retired.length }));
  if (s.kept?.length) {
    const byCode = new Map(pv.res.features.map((f) => [f.properties.code, f.properties.name]));
    const names = s.kept.map((code) => (byCode.has(code) ? shortName(byCode.get(code), pv.parent.name) : code));
    out.push(h('li.dkeeps', { dataset: { kept: s.kept.join(',') } }, lockIcon(), ` ${t('divide.keeps', { n: s.kept.length, list: names.join(t('list.sep')) })}`));
  }
  if (s.unreachable) out.push(t('divide.unreachable', { n: s.unreachable }));
  if (s.oversize?.length) out.push(t('divide.oversize', { list: s.oversize.slice(0, 5).join(', ') }));
  if (s.skipped) out.push(t('divide.skipped', { n: s.skipped }));
  if (s.left?.length) out.push(t('divide.left', { n: s.left.length }));
  if (pv.mode === 'rebalance' && !s.moves) out.push(t('divide.noMoves'));
  return out.length ? h('ul.dnotes', null, out.map((x) => (typeof x === 'string' ? h('li', null, x) : x))) : null;
}

function movesList(pv) {
  const list = pv.res.moves || [];
  if (!list.length) return null;
  const byCode = new Map(pv.res.features.map((f) => [f.properties.code, f.properties]));
  const name = (code) => (byCode.has(code) ? shortName(byCode.get(code).name, pv.parent.name) : code);
  return h('div.dmoves', null,
    h('h4', null, t('divide.moves', { n: list.length })),
    h('ol', null, list.slice(0, MAX_LISTED).map((mv) => h('li', { dataset: { building: String(mv.building_id), from: mv.from, to: mv.to } },
      h('button.linkish', { type: 'button', title: t('divide.moves.fly'), onclick: () => flyToBuilding(mv.building_id) }, mv.building_code),
      ` ${fmtInt(mv.households)} ${t('unit.households')}: `,
      h('span.swatchtext', null, h('span.aswatch.tiny', { style: `background:${pv.colours.get(mv.from)}` }), ` ${name(mv.from)}`),
      ' → ',
      h('span.swatchtext', null, h('span.aswatch.tiny', { style: `background:${pv.colours.get(mv.to)}` }), ` ${name(mv.to)}`)))),
    list.length > MAX_LISTED ? h('p.muted.small', null, t('empty.more', { n: list.length - MAX_LISTED })) : null);
}

async function flyToBuilding(id) {
  try {
    const f = await api.building(id);
    X.app.flyToGeometry(f.geometry || f.footprint);
  } catch {
    // the list stays; the map just does not move
  }
}

function param(key, label, attrs, hint) {
  return h('label.dparam', { title: hint || undefined }, h('span', null, label),
    h(`input#divide-${key}`, {
      type: 'number', inputmode: 'numeric', value: D.params[key], ...attrs,
      oninput: (e) => { D.params[key] = e.target.value; },
      onkeydown: (e) => { if (e.key === 'Enter') { e.preventDefault(); preview(); } },
    }));
}

/**
 * section is the panel's auto-divide and rebalance section for the selection's parent grid
 * (null when the selection has none): closed, two buttons; open, the parameters and the
 * preview. A parent with no children yet says so and opens at once on auto-divide.
 */
export function section() {
  const p = parentGrid();
  if (!p) return null;
  if (p.code !== D.parentCode) {
    D.seq++;
    D.busy = '';
    discard(false);
    D.parentCode = p.code;
    D.mode = '';
    D.note = null;
  }
  const loading = children(p) === null;
  const kids = children(p) || [];
  if (!kids.length && !D.mode && !loading) D.mode = 'divide';
  const deny = denyReason();
  const canRebalance = p.level === 2 && kids.length >= 2;
  const modeBtn = (mode, icon) => h('button.small', {
    type: 'button', id: `${mode}-open`, 'aria-pressed': String(D.mode === mode), dataset: { mode },
    class: `small${D.mode === mode ? ' on' : ''}${deny ? ' denied' : ''}`,
    disabled: mode === 'rebalance' && !canRebalance ? true : undefined,
    title: deny || t(mode === 'rebalance' && !canRebalance ? 'divide.rebalance.none' : `divide.${mode}.hint`),
    onclick: () => (D.mode === mode ? close() : open(mode)),
  }, `${icon} ${t(`divide.${mode}`)}`);
  const sec = h('section.divide#divide', { dataset: { mode: D.mode, parent: p.code } });
  if (!kids.length && !loading) {
    sec.append(h('p.empty-level', { role: 'note' }, `○ ${t(p.level === 1 ? 'empty.subdistrict' : 'empty.community')}`));
  }
  sec.append(h('div.ahead', null,
    h('h3', { title: t('divide.title.hint') }, t('divide.title')),
    h('div.row-buttons', null, modeBtn('divide', '⚄'), modeBtn('rebalance', '⇄'))));
  if (!D.mode) return sec;

  const s0 = X.app.state.band || {};
  const target = Number(D.params.target) || s0.target || 300;
  const auto = Math.max(1, Math.round((p.households || 0) / target));
  const locked = lockedOf(kids);
  sec.append(h('p.minor', null, t(D.mode === 'divide' ? `divide.divide.what.${p.level}` : 'divide.rebalance.what', { name: p.name })));
  sec.append(h('div.dparams', null,
    param('target', t('divide.param.target'), { min: '1', step: '1', placeholder: String(s0.target || 300) }, t('divide.param.target.hint')),
    param('band', t('divide.param.band'), { min: '1', max: '99', step: '1', placeholder: String(Math.round((s0.band || 0.2) * 100)) }, t('divide.param.band.hint')),
    D.mode === 'divide' ? param('k', t('divide.param.k'), { min: '1', max: '999', step: '1', placeholder: t('divide.param.k.auto', { n: auto }) }, t('divide.param.k.hint')) : null,
    D.mode === 'divide' ? param('seed', t('divide.param.seed'), { min: '0', step: '1' }, t('divide.param.seed.hint')) : null,
    D.mode === 'rebalance' ? param('maxMoves', t('divide.param.maxMoves'), { min: '0', step: '1', placeholder: t('divide.param.maxMoves.none') }, t('divide.param.maxMoves.hint')) : null));
  if (kids.length) {
    sec.append(h('p.minor.dkeep', { dataset: { keep: locked.map((g) => g.code).join(',') } }, locked.length
      ? [lockIcon(), ` ${t('divide.keep', { list: locked.map((g) => shortName(g.name, p.name)).join(t('list.sep')) })}`]
      : t(D.mode === 'rebalance' ? 'divide.keep.noneRebalance' : p.level === 1 ? 'divide.keep.none.1' : 'divide.keep.none', { n: kids.length })));
  }
  sec.append(h('div.row-buttons', null,
    h('button.primary.small#divide-preview', {
      type: 'button', disabled: D.busy || X.A.busy ? true : undefined, title: deny || t('divide.preview.hint'), onclick: () => preview(),
    }, D.preview ? `⟳ ${t('divide.preview.again')}` : t('divide.preview'))));
  if (D.busy) sec.append(h('p.loading', { role: 'status' }, D.busy));
  if (D.note) {
    sec.append(h(`p.anote.${D.note.kind}`, { role: 'alert', dataset: { code: D.note.code || '', stale: D.note.stale ? 'true' : '' } },
      D.note.text, D.note.detail ? h('span.detail', null, D.note.detail) : null,
      D.note.stale ? h('button.small#divide-repreview', { type: 'button', onclick: () => preview() }, `⟳ ${t('divide.preview.again')}`) : null));
  }
  const pv = D.preview;
  if (pv) {
    if (pv.lang !== lang()) drawLabels(pv);
    const s = pv.res.summary;
    sec.append(h('div.dpreview', { dataset: { k: String(pv.res.features.length), fingerprint: pv.res.fingerprint } },
      h('h4', null, t(`divide.preview.title.${pv.mode}`)),
      summaryLine(pv),
      answerNotes(pv),
      histogramView(pv.res.features.map((f) => f.properties.households), s),
      gridRows(pv),
      movesList(pv),
      h('div.row-buttons', null,
        h('button.primary.small#divide-apply', {
          type: 'button', disabled: X.A.busy ? true : undefined, title: deny || t('divide.apply.hint'), class: `primary small${canEditGrids() ? '' : ' denied'}`, onclick: () => apply(),
        }, `✓ ${t(`divide.apply.${pv.mode}`)}`),
        h('button.small#divide-discard', { type: 'button', onclick: () => discard() }, t('divide.discard')))));
  }
  return sec;
}
