// Assign mode (分配): planners paint buildings into grids — pick a target grid, then click,
// box, lasso or brush buildings into it — split a grid by a drawn line, merge adjacent grids,
// lock grids against repainting, undo and redo; grid leaders assign staff inside their own
// grids. Every change is saved at once as one operation on the server (README, "Editing
// endpoints"), which redraws the boundaries; the balance panel, the tiles and the KPIs are
// refreshed after each one.
//
// The mode works on one community (level-2 grid) at a time: the selection's, or the parent of
// the selected grid. Its level-3 grids each get a swatch colour; the map colours them and their
// buildings with it.

import { api, edit, gridETag } from './api.js';
import { errorText, fmtInt, fmtNum, fmtTime, t } from './i18n.js';
import { shortName } from './model.js';
import { canAssignIn, canEditGrids, canWrite, denyReason, session } from './session.js';
import { assignBuildingFill, assignGridFill, l3Opacity, ZOOM } from './style.js';
import { classify, etagGrid, lassoHits, polygonsOf, simplifyPath, swatches, touchesCircle } from './assigntools.js';
import { bandBar, h, workloadMark } from './ui.js';
import * as divide from './divide.js';

const $ = (id) => document.getElementById(id);

export const TOOLS = ['inspect', 'click', 'box', 'lasso', 'brush', 'split'];
const PAINT_TOOLS = new Set(['click', 'box', 'lasso', 'brush']);
const ICONS = { inspect: '↖', click: '⊙', box: '▭', lasso: '◌', brush: '●', split: '✂' };
const LOCKS = 'gridmap.locked';

// Everything the mode shows is derived from this state; render() rebuilds panel and toolbar.
const A = {
  active: false,
  community: null, // the level-2 grid being edited (coverage report entry)
  balance: null, // GET /balance?parent=<community>
  sw: new Map(), // grid code → swatch colour
  target: null, // id of the level-3 grid buildings are painted into
  tool: 'inspect',
  radius: 24, // brush radius, screen pixels
  autoApply: true, // each stroke is saved at once; off: strokes collect, Apply saves them
  staged: new Map(), // building id → households, collected for the next paint
  locked: new Set(JSON.parse(localStorage.getItem(LOCKS) || '[]')),
  merging: false,
  mergePick: new Set(),
  split: { points: [], done: false },
  busy: '',
  note: null, // {kind: 'ok' | 'error' | 'info', text}
  conflict: null, // {grid: {id, code, name}, by, at}
  ops: { undo: null, redo: null }, // the actions next undo / redo would revert
  place: null, // staff panel: {kind: 'grid' | 'building' | 'unit', id, name, gridId, units}
  staff: null, // {place, list} current assignments of the place
  workers: null,
  timing: null, // {save, total} ms of the last operation
};

let C; // wiring from main.js: state, map(), select(), afterWrite(), refreshLabels(), renderLegend(), flyToGeometry()
let stroke = null; // the box / lasso / brush stroke under way
let marked = new Set(); // building ids with feature-state sel
let balanceAbort = null;
let writes = 0; // successful writes from this page, so a watcher can tell one from the next

/** init wires the mode to the app (once, before the map exists). */
export function init(ctx) {
  C = ctx;
  document.addEventListener('keydown', onKey);
  window.gridmap.assign = { state: A, paint, split, merge, undo, redo, setTool, setTarget, apply, reload, assignStaff, endStaff };
  divide.init({ app: C, A, write, render, applyMapStyle });
}

/** attachMap hooks the pointer (once the map is loaded). */
export function attachMap(map) {
  const el = map.getCanvasContainer();
  el.addEventListener('pointerdown', onDown);
  map.on('click', onClick);
  map.on('mousemove', onHover);
  map.on('dblclick', (e) => {
    if (!A.active || A.tool !== 'split') return;
    e.preventDefault();
    finishSplitLine();
  });
  map.on('zoomend', () => A.active && renderHint());
}

const map = () => C?.map();

// ---- entering, leaving, the community --------------------------------------------------------

export function enter() {
  A.active = true;
  onSelection();
  setTool(A.tool);
  refreshOps();
  if (A.place) loadStaff(); // signed in or out since: the staff directory is for signed-in users
}

export function leave() {
  A.active = false;
  divide.leave();
  cancelStroke();
  clearStaged();
  A.split = { points: [], done: false };
  drawNothing();
  const m = map();
  if (m) {
    m.dragPan.enable();
    m.boxZoom.enable();
    m.doubleClickZoom.enable();
    m.getCanvas().style.cursor = '';
    m.getSource('compare')?.setData({ type: 'FeatureCollection', features: [] });
  }
  $('assign-tools').hidden = true;
  $('assign-hint').hidden = true;
}

/** drawing tells main.js to leave the pointer alone (no hover, no popups). */
export function drawing() {
  return A.active && A.tool !== 'inspect';
}

/** onSelection follows the URL's selection: its community, and the target when it is a grid. */
export function onSelection() {
  if (!A.active) return;
  const { state } = C;
  const g = state.sel ? state.idx?.byCode.get(state.sel) : null;
  const community = g?.level === 3 ? state.idx.byId.get(g.parent_id) : g?.level === 2 ? g : null;
  if (community?.id !== A.community?.id) {
    A.community = community || null;
    A.balance = null;
    A.sw = new Map();
    A.target = null;
    A.merging = false;
    A.mergePick.clear();
    A.conflict = null;
    A.note = null;
    clearStaged();
    if (community) loadBalance();
  }
  if (g?.level === 3 && A.target !== g.id) {
    A.target = g.id;
    if (!A.place || A.place.kind === 'grid') setPlace(gridPlace(g.id));
  }
  applyMapStyle();
  render();
}

async function loadBalance() {
  if (!A.community) return;
  if (balanceAbort) balanceAbort.abort();
  balanceAbort = new AbortController();
  try {
    const b = await api.balance(A.community.code, { signal: balanceAbort.signal });
    A.balance = b;
    A.sw = swatches(b.grids.map((g) => g.code));
    if (A.target && !gridById(A.target)) A.target = null; // merged away, or undone split
    if (A.place?.kind === 'grid' && !gridById(A.place.id) && !C.state.idx?.byId.get(A.place.id)) setPlace(null);
    window.gridmap.assign.balanceVersion = b.data_version;
  } catch (err) {
    if (err.name === 'AbortError') return;
    A.note = { kind: 'error', text: err.message };
  }
  applyMapStyle();
  C.refreshLabels();
  C.renderLegend();
  render();
}

