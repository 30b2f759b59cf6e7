// Unit tests of the Assign mode's selection geometry and bookkeeping (src/assigntools.js), and of
// the words a refused edit is shown with (src/i18n.js refusal).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  classify, etagGrid, lassoHits, lockedCodes, lockedRefusal, pointInRing, simplifyPath, swatches, SWATCHES, touchesCircle,
} from '../src/assigntools.js';
import { lockedText, refusal, refusedNote } from '../src/i18n.js';

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

test('lockedCodes: the locked grids of a page of GET /grids features', () => {
  const f = (code, locked) => ({ type: 'Feature', properties: { code, locked } });
  assert.deepEqual([...lockedCodes([f('990100001001001', false), f('990100001001002', true), f('990100001001003', undefined)])], ['990100001001002']);
  assert.deepEqual([...lockedCodes(undefined)], []);
  // a truthy value that is not the boolean (an older server has no `locked`) is not a lock
  assert.deepEqual([...lockedCodes([f('990100001001004', 'false')])], []);
});

test('lockedRefusal: reads the grid out of the database guard\'s message, nothing else', () => {
  assert.deepEqual(lockedRefusal('grid 990100001001003 (东街第3网格) is locked: unlock it first'), { code: '990100001001003', name: '东街第3网格' });
  // a name with brackets of its own; the message as an edit wraps it
  assert.deepEqual(lockedRefusal('paint: grid 990100001001004 (North (old)) is locked: unlock it first.'), { code: '990100001001004', name: 'North (old)' });
  assert.equal(lockedRefusal('grid 990100001001003 was changed by alice'), null);
  assert.equal(lockedRefusal('the grid is locked'), null);
  assert.equal(lockedRefusal(undefined), null);
});

test('refusal: a lock gets a sentence naming the grid, the server\'s words as the detail; other refusals as before', () => {
  const locked = { status: 409, code: 'ECONFLICT', message: 'grid 990100001001003 (东街第3网格) is locked: unlock it first.' };
  assert.equal(lockedText(locked), '「东街第3网格」的边界已锁定，先解除锁定');
  assert.deepEqual(refusal(locked), { why: '「东街第3网格」的边界已锁定，先解除锁定', detail: 'grid 990100001001003 (东街第3网格) is locked: unlock it first' });
  assert.deepEqual(refusedNote(locked), {
    kind: 'error', code: 'ECONFLICT', text: '未保存（ECONFLICT）：「东街第3网格」的边界已锁定，先解除锁定。没有任何改动。',
    detail: 'grid 990100001001003 (东街第3网格) is locked: unlock it first',
  });
  // the same words under another code are not a lock's refusal
  assert.equal(lockedText({ ...locked, code: 'EINVALID' }), '');
  const other = { status: 409, code: 'ECONFLICT', message: 'concurrent update, try again' };
  assert.equal(lockedText(other), '');
  assert.deepEqual(refusal(other), { why: '与现有数据冲突（已被修改，或已是这样）', detail: 'concurrent update, try again' });
  // a code the UI has no sentence for: the server's words are the why
  assert.deepEqual(refusal({ status: 500, code: 'EINTERNAL', message: 'boom.' }), { why: 'boom', detail: '' });
  assert.equal(refusedNote({ status: 403, code: 'EFORBIDDEN', message: 'viewer may not' }).text, '无权操作（EFORBIDDEN）：你的角色不允许这项修改。没有任何改动。');
});
