// The UI's copy of the China coordinate conversions agrees with Go's geo/chinacrs, and the
// per-tile affine warp that shifts a GCJ-02 basemap stays within a small fraction of a pixel
// of the exact shift at street zooms, and within about a pixel at z8.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { sourcePixel, tileURL, tileWarp } from '../src/basemap.js';
import {
  bd09ToGcj02, bd09ToWgs84, gcj02ToBd09, gcj02ToWgs84, inChina, wgs84ToBd09, wgs84ToGcj02,
} from '../src/chinacrs.js';

// written by `go test ./geo/chinacrs -run Web -update` from the Go package
const pairs = JSON.parse(readFileSync(new URL('./testdata/chinacrs.json', import.meta.url), 'utf8'));

function near(got, want, what, tol = 1e-6) {
  assert.ok(Math.abs(got[0] - want[0]) <= tol && Math.abs(got[1] - want[1]) <= tol, `${what}: got ${got}, want ${want}`);
}

test('conversions agree with the Go package within 1e-6°', () => {
  assert.ok(pairs.length > 500);
  let worst = 0;
  for (const w of pairs) {
    assert.equal(inChina(w.p), w.in_china, `inChina(${w.p})`);
    const cases = [
      [wgs84ToGcj02(w.p), w.wgs84_to_gcj02, 'wgs84ToGcj02'], [gcj02ToWgs84(w.p), w.gcj02_to_wgs84, 'gcj02ToWgs84'],
      [wgs84ToBd09(w.p), w.wgs84_to_bd09, 'wgs84ToBd09'], [bd09ToWgs84(w.p), w.bd09_to_wgs84, 'bd09ToWgs84'],
    ];
    for (const [got, want, what] of cases) {
      near(got, want, `${what}(${w.p})`);
      worst = Math.max(worst, Math.abs(got[0] - want[0]), Math.abs(got[1] - want[1]));
    }
  }
  // both sides compute the same series in float64: far closer than the 1e-6° asked for
  assert.ok(worst < 1e-9, `largest difference ${worst}°`);
  assert.ok(pairs.some((w) => w.in_china) && pairs.some((w) => !w.in_china));
});

test('round trips and the BD-09 inverse', () => {
  for (const p of [[118.7021, 32.0013], [87.6, 43.8], [126.6, 45.75], [121.56, 25.04]]) {
    near(gcj02ToWgs84(wgs84ToGcj02(p)), p, 'gcj02 round trip', 1e-9);
    near(bd09ToGcj02(gcj02ToBd09(p)), p, 'bd09 round trip', 1e-9);
  }
});

test('tileURL fills in an XYZ or TMS template', () => {
  assert.equal(tileURL('http://h/{z}/{x}/{y}.png', 3, 9, 2), 'http://h/3/1/2.png');
  assert.equal(tileURL('http://h/{z}/{x}/{-y}.png', 3, 1, 2), 'http://h/3/1/5.png');
});

test('the per-tile affine warp is within a small fraction of a pixel of the exact shift', () => {
  // tiles spread over China at each zoom; the error is measured on a 9 × 9 grid of each
  const places = [[118.7021, 32.0013], [116.4, 39.9], [104.07, 30.67], [87.6, 43.8], [113.26, 23.13], [105.01, 35.3]];
  const worst = {};
  for (let z = 8; z <= 19; z++) {
    let w = 0;
    for (const [lon, lat] of places) {
      const n = 2 ** z;
      const s = Math.sin((lat * Math.PI) / 180);
      const x = Math.floor(((lon + 180) / 360) * n);
      const y = Math.floor((0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * n);
      const { forward, tiles } = tileWarp(z, x, y);
      assert.ok(tiles.length >= 1 && tiles.length <= 4, `z${z}: ${tiles.length} provider tiles`);
      for (let i = 0; i <= 8; i++) {
        for (let j = 0; j <= 8; j++) {
          const exact = sourcePixel(z, x, y, i * 32, j * 32);
          const fit = forward(i * 32, j * 32);
          w = Math.max(w, Math.hypot(exact[0] - fit[0], exact[1] - fit[1]));
        }
      }
    }
    worst[z] = w;
  }
  console.log('affine warp, largest error in pixels by zoom:', Object.entries(worst).map(([z, e]) => `z${z} ${e.toFixed(4)}`).join(', '));
  for (const [z, e] of Object.entries(worst)) assert.ok(e < (z >= 14 ? 0.1 : 1.5), `z${z}: ${e} px`);
});

test('the warp\'s canvas transform takes provider pixels from a nearby origin back to the tile', () => {
  const { forward, transform, tiles } = tileWarp(17, 108754, 53227);
  const [ox, oy] = [tiles[0][0] * 256, tiles[0][1] * 256];
  const [a, b, c, d, e, f] = transform(ox, oy);
  assert.ok(Math.abs(e) < 1024 && Math.abs(f) < 1024, 'small numbers only: canvas transforms are single precision');
  for (const [px, py] of [[0, 0], [256, 0], [17, 200], [128, 128]]) {
    const [qx, qy] = forward(px, py);
    const [lx, ly] = [qx - ox, qy - oy];
    near([a * lx + c * ly + e, b * lx + d * ly + f], [px, py], 'inverse', 1e-6);
  }
});
