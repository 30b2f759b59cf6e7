// The map's style is gridmap's style document (tiles/style.json, what /style.json serves) with
// the UI's own layers added, and passes the MapLibre style-spec validator: the library function
// on every mode/metric/basemap/offline variant the app builds, and the gl-style-validate command
// line on the default style, as a MapLibre user would run it.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec';

import { tilesAt } from '../src/api.js';
import { GAP_FILTER } from '../src/dividetools.js';
import { METRIC_NAMES, legendItems } from '../src/metrics.js';
import { swatches } from '../src/assigntools.js';
import {
  applyFillTo, assignBuildingFill, assignGridFill, BUILDING_FILLS, buildStyle as build, L3_FILLS, labelField, LAYER_GROUPS,
  setBuildingFill, setL3Fill, styleTarget, zoomRules,
} from '../src/style.js';

// the style document the server serves (and the UI bundles for offline packages)
const BASE = JSON.parse(readFileSync(new URL('../../tiles/style.json', import.meta.url), 'utf8'));

// What /tiles.json says of the default zoom rules (tiles.DefaultRules): the style reads them
// from there, never from a copy of its own.
const TILEJSON = {
  tiles: ['http://127.0.0.1:8080/tiles/{z}/{x}/{y}.mvt'], minzoom: 0, maxzoom: 16, bounds: [118.7, 32, 118.75, 32.03],
  vector_layers: [
    { id: 'grids', minzoom: 8, maxzoom: 16 }, { id: 'grid_labels', minzoom: 8, maxzoom: 16 },
    { id: 'coverage', minzoom: 10, maxzoom: 16 }, { id: 'density', minzoom: 0, maxzoom: 13 },
    { id: 'buildings', minzoom: 14, maxzoom: 16 }, { id: 'units', minzoom: 16, maxzoom: 16 },
    { id: 'roads', minzoom: 12, maxzoom: 16 },
  ],
  gridmap: { zooms: { grid_levels: [8, 11, 13], coverage: 10, buildings: 14, units: 16, major_roads: 12, roads: 14 } },
};
const zooms = zoomRules(TILEJSON);
const buildStyle = (o = {}) => build({ base: BASE, zooms, ...o });
const ids = (style) => style.layers.map((l) => l.id);

const validator = fileURLToPath(new URL('../node_modules/.bin/gl-style-validate', import.meta.url));

const variants = [];
for (const metric of METRIC_NAMES) {
  for (const basemap of ['', 'https://tiles.example.org/{z}/{x}/{y}.png']) {
    for (const mode of ['dashboard', 'coverage']) {
      variants.push({ metric, basemap, selected: '990100001001000', band: { target: 250, band: 0.15 }, labels: { mode, metric } });
    }
  }
}
variants.push({ labels: { mode: 'assign', codes: ['990100001001001', '990100001001002'], locked: ['990100001001002'] } });
variants.push({ tiles: TILEJSON });
variants.push({ pmtiles: 'pmtiles://community.pmtiles', sprite: false });
variants.push({ basemap: 'https://tiles.example.org/{z}/{x}/{y}.png', basemapCRS: 'gcj02', attribution: 'example' });

test('a GCJ-02 basemap goes through the shifting protocol with its template intact; a WGS 84 one as it is', () => {
  const url = 'https://tiles.example.org/a?x={x}&y={y}&z={z}&tk=k';
  const gcj = buildStyle({ basemap: url, basemapCRS: 'gcj02' }).sources.basemap.tiles[0];
  assert.equal(gcj, `gcj02://{z}/{x}/{y}/${encodeURIComponent(url)}`);
  assert.equal(buildStyle({ basemap: url }).sources.basemap.tiles[0], url);
});

test('every style variant passes validateStyleMin', () => {
  for (const v of variants) {
    const errors = validateStyleMin(buildStyle(v));
    assert.deepEqual(errors.map((e) => e.message), [], JSON.stringify({ metric: v.metric, basemap: v.basemap, labels: v.labels }));
  }
});