const grids = () => A.balance?.grids || [];
const gridById = (id) => grids().find((g) => g.id === id) || null;
const targetGrid = () => (A.target ? gridById(A.target) : null);
const colourOf = (code) => A.sw.get(code) || '#1a56db';
const shortOf = (g) => shortName(g.name, A.community?.name);

/** setTarget makes grid id the target (and the URL's selection, so a link reproduces it). */
export function setTarget(id) {
  const g = gridById(id);
  if (!g) return;
  A.target = id;
  A.conflict = null;
  if (!A.place || A.place.kind === 'grid') setPlace(gridPlace(id));
  if (C.state.sel !== g.code) C.select(g.code, { fit: false });
  applyMapStyle();
  render();
}

function toggleLock(code) {
  if (A.locked.has(code)) A.locked.delete(code);
  else A.locked.add(code);
  localStorage.setItem(LOCKS, JSON.stringify([...A.locked]));
  applyMapStyle();
  C.refreshLabels();
  render();
}

export function isLocked(code) {
  return A.locked.has(code);
}

// ---- map style ------------------------------------------------------------------------------

/** applyMapStyle colours the community's grids and buildings by swatch (Assign mode only). */
export function applyMapStyle() {
  const m = map();
  if (!m || !A.active) return;
  const target = targetGrid();
  m.setPaintProperty('grid-fill-l3', 'fill-color', assignGridFill(A.sw));
  m.setPaintProperty('grid-fill-l3', 'fill-opacity', l3Opacity(true));
  m.setPaintProperty('grid-fill-l2', 'fill-opacity', 0);
  m.setPaintProperty('buildings', 'fill-color', assignBuildingFill(A.sw, target ? colourOf(target.code) : undefined));
  m.setFilter('assign-lock', ['in', ['get', 'code'], ['literal', [...A.locked]]]);
  const codes = [...A.sw.keys()];
  m.setFilter('selection-dim', codes.length
    ? ['all', ['==', ['to-number', ['get', 'level']], 3], ['!', ['in', ['get', 'code'], ['literal', codes]]]]
    : ['==', ['get', 'code'], '-']);
  const sel = ['==', ['get', 'code'], target?.code || A.community?.code || '-'];
  m.setFilter('selection-line', sel);
  m.setFilter('selection-halo', sel);
}

/** labelText: the grid's name, its households and a lock mark, for the community's grids. */
export function labelText(code, name) {
  const g = grids().find((x) => x.code === code);
  if (!g) return name;
  return `${name}\n${fmtInt(g.households)} ${t('unit.households')}${A.locked.has(code) ? ` · ${t('assign.locked')}` : ''}`;
}

/** legend lists the swatches of the community's grids (with names: never colour alone). */
export function legend() {
  if (!A.active || !grids().length) return null;
  return {
    title: `${t('assign.legend')} · ${A.community.name}`,
    items: [
      ...grids().map((g) => ({ color: colourOf(g.code), label: `${shortOf(g)}${A.locked.has(g.code) ? ` (${t('assign.locked')})` : ''}` })),
      { cls: 'hatch-lock', label: t('assign.legend.locked') },
      { cls: 'sel', label: t('assign.legend.stroke') },
    ],
  };
}

// ---- tools ----------------------------------------------------------------------------------

export function setTool(tool) {
  if (!TOOLS.includes(tool)) return;
  // Tools stay usable for a user who may not edit: the panel says so up front, and what they
  // try goes to the server, whose coded refusal (401 / 403) is shown as it comes.
  if (tool !== 'inspect' && !canEditGrids()) A.note = { kind: 'error', text: denyReason() };
  cancelStroke();
  if (A.tool === 'split' && tool !== 'split') A.split = { points: [], done: false };
  A.tool = tool;
  const m = map();
  if (m) {
    const drag = tool === 'inspect' || tool === 'click' || tool === 'split';
    if (drag && A.active) m.dragPan.enable();
    else if (A.active) m.dragPan.disable();
    if (A.active && tool !== 'inspect') m.boxZoom.disable();
    else m.boxZoom.enable();
    if (A.active && tool === 'split') m.doubleClickZoom.disable();
    else m.doubleClickZoom.enable();
    m.getCanvas().style.cursor = A.active && tool !== 'inspect' ? 'crosshair' : '';
  }
  drawSplit();
  render();
}

function pt(e) {
  const r = map().getCanvas().getBoundingClientRect();
  return [e.clientX - r.left, e.clientY - r.top];
}

function onDown(e) {
  if (!A.active || e.button !== 0 || !['box', 'lasso', 'brush'].includes(A.tool)) return;
  const p = pt(e);
  stroke = { tool: A.tool, start: p, points: [p], hits: new Map() };
  const el = map().getCanvasContainer();
  el.setPointerCapture?.(e.pointerId);
  const move = (ev) => strokeMove(pt(ev));
  const up = (ev) => {
    el.removeEventListener('pointermove', move);
    el.removeEventListener('pointerup', up);
    el.removeEventListener('pointercancel', up);
    if (ev.type === 'pointercancel') cancelStroke();
    else strokeEnd(pt(ev));
  };
  el.addEventListener('pointermove', move);
  el.addEventListener('pointerup', up);
  el.addEventListener('pointercancel', up);
  if (A.tool === 'brush') brushAt(p);
  e.preventDefault();
}

function strokeMove(p) {
  if (!stroke) return;
  const last = stroke.points[stroke.points.length - 1];
  if (stroke.tool === 'brush') {
    // fill in between fast moves so the brush leaves no holes
    const d = Math.hypot(p[0] - last[0], p[1] - last[1]);
    const steps = Math.ceil(d / Math.max(2, A.radius / 2));
    for (let k = 1; k <= steps; k++) brushAt([last[0] + ((p[0] - last[0]) * k) / steps, last[1] + ((p[1] - last[1]) * k) / steps]);
  }
  stroke.points.push(p);
  drawStroke(p);
}

