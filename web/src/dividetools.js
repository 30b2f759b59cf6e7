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
 * GAP_FILTER is the gap layers' filter (in tiles/style.json; a test holds the two equal): gaps,
 * except the whole area of a grid with no child yet (the tiles mark it `undivided`): the empty
 * level is work not done, not a defect to hatch.
 */
export const GAP_FILTER = ['all', ['==', ['get', 'kind'], 'gap'], ['!', ['has', 'undivided']]];

/**
 * emptyNotice reads the empty level of a coverage summary (GET /coverage/summary, its
 * empty_level: the scope's level-1 and level-2 grids with no child yet) for the sentence the
 * panel shows about selection g (null: the city). null when there is none, or g is a level-3
 * grid. Returns {parts: [{key, n?, of?, hh?}] (i18n keys and their figures), count,
 * households, first (the first undivided grids, as buttons), more (how many are not listed)}.
 */
export function emptyNotice(s, g) {
  const e = s?.empty_level;
  if (!e || g?.level === 3) return null;
  const [l1, l2] = e.grids || [0, 0];
  const count = l1 + l2;
  if (!count) return null;
  const hh = e.households || [0, 0];
  const first = e.first || [];
  const parts = [];
  if (g && count === 1 && first[0]?.id === g.id) {
    parts.push({ key: g.level === 1 ? 'empty.subdistrict' : 'empty.community' });
  } else {
    // the communities of the scope (level 2), all or some of them undivided; and subdistricts
    // (level 1) with no community at all
    const communities = Math.max(l2, s.grids_per_level?.[1] ?? 0);
    if (l2) parts.push(l2 === communities ? { key: 'empty.all', n: l2, hh: hh[1] } : { key: 'empty.some', n: l2, of: communities, hh: hh[1] });
    if (l1) parts.push({ key: 'empty.someL1', n: l1 });
  }
  return { parts, count, households: hh[0] + hh[1], first, more: Math.max(0, count - first.length) };
}

/**
 * withoutEmptyLevel returns the figures of a coverage summary without the findings the empty
 * level makes (its whole-area gaps, the buildings derived into an undivided grid), as the issue
 * list asked with empty_level=false holds them. The summary is not changed; the share of
 * buildings in exactly one grid is the summary's own (those buildings are in no level-3 grid
 * all the same).
 */
export function withoutEmptyLevel(s) {
  const e = s?.empty_level;
  if (!e || (!e.gaps && !e.buildings_outside)) return s;
  const f = s.findings || {};
  const gaps = Math.min(e.gaps || 0, s.gaps ?? 0);
  const outside = Math.min(e.buildings_outside || 0, f.buildings_outside ?? 0);
  return {
    ...s,
    gaps: (s.gaps ?? 0) - gaps,
    findings: { ...f, gaps: Math.max(0, (f.gaps ?? 0) - gaps), buildings_outside: (f.buildings_outside ?? 0) - outside },
    findings_total: Math.max(0, (s.findings_total ?? 0) - gaps - outside),
  };
}
