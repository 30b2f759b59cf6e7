// The map's style at run time: gridmap's cartography is tiles/style.json (served at
// /style.json, bundled into the UI for offline packages; README "Map style"), and this module
// adds what only the UI draws — hover, selection, the Assign mode's layers, the outlines of
// what a list flew to and of drawings — and the paint a metric or a mode swaps in. A test runs
// the style-spec validator on exactly what the browser gets (test/style.test.js).
//
// No glyphs URL: MapLibre GL JS (≥ 5.11) then draws every label locally with TinySDF from the
// fonts the browser has, reading `text-font` as a CSS font-family fallback list. Nothing is
// fetched for labels, so the map works offline and Chinese names render with the system's CJK
// font; no glyph PBFs need shipping (a CJK range set would be tens of MB).
//
// Sources: `gridmap` is our vector tiles (the server's, or an offline package's through the
// pmtiles protocol; at a past moment, the tiles of then: tilesAt); `focus` outlines what a list
// entry flew to; `draw` and `compare` serve the Assign mode; `changes` is the changes overlay
// (the areas grids gained and lost in a period, GET /changes?f=geojson).

import { tilesAt } from './api.js';
import { shiftedTiles } from './basemap.js';
import { t as translate } from './i18n.js';
import { COLORS, fillColor, perWorker } from './metrics.js';

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

const EMPTY = { type: 'FeatureCollection', features: [] };

/**
 * basemapKind says what a basemap URL is: an XYZ raster template ({z}/{x}/{y}), a style, or
 * none.
 */
export function basemapKind(url) {
  if (!url) return 'none';
  return /\{z\}/.test(url) && /\{x\}/.test(url) && /\{y\}/.test(url) ? 'xyz' : 'style';
}

const level = (n) => ['==', ['to-number', ['get', 'level']], n];
const LEVEL3 = level(3);
const hover = ['boolean', ['feature-state', 'hover'], false];

/** BUILDING_FILLS are the building fills: the style draws straddling buildings apart. */
export const BUILDING_FILLS = ['buildings', 'buildings-straddling'];

/**
 * L3_FILLS are the level-3 grid fills: the style's households classes (metadata
 * "gridmap:group" grid-fill-l3), of which grid-fill-l3 alone carries any other colouring.
 */
export const L3_FILLS = ['grid-fill-l3', 'grid-fill-l3-150', 'grid-fill-l3-300', 'grid-fill-l3-450', 'grid-fill-l3-600'];

// darker on hover, so the feature under the pointer stands out of its neighbours
const HOVER_FILL = { buildings: '#8d8577', 'buildings-straddling': '#e6b800' };

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
 * runtimeLayers are the UI's own layers, by where they go in the style: before the layer named
 * (null: on top, under the labels). zooms: zoomRules.
 */
function runtimeLayers({ zooms: ZOOM, selected = '' }) {
  return [
    ['gap-fill', [
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
        // never drawn: what "what is here" asks of the map offline (every level's outline)
        id: 'grid-hit', type: 'fill', source: 'gridmap', 'source-layer': 'grids',
        paint: { 'fill-color': '#000000', 'fill-opacity': 0 },
      },
    ]],
    ['units', [
      {
        // Assign mode: buildings picked by the current stroke
        id: 'buildings-sel', type: 'line', source: 'gridmap', 'source-layer': 'buildings', minzoom: ZOOM.buildings,
        paint: {
          'line-color': '#111827', 'line-width': 2.5,
          'line-opacity': ['case', ['boolean', ['feature-state', 'sel'], false], 1, 0],
        },
      },
    ]],
    [null, [
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
      // the changes overlay: gained solid green, lost hatched red; a grid added or retired in
      // the period (its whole area gained or lost) outlined heavier
      {
        id: 'changes-gained', type: 'fill', source: 'changes', filter: ['==', ['get', 'change'], 'gained'],
        paint: { 'fill-color': COLORS.gained, 'fill-opacity': 0.35 },
      },
      {
        id: 'changes-lost', type: 'fill', source: 'changes', filter: ['==', ['get', 'change'], 'lost'],
        paint: { 'fill-pattern': 'hatch-lost' },
      },
      {
        id: 'changes-gained-line', type: 'line', source: 'changes', filter: ['==', ['get', 'change'], 'gained'],
        paint: { 'line-color': COLORS.gained, 'line-width': ['case', ['get', 'added'], 3.5, 1.5] },
      },
      {
        id: 'changes-lost-line', type: 'line', source: 'changes', filter: ['==', ['get', 'change'], 'lost'],
        paint: { 'line-color': COLORS.lost, 'line-width': ['case', ['get', 'retired'], 3.5, 1.5], 'line-dasharray': [2, 1.5] },
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
    ]],
  ];
}

