// Assign mode (分配): planners paint buildings into grids — pick a target grid, then click,
// box, lasso or brush buildings into it — split a grid by a drawn line, merge adjacent grids,
// lock a grid's boundary (the server then refuses any edit that changes it), undo and redo;
// grid leaders assign staff inside their own grids. Every change is saved at once as one
// operation on the server (README, "Editing endpoints"), which redraws the boundaries; the
// balance panel, the tiles and the KPIs are refreshed after each one.
//
// The mode works on one community (level-2 grid) at a time: the selection's, or the parent of
// the selected grid. Its level-3 grids each get a swatch colour; the map colours them and their
// buildings with it.
//
// This module is the mode's face to the app (main.js, map.js): entering and leaving, the
// selection, the pointer and keys, the panel's frame. Each tool and panel is a module under
// assign/: the state (core), the map's look (mapstyle), paint tools (paint, marks, draw), split,
// merge, undo/redo (history), the save path (save), auto-divide and rebalance (divide), locks
// (lock), the balance panel (balance), staff (staff), the toolbar (toolbar).

import { $, h } from './dom.js';
import { fmtTime, t } from './i18n.js';
import { denyReason, session } from './session.js';
import { BUILDING_FILLS } from './style.js';
import * as balance from './assign/balance.js';
import * as divide from './assign/divide.js';
import * as lock from './assign/lock.js';
import { A, App, gridById, grids, map, render, setApp, setRenderer } from './assign/core.js';
import { drawNothing, drawSplit } from './assign/draw.js';
import { dropOp, redo, undo } from './assign/history.js';
import { applyMapStyle } from './assign/mapstyle.js';
import { clearStaged } from './assign/marks.js';
import * as merge from './assign/merge.js';
import * as paint from './assign/paint.js';
import { compare, refreshOps, reload, write } from './assign/save.js';
import * as split from './assign/split.js';
import * as staff from './assign/staff.js';
import { renderHint, renderTools, setTool } from './assign/toolbar.js';

export { applyMapStyle, labelCodes, legend } from './assign/mapstyle.js';
export { setTool, TOOLS } from './assign/toolbar.js';
export { apply, paint } from './assign/paint.js';
export { split } from './assign/split.js';
export { merge } from './assign/merge.js';
export { undo, redo } from './assign/history.js';
export { reload, write } from './assign/save.js';
export { assignStaff, endStaff } from './assign/staff.js';
export { setTarget } from './assign/balance.js';
export { render } from './assign/core.js';

// The panel's sections under its heading, top to bottom: each is a module whose section()
// returns what it shows now (a node, a list of nodes, or null), rebuilt on every render; a
// module may also have init(ctx), called once with {app, A, write, render, applyMapStyle}, and
// leave(), called when the mode is left. A new Assign-mode panel is one more entry here.
const SECTIONS = [divide, lock, balance, merge, split, paint, staff];

/** init wires the mode to the app (once, before the map exists). */
export function init(ctx) {
  setApp(ctx);
  setRenderer(renderAll);
  document.addEventListener('keydown', onKey);
  window.gridmap.assign = {
    state: A, paint: paint.paint, split: split.split, merge: merge.merge, undo, redo, setTool,
    setTarget: balance.setTarget, apply: paint.apply, reload, assignStaff: staff.assignStaff, endStaff: staff.endStaff,
  };
  for (const s of SECTIONS) s.init?.({ app: ctx, A, write, render, applyMapStyle });
}

/** attachMap hooks the pointer (once the map is loaded). */
export function attachMap(m) {
  m.getCanvasContainer().addEventListener('pointerdown', paint.onDown);
  m.on('click', onClick);
  m.on('mousemove', onHover);
  m.on('dblclick', (e) => {
    if (!A.active || A.tool !== 'split') return;
    e.preventDefault();
    split.finishLine();
  });
  m.on('zoomend', () => A.active && renderHint());
}

// ---- entering, leaving, the community --------------------------------------------------------

export function enter() {
  A.active = true;
  onSelection();
  setTool(A.tool);
  refreshOps();
  if (A.place) staff.loadStaff(); // signed in or out since: the staff directory is for signed-in users
}