function strokeEnd(p) {
  if (!stroke) return;
  strokeMove(p);
  const s = stroke;
  stroke = null;
  let features = [];
  if (s.tool === 'box') {
    const [a, b] = [s.start, p];
    features = map().queryRenderedFeatures([[Math.min(a[0], b[0]), Math.min(a[1], b[1])], [Math.max(a[0], b[0]), Math.max(a[1], b[1])]], { layers: ['buildings'] });
  } else if (s.tool === 'lasso') {
    const lasso = simplifyPath(s.points, 2);
    if (lasso.length >= 3) {
      const xs = lasso.map((q) => q[0]);
      const ys = lasso.map((q) => q[1]);
      features = map().queryRenderedFeatures([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], { layers: ['buildings'] })
        .filter((f) => lassoHits(screenRings(f)[0] || [], lasso));
    }
  } else if (s.tool === 'brush') {
    features = [...s.hits.values()];
  }
  drawNothing();
  pick(features);
}

function cancelStroke() {
  if (!stroke) return;
  stroke = null;
  drawNothing();
  unmark(new Set(A.staged.keys()));
}

/** screenRings projects a building feature's polygons to screen pixels: [[ring, …], …]. */
function screenRings(f) {
  const m = map();
  return polygonsOf(f.geometry).map((poly) => poly.map((ring) => ring.map((c) => {
    const q = m.project(c);
    return [q.x, q.y];
  })));
}

function brushAt(p) {
  const r = A.radius;
  const target = targetGrid();
  const fs = map().queryRenderedFeatures([[p[0] - r, p[1] - r], [p[0] + r, p[1] + r]], { layers: ['buildings'] });
  for (const f of fs) {
    if (stroke.hits.has(f.id)) continue;
    if (!screenRings(f).some((rings) => touchesCircle(rings, p, r))) continue;
    stroke.hits.set(f.id, f);
    // light up at once what this stroke will move (not what the guards will leave)
    if (target && classify([f], { target, locked: A.locked }).ok.length) mark([f.id]);
  }
}

function onClick(e) {
  if (!A.active) return;
  const m = map();
  const fs = m.queryRenderedFeatures(e.point, { layers: ['buildings', 'grid-fill-l3'].filter((id) => m.getLayer(id)) });
  const b = fs.find((f) => f.layer.id === 'buildings');
  const g = fs.find((f) => f.layer.id === 'grid-fill-l3');
  if (A.tool === 'click') {
    if (!b) return;
    if (!A.autoApply && A.staged.has(b.id)) {
      A.staged.delete(b.id);
      unmark(new Set([b.id]));
      render();
      return;
    }
    pick([b]);
    return;
  }
  if (A.tool === 'split') {
    addSplitPoint([e.lngLat.lng, e.lngLat.lat]);
    return;
  }
  if (A.tool !== 'inspect') return;
  if (b) {
    const gridCode = b.properties.grid_code;
    setPlace({ kind: 'building', id: b.id, name: b.properties.name || b.properties.code, gridId: C.state.idx?.byCode.get(gridCode)?.id });
    return;
  }
  if (g) {
    const id = Number(g.id ?? g.properties.id);
    if (gridById(id)) setTarget(id);
    else C.select(g.properties.code);
  }
}

function onHover(e) {
  if (!A.active) return;
  if (A.tool === 'split' && A.split.points.length && !A.split.done) drawSplit([e.lngLat.lng, e.lngLat.lat]);
  if (A.tool === 'brush' && !stroke) drawBrush([e.point.x, e.point.y]);
}

// ---- the draw layer --------------------------------------------------------------------------

function setDraw(features) {
  map()?.getSource('draw')?.setData({ type: 'FeatureCollection', features });
}

function drawNothing() {
  setDraw([]);
}

const unproject = (p) => {
  const l = map().unproject(p);
  return [l.lng, l.lat];
};

function drawStroke(p) {
  const colour = colourOf(targetGrid()?.code);
  if (stroke.tool === 'box') {
    const [a, b] = [stroke.start, p];
    const ring = [[a[0], a[1]], [b[0], a[1]], [b[0], b[1]], [a[0], b[1]], [a[0], a[1]]].map(unproject);
    setDraw([{ type: 'Feature', properties: { color: colour }, geometry: { type: 'Polygon', coordinates: [ring] } }]);
  } else if (stroke.tool === 'lasso') {
    const ring = simplifyPath(stroke.points, 2).map(unproject);
    if (ring.length >= 3) {
      setDraw([{ type: 'Feature', properties: { color: colour }, geometry: { type: 'Polygon', coordinates: [[...ring, ring[0]]] } }]);
    }
  } else if (stroke.tool === 'brush') {
    drawBrush(p);
  }
}

function drawBrush(p) {
  const ring = [];
  for (let k = 0; k <= 32; k++) {
    const a = (k / 32) * 2 * Math.PI;
    ring.push(unproject([p[0] + A.radius * Math.cos(a), p[1] + A.radius * Math.sin(a)]));
  }
  setDraw([{ type: 'Feature', properties: { color: colourOf(targetGrid()?.code) }, geometry: { type: 'Polygon', coordinates: [ring] } }]);
}

function drawSplit(cursor) {
  if (!map()) return;
  const pts = A.split.points;
  if (!A.active || A.tool !== 'split' || !pts.length) {
    if (!stroke) drawNothing();
    return;
  }
  const line = cursor && !A.split.done ? [...pts, cursor] : pts;
  setDraw([
    ...(line.length >= 2 ? [{ type: 'Feature', properties: { line: '#b91c1c' }, geometry: { type: 'LineString', coordinates: line } }] : []),
    ...pts.map((c) => ({ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: c } })),
  ]);
}

// ---- picking and painting --------------------------------------------------------------------

function mark(ids) {
  const m = map();
  for (const id of ids) {
    m.setFeatureState({ source: 'gridmap', sourceLayer: 'buildings', id }, { sel: true });
    marked.add(id);
  }
}

function unmark(keep = new Set()) {
  const m = map();
  for (const id of marked) {
    if (keep.has(id)) continue;
    m?.setFeatureState({ source: 'gridmap', sourceLayer: 'buildings', id }, { sel: false });
  }
  marked = new Set([...marked].filter((id) => keep.has(id)));
}

