// Unit tests of the Assign mode's selection geometry and bookkeeping (src/assigntools.js).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { classify, etagGrid, lassoHits, pointInRing, simplifyPath, swatches, SWATCHES, touchesCircle } from '../src/assigntools.js';

const square = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]];

test('pointInRing and lassoHits: a footprint is in a lasso when its centroid is', () => {
  assert.equal(pointInRing([5, 5], square), true);
  assert.equal(pointInRing([15, 5], square), false);
  const lasso = [[-1, -1], [12, -1], [12, 12], [-1, 12]];
  assert.equal(lassoHits([square], lasso), true);
  // half inside: the centroid (5, 5) is outside a lasso ending at x = 4
  assert.equal(lassoHits([square], [[-1, -1], [4, -1], [4, 12], [-1, 12]]), false);
  assert.equal(lassoHits([square], [[0, 0], [1, 1]]), false, 'fewer than three points is no lasso');
});

test('touchesCircle: centre inside, an edge within the radius, or neither', () => {
  assert.equal(touchesCircle([square], [5, 5], 1), true);
  assert.equal(touchesCircle([square], [13, 5], 3.5), true);
  assert.equal(touchesCircle([square], [13, 5], 2.5), false);
  // inside a hole is not inside the polygon; the hole's edge still counts
  const hole = [[3, 3], [7, 3], [7, 7], [3, 7], [3, 3]];
  assert.equal(touchesCircle([square, hole], [5, 5], 1), false);
  assert.equal(touchesCircle([square, hole], [5, 5], 2.5), true);
});

test('classify: dedupes tile pieces and says why buildings stay', () => {
  const target = { code: '990100001001002' };
  const f = (id, grid, households = 10) => ({ id, properties: { grid_code: grid, households } });
  const r = classify([
    f(1, '990100001001001'), f(1, '990100001001001'), // one building cut by a tile edge
    f(2, '990100001001002'), // already in the target
    f(3, '990100001001003'), // in a locked grid
    f(4, '990100001002001'), // another community
    f(5, ''), // in a gap
    f(6, '990100001001004', 7),
    { properties: { grid_code: '990100001001001' } }, // no id: not a building we can name
  ], { target, locked: new Set(['990100001001003']) });
  assert.deepEqual(r.ok, [1, 6]);
  assert.equal(r.households, 17);
  assert.deepEqual(r.skipped, { already: 1, locked: 1, outside: 1, gap: 1 });
});

test('swatches: by code order, stable, colour-blind-safe set first', () => {
  const sw = swatches(['990100001001003', '990100001001001', '990100001001002']);
  assert.deepEqual([...sw.keys()], ['990100001001001', '990100001001002', '990100001001003']);
  assert.deepEqual([...sw.values()], SWATCHES.slice(0, 3));
  assert.equal(new Set(SWATCHES).size, SWATCHES.length, 'no colour twice');
});

test('simplifyPath and etagGrid', () => {
  assert.deepEqual(simplifyPath([[0, 0], [1, 0], [5, 0], [5, 1], [9, 0]], 3), [[0, 0], [5, 0], [9, 0]]);
  assert.equal(etagGrid('"grid-12-v3"'), 12);
  assert.equal(etagGrid('grid-7-v10'), 7);
  assert.equal(etagGrid('"worker-3-v1"'), null);
  assert.equal(etagGrid(undefined), null);
});
