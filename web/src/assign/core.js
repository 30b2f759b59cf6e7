// The Assign mode's state and what every part of it reads: the community being edited, its
// balance, the target grid, the tool, the note the panel shows. One object (A), so each tool
// and panel module works on the same state; render() redraws toolbar, hint and panel.

import { shortName } from '../model.js';

export const A = {
  active: false,
  community: null, // the level-2 grid being edited (a row of grids.js)
  balance: null, // GET /balance?parent=<community>
  outlines: new Map(), // grid code → its outline as this screen last read it (the conflict's 对比)
  sw: new Map(), // grid code → swatch colour
  target: null, // id of the level-3 grid buildings are painted into
  tool: 'inspect',
  radius: 24, // brush radius, screen pixels
  autoApply: true, // each stroke is saved at once; off: strokes collect, Apply saves them
  staged: new Map(), // building id → households, collected for the next paint
  locked: new Set(), // codes of the community's locked grids (the server's locks, ../lock.js)
  outlinesSeq: 0, // reads of the outlines (and locks) started: one older than a lock's answer does not land
  merging: false,
  mergePick: new Set(),
  split: { points: [], done: false },
  busy: '',
  note: null, // {kind: 'ok' | 'error' | 'info', text, detail?, code?, drop?}
  conflict: null, // {grid: {id, code, name}, by, at}
  ops: { undo: null, redo: null }, // the actions next undo / redo would revert
  place: null, // staff panel: {kind: 'grid' | 'building' | 'unit', id, name, gridId, units}
  staff: null, // {place, list} current assignments of the place
  workers: null,
  timing: null, // {save, total} ms of the last operation
};

// The app's wiring (main.js): state, map(), select(), afterWrite(), flyToGeometry(),
// refreshLabels(), renderLegend(), renderTree().
let app = null;

export function setApp(ctx) {
  app = ctx;
}

/** App is the app's wiring, for the Assign mode's modules. */
export function App() {
  return app;
}

export const map = () => app?.map();

export const grids = () => A.balance?.grids || [];
export const gridById = (id) => grids().find((g) => g.id === id) || null;
export const targetGrid = () => (A.target ? gridById(A.target) : null);
export const colourOf = (code) => A.sw.get(code) || '#1a56db';
export const shortOf = (g) => shortName(g.name, A.community?.name);

let renderer = () => {};

/** setRenderer names what render() runs (assign.js). */
export function setRenderer(fn) {
  renderer = fn;
}

/** render redraws the mode's toolbar, hint and panel from A. */
export function render() {
  if (A.active) renderer();
}
