// Choropleth metrics: one definition per metric gives both the MapLibre paint expression and the
// legend, so what the map colours and what the legend says can never drift apart.
//
// Values come from the tiles' grids layer: households, staffed, carriers (the workers who visit
// the households: households / carriers is households per worker) and polsby_popper, which the
// server keeps per grid as the coverage report counts them. A grid without the property stays
// NODATA grey.

export const NODATA = '#d5d9de';

// Colour-blind-safe palettes (ColorBrewer): Blues for counts, RdBu for the deviation from the
// target band, Purples for compactness, and an orange that reads as a warning for defects.
export const COLORS = {
  defectGap: '#d7301f',
  defectOverlap: '#7a0177',
  straddler: '#ffd92f', // yellow with a dark outline: apart from every fill colour
  unstaffed: '#737373',
  selection: '#1a56db',
  focus: '#ff00a8',
  // the changes overlay: area a grid gained (solid), area it lost (hatched, dashed outline)
  gained: '#1a9850',
  lost: '#d73027',
};

/**
 * Metric definitions. `classes` go from low to high; each class has a colour and an i18n key
 * (or literal label via `label(opts, t)`). `expr(opts)` returns the fill-color expression.
 */
export const METRICS = {
  households: {
    title: 'metric.households',
    definition: 'def.households',
    prop: 'households',
    breaks: [150, 300, 450, 600],
    colors: ['#eff3ff', '#bdd7e7', '#6baed6', '#3182bd', '#08519c'],
  },
  staffing: {
    title: 'metric.staffing',
    definition: 'def.staffing',
    categories: [
      { value: 'staffed', color: '#9ecae1', label: 'legend.staffed' },
      { value: 'unstaffed', color: '#f16913', label: 'legend.unstaffed' },
    ],
  },
  workload: {
    title: 'metric.workload',
    definition: 'def.workload',
  },
  compactness: {
    title: 'metric.compactness',
    definition: 'def.compactness',
    prop: 'polsby_popper',
    breaks: [0.2, 0.35, 0.5, 0.65],
    colors: ['#54278f', '#756bb1', '#9e9ac8', '#cbc9e2', '#f2f0f7'],
  },
};

export const METRIC_NAMES = ['households', 'staffing', 'workload', 'compactness'];
export const COVERAGE_METRICS = ['staffing', 'workload', 'compactness'];

// Workload classes: under and over split at twice the band, so "a little" and "far" read apart.
export const WORKLOAD = {
  farUnder: '#2166ac',
  under: '#92c5de',
  within: '#ffffff',
  over: '#f4a582',
  farOver: '#b2182b',
  unstaffed: '#737373',
};

/**
 * perWorker is households per worker of a grid feature (households / carriers); callers tell a
 * grid no worker carries (carriers 0) apart first.
 */
export function perWorker() {
  return ['/', ['to-number', ['get', 'households'], 0], ['max', ['to-number', ['get', 'carriers'], 0], 1]];
}

/** fillColor returns the fill-color expression of metric for the given report options. */
export function fillColor(metric, opts = { target: 300, band: 0.2 }) {
  const m = METRICS[metric];
  if (!m) throw new Error(`unknown metric ${metric}`);
  if (metric === 'workload') {
    // the report's rating (grid.rate) with under and over split at twice the band
    const { target, band } = opts;
    const per = perWorker();
    return ['case',
      ['!', ['has', 'carriers']], NODATA,
      ['==', ['to-number', ['get', 'carriers'], 0], 0], WORKLOAD.unstaffed,
      ['step', per,
        WORKLOAD.farUnder, target * (1 - 2 * band),
        WORKLOAD.under, target * (1 - band),
        WORKLOAD.within, target * (1 + band) + 1e-9,
        WORKLOAD.over, target * (1 + 2 * band) + 1e-9,
        WORKLOAD.farOver]];
  }
  if (m.categories) {
    return ['case', ['!', ['has', 'staffed']], NODATA,
      ['to-boolean', ['get', 'staffed']], m.categories[0].color, m.categories[1].color];
  }
  const v = ['get', m.prop];
  const step = ['step', ['to-number', v], m.colors[0]];
  m.breaks.forEach((b, k) => step.push(b, m.colors[k + 1]));
  return ['case', ['==', ['typeof', v], 'number'], step, NODATA];
}

