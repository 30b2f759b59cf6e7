// What the UI derives from the API's replies: the hierarchy tree and per-node issue counts from
// the city's coverage report, the KPI figures of a selection's report, bounding boxes and label
// points of geometries. Pure functions, no DOM.

import polylabel from 'polylabel';

/** indexReport builds the tree of a coverage report: grids by id and code, children, roots. */
export function indexReport(report) {
  const byId = new Map();
  const byCode = new Map();
  const children = new Map();
  for (const g of report.grids || []) {
    byId.set(g.id, g);
    byCode.set(g.code, g);
  }
  const roots = [];
  for (const g of report.grids || []) {
    if (g.parent_id != null && byId.has(g.parent_id)) {
      if (!children.has(g.parent_id)) children.set(g.parent_id, []);
      children.get(g.parent_id).push(g);
    } else {
      roots.push(g);
    }
  }
  const byCodeSort = (a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0);
  roots.sort(byCodeSort);
  for (const list of children.values()) list.sort(byCodeSort);

  // Issues per node: each finding counts on the grid it belongs to and every ancestor.
  const issues = new Map();
  const bump = (id) => {
    for (let cur = byId.get(id); cur; cur = cur.parent_id != null ? byId.get(cur.parent_id) : null) {
      issues.set(cur.id, (issues.get(cur.id) || 0) + 1);
    }
  };
  // a parent with no children is not a defect but an empty level (undivided.js)
  for (const gap of report.gaps || []) if (gap.parent && children.has(gap.parent.id)) bump(gap.parent.id);
  for (const o of report.overlaps || []) {
    // an overlap is one issue of the lowest common ancestor's subtree; mark both sides
    const a = o.grids[0].id;
    const b = o.grids[1].id;
    const seen = new Set();
    for (const id of [a, b]) {
      for (let cur = byId.get(id); cur; cur = cur.parent_id != null ? byId.get(cur.parent_id) : null) {
        if (seen.has(cur.id)) continue;
        seen.add(cur.id);
        issues.set(cur.id, (issues.get(cur.id) || 0) + 1);
      }
    }
  }
  for (const s of report.straddlers || []) bump(s.grid.id);
  for (const g of report.unstaffed?.grids || []) bump(g.id);
  for (const o of report.outside_parent || []) bump(o.grid.id);
  for (const g of report.noncontiguous || []) bump(g.id);
  const unstaffed = new Set((report.unstaffed?.grids || []).map((g) => g.id));
  return { byId, byCode, children, roots, issues, unstaffed };
}

/** ancestors returns the chain of g's ancestors in idx, level 1 first (g excluded). */
export function ancestors(idx, g) {
  const out = [];
  for (let cur = g.parent_id != null ? idx.byId.get(g.parent_id) : null; cur;
    cur = cur.parent_id != null ? idx.byId.get(cur.parent_id) : null) out.unshift(cur);
  return out;
}

export function median(xs) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * kpis computes the selection panel's figures from a coverage report (the city's or a
 * subtree's). Every figure is defined in the i18n 'kpi.*.def' strings the panel shows on hover.
 */
export function kpis(report) {
  const grids = report.grids || [];
  const perLevel = [0, 0, 0];
  for (const g of grids) if (g.level >= 1 && g.level <= 3) perLevel[g.level - 1]++;
  const t = report.totals || {};
  const f = report.findings || {};
  const unstaffedGrids = (report.unstaffed?.grids || []).length;
  const staffedShare = grids.length ? (grids.length - unstaffedGrids) / grids.length : null;
  // the counts, not the lists (a page): outside every level-3 grid, those of an empty level too
  const outside = (f.buildings_outside ?? (report.buildings_outside || []).length) + (report.empty_level?.buildings_outside || 0);
  const multi = f.buildings_multi_grid ?? (report.buildings_multi_grid || []).length;
  const straddlers = f.straddlers ?? (report.straddlers || []).length;
  // totals count the buildings in the selection's grids, and a building outside every
  // level-3 grid is one of them unless it is in no grid at all
  const allBuildings = t.buildings || 0;
  const oneGrid = allBuildings ? Math.max(0, allBuildings - outside - multi - straddlers) / allBuildings : null;
  const per = grids.filter((g) => g.level === 3 && g.workload && g.workload.per_worker != null)
    .map((g) => g.workload.per_worker);
  return {
    gridsPerLevel: perLevel,
    grids: grids.length,
    buildings: t.buildings || 0,
    units: t.units || 0,
    households: t.households || 0,
    residents: t.residents || 0,
    workers: t.workers || 0,
    householdsEstimated: Boolean(t.households_estimated),
    staffedShare,
    unstaffedGrids,
    oneGridShare: oneGrid,
    hpwMin: per.length ? Math.min(...per) : null,
    hpwMedian: median(per),
    hpwMax: per.length ? Math.max(...per) : null,
    gaps: f.gaps ?? (report.gaps || []).length,
    overlaps: f.overlaps ?? (report.overlaps || []).length,
    target: report.options?.target ?? 300,
    band: report.options?.band ?? 0.2,
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