function clearStaged() {
  A.staged.clear();
  if (map()) unmark();
}

function skippedText(s) {
  const parts = [];
  for (const k of ['locked', 'outside', 'gap']) if (s[k]) parts.push(t(`assign.skip.${k}`, { n: s[k] }));
  return parts.join(t('list.sep'));
}

/** pick takes a stroke's building features through the guards, then paints or stages them. */
function pick(features) {
  const target = targetGrid();
  if (!target) {
    unmark(new Set(A.staged.keys()));
    A.note = { kind: 'error', text: t('assign.pickTarget') };
    render();
    return;
  }
  if (A.locked.has(target.code)) {
    unmark(new Set(A.staged.keys()));
    A.note = { kind: 'error', text: t('assign.targetLocked', { name: shortOf(target) }) };
    render();
    return;
  }
  const r = classify(features, { target, locked: A.locked });
  const skipped = skippedText(r.skipped);
  for (const id of r.ok) A.staged.set(id, features.find((f) => f.id === id)?.properties?.households || 0);
  unmark(new Set(A.staged.keys()));
  mark(r.ok);
  if (!r.ok.length) {
    A.note = { kind: 'info', text: skipped ? t('assign.nothingSkipped', { why: skipped }) : t('assign.nothing') };
    render();
    return;
  }
  A.note = skipped ? { kind: 'info', text: t('assign.skipped', { why: skipped }) } : null;
  if (A.autoApply) apply();
  else render();
}

/** apply saves the staged buildings as one paint into the target. */
export async function apply() {
  const ids = [...A.staged.keys()];
  // during a save the buildings stay collected: the save under way sends them when it is done
  if (!ids.length || !targetGrid() || A.busy) return;
  const note = A.note;
  await paint(ids);
  if (A.note?.kind === 'ok' && note) A.note.text += ` · ${note.text}`;
  // strokes drawn while that save was under way
  if (A.autoApply && A.staged.size && !A.busy) await apply();
}

/**
 * paint moves buildings into grid targetId (default: the target) — the one place a paint is
 * sent from. The UI's guards come before it; called directly (as a test does for a viewer) it
 * still goes to the server, which has the last word.
 */
export async function paint(ids, targetId = A.target) {
  const g = gridById(targetId) || { id: targetId, version: 1, name: String(targetId) };
  return write(t('assign.busy.paint'), () => edit.paint(g.id, gridETag(g.id, g.version), { buildings: ids, across_parents: 'skip' }), (res) => {
    // only what was sent: a stroke drawn meanwhile is still to be saved
    for (const id of ids) A.staged.delete(id);
    unmark(new Set(A.staged.keys()));
    const moved = res.moved?.length || 0;
    const skipped = res.skipped?.length || 0;
    return t('assign.done.paint', { n: moved, name: shortOf(g) }) + (skipped ? ` · ${t('assign.skip.outside', { n: skipped })}` : '');
  }, g);
}

function addSplitPoint(c) {
  if (A.split.done) A.split = { points: [], done: false };
  const pts = A.split.points;
  const last = pts[pts.length - 1];
  if (last) {
    const a = map().project(last);
    const b = map().project(c);
    if (Math.hypot(a.x - b.x, a.y - b.y) < 4) return; // the clicks of a double-click
  }
  pts.push(c);
  drawSplit();
  render();
}

function finishSplitLine() {
  if (A.split.points.length < 2) {
    A.note = { kind: 'error', text: t('assign.split.short') };
  } else {
    A.split.done = true;
  }
  drawSplit();
  render();
}

/** split cuts the target grid along line (default: the drawn one); the new grid is named name. */
export async function split(line = A.split.points, name = '') {
  const g = targetGrid();
  if (!g) {
    A.note = { kind: 'error', text: t('assign.pickTarget') };
    render();
    return null;
  }
  const body = { line: { type: 'LineString', coordinates: line } };
  if (name.trim()) body.name = name.trim();
  return write(t('assign.busy.split'), () => edit.split(g.id, gridETag(g.id, g.version), body), (res) => {
    A.split = { points: [], done: false };
    drawNothing();
    const added = (res.grids || []).find((x) => x.current && x.id !== g.id && x.level === 3);
    return added ? t('assign.done.split', { name: shortOf(g), added: shortName(added.name, A.community?.name), code: added.code })
      : t('assign.done.splitPlain', { name: shortOf(g) });
  }, g);
}

/** merge joins the picked grids into the target (when picked) or the first picked. */
export async function merge(ids = [...A.mergePick], name = '') {
  const picked = grids().filter((g) => ids.includes(g.id));
  if (picked.length < 2) return null;
  const keep = picked.find((g) => g.id === A.target) || picked[0];
  const list = [keep, ...picked.filter((g) => g !== keep)].map((g) => ({ id: g.id, version: g.version }));
  return write(t('assign.busy.merge'), () => edit.merge(list, name.trim() || undefined), () => {
    A.merging = false;
    A.mergePick.clear();
    A.target = keep.id;
    return t('assign.done.merge', { n: picked.length, name: shortOf(keep) });
  }, keep);
}

export async function undo() {
  if (!A.ops.undo) return nothingTo('undo');
  return write(t('assign.busy.undo'), () => edit.undo(), (res) => t('assign.done.undo', { what: actionName(res.action.replace(/^undo /, '')) }),
    undefined, { op: A.ops.undo, verb: 'undo' });
}

export async function redo() {
  if (!A.ops.redo) return nothingTo('redo');
  return write(t('assign.busy.redo'), () => edit.redo(), (res) => t('assign.done.redo', { what: actionName(res.action.replace(/^redo /, '')) }),
    undefined, { op: A.ops.redo, verb: 'redo' });
}

/**
 * refusedReplay: an undo or redo that no longer applies (412: what it changed was changed
 * since; 409: e.g. a worker it would assign was retired) would stay on top of the stack for
 * ever; the note says why and offers to drop it, so the operations before it can be undone.
 */
