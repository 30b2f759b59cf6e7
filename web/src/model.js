// What the UI derives from the API's replies: ratings of households per worker, the KPI
// figures of a coverage summary, ancestors in the loaded grids, bounding boxes and label points
// of geometries. Pure functions, no DOM.

import polylabel from 'polylabel';

/**
 * rate is households per worker against the band, as the coverage report rates a grid
 * (grid.rate): carriers are the workers who visit the grid's households. It returns the
 * report's workload shape: {households, workers, per_worker, deviation, status}.
 */
export function rate(households, carriers, { target = 300, band = 0.2 } = {}) {
  const w = { households, workers: carriers, per_worker: null, deviation: null, status: 'unstaffed' };
  if (!carriers) return w;
  const per = households / carriers;
  w.per_worker = per;
  w.deviation = (per - target) / target;
  w.status = per < target * (1 - band) ? 'under' : per > target * (1 + band) ? 'over' : 'within';
  return w;
}

/** ancestors returns the chain of g's ancestors among the loaded grids idx, level 1 first (g excluded). */
export function ancestors(idx, g) {
  const out = [];
  for (let cur = g.parent_id != null ? idx.byId.get(g.parent_id) : null; cur;
    cur = cur.parent_id != null ? idx.byId.get(cur.parent_id) : null) out.unshift(cur);
  return out;
}

/**
 * kpis turns a coverage summary (GET /coverage/summary, the city's or a subtree's) into the
 * selection panel's figures. Every figure is defined in the i18n 'kpi.*.def' strings the panel
 * shows on hover.
 */
export function kpis(s) {
  const t = s.totals || {};
  const hpw = s.households_per_worker || {};
  return {
    gridsPerLevel: s.grids_per_level || [0, 0, 0],
    grids: s.grids || 0,
    buildings: t.buildings || 0,
    units: t.units || 0,
    households: t.households || 0,
    residents: t.residents || 0,
    workers: t.workers || 0,
    householdsEstimated: Boolean(t.households_estimated),
    staffedShare: s.staffed_share ?? null,
    oneGridShare: s.one_grid_share ?? null,
    hpwMin: hpw.min ?? null,
    hpwMedian: hpw.median ?? null,
    hpwMax: hpw.max ?? null,
    spread: { within: hpw.within || 0, under: hpw.under || 0, over: hpw.over || 0, unstaffed: hpw.unstaffed || 0 },
    gaps: s.gaps ?? 0,
    overlaps: s.overlaps ?? 0,
    findings: s.findings || {},
    findingsTotal: s.findings_total ?? 0,
    target: s.options?.target ?? 300,
    band: s.options?.band ?? 0.2,
  };
}

/** bbox of any GeoJSON geometry, Feature or FeatureCollection: [minX, minY, maxX, maxY]. */
export function bbox(gj) {
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      if (c[0] < b[0]) b[0] = c[0];
      if (c[1] < b[1]) b[1] = c[1];
      if (c[0] > b[2]) b[2] = c[0];
      if (c[1] > b[3]) b[3] = c[1];
      return;
    }
    for (const x of c) walk(x);
  };
  const geom = (g) => {
    if (!g) return;
    if (g.type === 'FeatureCollection') g.features.forEach((f) => geom(f.geometry));
    else if (g.type === 'Feature') geom(g.geometry);
    else if (g.type === 'GeometryCollection') g.geometries.forEach(geom);
    else if (g.coordinates) walk(g.coordinates);
  };
  geom(gj);
  return Number.isFinite(b[0]) ? b : null;
}

function ringArea(r) {
  let a = 0;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) a += (r[j][0] - r[i][0]) * (r[j][1] + r[i][1]);
  return Math.abs(a / 2);
}

/** labelPoint returns a point well inside a (Multi)Polygon: the pole of inaccessibility of its largest part. */
export function labelPoint(geom) {
  if (!geom) return null;
  let polys = [];
  if (geom.type === 'Polygon') polys = [geom.coordinates];
  else if (geom.type === 'MultiPolygon') polys = geom.coordinates;
  else return null;
  let best = null;
  let bestArea = -1;
  for (const p of polys) {
    const a = ringArea(p[0]);
    if (a > bestArea) {
      bestArea = a;
      best = p;
    }
  }
  if (!best) return null;
  const b = bbox({ type: 'Polygon', coordinates: best });
  const precision = Math.max((b[2] - b[0]), (b[3] - b[1])) / 200;
  const pt = polylabel(best, precision || 1e-6);
  return [pt[0], pt[1]];
}

/** shortName drops the parent's name from a child's ("X社区第3网格" under "X社区" → "第3网格"). */
export function shortName(name, parentName) {
  if (parentName && name.startsWith(parentName) && name.length > parentName.length) {
    return name.slice(parentName.length);
  }
  return name;
}
