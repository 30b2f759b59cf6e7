// Pure helpers of the auto-divide panel (divide.js) and of the empty level (undivided.js), kept
// free of the DOM and of MapLibre so that node --test can check them (test/dividetools.test.js).

/** bandStatus rates a grid's households against the band [low, high]. */
export function bandStatus(households, low, high) {
  if (households < low) return 'under';
  if (households > high) return 'over';
  return 'within';
}

/** MARKS pair each status with a sign, so a list never says it by colour alone. */
export const MARKS = { within: '✓', under: '▼', over: '▲' };

/**
 * histogram bins households per grid for a chart with the band marked. Bins are laid on the
 * band's edges — the band is 4, 2 or 1 bins wide, whichever keeps the chart to about 30 bins
 * up to twice the band's top — so a bin is wholly under, within or over the band and takes that
 * colour. The axis runs from two bins below the band (or the smallest value, or 0) to two bins
 * above it (or the largest value, at most twice the band's top); grids beyond that (an oversize
 * building is a grid of its own) share one last bin, `overflow`.
 * Returns {bins: [{lo, hi, n, status}], start, top, overflow: {lo, n} | null, width}.
 */
export function histogram(values, { low, high }, maxBins = 30) {
  const span = high - low;
  let width = 0;
  for (const j of [4, 2, 1]) {
    if (span > 0 && (2 * high) / (span / j) <= maxBins) {
      width = span / j;
      break;
    }
  }
  // a band too narrow for its scale: bins of a fixed share of the axis, the band drawn over them
  if (!width) width = Math.max(1, (2 * Math.max(high, 1)) / maxBins);
  const min = values.length ? Math.min(...values) : low;
  const max = values.length ? Math.max(...values) : high;
  // edges lie at low + k·width; the lowest one at or below 0 bounds the axis from below
  const floor = low - Math.ceil(low / width) * width;
  const start = Math.max(floor, low - Math.ceil((low - Math.min(min, low - 2 * width)) / width) * width);
  const end = Math.min(Math.max(max, high + 2 * width), 2 * Math.max(high, width));
  const bins = [];
  for (let lo = start; lo < end - 1e-9 || bins.length === 0; lo += width) {
    const hi = lo + width;
    const status = hi <= low + 1e-9 ? 'under' : lo >= high - 1e-9 ? 'over' : 'within';
    bins.push({ lo: Math.max(0, lo), hi, n: 0, status });
  }
  const top = bins[bins.length - 1].hi;
  let overflow = null;
  for (const v of values) {
    if (v > top) {
      overflow ||= { lo: top, n: 0 };
      overflow.n++;
      continue;
    }
    // a value on an edge goes to the bin above it, the axis' top to the last bin
    const k = Math.min(bins.length - 1, Math.max(0, Math.floor((v - start) / width)));
    bins[k].n++;
  }
  return { bins, start: bins[0].lo, top, overflow, width };
}

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