function fmt(n) {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

/**
 * legendItems returns [{color, label}] for metric; t translates keys. Labels state the ranges,
 * so the legend is also the definition of each colour.
 */
export function legendItems(metric, t, opts = { target: 300, band: 0.2 }) {
  const m = METRICS[metric];
  if (metric === 'workload') {
    const lo = Math.round(opts.target * (1 - opts.band));
    const hi = Math.round(opts.target * (1 + opts.band));
    const flo = Math.round(opts.target * (1 - 2 * opts.band));
    const fhi = Math.round(opts.target * (1 + 2 * opts.band));
    return [
      { color: WORKLOAD.farUnder, label: `< ${flo} ${t('legend.farUnder')}` },
      { color: WORKLOAD.under, label: `${flo}–${lo} ${t('legend.under')}` },
      { color: WORKLOAD.within, label: `${lo}–${hi} ${t('legend.within')}` },
      { color: WORKLOAD.over, label: `${hi}–${fhi} ${t('legend.over')}` },
      { color: WORKLOAD.farOver, label: `> ${fhi} ${t('legend.farOver')}` },
      { color: WORKLOAD.unstaffed, label: t('legend.unstaffed') },
      { color: NODATA, label: t('legend.nodata') },
    ];
  }
  if (m.categories) {
    return [...m.categories.map((c) => ({ color: c.color, label: t(c.label) })),
      { color: NODATA, label: t('legend.nodata') }];
  }
  const out = [];
  for (let k = 0; k < m.colors.length; k++) {
    const lo = k === 0 ? null : m.breaks[k - 1];
    const hi = k === m.breaks.length ? null : m.breaks[k];
    let label;
    if (lo === null) label = `< ${fmt(hi)}`;
    else if (hi === null) label = `≥ ${fmt(lo)}`;
    else label = `${fmt(lo)}–${fmt(hi)}`;
    out.push({ color: m.colors[k], label });
  }
  out.push({ color: NODATA, label: t('legend.nodata') });
  return out;
}

// Household density (H3 cells, zoomed out). The tiles aggregate households into H3 cells whose
// resolution follows the tile zoom (tiles/rules.go: the finest resolution whose hexagons are 8
// pixels or more a side); a count per cell would mean 7× more at each coarser zoom, so the map
// colours households per km², dividing by the cell area of the zoom's resolution.
const H3_EDGE_M = [1281256.011, 483056.839, 182512.957, 68979.222, 26071.760, 9854.091, 3724.533,
  1406.476, 531.414, 200.786, 75.864, 28.664, 10.830, 4.092, 1.546, 0.584];
const H3_AREA_KM2 = [4357449.416, 609788.442, 86801.780, 12393.435, 1770.348, 252.904, 36.129,
  5.161, 0.737, 0.105, 0.0150, 0.00215, 0.000307, 0.0000439, 0.00000627, 0.000000895];

/** densityRes mirrors the tile server's choice of H3 resolution for tile zoom z. */
export function densityRes(z) {
  const px = (2 * 20037508.342789244) / 256 / 2 ** z;
  let res = 0;
  while (res < H3_EDGE_M.length - 1 && H3_EDGE_M[res + 1] >= 8 * px) res++;
  return res;
}

export const DENSITY = {
  breaks: [500, 2000, 4000, 8000], // households per km²
  colors: ['#fff7bc', '#fee391', '#fec44f', '#fe9929', '#d95f0e'],
};

/** densityColor colours a cell by households per km² at every zoom the density layer shows. */
export function densityColor(field = 'households', maxZoom = 14) {
  const perKm2 = (z) => {
    const step = ['step', ['/', ['to-number', ['get', field], 0], H3_AREA_KM2[densityRes(z)]], DENSITY.colors[0]];
    DENSITY.breaks.forEach((b, k) => step.push(b, DENSITY.colors[k + 1]));
    return step;
  };
  const out = ['step', ['zoom'], perKm2(0)];
  for (let z = 1; z < maxZoom; z++) out.push(z, perKm2(z));
  return out;
}

/** cellAreaKm2 is the area of a density cell seen at map zoom (for popups). */
export function cellAreaKm2(zoom) {
  return H3_AREA_KM2[densityRes(Math.floor(zoom))];
}

export function densityLegend() {
  return DENSITY.colors.map((color, k) => {
    const lo = k === 0 ? null : DENSITY.breaks[k - 1];
    const hi = k === DENSITY.breaks.length ? null : DENSITY.breaks[k];
    let label;
    if (lo === null) label = `< ${hi.toLocaleString()}`;
    else if (hi === null) label = `≥ ${lo.toLocaleString()}`;
    else label = `${lo.toLocaleString()}–${hi.toLocaleString()}`;
    return { color, label };
  });
}
