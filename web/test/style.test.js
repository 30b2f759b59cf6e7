// The map's style passes the MapLibre style-spec validator: the library function on every
// mode/metric/basemap variant the app builds, and the gl-style-validate command line on the
// default style, as a MapLibre user would run it.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec';

import { METRIC_NAMES, legendItems } from '../src/metrics.js';
import { swatches } from '../src/assigntools.js';
import { assignBuildingFill, assignGridFill, buildStyle as build, labelField, overlayLayers as overlay, zoomRules } from '../src/style.js';

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
const buildStyle = (o = {}) => build({ zooms, ...o });
const overlayLayers = (o = {}) => overlay({ zooms, ...o });

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

test('the style has no glyphs or sprite URL: nothing is fetched but our tiles', () => {
  const s = buildStyle({});
  assert.equal(s.glyphs, undefined);
  assert.equal(s.sprite, undefined);
  assert.deepEqual(Object.keys(s.sources).sort(), ['compare', 'draw', 'focus', 'gridmap']);
  // our layers only ever read our sources
  for (const l of overlayLayers({})) assert.ok(['gridmap', 'focus', 'draw', 'compare'].includes(l.source), l.id);
  // the TileJSON the app read goes in whole: MapLibre asks for nothing but the tiles
  const inline = buildStyle({ tiles: TILEJSON }).sources.gridmap;
  assert.deepEqual(inline.tiles, TILEJSON.tiles);
  assert.equal(inline.url, undefined);
});

test('zoom rules come from tiles.json: its gridmap member, else its vector layers', () => {
  assert.deepEqual(zooms, { l1: 8, l2: 11, l3: 13, buildings: 14, units: 16, coverage: 10, roads: 12, allRoads: 14, densityMax: 13 });
  const style = buildStyle();
  const minzoom = (id) => style.layers.find((l) => l.id === id).minzoom;
  assert.equal(minzoom('grid-fill-l3'), 13);
  assert.equal(minzoom('buildings'), 14);
  assert.equal(minzoom('units'), 16);
  // another server's rules move the layers with them
  const other = zoomRules({ ...TILEJSON, gridmap: { zooms: { ...TILEJSON.gridmap.zooms, grid_levels: [7, 10, 12], buildings: 15 } } });
  const s2 = build({ zooms: other });
  assert.equal(s2.layers.find((l) => l.id === 'grid-fill-l3').minzoom, 12);
  assert.equal(s2.layers.find((l) => l.id === 'buildings').minzoom, 15);
  assert.equal(s2.layers.find((l) => l.id === 'density').maxzoom, 12);
  // without the member, each layer's minzoom (grid levels all from the grids layer's)
  const bare = zoomRules({ vector_layers: TILEJSON.vector_layers });
  assert.equal(bare.buildings, 14);
  assert.equal(bare.l1, 8);
  assert.throws(() => zoomRules({}), /no zoom/);
});

test('grid labels come from the tiles\' label points, one layer per level, text by mode', () => {
  const labels = buildStyle().layers.filter((l) => l.id.startsWith('label-'));
  assert.deepEqual(labels.map((l) => l['source-layer']), ['grid_labels', 'grid_labels', 'grid_labels']);
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
    s.layers.find((l) => l.id === 'grid-fill-l3').paint['fill-color'] = assignGridFill(sw);
    s.layers.find((l) => l.id === 'buildings').paint['fill-color'] = assignBuildingFill(sw, '#E69F00');
    s.layers.find((l) => l.id === 'assign-lock').filter = ['in', ['get', 'code'], ['literal', [...sw.keys()]]];
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
    const colours = JSON.stringify(buildStyle({ metric }).layers.find((l) => l.id === 'grid-fill-l3').paint['fill-color'])
      .match(/#[0-9a-f]{6}/gi);
    for (const c of new Set(colours)) {
      assert.ok(items.some((it) => it.color.toLowerCase() === c.toLowerCase()), `${metric}: ${c} has no legend entry`);
    }
  }
});