/**
 * gridmapSource is the style's tile source: an offline package (pmtiles: its pmtiles:// URL),
 * the TileJSON the app has read (in as it is: MapLibre does not ask for it again), or its URL.
 */
function gridmapSource({ pmtiles = '', tiles = null, tilesUrl = '', at = '' }) {
  if (pmtiles) return { type: 'vector', url: pmtiles };
  if (tiles?.tiles) {
    return { type: 'vector', tiles: tilesAt(tiles.tiles, at), minzoom: tiles.minzoom ?? 0, maxzoom: tiles.maxzoom ?? 22, bounds: tiles.bounds };
  }
  return { type: 'vector', url: tilesUrl || 'http://127.0.0.1/tiles.json' };
}

/**
 * buildStyle returns the map's style: base (the style document, /style.json) with the tile
 * source the app reads, the UI's own sources and layers, and the paint of the mode. opts:
 * tiles (the TileJSON, or tilesUrl: its URL; pmtiles: an offline package's URL), zooms
 * (zoomRules), basemap (XYZ template or ''), basemapCRS (its coordinate system: 'wgs84' or
 * 'gcj02'), attribution, sprite (false: none, the UI draws the patterns), metric, band
 * {target, band}, selected code, labels (labelField's options), at (the moment the tiles show:
 * RFC 3339, '' now).
 */
export function buildStyle(opts = {}) {
  const { base, basemap = '', basemapCRS = 'wgs84', attribution = '', sprite = true } = opts;
  if (!base?.layers) throw new Error('buildStyle: base style (style.json) missing');
  if (!opts.zooms) throw new Error('buildStyle: zooms (from tiles.json) missing');
  const style = structuredClone(base);
  if (!sprite) delete style.sprite;
  style.sources = {
    ...style.sources,
    gridmap: gridmapSource(opts),
    focus: { type: 'geojson', data: EMPTY },
    // Assign mode: what is being drawn (box, lasso, brush, split line), and a stale boundary
    // shown against the current one after a conflict
    draw: { type: 'geojson', data: EMPTY },
    compare: { type: 'geojson', data: EMPTY },
    changes: { type: 'geojson', data: EMPTY },
  };
  const layers = style.layers;
  const at = (id) => layers.findIndex((l) => l.id === id);
  for (const [before, add] of runtimeLayers(opts)) {
    let k = before ? at(before) : layers.findIndex((l) => l.type === 'symbol' && l['source-layer'] === 'grid_labels');
    if (k < 0) k = layers.length;
    layers.splice(k, 0, ...add);
  }
  if (basemapKind(basemap) === 'xyz') {
    // a GCJ-02 basemap comes through the shifting protocol (basemap.js), drawn in WGS 84
    const url = basemapCRS === 'gcj02' ? shiftedTiles(basemap) : basemap;
    style.sources.basemap = { type: 'raster', tiles: [url], tileSize: 256, attribution };
    layers.splice(at('background') + 1, 0, { id: 'basemap', type: 'raster', source: 'basemap', paint: { 'raster-opacity': 0.85 } });
  }
  for (const id of BUILDING_FILLS) {
    const l = layers[at(id)];
    if (l) l.paint['fill-color'] = ['case', hover, HOVER_FILL[id], l.paint['fill-color']];
  }
  // what the fills are in the style, for the paint of a metric or a mode to go back to
  for (const id of ['grid-fill-l2', 'grid-fill-l3', ...BUILDING_FILLS]) {
    const l = layers[at(id)];
    if (l) l.metadata = { ...l.metadata, 'gridmap:base': { filter: l.filter ?? null, 'fill-color': l.paint['fill-color'] } };
  }
  const text = labelField({ metric: opts.metric, band: opts.band, ...opts.labels });
  for (const l of layers) {
    if (l.type === 'symbol' && l['source-layer'] === 'grid_labels') l.layout['text-field'] = text;
  }
  applyFillTo(styleTarget(style), opts.metric || 'households', opts.band || { target: 300, band: 0.2 });
  return style;
}