function refusedReplay(err, { op, verb }) {
  const by = err.detail?.changed_by;
  const why = by ? t('assign.replay.changedBy', { by, at: fmtTime(err.detail?.changed_at) }) : String(err.message || '').replace(/\.$/, '');
  A.note = { kind: 'error', code: err.code, text: t('assign.replay.refused', { verb: t(`assign.${verb}`), what: actionName(op.action), why }), drop: op };
}

/** dropOp takes op off the user's undo/redo stack (POST /ops/{id}/drop); no data changes. */
async function dropOp(op) {
  if (A.busy) return;
  try {
    await edit.dropOp(op.id);
    A.note = { kind: 'info', text: t('assign.dropped', { what: actionName(op.action) }) };
  } catch (err) {
    A.note = { kind: 'error', text: err.message, code: err.code };
  }
  await refreshOps();
}

/** nothingTo answers a key press with nothing to undo or redo (the server would say 409). */
function nothingTo(what) {
  if (A.busy) return null;
  A.note = { kind: 'info', text: denyReason('staff') || t(`assign.${what}.none`) };
  render();
  return null;
}

function actionName(action) {
  const k = `assign.action.${action}`;
  const s = t(k);
  return s === k ? action : s;
}

/**
 * write runs one save: shows it busy, sends it, then refreshes what it changed — the balance
 * panel (awaited: it is what the planner watches), the tiles and KPIs (main.js) and the undo
 * stack — and reports the time. Errors are shown as the server gave them; a 412 becomes the
 * conflict banner.
 */
async function write(busy, send, done, grid, replay, onError) {
  if (A.busy) return null;
  A.busy = busy;
  A.conflict = null;
  render();
  const t0 = performance.now();
  try {
    const res = await send();
    const t1 = performance.now();
    const text = done(res);
    C.afterWrite(res);
    await loadBalance();
    A.timing = { save: Math.round(t1 - t0), total: Math.round(performance.now() - t0) };
    A.note = { kind: 'ok', text };
    writes++;
    window.gridmap.assign.last = { seq: writes, action: res.action, ...A.timing, moved: res.moved || [], data_version: res.data_version };
    refreshOps();
    if (A.place) loadStaff();
    return res;
  } catch (err) {
    if (onError?.(err)) A.note = null; // the caller showed it
    else if (replay && (err.status === 409 || err.status === 412)) refusedReplay(err, replay);
    else fail(err, grid);
    if (err.status === 412) loadBalance();
    return null;
  } finally {
    A.busy = '';
    window.gridmap.assign.settled = (window.gridmap.assign.settled || 0) + 1;
    render();
  }
}

function fail(err, grid) {
  // with instant save a refused stroke is gone; collected strokes stay for another try
  if (A.autoApply) clearStaged();
  else unmark(new Set(A.staged.keys()));
  if (err.status === 412) {
    const id = etagGrid(err.detail?.etag) ?? grid?.id;
    const g = gridById(id) || C.state.idx?.byId.get(id) || grid || { id, name: `#${id}` };
    A.conflict = { grid: { id: g.id, code: g.code, name: g.name }, by: err.detail?.changed_by || '', at: err.detail?.changed_at || '' };
    A.note = null;
    return;
  }
  const msg = String(err.message || '').replace(/\.$/, '');
  const key = err.status === 401 ? 'assign.signInFirst' : err.status === 403 ? 'assign.refused' : 'assign.failed';
  // a sentence in the UI's language when the code says enough; the server's own words (they
  // name the grid, the rule) go under it as the detail
  const why = errorText(err.code);
  A.note = { kind: 'error', text: t(key, { code: err.code, why: why || msg }), detail: why ? msg : '', code: err.code };
}

/** reload drops what this screen knew (after a conflict) and reads it again. */
export async function reload() {
  A.conflict = null;
  map()?.getSource('compare')?.setData({ type: 'FeatureCollection', features: [] });
  C.afterWrite({});
  await loadBalance();
  refreshOps();
}

async function compare() {
  const c = A.conflict;
  if (!c) return;
  try {
    const now = await api.grid(c.grid.id);
    const before = c.grid.code ? C.state.geoms.get(c.grid.code) : null;
    map().getSource('compare')?.setData(before ? { type: 'Feature', properties: {}, geometry: before } : { type: 'FeatureCollection', features: [] });
    C.flyToGeometry(now.geometry);
    A.note = { kind: 'info', text: t('assign.compare.legend') };
  } catch (err) {
    A.note = { kind: 'error', text: err.message };
  }
  render();
}

let opsSeq = 0;
async function refreshOps() {
  // writes in quick succession (Ctrl+Z, Ctrl+Z) overlap their reads: only the latest may land
  const seq = ++opsSeq;
  if (!A.active || !canWrite()) {
    A.ops = { undo: null, redo: null };
    render();
    return;
  }
  let ops = { undo: null, redo: null };
  try {
    const list = (await api.ops()).ops;
    ops = { undo: list.find((o) => o.state === 'done') || null, redo: list.find((o) => o.state === 'undone') || null };
  } catch {
    // no journal: nothing to offer
  }
  if (seq !== opsSeq) return;
  A.ops = ops;
  render();
}

function onKey(e) {
  if (!A.active) return;
  const tag = e.target?.tagName;
  const typing = tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || e.target?.isContentEditable;
  // Enter on a control of the panel (a grid row, 清除, 取消 …) or of a dialog is that control's
  // own: it must not save the collected buildings too (into the row just made the target)
  const control = Boolean(e.target?.closest?.('#panel, dialog'));
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.toLowerCase();
  if (mod && !typing && key === 'z' && !e.shiftKey) {
    e.preventDefault();
    undo();
  } else if (mod && !typing && (key === 'y' || (key === 'z' && e.shiftKey))) {
    e.preventDefault();
    redo();
  } else if (e.key === 'Escape') {
    if (stroke) cancelStroke();
    else if (A.split.points.length) {
      A.split = { points: [], done: false };
      drawSplit();
    } else if (A.staged.size) clearStaged();
    else if (A.merging) {
      A.merging = false;
      A.mergePick.clear();
    }
    render();
  } else if (e.key === 'Enter' && !typing && !control) {
    if (A.tool === 'split' && A.split.points.length && !A.split.done) finishSplitLine();
    else if (A.staged.size) apply();
  } else if (e.key === 'Backspace' && !typing && A.tool === 'split' && A.split.points.length && !A.split.done) {
    A.split.points.pop();
    drawSplit();
    render();
  }
}

