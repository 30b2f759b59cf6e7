// The MapLibre style of the map UI, built as plain data so a test can run the style-spec
// validator on exactly what the browser gets (test/style.test.js).
//
// No glyphs URL: MapLibre GL JS (≥ 5.11) then draws every label locally with TinySDF from the
// fonts the browser has, reading `text-font` as a CSS font-family fallback list. Nothing is
// fetched for labels, so the map works offline and Chinese names render with the system's CJK
// font; no glyph PBFs need shipping (a CJK range set would be tens of MB).
//
// Sources: `gridmap` is our vector tiles — outlines, colours and labels all come from them (the
// grid_labels layer holds one point per grid, in the one tile holding it, so a grid crossing
// tile edges is labelled once and symbol collision keeps labels apart); `focus` outlines what a
// list entry flew to; `draw` and `compare` serve the Assign mode.

import { shiftedTiles } from './basemap.js';
import { GAP_FILTER } from './dividetools.js';
import { t as translate } from './i18n.js';
import { COLORS, densityColor, fillColor, perWorker } from './metrics.js';

export const FONT = ['Noto Sans CJK SC', 'Source Han Sans SC', 'WenQuanYi Micro Hei', 'PingFang SC',
  'Microsoft YaHei', 'sans-serif'];

/**
 * zoomRules reads the zooms the tiles are cut at from the TileJSON (its gridmap.zooms member,
 * else each vector layer's minzoom): level-1, 2 and 3 grids (l1, l2, l3), buildings, units,
 * coverage, major roads and all roads. The style draws each layer from there. Household
 * density (H3) is drawn only below l3: from there on the level-3 choropleth says the same per
 * grid, and two fills would compete.
 */
export function zoomRules(tj) {
  const z = tj?.gridmap?.zooms;
  const layer = (id) => tj?.vector_layers?.find((l) => l.id === id)?.minzoom;
  const levels = z?.grid_levels || [layer('grids'), layer('grids'), layer('grids')];
  const r = {
    l1: levels[0], l2: levels[1], l3: levels[2],
    buildings: z?.buildings ?? layer('buildings'),
    units: z?.units ?? layer('units'),
    coverage: z?.coverage ?? layer('coverage'),
    roads: z?.major_roads ?? layer('roads'),
    allRoads: z?.roads ?? layer('roads'),
  };
  for (const [k, v] of Object.entries(r)) {
    if (!Number.isFinite(v)) throw new Error(`tiles.json: no zoom for ${k}`);
  }
  r.densityMax = r.l3;
  return r;
}

// Roads: thin grey context under the grid outlines, through roads wider (tiles.MajorRoadClasses).
const MAJOR_ROADS = ['motorway', 'trunk', 'primary', 'secondary', 'tertiary',
  'motorway_link', 'trunk_link', 'primary_link', 'secondary_link', 'tertiary_link'];
const major = ['in', ['get', 'class'], ['literal', MAJOR_ROADS]];

const EMPTY = { type: 'FeatureCollection', features: [] };

/**
 * basemapSource returns the source for a basemap URL: an XYZ raster template ({z}/{x}/{y}), or
 * null when the URL is a style (the caller merges our layers into that style instead).
 */
export function basemapKind(url) {
  if (!url) return 'none';
  return /\{z\}/.test(url) && /\{x\}/.test(url) && /\{y\}/.test(url) ? 'xyz' : 'style';
}

/**
 * buildStyle returns the style. opts: tiles (the TileJSON, or tilesUrl: its URL), zooms
 * (zoomRules), basemap (XYZ template or ''), basemapCRS (its coordinate system: 'wgs84' or
 * 'gcj02'), metric, band {target, band}, selected code, labels (labelField's options).
 */
