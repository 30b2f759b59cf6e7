// Pure helpers of the empty level (undivided.js), kept free of the DOM and of MapLibre so that
// node --test can check them (test/dividetools.test.js).

/**
 * undivided lists the current grids whose level below is still empty — level-1 and level-2
 * grids without a current child — in code order. A real city arrives like this (its upper
 * levels from official boundaries, no level-3 grids at all), and the coverage report counts the
 * whole area of each as a gap of the level below: work not done yet, not a defect. idx is
 * model.js's indexReport.
 */
export function undivided(idx) {
  if (!idx) return [];
  const out = [];
  for (const g of idx.byId.values()) {
    if (g.level < 3 && !idx.children.get(g.id)?.length) out.push(g);
  }
  return out.sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}

/** undividedUnder: the undivided grids in g's subtree, g itself included (g null: the city). */
export function undividedUnder(idx, g) {
  const all = undivided(idx);
  if (!g) return all;
  return all.filter((u) => {
    for (let cur = u; cur; cur = cur.parent_id != null ? idx.byId.get(cur.parent_id) : null) {
      if (cur.id === g.id) return true;
    }
    return false;
  });
}

/**
 * gapFilter is the gap layers' filter: gaps, except those of the grids in codes (undivided
 * grids, whose gap is their whole area).
 */
export function gapFilter(codes) {
  const gap = ['==', ['get', 'kind'], 'gap'];
  if (!codes.length) return gap;
  return ['all', gap, ['!', ['in', ['get', 'parent'], ['literal', codes]]]];
}

/**
 * withoutEmptyLevel returns report (a coverage report) without the findings an empty level
 * makes: the gaps of undivided grids, and the buildings outside every level-3 grid because
 * their community has none. Such a building is told by its code: a building's code extends
 * the code of the grid it was first derived into and never changes, and a grid with no
 * children can only have been that grid (a building that came from elsewhere keeps its own
 * code and stays listed). findings counts what is left; the report is not changed.
 */
export function withoutEmptyLevel(report, codes) {
  if (!report || !codes.length) return report;
  const set = new Set(codes);
  const gaps = (report.gaps || []).filter((gap) => !set.has(gap.parent?.code));
  const outside = (report.buildings_outside || []).filter((b) => !set.has(String(b.code).slice(0, 15)));
  const f = report.findings || {};
  const hiddenGaps = (report.gaps || []).length - gaps.length;
  const hiddenOutside = (report.buildings_outside || []).length - outside.length;
  return {
    ...report,
    gaps,
    buildings_outside: outside,
    findings: {
      ...f,
      gaps: Math.max(0, (f.gaps ?? 0) - hiddenGaps),
      buildings_outside: Math.max(0, (f.buildings_outside ?? 0) - hiddenOutside),
    },
    // what the KPIs must still count: those buildings are in no level-3 grid all the same
    empty_level: { gaps: hiddenGaps, buildings_outside: hiddenOutside },
  };
}
