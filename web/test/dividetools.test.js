// Unit tests of the auto-divide panel's histogram and of the empty level's rules (src/dividetools.js).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { bandStatus, emptyNotice, GAP_FILTER, histogram, withoutEmptyLevel } from '../src/dividetools.js';

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
// The city of the tests below as the server summarizes it: subdistrict A with community A1
// (two grids, a 12 m² gap) and community A2 (no grid yet), subdistrict B (no community yet).
// The empty level is A2 and B: their whole areas are two of the three gaps, and the buildings
// derived into them two of the four outside every level-3 grid.
const city = {
  grids_per_level: [2, 2, 2],
  gaps: 3,
  findings: { gaps: 3, buildings_outside: 4, overlaps: 0 },
  findings_total: 7,
  one_grid_share: 0.5,
  empty_level: {
    grids: [1, 1], households: [50, 300], gaps: 2, buildings_outside: 2,
    first: [{ id: 5, level: 2, code: '990100001002000', name: 'A2' }, { id: 6, level: 1, code: '990100002000000', name: 'B' }],
  },
};
const subA = {
  grids_per_level: [1, 2, 2], gaps: 2, findings: { gaps: 2, buildings_outside: 2 }, findings_total: 4,
  empty_level: { grids: [0, 1], households: [0, 300], gaps: 1, buildings_outside: 1, first: [city.empty_level.first[0]] },
};
const a2 = {
  grids_per_level: [0, 1, 0], gaps: 1, findings: { gaps: 1, buildings_outside: 1 }, findings_total: 2,
  empty_level: { grids: [0, 1], households: [0, 300], gaps: 1, buildings_outside: 1, first: [city.empty_level.first[0]] },
};
const a1 = { grids_per_level: [0, 1, 2], gaps: 1, findings: { gaps: 1 }, findings_total: 1, empty_level: { grids: [0, 0], households: [0, 0], gaps: 0, buildings_outside: 0, first: [] } };

test('GAP_FILTER: gaps, but not those the tiles mark undivided', () => {
  assert.deepEqual(GAP_FILTER, ['all', ['==', ['get', 'kind'], 'gap'], ['!', ['has', 'undivided']]]);
});

test('emptyNotice: the city, a subdistrict with some communities undivided, an undivided community, a divided one', () => {
  const c = emptyNotice(city, null);
  assert.deepEqual(c.parts, [{ key: 'empty.some', n: 1, of: 2, hh: 300 }, { key: 'empty.someL1', n: 1 }]);
  assert.equal(c.count, 2);
  assert.equal(c.households, 350);
  assert.deepEqual(c.first.map((g) => g.name), ['A2', 'B']);
  assert.equal(c.more, 0);
  const a = emptyNotice(subA, { id: 1, level: 1 });
  assert.deepEqual(a.parts, [{ key: 'empty.some', n: 1, of: 2, hh: 300 }]);
  assert.deepEqual(emptyNotice(a2, { id: 5, level: 2 }).parts, [{ key: 'empty.community' }]);
  assert.deepEqual(emptyNotice({ ...a2, empty_level: { ...a2.empty_level, grids: [1, 0], first: [{ id: 6 }] } }, { id: 6, level: 1 }).parts, [{ key: 'empty.subdistrict' }]);
  assert.equal(emptyNotice(a1, { id: 2, level: 2 }), null);
  assert.equal(emptyNotice(city, { id: 3, level: 3 }), null, 'a grid says nothing');
  assert.equal(emptyNotice({}, null), null, 'a summary without the field');
  // every community undivided, more of them than are named
  const all = emptyNotice({ grids_per_level: [1, 9, 0], empty_level: { grids: [0, 9], households: [0, 900], first: city.empty_level.first } }, null);
  assert.deepEqual(all.parts, [{ key: 'empty.all', n: 9, hh: 900 }]);
  assert.equal(all.more, 7);
});

test('withoutEmptyLevel: the gaps and outside buildings of undivided grids go, the rest stays and is counted', () => {
  const r = withoutEmptyLevel(city);
  assert.equal(r.gaps, 1);
  assert.equal(r.findings.gaps, 1);
  assert.equal(r.findings.buildings_outside, 2);
  assert.equal(r.findings_total, 3);
  assert.equal(r.one_grid_share, 0.5, 'those buildings are in no level-3 grid all the same');
  assert.equal(city.gaps, 3, 'the summary itself is not changed');
  assert.equal(withoutEmptyLevel(a1), a1);
});