/**
 * overlayLayers are the layers of a built style laid over a basemap style: all but its
 * background.
 */
export function overlayLayers(style) {
  return style.layers.filter((l) => l.type !== 'background');
}

/**
 * styleTarget lets the paint functions below work on a style document as they do on a live
 * map (the few MapLibre methods they use).
 */
export function styleTarget(style) {
  const get = (id) => style.layers.find((l) => l.id === id);
  return {
    getLayer: get,
    setFilter: (id, f) => { get(id).filter = f; },
    getFilter: (id) => get(id).filter,
    setPaintProperty: (id, k, v) => { get(id).paint[k] = v; },
    setLayoutProperty: (id, k, v) => { const l = get(id); l.layout = { ...l.layout, [k]: v }; },
    getLayoutProperty: (id, k) => get(id).layout?.[k],
  };
}

const baseOf = (m, id) => m.getLayer(id)?.metadata?.['gridmap:base'];

/**
 * setL3Fill colours the level-3 grids: colour null puts back the style's own households
 * classes (grid-fill-l3 and its grid-fill-l3-NNN siblings); an expression makes grid-fill-l3
 * every level-3 grid, coloured by it, and hides the siblings. opacity: grid-fill-l3's.
 */
export function setL3Fill(m, colour, opacity = l3Opacity(), shown = true) {
  const b = baseOf(m, 'grid-fill-l3');
  m.setFilter('grid-fill-l3', colour ? LEVEL3 : b.filter);
  m.setPaintProperty('grid-fill-l3', 'fill-color', colour || b['fill-color']);
  m.setPaintProperty('grid-fill-l3', 'fill-opacity', opacity);
  showL3Classes(m, shown);
}

/**
 * showL3Classes shows the households classes but grid-fill-l3 when the grids are on (shown)
 * and grid-fill-l3 is in its classes form.
 */
export function showL3Classes(m, shown) {
  const classes = JSON.stringify(m.getFilter('grid-fill-l3')) !== JSON.stringify(LEVEL3);
  for (const id of L3_FILLS.slice(1)) {
    if (m.getLayer(id)) m.setLayoutProperty(id, 'visibility', shown && classes ? 'visible' : 'none');
  }
}

/** setBuildingFill colours the buildings (null: the style's colours, darker on hover). */
export function setBuildingFill(m, colour) {
  for (const id of BUILDING_FILLS) {
    if (m.getLayer(id)) m.setPaintProperty(id, 'fill-color', colour || baseOf(m, id)['fill-color']);
  }
}

/** applyFillTo colours the grids and buildings for a metric (households: the style's own). */
export function applyFillTo(m, metric, band) {
  setBuildingFill(m, null);
  m.setFilter('assign-lock', ['==', ['get', 'code'], '-']);
  setL3Fill(m, metric === 'households' ? null : fillColor(metric, band), l3Opacity(),
    m.getLayoutProperty('grid-fill-l3', 'visibility') !== 'none');
  m.setPaintProperty('grid-fill-l2', 'fill-color', metric === 'households' ? baseOf(m, 'grid-fill-l2')['fill-color'] : fillColor(metric, band));
  m.setPaintProperty('grid-fill-l2', 'fill-opacity', l2Opacity(metric));
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
  grids: ['grid-fill-l2', ...L3_FILLS, 'grid-line-l1', 'grid-line-l1-casing', 'grid-line-l2', 'grid-line-l3'],
  labels: ['label-l1', 'label-l2', 'label-l3'],
  buildings: [...BUILDING_FILLS, 'buildings-line', 'buildings-line-straddling', 'buildings-sel'],
  units: ['units'],
  roads: ['roads', 'roads-label'],
  density: ['density'],
  defects: ['gap-fill', 'overlap-fill', 'gap-line', 'overlap-line'],
};