test('the style is style.json\'s: its sprite, no glyphs; the UI adds its sources', () => {
  const s = buildStyle({});
  assert.equal(s.glyphs, undefined);
  assert.equal(s.sprite, BASE.sprite);
  assert.deepEqual(Object.keys(s.sources).sort(), ['changes', 'compare', 'draw', 'focus', 'gridmap']);
  // every layer of the document is there, in its order; the UI's layers read our sources only
  const own = new Set(ids(BASE));
  assert.deepEqual(ids(s).filter((id) => own.has(id)), ids(BASE));
  for (const l of s.layers) {
    if (l.type !== 'background') assert.ok(['gridmap', 'focus', 'draw', 'compare', 'changes'].includes(l.source), l.id);
  }
  // the TileJSON the app read goes in whole: MapLibre asks for nothing but the tiles
  const inline = buildStyle({ tiles: TILEJSON }).sources.gridmap;
  assert.deepEqual(inline.tiles, TILEJSON.tiles);
  assert.equal(inline.url, undefined);
  // a past moment: the same templates with at= (a template with a query of its own keeps it)
  const at = '2026-01-01T00:00:00Z';
  assert.deepEqual(buildStyle({ tiles: TILEJSON, at }).sources.gridmap.tiles,
    TILEJSON.tiles.map((u) => `${u}?at=2026-01-01T00%3A00%3A00Z`));
  assert.deepEqual(tilesAt(['/t/{z}/{x}/{y}.mvt?v=3'], at), ['/t/{z}/{x}/{y}.mvt?v=3&at=2026-01-01T00%3A00%3A00Z']);
  assert.deepEqual(tilesAt(TILEJSON.tiles, ''), TILEJSON.tiles);
  // an offline package: its pmtiles:// source, no sprite (the UI draws the hatches)
  const off = buildStyle({ pmtiles: 'pmtiles://a.pmtiles', sprite: false });
  assert.deepEqual(off.sources.gridmap, { type: 'vector', url: 'pmtiles://a.pmtiles' });
  assert.equal(off.sprite, undefined);
  assert.equal(BASE.sprite, '/tiles/sprite', 'the document itself is left alone');
});

test('the UI\'s layers go where they did: under the gaps, the units and the labels', () => {
  const order = ids(buildStyle({}));
  const before = (a, b) => assert.ok(order.indexOf(a) >= 0 && order.indexOf(a) < order.indexOf(b), `${a} before ${b}`);
  before('assign-lock', 'gap-fill');
  before('grid-hover', 'gap-fill');
  before('buildings-sel', 'units');
  before('grid-line-l1', 'grid-hover-line');
  for (const id of ['grid-hover-line', 'selection-dim', 'selection-halo', 'selection-line', 'focus-fill', 'focus-line',
    'compare-line', 'draw-fill', 'draw-line', 'draw-vertex']) before(id, 'label-l2');
  assert.deepEqual(order.slice(-3), ['label-l2', 'label-l1', 'label-l3']);
  // the gaps the style hatches are the ones the UI lists: an undivided grid's area is not one
  for (const id of ['gap-fill', 'gap-line']) assert.deepEqual(BASE.layers.find((l) => l.id === id).filter, GAP_FILTER, id);
  // the layer switcher's groups name layers that exist, and every layer of a style group
  for (const group of Object.values(LAYER_GROUPS)) for (const id of group) assert.ok(order.includes(id), id);
  for (const l of BASE.layers) {
    const g = l.metadata?.['gridmap:group'];
    if (g === 'grid-fill-l3') assert.ok(L3_FILLS.includes(l.id) && LAYER_GROUPS.grids.includes(l.id), l.id);
    if (g === 'buildings') assert.ok(BUILDING_FILLS.includes(l.id), l.id);
    if (g?.startsWith('buildings')) assert.ok(LAYER_GROUPS.buildings.includes(l.id), l.id);
  }
});

test('runtime layers take the tiles\' zooms', () => {
  const other = zoomRules({ ...TILEJSON, gridmap: { zooms: { ...TILEJSON.gridmap.zooms, grid_levels: [7, 10, 12], buildings: 15 } } });
  const s2 = build({ base: BASE, zooms: other });
  const minzoom = (id) => s2.layers.find((l) => l.id === id).minzoom;
  assert.equal(minzoom('assign-lock'), 12);
  assert.equal(minzoom('grid-hover'), 10);
  assert.equal(minzoom('buildings-sel'), 15);
});