// ---- staff ----------------------------------------------------------------------------------

function gridPlace(id) {
  const g = gridById(id) || C.state.idx?.byId.get(id);
  return g ? { kind: 'grid', id: g.id, name: g.name, gridId: g.id } : null;
}

function setPlace(place) {
  A.place = place;
  A.staff = null;
  if (place) loadStaff();
  render();
}

let staffSeq = 0;
async function loadStaff() {
  const p = A.place;
  if (!p) return;
  const seq = ++staffSeq; // a reload after each write: only the latest may land
  if (!session.user) {
    A.staff = { place: p, list: [], signIn: true };
    render();
    return;
  }
  try {
    const param = { grid: { grid: p.id }, building: { building: p.id }, unit: { unit: p.id } }[p.kind];
    const [list, detail] = await Promise.all([
      api.assignments(param),
      p.kind === 'building' && !p.units ? api.building(p.id) : null,
    ]);
    if (detail) p.units = (detail.properties?.unit_list || []).map((u) => ({ id: u.id, label: u.label }));
    if (A.place === p && seq === staffSeq) A.staff = { place: p, list: list.assignments || [] };
  } catch (err) {
    if (A.place === p && seq === staffSeq) A.staff = { place: p, list: [], error: err.message };
  }
  if (!A.workers && canAssignIn(C.state.idx, p.gridId)) {
    api.workers().then((w) => {
      A.workers = w.workers || [];
      render();
    }).catch(() => {});
  }
  render();
}

const ROLES = { grid: ['grid_worker', 'grid_leader'], building: ['building_leader'], unit: ['unit_leader'] };

/** assignStaff starts an assignment of worker at the staff panel's place. */
export async function assignStaff(workerId, role) {
  const p = A.place;
  if (!p) return null;
  const worker = A.workers?.find((w) => w.id === workerId)?.display_name || `#${workerId}`;
  const body = { worker_id: workerId, role };
  if (p.kind === 'grid') body.grid = String(p.id);
  else body[`${p.kind}_id`] = p.id;
  return write(t('assign.busy.staff'), () => edit.assign(body), () => t('assign.done.staff', { worker, role: t(`role.${role}`), name: p.name }));
}

export async function endStaff(a) {
  return write(t('assign.busy.staff'), () => edit.endAssignment(a.id), () => t('assign.done.endStaff', { name: a.worker_name }));
}

// ---- rendering ------------------------------------------------------------------------------

export function render() {
  if (!A.active) return;
  renderTools();
  renderHint();
  renderPanel();
}

function renderTools() {
  const box = $('assign-tools');
  box.hidden = false;
  const deny = denyReason();
  const tool = (id) => h('button', {
    type: 'button', dataset: { tool: id }, 'aria-pressed': String(A.tool === id),
    class: `${A.tool === id ? 'active' : ''}${id !== 'inspect' && deny ? ' denied' : ''}`,
    title: id !== 'inspect' && deny ? deny : t(`assign.tool.${id}.hint`),
    onclick: () => setTool(id),
  }, h('span.ticon', { 'aria-hidden': 'true' }, ICONS[id]), ` ${t(`assign.tool.${id}`)}`);
  const undoDeny = canWrite() ? '' : denyReason('staff');
  const opBtn = (id, label, icon, next, keys) => h('button', {
    type: 'button', dataset: { op: id }, disabled: undoDeny || !next || A.busy ? true : undefined,
    title: undoDeny || (next ? `${label}: ${actionName(next.action)} (${keys})` : `${t(`assign.${id}.none`)} (${keys})`),
    onclick: () => (id === 'undo' ? undo() : redo()),
  }, `${icon} ${label}`);
  box.replaceChildren(...[
    h('div.tgroup', { role: 'toolbar', 'aria-label': t('assign.tools') }, TOOLS.map(tool)),
    A.tool === 'brush' ? h('label.radius', { title: t('assign.radius.hint') }, `${t('assign.radius')} `,
      h('input#brush-radius', {
        type: 'range', min: '6', max: '80', step: '2', value: String(A.radius),
        oninput: (e) => { A.radius = Number(e.target.value); e.target.nextSibling.textContent = ` ${A.radius}px`; },
      }), ` ${A.radius}px`) : null,
    h('div.tgroup', null,
      opBtn('undo', t('assign.undo'), '↶', A.ops.undo, 'Ctrl+Z'),
      opBtn('redo', t('assign.redo'), '↷', A.ops.redo, 'Ctrl+Y / Ctrl+Shift+Z')),
    h('label.auto', { title: t('assign.auto.hint') }, h('input#auto-apply', {
      type: 'checkbox', checked: A.autoApply,
      onchange: (e) => { A.autoApply = e.target.checked; if (A.autoApply && A.staged.size) apply(); render(); },
    }), ` ${t('assign.auto')}`)].filter(Boolean));
}

function renderHint() {
  const el = $('assign-hint');
  const target = targetGrid();
  let text = '';
  if (A.busy) text = A.busy;
  else if (PAINT_TOOLS.has(A.tool) || A.tool === 'split') {
    if (denyReason()) text = denyReason();
    else if (!target) text = t('assign.pickTarget');
    else if ((map()?.getZoom() || 0) < ZOOM.buildings && A.tool !== 'split') text = t('assign.zoomIn');
    else if (A.tool === 'split') text = A.split.done ? t('assign.split.confirmHint') : t('assign.tool.split.draw', { name: shortOf(target) });
    else text = t(`assign.tool.${A.tool}.draw`, { name: shortOf(target) });
  }
  el.textContent = text;
  el.hidden = !text;
  el.dataset.busy = A.busy ? 'true' : '';
}

function barRow(g, b) {
  const max = Math.max(b.target * 2, ...grids().map((x) => x.per_worker || 0)) * 1.05;
  return bandBar(g, { lo: b.low, hi: b.high, target: b.target, band: b.band, max },
    { title: t('kpi.hpw.def', { target: b.target, band: Math.round(b.band * 100) }) });
}

