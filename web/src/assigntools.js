// Geometry and bookkeeping of the Assign mode's selection tools, kept free of the DOM and of
// MapLibre so that node --test can check them (test/assigntools.test.js).
//
// Buildings come from the rendered vector tiles (queryRenderedFeatures): a footprint crossing
// a tile edge arrives once per tile, clipped, so everything here dedupes by feature id (the
// building's database id) and tests a footprint by all of its pieces.

// Grid swatches: Okabe–Ito's colour-blind-safe set without black, then Paul Tol's muted
// scheme for communities with more grids. Lists always pair the swatch with the grid's name.
export const SWATCHES = ['#E69F00', '#56B4E9', '#009E73', '#F0E442', '#CC79A7', '#D55E00', '#0072B2',
  '#88CCEE', '#44AA99', '#117733', '#999933', '#DDCC77', '#CC6677', '#882255', '#AA4499'];

/** swatches assigns each grid code (in code order) its colour: Map code → colour. */
export function swatches(codes) {
  const out = new Map();
  [...codes].sort().forEach((c, k) => out.set(c, SWATCHES[k % SWATCHES.length]));
  return out;
}

/** pointInRing: ray casting; ring is [[x, y], …] (closed or not). */
export function pointInRing(p, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > p[1]) !== (yj > p[1]) && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** polygonsOf returns the polygons ([ring, …]) of a Polygon or MultiPolygon geometry. */
export function polygonsOf(geom) {
  if (!geom) return [];
  if (geom.type === 'Polygon') return [geom.coordinates];
  if (geom.type === 'MultiPolygon') return geom.coordinates;
  return [];
}

/** anchor is the area-weighted centroid of a ring, or its first vertex when degenerate. */
export function anchor(ring) {
  let a = 0;
  let cx = 0;
  let cy = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const f = ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
    a += f;
    cx += (ring[j][0] + ring[i][0]) * f;
    cy += (ring[j][1] + ring[i][1]) * f;
  }
  if (Math.abs(a) < 1e-12) return ring[0];
  return [cx / (3 * a), cy / (3 * a)];
}

function segDist2(p, a, b) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const l2 = dx * dx + dy * dy;
  let k = l2 ? ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / l2 : 0;
  k = Math.max(0, Math.min(1, k));
  const x = a[0] + k * dx - p[0];
  const y = a[1] + k * dy - p[1];
  return x * x + y * y;
}

/**
 * touchesCircle: does a polygon (rings in screen pixels) meet the circle (c, r)? Either the
 * centre is inside it or an edge comes within r.
 */
export function touchesCircle(rings, c, r) {
  if (!rings.length) return false;
  if (pointInRing(c, rings[0]) && !rings.slice(1).some((h) => pointInRing(c, h))) return true;
  const r2 = r * r;
  for (const ring of rings) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      if (segDist2(c, ring[j], ring[i]) <= r2) return true;
    }
  }
  return false;
}

/** lassoHits: a footprint (rings in screen pixels) is in a lasso when its centroid is. */
export function lassoHits(rings, lasso) {
  return rings.length > 0 && lasso.length >= 3 && pointInRing(anchor(rings[0]), lasso);
}

/**
 * classify sorts picked building features for a paint into `target` (a level-3 grid {code}):
 * ok — ids to send; skipped — why the others stay: already in the target, in a locked grid
 * (the lock guards both ways: nothing leaves it), outside the target's community (a paint
 * never moves a community boundary from the map), or in no grid at all (a gap: reshape first).
 * Features are deduped by id; households add up the moved buildings'.
 */
export function classify(features, { target, locked = new Set() }) {
  const seen = new Set();
  const ok = [];
  const skipped = { already: 0, locked: 0, outside: 0, gap: 0 };
  let households = 0;
  const community = target.code.slice(0, 12);
  for (const f of features) {
    const id = f.id;
    if (id === undefined || id === null || seen.has(id)) continue;
    seen.add(id);
    const g = f.properties?.grid_code || '';
    if (!g) skipped.gap++;
    else if (g === target.code) skipped.already++;
    else if (locked.has(g)) skipped.locked++;
    else if (g.slice(0, 12) !== community) skipped.outside++;
    else {
      ok.push(id);
      households += Number(f.properties?.households) || 0;
    }
  }
  return { ok, skipped, households };
}

/** simplifyPath drops points closer than tol pixels to the previous kept one. */
export function simplifyPath(points, tol = 3) {
  const out = [];
  for (const p of points) {
    const q = out[out.length - 1];
    if (!q || Math.hypot(p[0] - q[0], p[1] - q[1]) >= tol) out.push(p);
  }
  return out;
}

/** etagGrid reads the grid id out of an ETag ("grid-12-v3" → 12), null for another entity. */
export function etagGrid(tag) {
  const m = /"?grid-(\d+)-v\d+"?/.exec(tag || '');
  return m ? Number(m[1]) : null;
}

/**
 * lockedCodes are the codes of the locked grids among a page of GET /grids features (each
 * carries `locked`): the Assign mode's locks are the server's, read with the outlines.
 */
export function lockedCodes(features) {
  return new Set((features || []).filter((f) => f.properties?.locked === true).map((f) => f.properties.code));
}

/**
 * lockedRefusal reads the server's refusal of an edit that would change a locked grid
 * (ECONFLICT "grid <code> (<name>) is locked: unlock it first", from the database's guard):
 * {code, name} of that grid, or null for any other message — so the UI can say it in its
 * own language instead of the generic conflict sentence.
 */
export function lockedRefusal(message) {
  const m = /\bgrid (\d+) \((.*)\) is locked: unlock it first/.exec(message || '');
  return m ? { code: m[1], name: m[2] } : null;
}