export function buildStyle(opts = {}) {
  const { tiles = null, tilesUrl = 'http://127.0.0.1/tiles.json', basemap = '', basemapCRS = 'wgs84', attribution = '' } = opts;
  // the TileJSON the app has read already goes in as it is: MapLibre does not ask for it again
  const gridmap = tiles
    ? { type: 'vector', tiles: tiles.tiles, minzoom: tiles.minzoom ?? 0, maxzoom: tiles.maxzoom ?? 22, bounds: tiles.bounds }
    : { type: 'vector', url: tilesUrl };
  const sources = {
    gridmap,
    focus: { type: 'geojson', data: EMPTY },
    // Assign mode: what is being drawn (box, lasso, brush, split line), and a stale boundary
    // shown against the current one after a conflict
    draw: { type: 'geojson', data: EMPTY },
    compare: { type: 'geojson', data: EMPTY },
  };
  const layers = [{ id: 'background', type: 'background', paint: { 'background-color': '#eef0f2' } }];
  if (basemapKind(basemap) === 'xyz') {
    // a GCJ-02 basemap comes through the shifting protocol (basemap.js), drawn in WGS 84
    const url = basemapCRS === 'gcj02' ? shiftedTiles(basemap) : basemap;
    sources.basemap = { type: 'raster', tiles: [url], tileSize: 256, attribution };
    layers.push({ id: 'basemap', type: 'raster', source: 'basemap', paint: { 'raster-opacity': 0.85 } });
  }
  layers.push(...overlayLayers(opts));
  return { version: 8, name: 'gridmap', sources, layers };
}

const level = (n) => ['==', ['to-number', ['get', 'level']], n];

/** buildingFill: neutral, darker on hover; straddling buildings yellow. */
export function buildingFill() {
  return ['case', ['to-boolean', ['get', 'straddling']], COLORS.straddler,
    ['case', ['boolean', ['feature-state', 'hover'], false], '#8d8577', '#bdb5a6']];
}

/** l3Opacity: grids filled strongly zoomed out, lightly at street zoom where buildings show. */
export function l3Opacity(assign = false) {
  return assign ? ['interpolate', ['linear'], ['zoom'], 13, 0.55, 16, 0.3]
    : ['interpolate', ['linear'], ['zoom'], 13, 0.8, 16, 0.55, 18, 0.35];
}

/**
 * l2Opacity: communities are filled below z13 for the coverage metrics, which are rates and
 * compare across levels; households are a count (a community holds ten grids' worth), and the
 * H3 density already shows them there, so that fill stays off.
 */
export function l2Opacity(metric) {
  return metric === 'households' ? 0 : 0.7;
}

/**
 * overlayLayers are gridmap's own layers, laid over a background or a basemap style; zooms are
 * the tiles' (zoomRules), labels labelField's options.
 */
