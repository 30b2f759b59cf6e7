// ✂ Split: points clicked across the target grid make a line (double-click or Enter ends it,
// Backspace takes the last point back, Esc drops it); the panel asks for the new grid's name
// and confirms; the server cuts the grid along the line.

import { edit, gridETag } from '../api.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { shortName } from '../model.js';
import { A, map, render, shortOf, targetGrid } from './core.js';
import { drawNothing, drawSplit } from './draw.js';
import { write } from './save.js';

/** reset drops the line drawn so far. */
export function reset() {
  A.split = { points: [], done: false };
  drawSplit();
}

/** addPoint adds map point c ([lon, lat]) to the line. */
export function addPoint(c) {
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

/** finishLine ends the line (double-click, Enter): the panel asks to confirm. */
export function finishLine() {
  if (A.split.points.length < 2) {
    A.note = { kind: 'error', text: t('assign.split.short') };
  } else {
    A.split.done = true;
  }
  drawSplit();
  render();
}

/** drawing tells whether a line is being drawn (not yet ended). */
export function drawing() {
  return A.tool === 'split' && A.split.points.length > 0 && !A.split.done;
}

/** removeLast takes the last point back (Backspace). */
export function removeLast() {
  A.split.points.pop();
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

/** section asks for the new grid's name and confirms a line drawn to its end. */
export function section() {
  if (!A.community || !A.balance || A.tool !== 'split' || !A.split.done) return null;
  const name = h('input#split-name', { type: 'text', placeholder: t('assign.split.namePh'), maxlength: '200' });
  return h('div.confirm#split-confirm', null,
    h('p', null, t('assign.split.confirm', { name: shortOf(targetGrid() || { name: '' }) })),
    h('label', null, `${t('assign.split.name')} `, name),
    h('div.row-buttons', null,
      h('button.primary.small#split-go', { type: 'button', disabled: A.busy ? true : undefined, onclick: () => split(A.split.points, name.value) }, `✂ ${t('assign.split.go')}`),
      h('button.small', { type: 'button', onclick: () => { reset(); render(); } }, t('assign.cancel'))));
}
