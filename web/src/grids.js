// The grids this screen has loaded, a page at a time: the hierarchy tree's rows (the children
// of each grid opened, GET /grids?parent=), search hits, and each selection with its
// ancestors. The UI holds what the user opened, never the city: a row is a grid's counts and
// the status the coverage report keeps (staffed, carriers, Polsby–Popper, parts, issues of its
// subtree) with its bounding box, no outline.
//
// idx has the shape the panels and the Assign mode read: byId, byCode, children (parent id →
// rows in code order; 0 holds the level-1 grids) and roots.

import { api } from './api.js';
import { rate } from './model.js';

/** PAGE is how many children one request brings: a long list is paged, not downloaded. */
export const PAGE = 50;

const CITY = 0;

export const idx = {
  byId: new Map(),
  byCode: new Map(),
  children: new Map(),
  get roots() { return this.children.get(CITY) || []; },
};

const pages = new Map(); // parent id (CITY) → {total, loaded}
let band = { target: 300, band: 0.2 };

/** setBand rates every loaded grid's households per worker against a new band. */
export function setBand(b) {
  band = b;
  for (const g of idx.byId.values()) if (g.carriers !== undefined) g.workload = rate(g.households, g.carriers, band);
}

/** ingest stores a /grids feature (or a partial row) and returns the kept row. */
export function ingest(f) {
  const p = f.properties || f;
  const row = { ...p };
  if (f.bbox) row.bbox = f.bbox;
  if (p.carriers !== undefined) row.workload = rate(p.households, p.carriers, band);
  const old = idx.byId.get(row.id);
  if (old) {
    // a code that moved on (a retired grid's) no longer names this row
    if (old.code !== row.code && idx.byCode.get(old.code) === old) idx.byCode.delete(old.code);
    Object.assign(old, row);
  }
  const g = old || row;
  idx.byId.set(g.id, g);
  idx.byCode.set(g.code, g);
  return g;
}

let epoch = 0; // a reset's count: a page asked for before it does not land after it

/** reset forgets every loaded grid (the moment shown changed: they are of another moment). */
export function reset() {
  epoch++;
  idx.byId.clear();
  idx.byCode.clear();
  idx.children.clear();
  pages.clear();
  inflight.clear();
}

const key = (parent) => (parent == null ? CITY : parent);

/** page returns how much of parent's children is loaded: {total, loaded}, or null. */
export function page(parent) {
  return pages.get(key(parent)) || null;
}

/** childrenOf returns the loaded children of parent (null: the level-1 grids). */
export function childrenOf(parent) {
  return idx.children.get(key(parent)) || [];
}

async function fetchPage(parent, offset, limit, o) {
  const g = parent == null ? null : idx.byId.get(parent);
  const params = parent == null ? { level: 1 } : { parent: g ? g.code : parent };
  return api.grids({ ...params, geometry: false, limit, offset }, o);
}

const inflight = new Map(); // `${parent}/${offset}` → the page being loaded

/**
 * loadChildren loads the first page of parent's children (null: the level-1 grids) unless it
 * is loaded; more: the next page. The tree and the selection panel asking for the same page at
 * once share one request.
 */
export async function loadChildren(parent, { more = false } = {}) {
  const k = key(parent);
  const p = pages.get(k);
  if (p && !more) return childrenOf(parent);
  const offset = p ? p.loaded : 0;
  if (p && offset >= p.total) return childrenOf(parent);
  const id = `${k}/${offset}`;
  if (!inflight.has(id)) {
    const mine = epoch;
    inflight.set(id, (async () => {
      try {
        const fc = await fetchPage(parent, offset, PAGE);
        if (mine !== epoch) return childrenOf(parent);
        const rows = fc.features.map(ingest);
        const list = offset ? [...childrenOf(parent), ...rows] : rows;
        idx.children.set(k, list);
        pages.set(k, { total: fc.numberMatched, loaded: list.length });
        return list;
      } finally {
        if (mine === epoch) inflight.delete(id);
      }
    })());
  }
  return inflight.get(id);
}

/** loadUntil pages through parent's children until grid id is among them (or none is left). */
export async function loadUntil(parent, id) {
  await loadChildren(parent);
  while (!childrenOf(parent).some((g) => g.id === id)) {
    const p = page(parent);
    if (!p || p.loaded >= p.total) return false;
    await loadChildren(parent, { more: true });
  }
  return true;
}

/**
 * reloadLoaded reads every loaded page again (after an edit or a new data version): as many
 * rows as were open, so what is on screen is current and nothing more is fetched.
 */
export async function reloadLoaded() {
  await Promise.all([...pages.entries()].map(async ([k, p]) => {
    const parent = k === CITY ? null : k;
    if (parent != null && !idx.byId.has(parent)) return;
    let fc;
    try {
      fc = await fetchPage(parent, 0, Math.min(10000, Math.max(PAGE, p.loaded)));
    } catch (err) {
      if (err.status === 404) { // the parent was merged away or undone
        pages.delete(k);
        idx.children.delete(k);
        return;
      }
      throw err;
    }
    const rows = fc.features.map(ingest);
    const kept = new Set(rows.map((g) => g.id));
    for (const g of childrenOf(parent)) {
      if (kept.has(g.id)) continue;
      idx.byId.delete(g.id);
      if (idx.byCode.get(g.code) === g) idx.byCode.delete(g.code);
    }
    idx.children.set(k, rows);
    pages.set(k, { total: fc.numberMatched, loaded: rows.length });
  }));
}

/**
 * detail reads one grid (GET /grids/{code}): its row, outline and ancestors, which join the
 * loaded grids so a selection's chain is known. The row keeps the list's status when it had one.
 */
export async function detail(code, o) {
  const f = await api.grid(code, o);
  const chain = f.properties.ancestors || [];
  let parent = null;
  for (const a of chain) {
    const known = idx.byId.get(a.id);
    ingest({ ...(known || {}), ...a, parent_id: parent });
    parent = a.id;
  }
  const { ancestors: _a, children: _c, ...props } = f.properties;
  const row = ingest({ properties: { ...(idx.byId.get(props.id) || {}), ...props } });
  return { row, geometry: f.geometry, ancestors: chain.map((a) => idx.byId.get(a.id)) };
}

/** search asks the server for grids whose code starts with q or whose name holds it. */
export async function search(q, { limit = 12, signal } = {}) {
  const fc = await api.grids({ q, geometry: false, limit }, { signal });
  return fc.features.map(ingest);
}