function gridRow(g) {
  const b = A.balance;
  const isTarget = g.id === A.target;
  const locked = A.locked.has(g.code);
  const parts = g.parts === 1 ? h('span.contig.ok', { title: t('assign.parts.def') }, `✓ ${t('assign.contiguous')}`)
    : h('span.contig.bad', { title: t('assign.parts.def') }, `⚠ ${t('assign.parts', { n: g.parts })}`);
  return h('div.agrid', {
    role: 'radio', 'aria-checked': String(isTarget), tabindex: '0',
    // the figures as the balance API gave them, for tests and for anyone reading the DOM
    dataset: {
      code: g.code, id: String(g.id), households: String(g.households), version: String(g.version),
      buildings: String(g.buildings), workers: String(g.workers), perWorker: String(g.per_worker ?? ''),
      status: g.status, pp: String(g.polsby_popper), parts: String(g.parts),
    },
    class: `agrid${isTarget ? ' target' : ''}${locked ? ' locked' : ''}`,
    title: `${g.name} · ${g.code}`,
    onclick: (e) => { if (!e.target.closest('button, input')) setTarget(g.id); },
    onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); setTarget(g.id); } },
  },
  A.merging ? h('input.mpick', {
    type: 'checkbox', checked: A.mergePick.has(g.id), 'aria-label': `${t('assign.merge')} ${g.name}`,
    onchange: (e) => { if (e.target.checked) A.mergePick.add(g.id); else A.mergePick.delete(g.id); render(); },
  }) : null,
  h('span.aswatch', { style: `background:${colourOf(g.code)}`, 'aria-hidden': 'true' }, isTarget ? '●' : ''),
  h('span.aname', null, shortOf(g), isTarget ? h('span.tbadge', null, t('assign.target')) : null),
  h('span.ahh', { title: t('kpi.households.def') }, `${fmtInt(g.households)} ${t('unit.households')}`),
  h('button.lock', {
    type: 'button', 'aria-pressed': String(locked), dataset: { lock: g.code },
    title: t(locked ? 'assign.unlock.hint' : 'assign.lock.hint'),
    onclick: () => toggleLock(g.code),
  }, locked ? `■ ${t('assign.locked')}` : `□ ${t('assign.lock')}`),
  h('span.abar', null, barRow(g, b)),
  h('span.aval', { title: t('def.workload') }, workloadMark(g)),
  h('span.ameta', null,
    h('span', { title: t('def.compactness') }, `PP ${fmtNum(g.polsby_popper, 2)}`), ' · ', parts,
    ' · ', h('span', { title: t('kpi.workers.def') }, `${fmtInt(g.workers)} ${t('assign.workersShort')}`)));
}

function renderPanel() {
  const panel = $('panel');
  const { state } = C;
  const out = [];
  const deny = denyReason();
  out.push(h('div.sel-head', null,
    h('div.crumbs', null, t('mode.assign')),
    h('h2#sel-title', null, A.community ? A.community.name : t('assign.title')),
    A.community ? h('div.badges', null, h('span.badge', null, t('level.2')), h('span.code', null, A.community.code)) : null));
  if (deny) {
    out.push(h('div.deny', { role: 'note' }, h('strong', null, userRoleLine()), h('p', null, deny),
      !session.user ? h('button.primary.small', { type: 'button', onclick: () => $('user').click() }, t('auth.signIn')) : null));
  }
  if (A.conflict) {
    const c = A.conflict;
    out.push(h('div.conflict', { role: 'alert' },
      h('p', null, '⚠ ', c.by
        ? t('assign.conflict', { name: c.grid.name, by: c.by, at: fmtTime(c.at) })
        : t('assign.conflict.anon', { name: c.grid.name })),
      h('div.row-buttons', null,
        h('button.primary.small#conflict-reload', { type: 'button', onclick: reload }, `⟳ ${t('assign.reload')}`),
        h('button.small#conflict-compare', { type: 'button', onclick: compare }, t('assign.compare')))));
  }
  if (A.note) {
    out.push(h(`p.anote.${A.note.kind}`, { role: A.note.kind === 'error' ? 'alert' : 'status', dataset: { kind: A.note.kind, code: A.note.code } },
      A.note.text,
      A.note.detail ? h('span.detail', null, A.note.detail) : null,
      A.note.drop ? h('button.small#op-drop', { type: 'button', onclick: () => dropOp(A.note.drop) }, t('assign.drop')) : null,
      A.note.kind === 'ok' && A.timing ? h('span.timing', { title: t('assign.timing.def') }, ` · ${t('assign.timing', { s: (A.timing.total / 1000).toFixed(2) })}`) : null));
  }
  if (!A.community) {
    out.push(h('p.empty', null, t('assign.chooseCommunity')), divide.section());
    panel.replaceChildren(...out.filter(Boolean));
    panel.dataset.sel = state.sel;
    return;
  }
  if (!A.balance) {
    out.push(h('p.loading', null, t('panel.loading')));
    panel.replaceChildren(...out);
    panel.dataset.sel = state.sel;
    return;
  }
  out.push(divide.section());
  if (!A.target && !deny && grids().length) out.push(h('ol.steps', null, h('li', null, t('assign.step1')), h('li', null, t('assign.step2')), h('li', null, t('assign.step3'))));
  const s = A.balance.summary || {};
  if (grids().length) out.push(h('section.abalance', { dataset: { version: String(A.balance.data_version) } },
    h('div.ahead', null,
      h('h3', { title: t('assign.balance.hint') }, t('assign.balance')),
      h('button.small#merge-toggle', {
        type: 'button', 'aria-pressed': String(A.merging), class: deny ? 'small denied' : 'small', title: deny || t('assign.merge.hint'),
        onclick: () => { A.merging = !A.merging; A.mergePick.clear(); render(); },
      }, `⊕ ${t('assign.merge')}`)),
    h('p.minor', null, t('assign.band', { lo: Math.round(A.balance.low), hi: Math.round(A.balance.high) }),
      ` · ${t('legend.within')} ${s.within ?? 0} · ${t('legend.under')} ${s.under ?? 0} · ${t('legend.over')} ${s.over ?? 0} · ${t('legend.unstaffed')} ${s.unstaffed ?? 0}`),
    h('div.agrids', { role: 'radiogroup', 'aria-label': t('assign.target') }, grids().map(gridRow))));
  if (A.merging) {
    const picked = grids().filter((g) => A.mergePick.has(g.id));
    const keep = picked.find((g) => g.id === A.target) || picked[0];
    out.push(h('div.confirm#merge-confirm', null,
      h('p', null, picked.length >= 2 ? t('assign.merge.confirm', { n: picked.length, name: shortOf(keep) }) : t('assign.merge.pick')),
      h('div.row-buttons', null,
        h('button.primary.small#merge-go', { type: 'button', disabled: picked.length < 2 || A.busy ? true : undefined, onclick: () => merge() }, t('assign.merge.go')),
        h('button.small', { type: 'button', onclick: () => { A.merging = false; A.mergePick.clear(); render(); } }, t('assign.cancel')))));
  }
  if (A.tool === 'split' && A.split.done) {
    const name = h('input#split-name', { type: 'text', placeholder: t('assign.split.namePh'), maxlength: '200' });
    out.push(h('div.confirm#split-confirm', null,
      h('p', null, t('assign.split.confirm', { name: shortOf(targetGrid() || { name: '' }) })),
      h('label', null, `${t('assign.split.name')} `, name),
      h('div.row-buttons', null,
        h('button.primary.small#split-go', { type: 'button', disabled: A.busy ? true : undefined, onclick: () => split(A.split.points, name.value) }, `✂ ${t('assign.split.go')}`),
        h('button.small', { type: 'button', onclick: () => { A.split = { points: [], done: false }; drawSplit(); render(); } }, t('assign.cancel')))));
  }
  if (A.staged.size && !A.autoApply) {
    const hh = [...A.staged.values()].reduce((a, b) => a + Number(b || 0), 0);
    out.push(h('div.confirm#staged', null,
      h('p', null, t('assign.staged', { n: A.staged.size, hh: fmtInt(hh), name: shortOf(targetGrid() || { name: '' }) })),
      h('div.row-buttons', null,
        h('button.primary.small#apply', { type: 'button', disabled: A.busy ? true : undefined, onclick: apply }, `${t('assign.apply')} (Enter)`),
        h('button.small', { type: 'button', onclick: () => { clearStaged(); render(); } }, t('assign.clear')))));
  }
  out.push(renderStaff());
  panel.replaceChildren(...out.filter(Boolean));
  panel.dataset.sel = state.sel;
}

