// The Assign mode's one save path: every edit (paint, split, merge, undo, redo, staff) goes
// through write, which shows it busy, sends it, then refreshes what it changed — the tiles,
// tree and KPIs (main.js), what the panels registered with onSaved (the balance panel awaited:
// it is what the planner watches; the staff list after) and the undo stack — and reports the
// time. Errors are shown as the server gave them; a 412 becomes the conflict banner.

import { api } from '../api.js';
import { fmtTime, lockedText, refusedNote, t } from '../i18n.js';
import { canWrite } from '../session.js';
import { etagGrid } from '../assigntools.js';
import { A, App, gridById, map, render } from './core.js';
import { clearStaged, unmark } from './marks.js';

let writes = 0; // successful writes from this page, so a watcher can tell one from the next
const awaited = []; // read again before a save counts as done (and after a conflict)
const after = []; // read again after a save

/**
 * onSaved registers fn(res) to run after every successful save; awaited: the save is done only
 * once fn's promise is (the balance panel), and fn also runs after a conflict and a reload.
 */
export function onSaved(fn, { awaited: wait = false } = {}) {
  (wait ? awaited : after).push(fn);
}

const refresh = (res) => Promise.all(awaited.map((fn) => fn(res)));

/**
 * write runs one save: busy is what the hint says meanwhile, send() makes the request, done(res)
 * returns the note's text; grid is the grid a 412 names by default; replay ({op, verb}) marks an
 * undo or redo, whose refusal offers to drop it; onError(err) may show an error itself (true).
 */
export async function write(busy, send, done, grid, replay, onError) {
  if (A.busy) return null;
  A.busy = busy;
  A.conflict = null;
  render();
  const t0 = performance.now();
  try {
    const res = await send();
    const t1 = performance.now();
    const text = done(res);
    App().afterWrite(res);
    await refresh(res);
    A.timing = { save: Math.round(t1 - t0), total: Math.round(performance.now() - t0) };
    A.note = { kind: 'ok', text };
    writes++;
    window.gridmap.assign.last = { seq: writes, action: res.action, ...A.timing, moved: res.moved || [], data_version: res.data_version };
    refreshOps();
    for (const fn of after) fn(res);
    return res;
  } catch (err) {
    if (onError?.(err)) A.note = null; // the caller showed it
    else if (replay && (err.status === 409 || err.status === 412)) refusedReplay(err, replay);
    else fail(err, grid);
    if (err.status === 412) refresh(null);
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
    const g = gridById(id) || App().state.idx?.byId.get(id) || grid || { id, name: `#${id}` };
    A.conflict = { grid: { id: g.id, code: g.code, name: g.name }, by: err.detail?.changed_by || '', at: err.detail?.changed_at || '' };
    A.note = null;
    return;
  }
  // a sentence in the UI's language when the code says enough; the server's own words (they
  // name the grid, the rule) go under it as the detail
  A.note = refusedNote(err);
}

/** actionName is an operation's name in the UI's language (its audit action otherwise). */
export function actionName(action) {
  const k = `assign.action.${action}`;
  const s = t(k);
  return s === k ? action : s;
}

/**
 * refusedReplay: an undo or redo that no longer applies (412: what it changed was changed
 * since; 409: e.g. a worker it would assign was retired) would stay on top of the stack for
 * ever; the note says why and offers to drop it, so the operations before it can be undone.
 */
function refusedReplay(err, { op, verb }) {
  const by = err.detail?.changed_by;
  const msg = String(err.message || '').replace(/\.$/, '');
  // a grid locked since: the UI's sentence names it, the server's words go under it
  const locked = by ? '' : lockedText(err);
  const why = by ? t('assign.replay.changedBy', { by, at: fmtTime(err.detail?.changed_at) }) : locked || msg;
  A.note = { kind: 'error', code: err.code, text: t('assign.replay.refused', { verb: t(`assign.${verb}`), what: actionName(op.action), why }), detail: locked ? msg : '', drop: op };
}

let opsSeq = 0;
/** refreshOps reads the user's journal: what undo and redo would revert now. */
export async function refreshOps() {
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

/** reload drops what this screen knew (after a conflict) and reads it again. */
export async function reload() {
  A.conflict = null;
  map()?.getSource('compare')?.setData({ type: 'FeatureCollection', features: [] });
  App().afterWrite({});
  await refresh(null);
  for (const fn of after) fn(null);
  refreshOps();
}

/** compare outlines the conflicting grid as this screen knew it, and flies to it as it is now. */
export async function compare() {
  const c = A.conflict;
  if (!c) return;
  try {
    const now = await api.grid(c.grid.id);
    const before = c.grid.code ? A.outlines.get(c.grid.code) : null;
    map().getSource('compare')?.setData(before ? { type: 'Feature', properties: {}, geometry: before } : { type: 'FeatureCollection', features: [] });
    App().flyToGeometry(now.geometry);
    A.note = { kind: 'info', text: t('assign.compare.legend') };
  } catch (err) {
    A.note = { kind: 'error', text: err.message };
  }
  render();
}
