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
import { assignBuildingFill, assignGridFill, buildStyle, overlayLayers } from '../src/style.js';

const validator = fileURLToPath(new URL('../node_modules/.bin/gl-style-validate', import.meta.url));

const variants = [];
for (const metric of METRIC_NAMES) {
  for (const basemap of ['', 'https://tiles.example.org/{z}/{x}/{y}.png']) {
    variants.push({ metric, basemap, selected: '990100001001000', band: { target: 250, band: 0.15 } });
  }
}

test('every style variant passes validateStyleMin', () => {
  for (const v of variants) {
    const errors = validateStyleMin(buildStyle(v));
    assert.deepEqual(errors.map((e) => e.message), [], JSON.stringify({ metric: v.metric, basemap: v.basemap }));
  }
});

test('the style has no glyphs or sprite URL: nothing is fetched but our tiles', () => {
  const s = buildStyle({});
  assert.equal(s.glyphs, undefined);
  assert.equal(s.sprite, undefined);
  assert.deepEqual(Object.keys(s.sources).sort(), ['compare', 'draw', 'focus', 'gridmap', 'labels']);
  // our layers only ever read our sources
  for (const l of overlayLayers({})) assert.ok(['gridmap', 'labels', 'focus', 'draw', 'compare'].includes(l.source), l.id);
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