function userRoleLine() {
  return session.user ? t('auth.userRole', { name: session.user.name, role: t(`auth.role.${session.user.role}`) }) : t('auth.guest');
}

function renderStaff() {
  const p = A.place;
  const sec = h('section.astaff#staff', null, h('h3', null, t('assign.staff')));
  if (!p) {
    sec.append(h('p.muted', null, t('assign.staff.pick')));
    return sec;
  }
  const kindName = { grid: t('popup.grid'), building: t('popup.building'), unit: t('popup.unit') }[p.kind];
  sec.dataset.kind = p.kind;
  sec.dataset.id = String(p.id);
  sec.append(h('p.place', null, h('span.badge', null, kindName), ` ${p.name}`,
    p.kind !== 'grid' && A.target ? h('button.linkish', { type: 'button', onclick: () => setPlace(gridPlace(A.target)) }, ` ← ${t('assign.staff.backToGrid')}`) : null));
  if (p.kind === 'building' && p.units?.length) {
    sec.append(h('div.units', null, h('span.muted', null, `${t('popup.units')}: `), p.units.map((u) => h('button.chip2', {
      type: 'button', onclick: () => setPlace({ kind: 'unit', id: u.id, name: `${p.name} ${u.label}`, gridId: p.gridId }),
    }, u.label))));
  }
  const allowed = canAssignIn(C.state.idx, p.gridId);
  const why = allowed ? '' : (session.user && canWrite() ? t('assign.staff.notYours') : denyReason('staff'));
  const list = A.staff?.place === p ? A.staff.list : null;
  if (!list) sec.append(h('p.muted', null, t('panel.loading')));
  else if (A.staff.signIn) sec.append(h('p.muted', null, t('popup.staff.signIn')));
  else if (A.staff.error) sec.append(h('p.bad', null, A.staff.error));
  else if (!list.length) sec.append(h('p.muted', null, t('popup.staff.none')));
  else {
    sec.append(h('ul.alist', null, list.map((a) => h('li', { dataset: { assignment: String(a.id), worker: String(a.worker_id) } },
      h('span.role', null, t(`role.${a.role}`)), ` ${a.worker_name} `,
      h('span.muted.small', null, `${t('assign.since')} ${a.valid_from?.slice(0, 10) || ''}`),
      h('button.small.end', {
        type: 'button', disabled: !allowed || A.busy ? true : undefined, title: why || t('assign.staff.end.hint'),
        onclick: () => endStaff(a),
      }, t('assign.staff.end'))))));
  }
  const roles = ROLES[p.kind];
  const input = h('input#worker-input', { list: 'worker-list', placeholder: t('assign.staff.workerPh'), disabled: !allowed ? true : undefined, autocomplete: 'off' });
  const role = h('select#worker-role', { disabled: !allowed ? true : undefined }, roles.map((r) => h('option', { value: r }, t(`role.${r}`))));
  const submit = () => {
    const v = input.value.trim();
    const m = /#(\d+)\s*$/.exec(v);
    const w = m ? A.workers?.find((x) => x.id === Number(m[1])) : A.workers?.find((x) => x.display_name === v);
    if (!w) {
      A.note = { kind: 'error', text: t('assign.staff.unknown', { v }) };
      render();
      return;
    }
    assignStaff(w.id, role.value);
  };
  sec.append(h('div.addstaff', { title: why || undefined }, input, role,
    h('button.primary.small#worker-assign', { type: 'button', disabled: !allowed || A.busy ? true : undefined, onclick: submit }, t('assign.staff.add'))),
  h('datalist#worker-list', null, (allowed ? A.workers || [] : []).map((w) => h('option', { value: `${w.display_name} · ${t(`role.${w.role}`)} · #${w.id}` }))));
  if (why) sec.append(h('p.muted.small', null, why));
  return sec;
}