test('a metric recolours grid-fill-l3 alone; households are the style\'s own classes', () => {
  const LEVEL3 = ['==', ['to-number', ['get', 'level']], 3];
  const vis = (s, id) => s.layers.find((l) => l.id === id).layout?.visibility ?? 'visible';
  const l3 = (s) => s.layers.find((l) => l.id === 'grid-fill-l3');
  const hh = buildStyle({ metric: 'households' });
  const base = BASE.layers.find((l) => l.id === 'grid-fill-l3');
  assert.deepEqual(l3(hh).filter, base.filter);
  assert.deepEqual(l3(hh).paint['fill-color'], base.paint['fill-color']);
  for (const id of L3_FILLS) assert.equal(vis(hh, id), 'visible', id);
  const wl = buildStyle({ metric: 'workload' });
  assert.deepEqual(l3(wl).filter, LEVEL3);
  assert.match(JSON.stringify(l3(wl).paint['fill-color']), /carriers/);
  for (const id of L3_FILLS.slice(1)) assert.equal(vis(wl, id), 'none', id);
  // and back, on the same document, as the map does it
  const m = styleTarget(wl);
  applyFillTo(m, 'households', { target: 300, band: 0.2 });
  assert.deepEqual(l3(wl).filter, base.filter);
  for (const id of L3_FILLS) assert.equal(vis(wl, id), 'visible', id);
  // buildings, straddling ones too, darken on hover over the style's colours
  for (const id of BUILDING_FILLS) {
    const f = JSON.stringify(wl.layers.find((l) => l.id === id).paint['fill-color']);
    assert.match(f, /hover/, id);
    assert.ok(f.includes(BASE.layers.find((l) => l.id === id).paint['fill-color']), id);
  }
});

test('grid labels come from the tiles\' label points, one layer per level, text by mode', () => {
  // the labels are style.json's, so every client labels the grids alike; the UI sets the text
  const labels = BASE.layers.filter((l) => l.id.startsWith('label-'));
  assert.deepEqual(labels.map((l) => l['source-layer']), ['grid_labels', 'grid_labels', 'grid_labels']);
  const cov = buildStyle({ labels: { mode: 'coverage', metric: 'staffing' } });
  assert.match(JSON.stringify(cov.layers.find((l) => l.id === 'label-l3').layout['text-field']), /staffed/);
  const t = (k) => k;
  assert.deepEqual(labelField({ t }), ['get', 'label']);
  // Coverage mode: the level-3 grids' value beside the name (never colour alone)
  for (const metric of ['staffing', 'workload', 'compactness']) {
    const f = JSON.stringify(labelField({ mode: 'coverage', metric, t }));
    assert.match(f, /"level"/, metric);
    assert.match(f, metric === 'compactness' ? /polsby_popper/ : metric === 'workload' ? /carriers/ : /staffed/, metric);
  }
  // Assign mode: the community's grids with households and a lock mark
  const a = JSON.stringify(labelField({ mode: 'assign', codes: ['1'], locked: ['1'], t }));
  assert.match(a, /households/);
  assert.match(a, /assign\.locked/);
});

test('Assign mode paint expressions pass validateStyleMin', () => {
  for (const sw of [new Map(), swatches(['990100001001002', '990100001001001', '990100001001003'])]) {
    const s = buildStyle({});
    const m = styleTarget(s);
    setL3Fill(m, assignGridFill(sw));
    setBuildingFill(m, assignBuildingFill(sw, '#E69F00'));
    m.setFilter('assign-lock', ['in', ['get', 'code'], ['literal', [...sw.keys()]]]);
    for (const id of BUILDING_FILLS) assert.match(JSON.stringify(s.layers.find((l) => l.id === id).paint['fill-color']), sw.size ? /grid_code/ : /sel/);
    assert.deepEqual(validateStyleMin(s).map((e) => e.message), [], `${sw.size} swatches`);
  }
});

test('gl-style-validate accepts the style and rejects a broken one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gridmap-style-'));
  try {
    const good = join(dir, 'style.json');
    writeFileSync(good, JSON.stringify(buildStyle({ tilesUrl: 'http://127.0.0.1:8080/tiles.json' }), null, 2));
    const out = execFileSync(validator, [good], { encoding: 'utf8' });
    assert.equal(out.trim(), '');
    // the validator is live: a layer on a missing source and a bad colour fail
    const bad = buildStyle({});
    bad.layers.push({ id: 'x', type: 'fill', source: 'nope', 'source-layer': 'grids', paint: { 'fill-color': 'not-a-colour' } });
    const badFile = join(dir, 'bad.json');
    writeFileSync(badFile, JSON.stringify(bad));
    assert.throws(() => execFileSync(validator, [badFile], { encoding: 'utf8', stdio: 'pipe' }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every metric has a legend entry per colour it paints', () => {
  const t = (k) => k;
  for (const metric of METRIC_NAMES) {
    const items = legendItems(metric, t);
    assert.ok(items.length >= 3, metric);
    const style = buildStyle({ metric });
    const shown = style.layers.filter((l) => L3_FILLS.includes(l.id) && l.layout?.visibility !== 'none');
    const colours = JSON.stringify(shown.map((l) => l.paint['fill-color'])).match(/#[0-9a-f]{6}/gi);
    for (const c of new Set(colours)) {
      assert.ok(items.some((it) => it.color.toLowerCase() === c.toLowerCase()), `${metric}: ${c} has no legend entry`);
    }
  }
});