export function overlayLayers({
  metric = 'households', band = { target: 300, band: 0.2 }, selected = '', zooms, labels = {},
} = {}) {
  if (!zooms) throw new Error('overlayLayers: zooms (from tiles.json) missing');
  const ZOOM = zooms;
  const fill = fillColor(metric, band);
  const text = labelField({ metric, band, ...labels });
  const hover = ['boolean', ['feature-state', 'hover'], false];
  return [
    {
      id: 'density', type: 'fill', source: 'gridmap', 'source-layer': 'density', maxzoom: ZOOM.densityMax,
      paint: { 'fill-color': densityColor('households'), 'fill-opacity': 0.8, 'fill-outline-color': '#ffffff' },
    },
    {
      id: 'grid-fill-l2', type: 'fill', source: 'gridmap', 'source-layer': 'grids', minzoom: ZOOM.l2, maxzoom: ZOOM.l3,
      filter: level(2),
      paint: { 'fill-color': fill, 'fill-opacity': l2Opacity(metric) },
    },
    {
      id: 'grid-fill-l3', type: 'fill', source: 'gridmap', 'source-layer': 'grids', minzoom: ZOOM.l3,
      filter: level(3),
      paint: { 'fill-color': fill, 'fill-opacity': l3Opacity() },
    },
    {
      // Assign mode: grids locked against repainting, hatched grey
      id: 'assign-lock', type: 'fill', source: 'gridmap', 'source-layer': 'grids', minzoom: ZOOM.l3,
      filter: ['==', ['get', 'code'], '-'],
      paint: { 'fill-pattern': 'hatch-lock' },
    },
    {
      id: 'grid-hover', type: 'fill', source: 'gridmap', 'source-layer': 'grids', minzoom: ZOOM.l2,
      filter: ['>=', ['to-number', ['get', 'level']], 2],
      paint: { 'fill-color': '#1a56db', 'fill-opacity': ['case', hover, 0.12, 0] },
    },
    {
      id: 'gap-fill', type: 'fill', source: 'gridmap', 'source-layer': 'coverage',
      filter: GAP_FILTER,
      paint: { 'fill-pattern': 'hatch-gap' },
    },
    {
      id: 'overlap-fill', type: 'fill', source: 'gridmap', 'source-layer': 'coverage',
      filter: ['==', ['get', 'kind'], 'overlap'],
      paint: { 'fill-pattern': 'hatch-overlap' },
    },
    {
      id: 'gap-line', type: 'line', source: 'gridmap', 'source-layer': 'coverage',
      filter: GAP_FILTER,
      paint: { 'line-color': COLORS.defectGap, 'line-width': 2, 'line-dasharray': [2, 1] },
    },
    {
      id: 'overlap-line', type: 'line', source: 'gridmap', 'source-layer': 'coverage',
      filter: ['==', ['get', 'kind'], 'overlap'],
      paint: { 'line-color': COLORS.defectOverlap, 'line-width': 2, 'line-dasharray': [2, 1] },
    },
    {
      id: 'roads', type: 'line', source: 'gridmap', 'source-layer': 'roads', minzoom: ZOOM.roads,
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: {
        'line-color': '#a3abb3',
        'line-width': ['interpolate', ['linear'], ['zoom'], 12, ['case', major, 1, 0.4], 17, ['case', major, 4, 1.6]],
      },
    },
    {
      id: 'roads-label', type: 'symbol', source: 'gridmap', 'source-layer': 'roads', minzoom: ZOOM.allRoads + 1,
      filter: ['!=', ['get', 'name'], ''],
      layout: {
        'symbol-placement': 'line', 'text-field': ['get', 'name'], 'text-font': FONT, 'text-size': 11,
        'text-padding': 4,
      },
      paint: { 'text-color': '#5f6b75', 'text-halo-color': '#ffffff', 'text-halo-width': 1.5 },
    },
    {
      id: 'buildings', type: 'fill', source: 'gridmap', 'source-layer': 'buildings', minzoom: ZOOM.buildings,
      paint: { 'fill-color': buildingFill(), 'fill-opacity': 0.9 },
    },
    {
      id: 'buildings-line', type: 'line', source: 'gridmap', 'source-layer': 'buildings', minzoom: 15,
      paint: {
        'line-color': ['case', ['to-boolean', ['get', 'straddling']], '#8c2d04', '#7d7566'],
        'line-width': ['case', ['to-boolean', ['get', 'straddling']], 1.6, 0.5],
      },
    },
    {
      // Assign mode: buildings picked by the current stroke
      id: 'buildings-sel', type: 'line', source: 'gridmap', 'source-layer': 'buildings', minzoom: ZOOM.buildings,
      paint: {
        'line-color': '#111827', 'line-width': 2.5,
        'line-opacity': ['case', ['boolean', ['feature-state', 'sel'], false], 1, 0],
      },
    },
    {
      id: 'units', type: 'circle', source: 'gridmap', 'source-layer': 'units', minzoom: ZOOM.units,
      paint: {
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 16, 2.5, 19, 6],
        'circle-color': '#3b3b3b', 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1,
      },
    },
    {
      id: 'grid-line-l3', type: 'line', source: 'gridmap', 'source-layer': 'grids', minzoom: ZOOM.l3 - 0.5,
      filter: level(3),
      paint: { 'line-color': '#5f6f7a', 'line-width': ['interpolate', ['linear'], ['zoom'], 13, 0.5, 17, 1.4] },
    },
    {
      id: 'grid-line-l2', type: 'line', source: 'gridmap', 'source-layer': 'grids', minzoom: ZOOM.l2,
      filter: level(2),
      paint: { 'line-color': '#37474f', 'line-width': ['interpolate', ['linear'], ['zoom'], 11, 1, 17, 2.6] },
    },
    {
      id: 'grid-line-l1-casing', type: 'line', source: 'gridmap', 'source-layer': 'grids', minzoom: ZOOM.l1,
      filter: level(1),
      paint: { 'line-color': '#ffffff', 'line-width': ['interpolate', ['linear'], ['zoom'], 8, 3, 17, 7], 'line-opacity': 0.9 },
    },
    {
      id: 'grid-line-l1', type: 'line', source: 'gridmap', 'source-layer': 'grids', minzoom: ZOOM.l1,
      filter: level(1),
      paint: { 'line-color': '#111827', 'line-width': ['interpolate', ['linear'], ['zoom'], 8, 1.5, 17, 4] },
    },
    {
      id: 'grid-hover-line', type: 'line', source: 'gridmap', 'source-layer': 'grids', minzoom: ZOOM.l2,
      filter: ['>=', ['to-number', ['get', 'level']], 2],
      paint: { 'line-color': '#1a56db', 'line-width': 2, 'line-opacity': ['case', hover, 1, 0] },
    },
    {
      // everything of the selection's level but the selection, washed out: the eye goes to it
      id: 'selection-dim', type: 'fill', source: 'gridmap', 'source-layer': 'grids',
      filter: ['==', ['get', 'code'], '-'],
      paint: { 'fill-color': '#ffffff', 'fill-opacity': 0.5 },
    },
    {
      id: 'selection-halo', type: 'line', source: 'gridmap', 'source-layer': 'grids',
      filter: ['==', ['get', 'code'], selected],
      paint: { 'line-color': '#ffffff', 'line-width': 8, 'line-opacity': 0.9 },
    },
    {
      id: 'selection-line', type: 'line', source: 'gridmap', 'source-layer': 'grids',
      filter: ['==', ['get', 'code'], selected],
      paint: { 'line-color': COLORS.selection, 'line-width': 4 },
    },
    {
      id: 'focus-fill', type: 'fill', source: 'focus',
      paint: { 'fill-color': COLORS.focus, 'fill-opacity': 0.18 },
    },
    {
      id: 'focus-line', type: 'line', source: 'focus',
      paint: { 'line-color': COLORS.focus, 'line-width': 3.5 },
    },
    {
      id: 'compare-line', type: 'line', source: 'compare',
      paint: { 'line-color': '#7a0177', 'line-width': 2.5, 'line-dasharray': [1.5, 1.5] },
    },
    {
      id: 'draw-fill', type: 'fill', source: 'draw', filter: ['==', ['geometry-type'], 'Polygon'],
      paint: { 'fill-color': ['coalesce', ['get', 'color'], COLORS.selection], 'fill-opacity': 0.18 },
    },
    {
      id: 'draw-line', type: 'line', source: 'draw',
      paint: { 'line-color': ['coalesce', ['get', 'line'], '#111827'], 'line-width': 2, 'line-dasharray': [2, 1.5] },
    },
    {
      id: 'draw-vertex', type: 'circle', source: 'draw', filter: ['==', ['geometry-type'], 'Point'],
      paint: { 'circle-radius': 4, 'circle-color': '#ffffff', 'circle-stroke-color': '#111827', 'circle-stroke-width': 2 },
    },
    // One label per grid from its label point; placement goes from the top layer down (grid
    // labels win at street zoom, subdistricts over communities zoomed out) and symbol collision
    // drops what would overlap.
    {
      id: 'label-l2', type: 'symbol', source: 'gridmap', 'source-layer': 'grid_labels',
      minzoom: ZOOM.l2 + 1.5, maxzoom: ZOOM.l3 + 2.6,
      filter: level(2),
      layout: {
        'text-field': text, 'text-font': FONT, 'text-size': 13,
        'text-max-width': 8, 'text-padding': 4, 'symbol-sort-key': 1,
      },
      paint: { 'text-color': '#0f172a', 'text-halo-color': '#ffffff', 'text-halo-width': 2 },
    },
    {
      id: 'label-l1', type: 'symbol', source: 'gridmap', 'source-layer': 'grid_labels',
      minzoom: ZOOM.l1, maxzoom: ZOOM.l3 + 1.8,
      filter: level(1),
      layout: {
        'text-field': text, 'text-font': FONT,
        'text-size': ['interpolate', ['linear'], ['zoom'], 10, 13, 14, 18], 'text-padding': 6,
        'symbol-sort-key': 0, 'text-letter-spacing': 0.05,
      },
      paint: { 'text-color': '#111827', 'text-halo-color': '#ffffff', 'text-halo-width': 2.5 },
    },
    {
      id: 'label-l3', type: 'symbol', source: 'gridmap', 'source-layer': 'grid_labels',
      minzoom: ZOOM.l3 + 1.6,
      filter: level(3),
      layout: {
        'text-field': text, 'text-font': FONT, 'text-size': 11,
        'text-max-width': 7, 'text-padding': 2,
      },
      paint: { 'text-color': '#1f2933', 'text-halo-color': '#ffffff', 'text-halo-width': 1.5 },
    },
  ];
}

