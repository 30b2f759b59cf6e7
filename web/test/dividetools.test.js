// Unit tests of the auto-divide panel's histogram and of the empty level's rules (src/dividetools.js).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { bandStatus, gapFilter, histogram, undivided, undividedUnder, withoutEmptyLevel } from '../src/dividetools.js';
import { indexReport } from '../src/model.js';

const band = { low: 240, high: 360 };

test('bandStatus: under, within (edges included), over', () => {
  assert.equal(bandStatus(239, 240, 360), 'under');
  assert.equal(bandStatus(240, 240, 360), 'within');
  assert.equal(bandStatus(360, 240, 360), 'within');
  assert.equal(bandStatus(361, 240, 360), 'over');
});

test('histogram: bins on the band edges, two bins of margin each side, every value counted once', () => {
  const h = histogram([302, 360, 338, 248, 303], band);
  assert.equal(h.width, 30, 'the band is four bins');
  assert.equal(h.start, 180);
  assert.equal(h.top, 420);
  assert.deepEqual(h.bins.map((b) => [b.lo, b.n, b.status]), [
    [180, 0, 'under'], [210, 0, 'under'], [240, 1, 'within'], [270, 0, 'within'],
    [300, 2, 'within'], [330, 1, 'within'], [360, 1, 'over'], [390, 0, 'over'],
  ]);
  assert.equal(h.overflow, null);
});

test('histogram: the axis reaches 0 for a tiny grid and ends at twice the band top; beyond it one overflow bin', () => {
  const h = histogram([3, 300, 5000, 4000], band);
  assert.equal(h.start, 0);
  assert.equal(h.top, 720);
  assert.deepEqual(h.overflow, { lo: 720, n: 2 });
  assert.equal(h.bins.reduce((s, b) => s + b.n, 0) + h.overflow.n, 4);
  assert.equal(h.bins[0].n, 1);
  // a value exactly at the axis' top is in the last bin, not the overflow
  const e = histogram([420], band);
  assert.equal(e.top, 420);
  assert.equal(e.overflow, null);
  assert.equal(e.bins[e.bins.length - 1].n, 1);
});

test('histogram: a band not on round numbers, and one too narrow to bin, still count every value', () => {
  const h = histogram([255, 260, 300], { low: 255, high: 345 });
  assert.ok(h.bins.every((b) => b.status !== 'within' || (b.lo >= 255 - 1e-9 && b.hi <= 345 + 1e-9)), 'within bins inside the band');
  assert.equal(h.bins.reduce((s, b) => s + b.n, 0), 3);
  const n = histogram([300, 301, 1], { low: 297, high: 303 });
  assert.ok(n.bins.length <= 31);
  assert.equal(n.bins.reduce((s, b) => s + b.n, 0) + (n.overflow?.n || 0), 3);
  assert.equal(histogram([], band).bins.length, 8, 'no value: the band and its margins');
});

// a city of two subdistricts: A with community A1 (two grids) and A2 (none), B with none
const report = {
  grids: [
    { id: 1, level: 1, code: '990100001000000', name: 'A', parent_id: null, households: 900, buildings: 30 },
    { id: 2, level: 2, code: '990100001001000', name: 'A1', parent_id: 1, households: 600, buildings: 20 },
    { id: 3, level: 3, code: '990100001001001', name: 'A1-1', parent_id: 2, households: 300, buildings: 10 },
    { id: 4, level: 3, code: '990100001001002', name: 'A1-2', parent_id: 2, households: 300, buildings: 10 },
    { id: 5, level: 2, code: '990100001002000', name: 'A2', parent_id: 1, households: 300, buildings: 10 },
    { id: 6, level: 1, code: '990100002000000', name: 'B', parent_id: null, households: 50, buildings: 2 },
  ],
  gaps: [
    { parent: { id: 2, code: '990100001001000' }, area_m2: 12 },
    { parent: { id: 5, code: '990100001002000' }, area_m2: 90000 },
    { parent: { id: 6, code: '990100002000000' }, area_m2: 80000 },
  ],
  buildings_outside: [
    { id: 10, code: '99010000100100100009' }, // in a gap of A1: a real finding
    { id: 11, code: '99010000100200000001' }, // in A2, which has no grids yet
    { id: 12, code: '99010000200000000001' }, // in B
    { id: 13, code: '00000000000000000001' }, // in no grid at all
  ],
  findings: { gaps: 3, buildings_outside: 4, overlaps: 0 },
};

test('undivided: level-1 and level-2 grids without children; under a grid; the gap filter', () => {
  const idx = indexReport(report);
  assert.deepEqual(undivided(idx).map((g) => g.name), ['A2', 'B']);
  assert.deepEqual(undividedUnder(idx, idx.byId.get(1)).map((g) => g.name), ['A2']);
  assert.deepEqual(undividedUnder(idx, idx.byId.get(5)).map((g) => g.name), ['A2']);
  assert.deepEqual(undividedUnder(idx, idx.byId.get(2)), []);
  assert.deepEqual(undividedUnder(idx, null).map((g) => g.name), ['A2', 'B']);
  assert.deepEqual(gapFilter([]), ['==', ['get', 'kind'], 'gap']);
  assert.deepEqual(gapFilter(['x']), ['all', ['==', ['get', 'kind'], 'gap'], ['!', ['in', ['get', 'parent'], ['literal', ['x']]]]]);
  // the tree counts the real gap only
  assert.equal(idx.issues.get(2), 1, 'A1: its gap');
  assert.equal(idx.issues.get(5) || 0, 0, 'A2: no issue for being undivided');
  assert.equal(idx.issues.get(1), 1, 'A: the gap of A1');
});

test('withoutEmptyLevel: the gaps and outside buildings of undivided grids go, the rest stays and is counted', () => {
  const idx = indexReport(report);
  const r = withoutEmptyLevel(report, undivided(idx).map((g) => g.code));
  assert.deepEqual(r.gaps.map((g) => g.parent.code), ['990100001001000']);
  assert.deepEqual(r.buildings_outside.map((b) => b.id), [10, 13]);
  assert.equal(r.findings.gaps, 1);
  assert.equal(r.findings.buildings_outside, 2);
  assert.deepEqual(r.empty_level, { gaps: 2, buildings_outside: 2 });
  assert.equal(report.findings.gaps, 3, 'the report itself is not changed');
  assert.equal(withoutEmptyLevel(report, []), report);
});
