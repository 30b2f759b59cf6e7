// End-to-end tests of the Assign mode: a real gridmap on the demo city of its own
// (these tests change the data), driven in Chromium with real pointer input on the map canvas.
// Every check is against what the API says afterwards, never against the UI's own state.
// Screenshots land in web/test-results/ (git-ignored).
//
// The tests run in order and build on each other: paint, split, then undo of both. Merge (and
// its undo), lasso, brush and the quick double click each start from the data as they find it.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';

import { launch, open as openPage, screen, settle } from './browser.js';
import { getJSON, startGridmap, webDir } from './server.js';

const shots = join(webDir, 'test-results');
mkdirSync(shots, { recursive: true });

let server;
let browser;
const tokens = {};
let community; // the level-2 grid the tests edit
let grids; // its level-3 grids as the balance API gave them at the start

before(async () => {
  server = await startGridmap();
  browser = await launch();
  for (const [name, role] of [['plan-e2e', 'planner'], ['plan-other', 'planner'], ['view-e2e', 'viewer']]) {
    tokens[name] = server.cli('user', 'add', name, '--role', role).trim().split('\n').pop();
  }
  const report = await getJSON(server.base, '/api/v1/coverage?limit=10000');
  community = report.grids.find((g) => g.level === 2);
  grids = (await getJSON(server.base, `/api/v1/balance?parent=${community.code}`)).grids;
  assert.ok(grids.length >= 4, `community ${community.code} has ${grids.length} grids`);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const open = (path) => openPage(browser, server.base, path);

async function buildingsOf(code) {
  return (await getJSON(server.base, `/api/v1/buildings?grid=${code}&limit=10000`)).features;
}

/** getAuth GETs an API path as user name (the staff directory needs signing in). */
async function getAuth(path, name = 'plan-e2e') {
  const res = await fetch(server.base + path, { headers: { Authorization: `Bearer ${tokens[name]}` } });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function balance() {
  return getJSON(server.base, `/api/v1/balance?parent=${community.code}`);
}

/** signIn signs in through the UI's dialog, as a user would, with a token from the CLI. */
async function signIn(page, name, role) {
  await page.click('#user');
  await page.fill('#token-input', tokens[name]);
  await page.click('#login-submit');
  await page.waitForFunction((r) => document.querySelector('#user')?.dataset.role === r, role);
}

/** pickTarget clicks a grid's row in the balance panel. */
async function pickTarget(page, code) {
  await page.click(`.agrid[data-code="${code}"]`);
  await page.waitForSelector(`.agrid.target[data-code="${code}"]`);
}

/**
 * act runs a UI action that saves (a stroke, a button, a key) and waits until the save has
 * settled; it returns the app's report of the write and fails with the panel's message when
 * the save was refused.
 */
async function act(page, fn, { expectError = false } = {}) {
  const n = await page.evaluate(() => window.gridmap.assign.settled || 0);
  await fn();
  await page.waitForFunction((k) => (window.gridmap.assign.settled || 0) > k, n, { timeout: 30000 });
  const note = await page.evaluate(() => window.gridmap.assign.state.note);
  if (!expectError) assert.notEqual(note?.kind, 'error', note?.text);
  return { note, last: await page.evaluate(() => window.gridmap.assign.last) };
}

/** drag presses the mouse at a, moves to b in steps and releases: a real box stroke. */
async function drag(page, a, b) {
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 });
  await page.mouse.move(b.x, b.y, { steps: 5 });
  await page.mouse.up();
}

const ring = (f) => (f.geometry.type === 'MultiPolygon' ? f.geometry.coordinates[0][0] : f.geometry.coordinates[0]);
const centroid = (f) => {
  const r = ring(f);
  return [r.reduce((a, p) => a + p[0], 0) / r.length, r.reduce((a, p) => a + p[1], 0) / r.length];
};

/** panelGrids reads the balance panel's rows: the figures it shows, per grid code. */
function panelGrids(page) {
  return page.$$eval('.agrid', (els) => Object.fromEntries(els.map((e) => [e.dataset.code, {
    households: Number(e.dataset.households), buildings: Number(e.dataset.buildings), workers: Number(e.dataset.workers),
    per_worker: e.dataset.perWorker === '' ? null : Number(e.dataset.perWorker), polsby_popper: Number(e.dataset.pp),
    parts: Number(e.dataset.parts), version: Number(e.dataset.version), shown: e.querySelector('.ahh').textContent,
  }])));
}

/** assertPanelIsAPI: every row of the panel shows what GET /balance says now. */
async function assertPanelIsAPI(page) {
  const api = await balance();
  const shown = await panelGrids(page);
  assert.deepEqual(Object.keys(shown).sort(), api.grids.map((g) => g.code).sort(), 'one row per grid');
  for (const g of api.grids) {
    const s = shown[g.code];
    for (const k of ['households', 'buildings', 'workers', 'per_worker', 'parts', 'version']) assert.equal(s[k], g[k], `${g.code} ${k}`);
    assert.ok(Math.abs(s.polsby_popper - g.polsby_popper) < 1e-9, `${g.code} Polsby–Popper`);
    assert.equal(s.shown.replace(/\D/g, ''), String(g.households), `${g.code}: households as shown`);
  }
  return api;
}

/** tileBuilding fetches the z16 tile holding lnglat afresh and returns building id's properties. */
async function tileBuilding(lnglat, id) {
  const z = 16;
  const n = 2 ** z;
  const x = Math.floor(((lnglat[0] + 180) / 360) * n);
  const lat = (lnglat[1] * Math.PI) / 180;
  const y = Math.floor(((1 - Math.log(Math.tan(lat) + 1 / Math.cos(lat)) / Math.PI) / 2) * n);
  const res = await fetch(`${server.base}/tiles/${z}/${x}/${y}.mvt`);
  assert.equal(res.status, 200);
  const layer = new VectorTile(new PbfReader(new Uint8Array(await res.arrayBuffer()))).layers.buildings;
  for (let i = 0; i < layer.length; i++) {
    const f = layer.feature(i);
    if (f.id === id) return f.properties;
  }
  return null;
}

/** only drops the expected refusals from problems and asserts they were there. */
function withoutExpected(problems, patterns) {
  for (const p of patterns) assert.ok(problems.some((x) => p.test(x)), `expected ${p} among ${problems.join(' | ')}`);
  return problems.filter((x) => !patterns.some((p) => p.test(x)) && !/Failed to load resource: the server responded with a status of (401|403|412)/.test(x));
}

// what the paint test moved, for the undo test
const painted = { ids: [], donor: null, target: null, before: null };
let splitGrid = null;
let splitNew = null;

test('paint-assign: box-select buildings on the map into another grid; panel, API and tiles agree', async () => {
  const [donor, target] = grids;
  painted.donor = donor;
  painted.target = target;
  painted.before = await balance();
  const donorBuildings = await buildingsOf(donor.code);
  assert.ok(donorBuildings.length >= 3, `${donor.code} has ${donorBuildings.length} buildings`);
  // the two donor buildings nearest each other: the box goes around both
  let pair = null;
  for (const a of donorBuildings) {
    for (const b of donorBuildings) {
      if (a.id >= b.id) continue;
      const d = Math.hypot(centroid(a)[0] - centroid(b)[0], centroid(a)[1] - centroid(b)[1]);
      if (!pair || d < pair.d) pair = { a, b, d };
    }
  }
  const { page, context, problems } = await open(`/?sel=${community.code}&mode=assign`);
  try {
    await signIn(page, 'plan-e2e', 'planner');
    await pickTarget(page, target.code);
    // the view: both buildings in the middle of the map at street zoom
    const mid = [(centroid(pair.a)[0] + centroid(pair.b)[0]) / 2, (centroid(pair.a)[1] + centroid(pair.b)[1]) / 2];
    await page.evaluate((c) => window.gridmap.map.jumpTo({ center: c, zoom: 16 }), mid);
    await settle(page);
    await assertPanelIsAPI(page);
    await page.screenshot({ path: join(shots, 'assign-before-paint.png') });

    await page.click('#assign-tools [data-tool="box"]');
    const pts = await Promise.all([...ring(pair.a), ...ring(pair.b)].map((c) => screen(page, c)));
    const from = { x: Math.min(...pts.map((p) => p.x)) - 3, y: Math.min(...pts.map((p) => p.y)) - 3 };
    const to = { x: Math.max(...pts.map((p) => p.x)) + 3, y: Math.max(...pts.map((p) => p.y)) + 3 };
    // what the box covers on the map, other than the target's own buildings, is what must move
    const covered = await page.evaluate(([a, b, code]) => {
      const m = window.gridmap.map;
      const r = m.getCanvas().getBoundingClientRect();
      const fs = m.queryRenderedFeatures([[a.x - r.left, a.y - r.top], [b.x - r.left, b.y - r.top]], { layers: ['buildings'] });
      const inCommunity = (g) => g && g !== code && g.slice(0, 12) === code.slice(0, 12);
      return [...new Set(fs.filter((f) => inCommunity(f.properties.grid_code)).map((f) => f.id))];
    }, [from, to, target.code]);
    assert.ok(covered.includes(pair.a.id) && covered.includes(pair.b.id), `box covers ${covered}`);
    assert.ok(covered.length < donorBuildings.length, 'the box leaves the donor some buildings');
    assert.equal((await tileBuilding(centroid(pair.a), pair.a.id))?.grid_code, donor.code, 'tile before');

    const { last } = await act(page, () => drag(page, from, to));
    assert.equal(last.action, 'grid.paint');
    assert.deepEqual([...last.moved].sort(), [...covered].sort(), 'the buildings in the box moved');
    painted.ids = covered;

    // the API: the buildings are in the target now, the households went with them
    const targetNow = (await buildingsOf(target.code)).map((f) => f.id);
    for (const id of covered) assert.ok(targetNow.includes(id), `building ${id} in ${target.code}`);
    const movedHH = donorBuildings.filter((f) => covered.includes(f.id)).reduce((s, f) => s + f.properties.households, 0);
    const api = await assertPanelIsAPI(page);
    const was = (code) => painted.before.grids.find((g) => g.code === code);
    const now = (code) => api.grids.find((g) => g.code === code);
    assert.ok(movedHH > 0);
    assert.equal(now(target.code).households, was(target.code).households + movedHH, 'target gained the households');
    assert.equal(now(donor.code).households, was(donor.code).households - movedHH, 'donor lost them');
    assert.notEqual(now(target.code).households, was(target.code).households);
    // two buildings next to the boundary: both grids stay in one piece (the donor used to keep
    // a 1.2 m strip along the old boundary that cut the target in two)
    assert.equal(now(target.code).parts, 1, `${target.code} parts`);
    assert.equal(now(donor.code).parts, 1, `${donor.code} parts`);

    // a fresh tile says so, and so does the map (its tiles were refreshed)
    assert.equal((await tileBuilding(centroid(pair.a), pair.a.id))?.grid_code, target.code, 'tile after');
    await settle(page);
    const onMap = await page.evaluate((id) => window.gridmap.map.queryRenderedFeatures({ layers: ['buildings'] })
      .filter((f) => f.id === id).map((f) => f.properties.grid_code), pair.a.id);
    assert.ok(onMap.length > 0 && onMap.every((c) => c === target.code), `map shows ${onMap}`);
    // the tree and KPIs follow too (the coverage report)
    await page.waitForFunction(([code, hh]) => document.querySelector(`#tree .row[data-code="${code}"]`)?.textContent.replace(/\D/g, '').endsWith(String(hh)),
      [target.code, now(target.code).households]);
    assert.match(await page.locator('.anote.ok').textContent(), new RegExp(`${covered.length}`));
    await page.screenshot({ path: join(shots, 'assign-after-paint.png') });
    await page.locator('#panel').screenshot({ path: join(shots, 'assign-balance-panel.png') });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('split: a line drawn with mouse clicks across a grid makes a new grid', async () => {
  const others = grids.filter((g) => g.code !== painted.donor.code && g.code !== painted.target.code);
  splitGrid = others.reduce((a, b) => (b.buildings > a.buildings ? b : a));
  const before = await getJSON(server.base, `/api/v1/grids?parent=${community.code}&level=3&limit=1000`);
  const geom = (await getJSON(server.base, `/api/v1/grids/${splitGrid.code}`)).geometry;
  const xs = geom.coordinates.flat(2).map((c) => c[0]);
  const ys = geom.coordinates.flat(2).map((c) => c[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const buildingsBefore = (await buildingsOf(splitGrid.code)).length;
  const { page, context, problems } = await open(`/?sel=${community.code}&mode=assign`);
  try {
    await signIn(page, 'plan-e2e', 'planner');
    await pickTarget(page, splitGrid.code);
    await page.evaluate((b) => window.gridmap.map.fitBounds(b, { padding: 160, animate: false }), [[x0, y0], [x1, y1]]);
    await settle(page);
    await page.click('#assign-tools [data-tool="split"]');
    // a north–south line through the middle, from above the grid to below it
    const mx = (x0 + x1) / 2;
    const dy = (y1 - y0) * 0.15;
    const top = await screen(page, [mx, y1 + dy]);
    const bottom = await screen(page, [mx, y0 - dy]);
    await page.mouse.click(top.x, top.y);
    await page.mouse.move(bottom.x, bottom.y, { steps: 5 });
    await page.mouse.dblclick(bottom.x, bottom.y);
    await page.waitForSelector('#split-confirm');
    const drawn = await page.evaluate(() => window.gridmap.assign.state.split.points.length);
    assert.equal(drawn, 2, 'two points: the double-click ends the line, it adds no third');
    await page.screenshot({ path: join(shots, 'assign-split-line.png') });
    await page.fill('#split-name', '新分出的网格');
    const { last, note } = await act(page, () => page.click('#split-go'));
    assert.equal(last.action, 'grid.split');

    const afterList = await getJSON(server.base, `/api/v1/grids?parent=${community.code}&level=3&limit=1000`);
    assert.equal(afterList.numberMatched, before.numberMatched + 1);
    const codes = new Set(before.features.map((f) => f.properties.code));
    const added = afterList.features.filter((f) => !codes.has(f.properties.code));
    assert.equal(added.length, 1, 'one new grid');
    splitNew = added[0].properties;
    assert.equal(splitNew.name, '新分出的网格');
    assert.match(splitNew.code, new RegExp(`^${community.code.slice(0, 12)}\\d{3}$`), 'code under the community');
    assert.ok(note.text.includes(splitNew.code), note.text);
    const kept = (await buildingsOf(splitGrid.code)).length;
    const gone = (await buildingsOf(splitNew.code)).length;
    assert.equal(kept + gone, buildingsBefore, 'the buildings were shared out, none lost');
    await page.waitForSelector(`.agrid[data-code="${splitNew.code}"]`);
    await assertPanelIsAPI(page);
    await settle(page);
    await page.screenshot({ path: join(shots, 'assign-split.png') });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('undo and redo: Ctrl+Z undoes the split, the button undoes the paint, Ctrl+Shift+Z redoes it', async () => {
  assert.ok(splitNew && painted.ids.length, 'runs after the paint and split tests');
  const { page, context, problems } = await open(`/?sel=${community.code}&mode=assign`);
  try {
    await signIn(page, 'plan-e2e', 'planner');
    await page.waitForSelector('#assign-tools [data-op="undo"]:not([disabled])');
    let { last } = await act(page, () => page.keyboard.press('Control+z'));
    assert.equal(last.action, 'undo grid.split');
    const list = await getJSON(server.base, `/api/v1/grids?parent=${community.code}&level=3&limit=1000`);
    assert.ok(!list.features.some((f) => f.properties.code === splitNew.code), 'the split-off grid is gone');
    assert.equal(list.numberMatched, grids.length);
    await page.waitForFunction((code) => !document.querySelector(`.agrid[data-code="${code}"]`), splitNew.code);

    ({ last } = await act(page, () => page.click('#assign-tools [data-op="undo"]')));
    assert.equal(last.action, 'undo grid.paint');
    const donorNow = (await buildingsOf(painted.donor.code)).map((f) => f.id);
    for (const id of painted.ids) assert.ok(donorNow.includes(id), `building ${id} back in ${painted.donor.code}`);
    const api = await assertPanelIsAPI(page);
    for (const g of painted.before.grids) {
      assert.equal(api.grids.find((x) => x.code === g.code).households, g.households, `${g.code} as before the paint`);
    }

    await page.waitForSelector('#assign-tools [data-op="redo"]:not([disabled])');
    ({ last } = await act(page, () => page.keyboard.press('Control+Shift+z')));
    assert.equal(last.action, 'redo grid.paint');
    const targetNow = (await buildingsOf(painted.target.code)).map((f) => f.id);
    for (const id of painted.ids) assert.ok(targetNow.includes(id), `building ${id} in ${painted.target.code} again`);
    await assertPanelIsAPI(page);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('forbidden: signed out the paint is refused 401, as a viewer 403 — coded, shown, nothing changed', async () => {
  const before = await balance();
  const [donor, target] = before.grids;
  const b = (await buildingsOf(donor.code))[0];
  const { page, context, problems } = await open(`/?sel=${community.code}&mode=assign`);
  try {
    const stroke = async () => {
      await page.evaluate((c) => window.gridmap.map.jumpTo({ center: c, zoom: 16 }), centroid(b));
      await settle(page);
      const c = await screen(page, centroid(b));
      await drag(page, { x: c.x - 4, y: c.y - 4 }, { x: c.x + 4, y: c.y + 4 });
    };
    // signed out: the panel says why up front; trying anyway gets the server's 401
    assert.match(await page.locator('#panel .deny').textContent(), /未登录/);
    await pickTarget(page, target.code);
    await page.click('#assign-tools [data-tool="box"]');
    let { note } = await act(page, stroke, { expectError: true });
    assert.equal(note.code, 'EUNAUTHORIZED');
    assert.match(await page.locator('#panel .anote.error').textContent(), /^未登录（EUNAUTHORIZED）：请先在右上角登录/);

    await signIn(page, 'view-e2e', 'viewer');
    assert.match(await page.locator('#panel .deny').textContent(), /view-e2e（查看者）[\s\S]*只能查看/);
    await pickTarget(page, target.code);
    await page.click('#assign-tools [data-tool="box"]');
    ({ note } = await act(page, stroke, { expectError: true }));
    assert.equal(note.code, 'EFORBIDDEN');
    const shown = page.locator('#panel .anote.error[data-code="EFORBIDDEN"]');
    // the sentence in Chinese, the server's own (English) words under it as the detail
    assert.match(await shown.textContent(), /^无权操作（EFORBIDDEN）：你的角色不允许这项修改。没有任何改动。/);
    assert.match(await shown.locator('.detail').textContent(), /viewer/);
    // the building is drawn in its own grid's colour again, not the target's
    assert.equal(await page.evaluate(() => window.gridmap.assign.state.staged.size), 0);
    await page.screenshot({ path: join(shots, 'assign-viewer-forbidden.png') });

    const now = await balance();
    assert.equal(now.data_version, before.data_version, 'nothing written');
    assert.deepEqual(now.grids, before.grids);
    assert.ok((await buildingsOf(donor.code)).some((f) => f.id === b.id));
    assert.deepEqual(withoutExpected(problems, [/^HTTP 401 POST \/api\/v1\/grids\/\d+\/paint$/, /^HTTP 403 POST \/api\/v1\/grids\/\d+\/paint$/]), []);
  } finally {
    await context.close();
  }
});

test('staff panel: assign a worker to the target grid with a role, then end it (history kept)', async () => {
  const target = grids[2];
  const workers = (await getAuth('/api/v1/workers?limit=10000')).workers;
  const current = (await getAuth(`/api/v1/assignments?grid=${target.id}`)).assignments;
  const w = workers.find((x) => x.role === 'grid_worker' && !x.retired_at && !current.some((a) => a.worker_id === x.id));
  assert.ok(w, 'a free grid worker');
  const { page, context, problems } = await open(`/?sel=${community.code}&mode=assign`);
  try {
    await signIn(page, 'plan-e2e', 'planner');
    await pickTarget(page, target.code);
    await page.waitForSelector(`#staff[data-kind="grid"][data-id="${target.id}"]`);
    // the datalist offers the workers; choosing one fills in this value
    const option = await page.locator(`#worker-list option[value$="#${w.id}"]`).getAttribute('value');
    await page.fill('#worker-input', option);
    await page.selectOption('#worker-role', 'grid_worker');
    const { note } = await act(page, () => page.click('#worker-assign'));
    assert.ok(note.text.includes(w.display_name), note.text);
    const row = page.locator(`#staff li[data-worker="${w.id}"]`);
    await row.waitFor();
    assert.match(await row.textContent(), new RegExp(w.display_name));
    let list = (await getAuth(`/api/v1/assignments?grid=${target.id}`)).assignments;
    const a = list.find((x) => x.worker_id === w.id);
    assert.equal(a?.role, 'grid_worker');
    await page.locator('#panel').screenshot({ path: join(shots, 'assign-staff.png') });

    await act(page, () => row.locator('button.end').click());
    await page.waitForFunction((id) => !document.querySelector(`#staff li[data-worker="${id}"]`), w.id);
    list = (await getAuth(`/api/v1/assignments?grid=${target.id}`)).assignments;
    assert.ok(!list.some((x) => x.worker_id === w.id), 'no longer current');
    const hist = (await getAuth(`/api/v1/assignments?grid=${target.id}&history=true`)).assignments;
    assert.ok(hist.find((x) => x.id === a.id)?.valid_to, 'kept as history with an end date');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('conflict: a grid changed by someone else meanwhile — 412 names who, nothing changes, reload', async () => {
  const before = await balance();
  const [donor, target] = before.grids;
  const b = (await buildingsOf(donor.code))[0];
  const { page, context, problems } = await open(`/?sel=${community.code}&mode=assign`);
  try {
    await signIn(page, 'plan-e2e', 'planner');
    await pickTarget(page, target.code);
    // another planner renames the target after this page read its version
    const res = await fetch(`${server.base}/api/v1/grids/${target.code}`, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${tokens['plan-other']}`, 'If-Match': `"grid-${target.id}-v${target.version}"`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: `${target.name}（改）` }),
    });
    assert.equal(res.status, 200);
    await page.evaluate((c) => window.gridmap.map.jumpTo({ center: c, zoom: 16 }), centroid(b));
    await settle(page);
    await page.click('#assign-tools [data-tool="click"]');
    const c = await screen(page, centroid(b));
    await act(page, () => page.mouse.click(c.x, c.y), { expectError: true });
    const banner = page.locator('#panel .conflict');
    await banner.waitFor();
    assert.match(await banner.textContent(), /plan-other/);
    await page.screenshot({ path: join(shots, 'assign-conflict.png') });
    assert.ok((await buildingsOf(donor.code)).some((f) => f.id === b.id), 'the building did not move');
    await page.click('#conflict-reload');
    await page.waitForFunction(() => !document.querySelector('#panel .conflict'));
    await page.waitForFunction(([code, v]) => document.querySelector(`.agrid[data-code="${code}"]`)?.dataset.version === String(v),
      [target.code, target.version + 1]);
    // and with the current version the same click goes through
    const { last } = await act(page, () => page.mouse.click(c.x, c.y));
    assert.deepEqual(last.moved, [b.id]);
    assert.ok((await buildingsOf(target.code)).some((f) => f.id === b.id));

    // the other planner renames the target again: undoing the paint is refused (412), and the
    // note offers to drop it from the journal, which changes no data
    const tag = (await fetch(`${server.base}/api/v1/grids/${target.code}`)).headers.get('ETag');
    const again = await fetch(`${server.base}/api/v1/grids/${target.code}`, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${tokens['plan-other']}`, 'If-Match': tag, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: `${target.name}（再改）` }),
    });
    assert.equal(again.status, 200);
    const paintOp = (await getAuth('/api/v1/ops?limit=1')).ops[0];
    assert.equal(paintOp.action, 'grid.paint');
    await page.waitForSelector('#assign-tools [data-op="undo"]:not([disabled])');
    const v0 = (await balance()).data_version;
    await act(page, () => page.click('#assign-tools [data-op="undo"]'), { expectError: true });
    assert.match(await page.locator('#panel .anote.error').textContent(), /plan-other/);
    await page.click('#op-drop');
    await page.waitForSelector('#panel .anote.info');
    assert.equal((await getAuth('/api/v1/ops?limit=1')).ops.find((o) => o.id === paintOp.id)?.state, 'dropped');
    assert.equal((await balance()).data_version, v0, 'dropping changed no data');
    assert.ok((await buildingsOf(target.code)).some((f) => f.id === b.id), 'the paint stays');
    assert.deepEqual(withoutExpected(problems, [/^HTTP 412 POST \/api\/v1\/grids\/\d+\/paint$/, /^HTTP 412 POST \/api\/v1\/ops\/undo$/]), []);
  } finally {
    await context.close();
  }
});

// ---- merge, lasso, brush ----------------------------------------------------------------------

/** distSeg: distance from point p to segment ab (screen pixels). */
function distSeg(p, a, b) {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const l2 = dx * dx + dy * dy;
  const k = l2 ? Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / l2)) : 0;
  return Math.hypot(a.x + k * dx - p.x, a.y + k * dy - p.y);
}

/** segFootprintDist: how near segment ab comes to a footprint's edges (pts: its ring); -1 when it crosses one. */
function segFootprintDist(a, b, pts) {
  let d = Infinity;
  const cross = (o, p, q) => (p.x - o.x) * (q.y - o.y) - (p.y - o.y) * (q.x - o.x);
  for (let i = 1; i < pts.length; i++) {
    const [c, e] = [pts[i - 1], pts[i]];
    if (Math.sign(cross(a, b, c)) !== Math.sign(cross(a, b, e)) && Math.sign(cross(c, e, a)) !== Math.sign(cross(c, e, b))) return -1;
    d = Math.min(d, distSeg(a, c, e), distSeg(b, c, e), distSeg(c, a, b), distSeg(e, a, b));
  }
  return d;
}

/** inside: ray casting, ring of {x, y}. */
function inside(p, ring) {
  let c = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [a, b] = [ring[i], ring[j]];
    if ((a.y > p.y) !== (b.y > p.y) && p.x < ((b.x - a.x) * (p.y - a.y)) / (b.y - a.y) + a.x) c = !c;
  }
  return c;
}

/** hull: convex hull of {x, y} points (monotone chain), counter-clockwise on screen. */
function hull(points) {
  const ps = [...points].sort((a, b) => a.x - b.x || a.y - b.y);
  const cross = (o, a, b) => (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
  const half = (list) => {
    const out = [];
    for (const p of list) {
      while (out.length >= 2 && cross(out[out.length - 2], out[out.length - 1], p) <= 0) out.pop();
      out.push(p);
    }
    out.pop();
    return out;
  };
  return [...half(ps), ...half([...ps].reverse())];
}

/** grow pushes each vertex of a convex ring d pixels away from its centre. */
function grow(ring, d) {
  const c = { x: ring.reduce((s, p) => s + p.x, 0) / ring.length, y: ring.reduce((s, p) => s + p.y, 0) / ring.length };
  return ring.map((p) => {
    const l = Math.hypot(p.x - c.x, p.y - c.y) || 1;
    return { x: p.x + ((p.x - c.x) / l) * d, y: p.y + ((p.y - c.y) / l) * d };
  });
}

/**
 * onScreen centres the map on lnglat at zoom z and projects every vertex of every building in
 * list (API features) to page pixels: [{f, pts, c}] with c the projected centroid of the ring.
 */
async function onScreen(page, lnglat, z, list) {
  const rings = list.map((f) => (f.geometry.type === 'MultiPolygon' ? f.geometry.coordinates.flatMap((p) => p[0]) : f.geometry.coordinates[0]));
  const { pts, rect } = await page.evaluate(([c, zoom, rs]) => {
    const m = window.gridmap.map;
    m.jumpTo({ center: c, zoom });
    const r = m.getCanvas().getBoundingClientRect();
    return {
      rect: { left: r.left, top: r.top, right: r.right, bottom: r.bottom },
      pts: rs.map((ring) => ring.map((q) => {
        const p = m.project(q);
        return { x: r.left + p.x, y: r.top + p.y };
      })),
    };
  }, [lnglat, z, rings]);
  return { rect, items: list.map((f, k) => ({ f, pts: pts[k], c: { x: pts[k].reduce((s, p) => s + p.x, 0) / pts[k].length, y: pts[k].reduce((s, p) => s + p.y, 0) / pts[k].length } })) };
}

/** grid codes the community's buildings are in now: Map building id → grid code, and the features. */
async function communityBuildings() {
  const b = await balance();
  const byId = new Map();
  const all = [];
  for (const g of b.grids) {
    for (const f of await buildingsOf(g.code)) {
      byId.set(f.id, g.code);
      all.push(f);
    }
  }
  return { balance: b, grid: byId, all };
}

test('merge: tick two adjacent grids in the panel, merge — the API retires one, the survivor holds all their buildings; undo restores both', async () => {
  const before = await balance();
  const fc = await getJSON(server.base, `/api/v1/grids?parent=${community.code}&level=3&limit=1000`);
  const geom = new Map(fc.features.map((f) => [f.properties.code, f.geometry]));
  // adjacent: at least two vertices of one lie on the other's boundary (within ~1 cm)
  const verts = (g) => g.coordinates.flat(g.type === 'MultiPolygon' ? 2 : 1);
  const edges = (g) => (g.type === 'MultiPolygon' ? g.coordinates.flat() : g.coordinates).flatMap((r) => r.slice(1).map((q, i) => [r[i], q]));
  const touches = (g, h) => verts(g).filter((p) => edges(h).some(([a, b]) => distSeg({ x: p[0], y: p[1] }, { x: a[0], y: a[1] }, { x: b[0], y: b[1] }) < 1e-7)).length >= 2;
  let pair = null;
  for (const a of before.grids) {
    for (const b of before.grids) {
      if (!pair && a.id < b.id && touches(geom.get(a.code), geom.get(b.code))) pair = [a, b];
    }
  }
  assert.ok(pair, 'two adjacent grids');
  const [keep, gone] = pair;
  const hb = { keep: (await buildingsOf(keep.code)).map((f) => f.id).sort(), gone: (await buildingsOf(gone.code)).map((f) => f.id).sort() };
  assert.ok(hb.keep.length && hb.gone.length);
  const { page, context, problems } = await open(`/?sel=${community.code}&mode=assign`);
  try {
    await signIn(page, 'plan-e2e', 'planner');
    await pickTarget(page, keep.code);
    await page.click('#merge-toggle');
    for (const g of [keep, gone]) {
      await page.click(`.agrid[data-code="${g.code}"] input.mpick`);
      await page.waitForSelector(`.agrid[data-code="${g.code}"] input.mpick:checked`);
    }
    await page.waitForSelector('#merge-go:not([disabled])');
    let { last } = await act(page, () => page.click('#merge-go'));
    assert.equal(last.action, 'grid.merge');

    // the API: the merged-away grid is no longer current (404), the survivor holds all buildings
    const res = await fetch(`${server.base}/api/v1/grids/${gone.id}`);
    assert.equal(res.status, 404, `GET /grids/${gone.id} after the merge`);
    assert.equal((await res.json()).error.code, 'ENOTFOUND');
    const survivor = await getJSON(server.base, `/api/v1/grids/${keep.id}`);
    assert.equal(survivor.properties.code, keep.code, 'the survivor keeps its code');
    assert.deepEqual((await buildingsOf(keep.code)).map((f) => f.id).sort(), [...hb.keep, ...hb.gone].sort(), 'all their buildings');
    await page.waitForFunction((code) => !document.querySelector(`.agrid[data-code="${code}"]`), gone.code);
    const api = await assertPanelIsAPI(page);
    assert.equal(api.grids.length, before.grids.length - 1);
    assert.equal(api.grids.find((g) => g.code === keep.code).households, keep.households + gone.households);
    await settle(page);
    await page.screenshot({ path: join(shots, 'assign-merge.png') });

    ({ last } = await act(page, () => page.click('#assign-tools [data-op="undo"]')));
    assert.equal(last.action, 'undo grid.merge');
    assert.equal((await fetch(`${server.base}/api/v1/grids/${gone.id}`)).status, 200, 'the merged-away grid is back');
    assert.deepEqual((await buildingsOf(keep.code)).map((f) => f.id).sort(), hb.keep);
    assert.deepEqual((await buildingsOf(gone.code)).map((f) => f.id).sort(), hb.gone);
    await page.waitForSelector(`.agrid[data-code="${gone.code}"]`);
    const undone = await assertPanelIsAPI(page);
    for (const g of before.grids) assert.equal(undone.grids.find((x) => x.code === g.code)?.households, g.households, `${g.code} as before`);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('lasso: the buildings whose point lies inside a drawn lasso move — and none that is only inside its bounding box', async () => {
  const { balance: b, grid, all } = await communityBuildings();
  const target = b.grids[b.grids.length - 1];
  const counts = new Map(b.grids.map((g) => [g.code, g.buildings]));
  const cand = all.filter((f) => grid.get(f.id) !== target.code);
  const { page, context, problems } = await open(`/?sel=${community.code}&mode=assign`);
  try {
    await signIn(page, 'plan-e2e', 'planner');
    await pickTarget(page, target.code);
    // A free-hand lasso: around one building, along a line to another, around it and back
    // along the line. Its inside is the two loops only (the line there and back encloses
    // nothing), while its bounding box holds a third building — a box would take that too.
    // Every other footprint keeps 6 px off the loops and the line.
    let found = null;
    for (const a of cand) {
      if (found) break;
      const { rect, items } = await onScreen(page, centroid(a), 17, all);
      const ia = items.find((x) => x.f.id === a.id);
      const ok = (p) => p.x > rect.left + 20 && p.x < rect.right - 20 && p.y > rect.top + 110 && p.y < rect.bottom - 140;
      for (const ib of items) {
        if (ib.f.id === a.id || grid.get(ib.f.id) === target.code || Math.hypot(ib.c.x - ia.c.x, ib.c.y - ia.c.y) > 260) continue;
        const [ra, rb] = [grow(hull(ia.pts), 6), grow(hull(ib.pts), 6)];
        const ka = ra.reduce((k, p, i) => (Math.hypot(p.x - ib.c.x, p.y - ib.c.y) < Math.hypot(ra[k].x - ib.c.x, ra[k].y - ib.c.y) ? i : k), 0);
        const kb = rb.reduce((k, p, i) => (Math.hypot(p.x - ia.c.x, p.y - ia.c.y) < Math.hypot(rb[k].x - ia.c.x, rb[k].y - ia.c.y) ? i : k), 0);
        const loopA = [...ra.slice(ka), ...ra.slice(0, ka), ra[ka]];
        const loopB = [...rb.slice(kb), ...rb.slice(0, kb), rb[kb]];
        const path = [...loopA, ...loopB, ra[ka]];
        if (!path.every(ok) || inside(ra[ka], grow(rb, 6)) || inside(rb[kb], grow(ra, 6))) continue;
        const others = items.filter((x) => x !== ia && x !== ib);
        const [wa, wb] = [grow(ra, 6), grow(rb, 6)];
        const clear = (x) => !x.pts.some((p) => inside(p, wa) || inside(p, wb))
          && segFootprintDist(ra[ka], rb[kb], x.pts) > 6;
        if (!others.every(clear) || segFootprintDist(ra[ka], rb[kb], ia.pts) < 0 || segFootprintDist(ra[ka], rb[kb], ib.pts) < 0) continue;
        const xs = path.map((p) => p.x);
        const ys = path.map((p) => p.y);
        const inBox = (p) => p.x > Math.min(...xs) + 3 && p.x < Math.max(...xs) - 3 && p.y > Math.min(...ys) + 3 && p.y < Math.max(...ys) - 3;
        const witness = others.find((x) => inBox(x.c) && grid.get(x.f.id) !== target.code);
        const taken = new Map();
        for (const x of [ia, ib]) taken.set(grid.get(x.f.id), (taken.get(grid.get(x.f.id)) || 0) + 1);
        if (witness && [...taken].every(([code, n]) => counts.get(code) > n)) {
          found = { a: ia, b: ib, path, witness };
          break;
        }
      }
    }
    assert.ok(found, 'a pair of buildings to lasso');
    await settle(page);
    await page.click('#assign-tools [data-tool="lasso"]');
    const { path } = found;
    const expected = [found.a.f.id, found.b.f.id].sort();
    const { last } = await act(page, async () => {
      await page.mouse.move(path[0].x, path[0].y);
      await page.mouse.down();
      for (const p of path.slice(1)) await page.mouse.move(p.x, p.y, { steps: 4 });
      await page.mouse.up();
    });
    assert.equal(last.action, 'grid.paint');
    assert.deepEqual([...last.moved].sort(), expected, 'the two buildings inside the lasso, and only they');
    const now = (await buildingsOf(target.code)).map((f) => f.id);
    for (const id of expected) assert.ok(now.includes(id), `building ${id} in ${target.code}`);
    const w = found.witness.f.id;
    assert.ok((await buildingsOf(grid.get(w))).some((f) => f.id === w), `building ${w} (inside the lasso's box only) stays in ${grid.get(w)}`);
    await assertPanelIsAPI(page);
    await page.screenshot({ path: join(shots, 'assign-lasso.png') });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('brush: a brush stroke from one building to its neighbour moves the buildings it touches', async () => {
  const { balance: b, grid, all } = await communityBuildings();
  const target = b.grids[0];
  const counts = new Map(b.grids.map((g) => [g.code, g.buildings]));
  const cand = all.filter((f) => grid.get(f.id) !== target.code);
  const r = 8; // brush radius, px
  const { page, context, problems } = await open(`/?sel=${community.code}&mode=assign`);
  try {
    await signIn(page, 'plan-e2e', 'planner');
    await pickTarget(page, target.code);
    await page.click('#assign-tools [data-tool="brush"]');
    await page.fill('#brush-radius', String(r));
    assert.equal(await page.evaluate(() => window.gridmap.assign.state.radius), r);
    // a stroke between the centres of two neighbours whose path keeps every other footprint
    // more than r + 6 px away (and both footprints contain their centre)
    let found = null;
    const near = (x, s, d) => x.pts.some((p, i) => i > 0 && [0, 0.25, 0.5, 0.75, 1].some((k) => {
      const q = { x: s.a.x + (s.b.x - s.a.x) * k, y: s.a.y + (s.b.y - s.a.y) * k };
      return distSeg(q, x.pts[i - 1], p) < d;
    }) || distSeg(p, s.a, s.b) < d);
    for (const a of cand) {
      if (found) break;
      const { rect, items } = await onScreen(page, centroid(a), 17, all);
      const ia = items.find((x) => x.f.id === a.id);
      if (!inside(ia.c, ia.pts)) continue;
      for (const ib of items) {
        if (ib.f.id === a.id || grid.get(ib.f.id) === target.code || !inside(ib.c, ib.pts)) continue;
        if (Math.hypot(ib.c.x - ia.c.x, ib.c.y - ia.c.y) > 80) continue;
        if (ib.c.y < rect.top + 110 || ib.c.y > rect.bottom - 140 || ib.c.x < rect.left + 20 || ib.c.x > rect.right - 20) continue;
        const s = { a: ia.c, b: ib.c };
        if (items.some((x) => x !== ia && x !== ib && near(x, s, r + 6))) continue;
        const taken = new Map();
        for (const x of [ia, ib]) taken.set(grid.get(x.f.id), (taken.get(grid.get(x.f.id)) || 0) + 1);
        if ([...taken].every(([code, n]) => counts.get(code) > n)) {
          found = { a: ia, b: ib };
          break;
        }
      }
    }
    assert.ok(found, 'two neighbouring buildings to brush');
    await settle(page);
    const { a, b: bb } = found;
    const { last } = await act(page, async () => {
      await page.mouse.move(a.c.x, a.c.y);
      await page.mouse.down();
      await page.mouse.move(bb.c.x, bb.c.y, { steps: 8 });
      await page.mouse.up();
    });
    assert.equal(last.action, 'grid.paint');
    assert.deepEqual([...last.moved].sort(), [a.f.id, bb.f.id].sort(), 'the two buildings under the brush, and only they');
    const now = (await buildingsOf(target.code)).map((f) => f.id);
    for (const id of [a.f.id, bb.f.id]) assert.ok(now.includes(id), `building ${id} in ${target.code}`);
    await assertPanelIsAPI(page);
    await page.screenshot({ path: join(shots, 'assign-brush.png') });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('two clicks in quick succession: the second building waits for the first save, then moves too', async () => {
  const { balance: b, grid, all } = await communityBuildings();
  const target = b.grids[1];
  const donor = b.grids.find((g) => g.code !== target.code && g.buildings >= 3);
  const mine = all.filter((f) => grid.get(f.id) === donor.code);
  const { page, context, problems } = await open(`/?sel=${community.code}&mode=assign`);
  try {
    await signIn(page, 'plan-e2e', 'planner');
    await pickTarget(page, target.code);
    await page.click('#assign-tools [data-tool="click"]');
    const { rect, items } = await onScreen(page, centroid(mine[0]), 16, all);
    const ok = (x) => inside(x.c, x.pts) && x.c.x > rect.left + 20 && x.c.x < rect.right - 20 && x.c.y > rect.top + 110 && x.c.y < rect.bottom - 140;
    const two = items.filter((x) => grid.get(x.f.id) === donor.code && ok(x)).slice(0, 2);
    assert.equal(two.length, 2, 'two buildings of the donor to click');
    await settle(page);
    // the first save takes a while, so the second click lands while it is under way
    await page.route('**/api/v1/grids/*/paint', async (route) => {
      await new Promise((r) => { setTimeout(r, 600); });
      await route.continue();
    });
    const seq = await page.evaluate(() => window.gridmap.assign.last?.seq || 0);
    await page.mouse.click(two[0].c.x, two[0].c.y);
    await page.waitForFunction(() => window.gridmap.assign.state.busy);
    await page.mouse.click(two[1].c.x, two[1].c.y);
    await page.waitForFunction((k) => (window.gridmap.assign.last?.seq || 0) >= k + 2 && !window.gridmap.assign.state.busy, seq, { timeout: 30000 });
    const now = (await buildingsOf(target.code)).map((f) => f.id);
    for (const x of two) assert.ok(now.includes(x.f.id), `building ${x.f.id} in ${target.code}`);
    assert.equal(await page.evaluate(() => window.gridmap.assign.state.staged.size), 0, 'nothing left collected');
    await assertPanelIsAPI(page);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