/**
 * labelField is the text of a grid's label (a grid_labels feature): its name, and in Coverage
 * mode the value its level-3 grids are coloured by (never colour alone); in Assign mode the
 * households of the community's grids (codes) with a mark on those locked. t translates.
 */
export function labelField({
  mode = 'dashboard', metric = 'households', band = { target: 300, band: 0.2 }, codes = [], locked = [], t = translate,
} = {}) {
  const name = ['get', 'label'];
  const l3 = (expr) => ['case', ['==', ['to-number', ['get', 'level']], 3], expr, name];
  const unstaffed = ['concat', name, `\n✗ ${t('legend.unstaffed')}`];
  if (mode === 'assign') {
    if (!codes.length) return name;
    const hh = ['number-format', ['to-number', ['get', 'households'], 0], { 'max-fraction-digits': 0 }];
    const lock = ['case', ['in', ['get', 'code'], ['literal', locked]], ` · ${t('assign.locked')}`, ''];
    return ['case', ['in', ['get', 'code'], ['literal', codes]],
      ['concat', name, '\n', hh, ` ${t('unit.households')}`, lock], name];
  }
  if (mode !== 'coverage') return name;
  if (metric === 'staffing') return l3(['case', ['to-boolean', ['get', 'staffed']], name, unstaffed]);
  if (metric === 'workload') {
    const per = perWorker();
    const mark = ['case', ['<', per, band.target * (1 - band.band)], '▼', ['>', per, band.target * (1 + band.band)], '▲', '✓'];
    return l3(['case', ['>', ['to-number', ['get', 'carriers'], 0], 0],
      ['concat', name, '\n', mark, ' ', ['to-string', ['round', per]]], unstaffed]);
  }
  if (metric === 'compactness') {
    return l3(['concat', name, '\nPP ',
      ['number-format', ['to-number', ['get', 'polsby_popper'], 0], { 'min-fraction-digits': 2, 'max-fraction-digits': 2 }]]);
  }
  return name;
}

