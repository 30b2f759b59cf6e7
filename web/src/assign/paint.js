// Painting buildings into the target grid: ⊙ click, ▭ box, ◌ lasso and ● brush pick buildings
// on the map (from the rendered tiles); the guards leave out those in locked grids, in the
// target already or outside the community; what is left is saved at once as one paint, or
// collected (立即保存 off) until Enter or 应用.

import { edit, gridETag } from '../api.js';
import { classify, lassoHits, polygonsOf, simplifyPath, touchesCircle } from '../assigntools.js';
import { h } from '../dom.js';
import { BUILDING_FILLS } from '../style.js';
import { fmtInt, t } from '../i18n.js';
import { A, gridById, map, render, shortOf, targetGrid } from './core.js';
import { drawBrush, drawNothing, drawStroke } from './draw.js';
import { clearStaged, mark, unmark } from './marks.js';
import { write } from './save.js';

let stroke = null; // the box / lasso / brush stroke under way

function pt(e) {
  const r = map().getCanvas().getBoundingClientRect();
  return [e.clientX - r.left, e.clientY - r.top];
}

/** onDown starts a box, lasso or brush stroke at a pointer press on the map. */
export function onDown(e) {
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
  drawStroke(stroke, p);
}

function strokeEnd(p) {
  if (!stroke) return;
  strokeMove(p);
  const s = stroke;
  stroke = null;
  let features = [];
  if (s.tool === 'box') {
    const [a, b] = [s.start, p];
    features = map().queryRenderedFeatures([[Math.min(a[0], b[0]), Math.min(a[1], b[1])], [Math.max(a[0], b[0]), Math.max(a[1], b[1])]], { layers: BUILDING_FILLS });
  } else if (s.tool === 'lasso') {
    const lasso = simplifyPath(s.points, 2);
    if (lasso.length >= 3) {
      const xs = lasso.map((q) => q[0]);
      const ys = lasso.map((q) => q[1]);
      features = map().queryRenderedFeatures([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], { layers: BUILDING_FILLS })
        .filter((f) => lassoHits(screenRings(f)[0] || [], lasso));
    }
  } else if (s.tool === 'brush') {
    features = [...s.hits.values()];
  }
  drawNothing();
  pick(features);
}

/** stroking tells whether a stroke is under way. */
export function stroking() {
  return stroke !== null;
}

/** cancelStroke drops the stroke under way (Esc, another tool, leaving the mode). */
export function cancelStroke() {
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
  const fs = map().queryRenderedFeatures([[p[0] - r, p[1] - r], [p[0] + r, p[1] + r]], { layers: BUILDING_FILLS });
  for (const f of fs) {
    if (stroke.hits.has(f.id)) continue;
    if (!screenRings(f).some((rings) => touchesCircle(rings, p, r))) continue;
    stroke.hits.set(f.id, f);
    // light up at once what this stroke will move (not what the guards will leave)
    if (target && classify([f], { target, locked: A.locked }).ok.length) mark([f.id]);
  }
}

/** hoverBrush shows the brush's circle under the pointer (screen point p). */
export function hoverBrush(p) {
  if (!stroke) drawBrush(p);
}

/** clickBuilding is the ⊙ tool's click on building feature b: pick it, or put back a collected one. */
export function clickBuilding(b) {
  if (!A.autoApply && A.staged.has(b.id)) {
    A.staged.delete(b.id);
    unmark(new Set([b.id]));
    render();
    return;
  }
  pick([b]);
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

/** section shows the collected buildings (立即保存 off) with 应用 and 清除. */
export function section() {
  if (!A.community || !A.balance || !A.staged.size || A.autoApply) return null;
  const hh = [...A.staged.values()].reduce((a, b) => a + Number(b || 0), 0);
  return h('div.confirm#staged', null,
    h('p', null, t('assign.staged', { n: A.staged.size, hh: fmtInt(hh), name: shortOf(targetGrid() || { name: '' }) })),
    h('div.row-buttons', null,
      h('button.primary.small#apply', { type: 'button', disabled: A.busy ? true : undefined, onclick: apply }, `${t('assign.apply')} (Enter)`),
      h('button.small', { type: 'button', onclick: () => { clearStaged(); render(); } }, t('assign.clear'))));
}