export function leave() {
  A.active = false;
  for (const s of SECTIONS) s.leave?.();
  paint.cancelStroke();
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

/** isLocked tells whether grid code (of the community being edited) is locked. */
export function isLocked(code) {
  return A.locked.has(code);
}

/** onSelection follows the URL's selection: its community, and the target when it is a grid. */
export function onSelection() {
  if (!A.active) return;
  const { idx, sel } = App().state;
  const g = sel ? idx?.byCode.get(sel) : null;
  const community = g?.level === 3 ? idx.byId.get(g.parent_id) : g?.level === 2 ? g : null;
  if (community?.id !== A.community?.id) {
    A.community = community || null;
    A.balance = null;
    A.outlines = new Map();
    A.sw = new Map();
    A.target = null;
    A.merging = false;
    A.mergePick.clear();
    A.conflict = null;
    A.note = null;
    // the locks the tree knows of at once; the outlines' page brings them all
    A.locked = new Set((community ? idx.children.get(community.id) || [] : []).filter((x) => x.locked).map((x) => x.code));
    clearStaged();
    if (community) {
      balance.loadBalance();
      balance.loadOutlines();
    }
  }
  if (g?.level === 3 && A.target !== g.id) {
    A.target = g.id;
    if (!A.place || A.place.kind === 'grid') staff.setPlace(staff.gridPlace(g.id));
  }
  applyMapStyle();
  render();
}

// ---- the pointer and the keys ------------------------------------------------------------------

function onClick(e) {
  if (!A.active) return;
  const m = map();
  const fs = m.queryRenderedFeatures(e.point, { layers: [...BUILDING_FILLS, 'grid-fill-l3'].filter((id) => m.getLayer(id)) });
  const b = fs.find((f) => BUILDING_FILLS.includes(f.layer.id));
  const g = fs.find((f) => f.layer.id === 'grid-fill-l3');
  if (A.tool === 'click') {
    if (b) paint.clickBuilding(b);
    return;
  }
  if (A.tool === 'split') {
    split.addPoint([e.lngLat.lng, e.lngLat.lat]);
    return;
  }
  if (A.tool !== 'inspect') return;
  if (b) {
    const code = b.properties.grid_code;
    const gridId = grids().find((x) => x.code === code)?.id ?? App().state.idx?.byCode.get(code)?.id;
    staff.setPlace({ kind: 'building', id: b.id, name: b.properties.name || b.properties.code, gridId });
    return;
  }
  if (g) {
    const id = Number(g.id ?? g.properties.id);
    if (gridById(id)) balance.setTarget(id);
    else App().select(g.properties.code);
  }
}

function onHover(e) {
  if (!A.active) return;
  if (split.drawing()) drawSplit([e.lngLat.lng, e.lngLat.lat]);
  if (A.tool === 'brush') paint.hoverBrush([e.point.x, e.point.y]);
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
    if (paint.stroking()) paint.cancelStroke();
    else if (A.split.points.length) split.reset();
    else if (A.staged.size) clearStaged();
    else if (A.merging) merge.cancel();
    render();
  } else if (e.key === 'Enter' && !typing && !control) {
    if (split.drawing()) split.finishLine();
    else if (A.staged.size) paint.apply();
  } else if (e.key === 'Backspace' && !typing && split.drawing()) {
    split.removeLast();
  }
}

// ---- the panel --------------------------------------------------------------------------------

function renderAll() {
  renderTools();
  renderHint();
  renderPanel();
}

function userRoleLine() {
  return session.user ? t('auth.userRole', { name: session.user.name, role: t(`auth.role.${session.user.role}`) }) : t('auth.guest');
}

/** renderPanel draws the panel: the community, who may do what, a conflict, the last note, the sections. */
function renderPanel() {
  const panel = $('panel');
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
  for (const s of SECTIONS) out.push(s.section());
  panel.replaceChildren(...out.flat().filter(Boolean));
  panel.dataset.sel = App().state.sel;
}