// Assign mode colours each grid of the community being edited with its swatch, and its
// buildings likewise (brighter), so a planner sees at once which building belongs where; the
// buildings of the stroke under way take the target's colour.
const PLAIN_BUILDING = '#d6d1c8';

/** assignGridFill is the level-3 fill in Assign mode: swatch by code (Map code → colour). */
export function assignGridFill(swatchByCode) {
  if (!swatchByCode.size) return 'rgba(0,0,0,0)';
  const m = ['match', ['get', 'code']];
  for (const [code, c] of swatchByCode) m.push(code, c);
  m.push('rgba(0,0,0,0)');
  return m;
}

/** assignBuildingFill colours buildings by their grid's swatch; the stroke's in the target's. */
export function assignBuildingFill(swatchByCode, targetColour) {
  let base = PLAIN_BUILDING;
  if (swatchByCode.size) {
    base = ['match', ['get', 'grid_code']];
    for (const [code, c] of swatchByCode) base.push(code, c);
    base.push(PLAIN_BUILDING);
  }
  return ['case', ['boolean', ['feature-state', 'sel'], false], targetColour || COLORS.selection, base];
}

/** LAYER_GROUPS name the layers the layer switcher turns on and off together. */
export const LAYER_GROUPS = {
  grids: ['grid-fill-l2', 'grid-fill-l3', 'grid-line-l1', 'grid-line-l1-casing', 'grid-line-l2', 'grid-line-l3'],
  labels: ['label-l1', 'label-l2', 'label-l3'],
  buildings: ['buildings', 'buildings-line', 'buildings-sel'],
  units: ['units'],
  roads: ['roads', 'roads-label'],
  density: ['density'],
  defects: ['gap-fill', 'overlap-fill', 'gap-line', 'overlap-line'],
};
