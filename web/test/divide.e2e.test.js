// End-to-end tests of auto-divide and rebalance in the Assign mode: a real gridmap on the demo
// city of its own (these tests change the data), driven in Chromium. What the UI shows is held
// to what the API answers for the same request (a dry run of its own, with a planner's token),
// and what an apply wrote to what the API and a freshly fetched tile say afterwards.
// Screenshots land in web/test-results/ (git-ignored).
//
// The tests run in order: divide (apply, undo), then rebalance (preview, discard), then a
// preview made stale by another planner's change to the community, previewed again and applied.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';

import { launch, open as openPage, settle } from './browser.js';
import { getJSON, startGridmap, webDir } from './server.js';
import { labelPoint as inside } from '../src/model.js';

const shots = join(webDir, 'test-results');
mkdirSync(shots, { recursive: true });

let server;
let browser;
const tokens = {};
let community; // the level-2 grid the tests divide

before(async () => {
  server = await startGridmap();
  browser = await launch();
  for (const [name, role] of [['plan-div', 'planner'], ['plan-other', 'planner']]) {
    tokens[name] = server.cli('user', 'add', name, '--role', role).trim().split('\n').pop();
  }
  const report = await getJSON(server.base, '/api/v1/coverage?limit=10000');
  community = report.grids.find((g) => g.level === 2);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const open = (path) => openPage(browser, server.base, path);

/** post sends an API write as user name: {status, body}. */
async function post(path, body, { name = 'plan-div', ifMatch } = {}) {
  const headers = { Authorization: `Bearer ${tokens[name]}`, 'Content-Type': 'application/json' };
  if (ifMatch) headers['If-Match'] = ifMatch;
  const res = await fetch(server.base + path, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

/** children: the community's current level-3 grids, code → {households, geometry}. */
async function children() {
  const fc = await getJSON(server.base, `/api/v1/grids?parent=${community.code}&level=3&limit=1000`);
  return new Map(fc.features.map((f) => [f.properties.code, { households: f.properties.households, geometry: f.geometry }]));
}

async function signIn(page, name) {
  await page.click('#user');
  await page.fill('#token-input', tokens[name]);
  await page.click('#login-submit');
  await page.waitForFunction(() => document.querySelector('#user')?.dataset.role === 'planner');
}

/** previewIn opens a mode of the section (if closed) and waits for its dry run's answer. */
async function previewIn(page, mode) {
  if (!(await page.locator(`#${mode}-open[aria-pressed="true"]`).count())) await page.click(`#${mode}-open`);
  const n = await page.evaluate(() => window.gridmap.divide.state.settled);
  await page.click('#divide-preview');
  await page.waitForFunction((k) => window.gridmap.divide.state.settled > k, n, { timeout: 60000 });
  const note = await page.evaluate(() => window.gridmap.divide.state.note);
  assert.equal(note, null, note?.text);
  await settle(page);
}

/** act runs a UI action that saves and waits until the save settled (as assign.e2e.test.js). */
async function act(page, fn, { expectError = false } = {}) {
  const n = await page.evaluate(() => window.gridmap.assign.settled || 0);
  await fn();
  await page.waitForFunction((k) => (window.gridmap.assign.settled || 0) > k, n, { timeout: 60000 });
  const note = await page.evaluate(() => window.gridmap.assign.state.note);
  if (!expectError) assert.notEqual(note?.kind, 'error', note?.text);
  return { note, last: await page.evaluate(() => window.gridmap.assign.last) };
}

/** previewSource: the features of one of the preview's GeoJSON sources, as the map holds them. */
function previewSource(page, id) {
  return page.evaluate((src) => window.gridmap.map.getSource(src)?.serialize().data.features || [], id);
}

/** panelProposal reads the preview's rows: code → the figures they show. */
function panelProposal(page) {
  return page.$$eval('#divide .dgrid', (els) => els.map((e) => ({
    code: e.dataset.code, households: Number(e.dataset.households), inBand: e.dataset.inBand === 'true',
    kept: e.dataset.kept === 'true', shown: e.querySelector('.dhh').textContent,
  })));
}

/** assertPanelIsDryRun: the section shows exactly the dry run's proposal. */
async function assertPanelIsDryRun(page, dry) {
  const rows = await panelProposal(page);
  assert.deepEqual(rows.map((r) => r.code), dry.features.map((f) => f.properties.code), 'a row per proposed grid, in order');
  for (const [k, f] of dry.features.entries()) {
    const p = f.properties;
    assert.equal(rows[k].households, p.households, `${p.code} households`);
    assert.equal(rows[k].inBand, p.in_band, `${p.code} in band`);
    assert.equal(rows[k].kept, p.kept, `${p.code} kept`);
    assert.match(rows[k].shown, new RegExp(`${p.households.toLocaleString('zh-CN')} [✓▼▲]$`), `${p.code} as shown`);
  }
  const sum = await page.locator('#divide .dsummary').evaluate((e) => ({ ...e.dataset, text: e.textContent }));
  assert.equal(Number(sum.k), dry.summary.k);
  assert.equal(Number(sum.inBand), dry.summary.in_band);
  assert.match(sum.text, new RegExp(`${dry.summary.in_band}/${dry.summary.k}`));
  assert.match(sum.text, new RegExp(`PP ${dry.summary.mean_polsby_popper.toFixed(2)}`));
  // the histogram counts every proposed grid once
  const bars = await page.$$eval('#divide .dhist-bar', (els) => els.map((e) => Number(e.dataset.n)));
  assert.equal(bars.reduce((a, b) => a + b, 0), dry.features.length, 'histogram');
  assert.equal(await page.locator('#divide .dpreview').getAttribute('data-fingerprint'), dry.fingerprint, 'the same inputs as the dry run');
}

/** tileLevel3 fetches the z15 tile holding lnglat afresh: the codes of its level-3 grids. */
async function tileLevel3(lnglat) {
  const z = 15;
  const n = 2 ** z;
  const x = Math.floor(((lnglat[0] + 180) / 360) * n);
  const lat = (lnglat[1] * Math.PI) / 180;
  const y = Math.floor(((1 - Math.log(Math.tan(lat) + 1 / Math.cos(lat)) / Math.PI) / 2) * n);
  const res = await fetch(`${server.base}/tiles/${z}/${x}/${y}.mvt`);
  assert.equal(res.status, 200);
  const layer = new VectorTile(new PbfReader(new Uint8Array(await res.arrayBuffer()))).layers.grids;
  const out = new Set();
  for (let i = 0; i < layer.length; i++) {
    const f = layer.feature(i);
    if (Number(f.properties.level) === 3) out.add(f.properties.code);
  }
  return out;
}

let divided = null; // the children before the divide, for the undo

test('auto-divide: preview equals the dry run, apply writes it (API, tiles, balance panel), undo brings the old grids back', async () => {
  const before = await children();
  assert.ok(before.size >= 3, `${community.code} has ${before.size} grids`);
  const locked = [...before.keys()].sort()[before.size - 1];
  const { page, context, problems } = await open(`/?sel=${community.code}&mode=assign`);
  try {
    await signIn(page, 'plan-div');
    await page.waitForSelector('#divide');
    // a locked grid (□ 锁定 locks it on the server) is kept: the division goes around it
    await act(page, () => page.click(`.agrid[data-code="${locked}"] button.lock`));
    await page.waitForSelector(`.agrid[data-code="${locked}"] button.lock[aria-pressed="true"]`);
    assert.equal((await getJSON(server.base, `/api/v1/grids/${locked}`)).properties.locked, true, 'locked on the server');
    await previewIn(page, 'divide');
    assert.equal(await page.locator('#divide .dkeep').getAttribute('data-keep'), locked);
    const dry = (await post(`/api/v1/grids/${community.code}/divide`, { target: 0, band: 0, keep: [locked], k: 0, seed: 1, dry_run: true })).body;
    assert.ok(dry.features.length >= 3, `the dry run proposes ${dry.features.length} grids`);
    const kept = dry.features.filter((f) => f.properties.kept).map((f) => f.properties.code);
    assert.deepEqual(kept, [locked], 'the locked grid is kept');

    // the map: one preview feature per proposed grid, each drawn and labelled with its households
    const drawn = await previewSource(page, 'divide-preview');
    assert.deepEqual(drawn.map((f) => f.properties.code), dry.features.map((f) => f.properties.code));
    assert.deepEqual(drawn.map((f) => f.properties.households), dry.features.map((f) => f.properties.households));
    assert.equal(new Set(drawn.map((f) => f.properties.color)).size, drawn.length, 'a colour each');
    const rendered = await page.evaluate(() => [...new Set(window.gridmap.map.queryRenderedFeatures({ layers: ['divide-fill'] }).map((f) => f.properties.code))]);
    assert.equal(rendered.length, dry.features.length, `on screen: ${rendered}`);
    const labels = await previewSource(page, 'divide-labels');
    for (const f of dry.features) {
      const l = labels.find((x) => x.properties.code === f.properties.code);
      assert.match(l?.properties.label || '', new RegExp(`${f.properties.households.toLocaleString('zh-CN')} 户 [✓▼▲]`), f.properties.code);
    }
    await assertPanelIsDryRun(page, dry);
    await page.screenshot({ path: join(shots, 'divide-preview.png') });
    await page.locator('#divide').screenshot({ path: join(shots, 'divide-panel.png') });
    const version = (await getJSON(server.base, `/api/v1/grids/${community.code}`)).properties.version;

    const { last } = await act(page, () => page.click('#divide-apply'));
    assert.equal(last.action, 'grid.divide');
    // the API: the community's children are the proposal, the old ones (but the kept) retired
    const now = await children();
    assert.deepEqual([...now.keys()].sort(), dry.features.map((f) => f.properties.code).sort(), 'children after the apply');
    for (const f of dry.features) assert.equal(now.get(f.properties.code).households, f.properties.households, f.properties.code);
    for (const code of before.keys()) if (code !== locked) assert.ok(!now.has(code), `${code} retired`);
    assert.equal((await getJSON(server.base, `/api/v1/grids/${community.code}`)).properties.version, version, 'the parent itself unchanged');
    // a tile over each new grid, fetched afresh, has it
    for (const f of dry.features.filter((x) => !x.properties.kept)) {
      const codes = await tileLevel3(inside(now.get(f.properties.code).geometry));
      assert.ok(codes.has(f.properties.code), `tile over ${f.properties.code} has ${[...codes]}`);
      for (const old of before.keys()) if (old !== locked) assert.ok(!codes.has(old), `tile still has ${old}`);
    }
    // the preview is gone; the balance panel lists the new grids with the API's figures
    assert.equal((await previewSource(page, 'divide-preview')).length, 0, 'preview cleared');
    await page.waitForFunction((codes) => codes.every((c) => document.querySelector(`.agrid[data-code="${c}"]`))
      && document.querySelectorAll('.agrid').length === codes.length, dry.features.map((f) => f.properties.code));
    const bal = await getJSON(server.base, `/api/v1/balance?parent=${community.code}`);
    for (const g of bal.grids) {
      assert.equal(await page.locator(`.agrid[data-code="${g.code}"]`).getAttribute('data-households'), String(g.households), g.code);
    }
    // the tree follows (the coverage report)
    await page.waitForFunction((codes) => codes.every((c) => document.querySelector(`#tree .row[data-code="${c}"]`)), dry.features.map((f) => f.properties.code));
    await settle(page);
    await page.screenshot({ path: join(shots, 'divide-applied.png') });
    divided = { before, dry, locked };

    // undo (↶): the previous division is back, exactly the old grids with their geometry
    await page.waitForSelector('#assign-tools [data-op="undo"]:not([disabled])');
    const { last: u } = await act(page, () => page.click('#assign-tools [data-op="undo"]'));
    assert.equal(u.action, 'undo grid.divide');
    const back = await children();
    assert.deepEqual([...back.keys()].sort(), [...before.keys()].sort(), 'the old grids are back');
    for (const [code, g] of before) {
      assert.equal(back.get(code).households, g.households, `${code} households`);
      assert.deepEqual(back.get(code).geometry, g.geometry, `${code} geometry`);
    }
    await page.waitForFunction((codes) => codes.every((c) => document.querySelector(`.agrid[data-code="${c}"]`))
      && document.querySelectorAll('.agrid').length === codes.length, [...before.keys()]);
    const anyNew = dry.features.find((f) => !f.properties.kept);
    assert.ok(!(await tileLevel3(inside(now.get(anyNew.properties.code).geometry))).has(anyNew.properties.code), 'the tile no longer has the new grid');

    // unlocked again, for the tests after this one
    await page.waitForSelector(`.agrid[data-code="${locked}"] button.lock[aria-pressed="true"]`);
    await act(page, () => page.click(`.agrid[data-code="${locked}"] button.lock`));
    assert.equal((await getJSON(server.base, `/api/v1/grids/${locked}`)).properties.locked, false, 'unlocked on the server');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('rebalance: the preview lists and draws the moves the dry run answers; discard leaves everything as it was', async () => {
  assert.ok(divided, 'runs after the divide test');
  const before = await children();
  const version = (await getJSON(server.base, '/healthz')).data_version;
  const { page, context, problems } = await open(`/?sel=${community.code}&mode=assign`);
  try {
    await signIn(page, 'plan-div');
    await previewIn(page, 'rebalance');
    const dry = (await post(`/api/v1/grids/${community.code}/rebalance`, { target: 0, band: 0, keep: [], max_moves: 0, dry_run: true })).body;
    assert.ok(dry.moves.length > 0, 'the demo community has moves to make');
    await assertPanelIsDryRun(page, dry);
    // the list: every move, from → to
    const listed = await page.$$eval('#divide .dmoves li', (els) => els.map((e) => ({ id: Number(e.dataset.building), from: e.dataset.from, to: e.dataset.to })));
    assert.deepEqual(listed, dry.moves.map((m) => ({ id: m.building_id, from: m.from, to: m.to })));
    // the rows show households before → after where they change
    for (const f of dry.features) {
      const shown = await page.locator(`#divide .dgrid[data-code="${f.properties.code}"] .dhh`).textContent();
      if (f.properties.households_before !== f.properties.households) assert.match(shown, /→/, f.properties.code);
    }
    // the map: an arrow and a mark for each moved building
    await page.waitForFunction((n) => window.gridmap.divide.state.preview?.arrows === n, dry.moves.length);
    const moves = await previewSource(page, 'divide-moves');
    assert.equal(moves.filter((f) => f.geometry.type === 'LineString').length, dry.moves.length);
    const marked = await page.evaluate((ids) => ids.filter((id) => window.gridmap.map.getFeatureState({ source: 'gridmap', sourceLayer: 'buildings', id }).moved), dry.moves.map((m) => m.building_id));
    assert.equal(marked.length, dry.moves.length, 'moved buildings highlighted');
    await page.screenshot({ path: join(shots, 'rebalance-preview.png') });
    await page.locator('#divide').screenshot({ path: join(shots, 'rebalance-panel.png') });

    await page.click('#divide-discard');
    assert.equal((await previewSource(page, 'divide-moves')).length, 0);
    assert.equal((await previewSource(page, 'divide-preview')).length, 0);
    assert.equal(await page.locator('#divide .dpreview').count(), 0);
    const after = await children();
    assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort());
    for (const [code, g] of before) assert.equal(after.get(code).households, g.households, code);
    assert.equal((await getJSON(server.base, '/healthz')).data_version, version, 'previews write nothing');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('stale preview: another planner changes the community after the preview — apply is refused, nothing changes, preview again', async () => {
  const before = await children();
  const { page, context, problems } = await open(`/?sel=${community.code}&mode=assign`);
  try {
    await signIn(page, 'plan-div');
    await previewIn(page, 'divide');
    // another planner renames the community: its version moves on, the preview's ETag is stale
    const parent = await getJSON(server.base, `/api/v1/grids/${community.code}`);
    const res = await fetch(`${server.base}/api/v1/grids/${community.code}`, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${tokens['plan-other']}`, 'If-Match': `"grid-${community.id}-v${parent.properties.version}"`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: `${community.name}（改）` }),
    });
    assert.equal(res.status, 200, await res.text());

    const { note } = await act(page, () => page.click('#divide-apply'), { expectError: true });
    assert.equal(note, null, 'the section says it, not the panel note');
    const shown = page.locator('#divide .anote[data-stale="true"]');
    await shown.waitFor();
    assert.match(await shown.textContent(), /预览之后数据已经改变（ECONFLICT）/);
    assert.equal(await page.locator('#divide .dpreview').count(), 0, 'the stale preview is gone');
    const now = await children();
    assert.deepEqual([...now.keys()].sort(), [...before.keys()].sort(), 'nothing written');
    await page.screenshot({ path: join(shots, 'divide-stale.png') });

    // preview again: a fresh proposal on the data as it is now, which applies
    const n = await page.evaluate(() => window.gridmap.divide.state.settled);
    await page.click('#divide-repreview');
    await page.waitForFunction((k) => window.gridmap.divide.state.settled > k, n);
    const dry = (await post(`/api/v1/grids/${community.code}/divide`, { target: 0, band: 0, keep: [], k: 0, seed: 1, dry_run: true })).body;
    await assertPanelIsDryRun(page, dry);
    const { last } = await act(page, () => page.click('#divide-apply'));
    assert.equal(last.action, 'grid.divide');
    assert.deepEqual([...(await children()).keys()].sort(), dry.features.map((f) => f.properties.code).sort());
    assert.deepEqual(problems.filter((p) => !/HTTP 412 POST \/api\/v1\/grids\/\d+\/divide$/.test(p) && !/status of 412/.test(p)), []);
  } finally {
    await context.close();
  }
});
