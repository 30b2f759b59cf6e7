// End-to-end test of locked grids: a real gridmap on the demo city of its own (the test locks
// a grid and tries edits on it), driven in Chromium. A planner locks a level-3 grid from its
// panel; the panel, the tree and the Assign mode mark it; a paint and a split of it are
// refused and nothing changes; the auto-divide preview keeps it; a viewer sees the mark but
// no button, and so does a past moment (locks have no history); unlocking takes the marks
// away. What the UI shows is held to what the API says. Screenshots land in web/test-results/.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { launch, open as openPage, screen, settle } from './browser.js';
import { getJSON, startGridmap, webDir } from './server.js';
import { labelPoint } from '../src/model.js';

const shots = join(webDir, 'test-results');
mkdirSync(shots, { recursive: true });

let server;
let browser;
const tokens = {};
let community; // the level-2 grid whose grid is locked
let grid; // the level-3 grid the test locks (the community's with the most buildings)
let other; // another grid of the community, with a building to paint

before(async () => {
  server = await startGridmap();
  browser = await launch();
  for (const [name, role] of [['plan-lock', 'planner'], ['view-lock', 'viewer']]) {
    tokens[name] = server.cli('user', 'add', name, '--role', role).trim().split('\n').pop();
  }
  const report = await getJSON(server.base, '/api/v1/coverage?limit=10000');
  community = report.grids.find((g) => g.level === 2);
  const kids = (await getJSON(server.base, `/api/v1/balance?parent=${community.code}`)).grids;
  assert.ok(kids.length >= 3, `${community.code} has ${kids.length} grids`);
  grid = kids.reduce((a, b) => (b.buildings > a.buildings ? b : a));
  other = kids.find((g) => g.code !== grid.code && g.buildings > 0);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const open = (path) => openPage(browser, server.base, path);

async function signIn(page, name, role) {
  await page.click('#user');
  await page.fill('#token-input', tokens[name]);
  await page.click('#login-submit');
  await page.waitForFunction((r) => document.querySelector('#user')?.dataset.role === r, role);
}

/** state: the grid as the API has it now, and the community's grids with their buildings. */
async function state() {
  const g = (await getJSON(server.base, `/api/v1/grids/${grid.code}`)).properties;
  const list = await getJSON(server.base, `/api/v1/grids?parent=${community.code}&level=3&limit=1000`);
  const buildings = async (code) => (await getJSON(server.base, `/api/v1/buildings?grid=${code}&limit=10000`)).features.map((f) => f.id).sort();
  return {
    locked: g.locked, version: g.version,
    listed: Object.fromEntries(list.features.map((f) => [f.properties.code, f.properties.locked])),
    geometry: (await getJSON(server.base, `/api/v1/grids/${grid.code}`)).geometry,
    buildings: await buildings(grid.code),
    otherBuildings: await buildings(other.code),
  };
}

/** act runs a UI action that saves and waits until the save settled (as assign.e2e.test.js). */
async function act(page, fn) {
  const n = await page.evaluate(() => window.gridmap.assign.settled || 0);
  await fn();
  await page.waitForFunction((k) => (window.gridmap.assign.settled || 0) > k, n, { timeout: 30000 });
  return page.evaluate(() => window.gridmap.assign.state.note);
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const treeMark = (page) => page.locator(`#tree .row[data-code="${grid.code}"] .lk`);
const LOCKED_ZH = ' 边界已锁定：自动划分和重新平衡会保留它；改变它的修改会被拒绝。';

test('lock: a planner locks a grid, edits of it are refused, divide keeps it, unlocking takes the marks away', async () => {
  const before = await state();
  assert.equal(before.locked, false);
  const { page, context, problems } = await open(`/?sel=${grid.code}`);
  try {
    // signed out: no button, no mark
    await page.waitForFunction((code) => document.getElementById('panel').dataset.sel === code, grid.code);
    assert.equal(await page.locator('#lock-toggle').count(), 0, 'no button before signing in');
    await signIn(page, 'plan-lock', 'planner');
    const toggle = page.locator('#lock-toggle');
    await toggle.waitFor();
    assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
    assert.match(await toggle.textContent(), /锁定边界/);
    assert.equal(await page.locator('#panel .lockline').count(), 0);
    await page.locator(`#tree .row[data-code="${grid.code}"]`).waitFor();
    assert.equal(await treeMark(page).count(), 0, 'the tree has no mark yet');

    // lock: the server has it, the version stays; the panel and the tree mark it
    await toggle.click();
    await page.waitForSelector('#lock-toggle[aria-pressed="true"]');
    let now = await state();
    assert.equal(now.locked, true, 'locked on the server');
    assert.equal(now.version, before.version, 'locking keeps the version');
    assert.deepEqual(Object.entries(now.listed).filter(([, l]) => l).map(([c]) => c), [grid.code], 'the list marks it, and only it');
    assert.equal(await page.locator('#panel .lockline').textContent(), LOCKED_ZH);
    assert.equal(await page.locator('#panel .lockline svg.lock-icon').count(), 1, 'with the padlock');
    assert.match(await toggle.textContent(), /解除锁定/);
    await treeMark(page).waitFor();
    assert.equal(await treeMark(page).getAttribute('aria-label'), '边界已锁定');
    assert.equal(await treeMark(page).locator('svg.lock-icon').count(), 1);
    assert.equal(await page.locator('#tree .lk').count(), 1, 'only its row is marked');
    assert.match(await page.locator('#tree-key').textContent(), /边界已锁定/);
    // in English too
    await page.click('#lang-btn');
    assert.equal(await page.locator('#panel .lockline').textContent(), ' Boundary locked: divide and rebalance keep it; edits that change it are refused.');
    assert.match(await toggle.textContent(), /Unlock/);
    await page.click('#lang-btn');
    await page.locator('#panel').screenshot({ path: join(shots, 'lock-panel.png') });

    // Assign mode: the target's row is locked, the panel says what that means, the map hatches it
    await page.click('#tab-assign');
    const row = page.locator(`.agrid.target[data-code="${grid.code}"]`);
    await row.locator('button.lock[aria-pressed="true"]').waitFor();
    assert.match(await row.getAttribute('class'), /\blocked\b/);
    assert.match(await page.locator('#panel .lockline').textContent(), /边界已锁定：自动划分和重新平衡会保留它/);
    assert.ok(JSON.stringify(await page.evaluate(() => window.gridmap.map.getFilter('assign-lock'))).includes(grid.code), 'hatched on the map');

    // a paint into it: the UI says it is locked and sends nothing
    const b = (await getJSON(server.base, `/api/v1/buildings?grid=${other.code}&limit=1`)).features[0];
    await page.evaluate((c) => window.gridmap.map.jumpTo({ center: c, zoom: 17 }), labelPoint(b.geometry));
    await settle(page);
    await page.click('#assign-tools [data-tool="click"]');
    assert.match(await page.locator('#assign-hint').textContent(), /的边界已锁定，先解除锁定/);
    const p = await screen(page, labelPoint(b.geometry));
    await page.mouse.click(p.x, p.y);
    const guard = page.locator('#panel .anote.error');
    await guard.waitFor();
    assert.match(await guard.textContent(), /边界已锁定：解除锁定后才能向它划入楼栋或分割它/);
    // the same paint sent anyway: the server refuses it, and the panel says so with its words
    let note = await act(page, () => page.evaluate(([id, target]) => { window.gridmap.assign.paint([id], target); }, [b.id, grid.id]));
    assert.equal(note.code, 'ECONFLICT');
    let shown = page.locator('#panel .anote.error[data-code="ECONFLICT"]');
    assert.match(await shown.textContent(), new RegExp(`^未保存（ECONFLICT）：「${escape(grid.name)}」的边界已锁定，先解除锁定。没有任何改动。`));
    assert.match(await shown.locator('.detail').textContent(), new RegExp(`grid ${grid.code} \\(.+\\) is locked: unlock it first`));

    // a split across it: refused the same way
    const xs = now.geometry.coordinates.flat(2).map((c) => c[0]);
    const ys = now.geometry.coordinates.flat(2).map((c) => c[1]);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    // room above the line's first point for the toolbar and the hint over the map
    await page.evaluate((bb) => window.gridmap.map.fitBounds(bb, { padding: { top: 260, bottom: 120, left: 160, right: 160 }, animate: false }), [[x0, y0], [x1, y1]]);
    await settle(page);
    await page.click('#assign-tools [data-tool="split"]');
    assert.match(await page.locator('#assign-hint').textContent(), /边界已锁定/, 'the hint says it before the line is drawn');
    const top = await screen(page, [(x0 + x1) / 2, y1 + (y1 - y0) * 0.15]);
    const bottom = await screen(page, [(x0 + x1) / 2, y0 - (y1 - y0) * 0.15]);
    await page.mouse.click(top.x, top.y);
    await page.mouse.move(bottom.x, bottom.y, { steps: 5 });
    await page.mouse.dblclick(bottom.x, bottom.y);
    await page.waitForSelector('#split-confirm');
    note = await act(page, () => page.click('#split-go'));
    assert.equal(note.code, 'ECONFLICT', note.text);
    shown = page.locator('#panel .anote.error[data-code="ECONFLICT"]');
    assert.match(await shown.textContent(), new RegExp(`「${escape(grid.name)}」的边界已锁定，先解除锁定`));
    await page.screenshot({ path: join(shots, 'lock-split-refused.png') });
    // nothing changed: the grid's outline, version and buildings, its neighbour's buildings
    const refused = await state();
    assert.deepEqual(refused.geometry, before.geometry, 'the outline stays');
    assert.equal(refused.version, before.version);
    assert.deepEqual(refused.buildings, before.buildings);
    assert.deepEqual(refused.otherBuildings, before.otherBuildings);
    assert.deepEqual(Object.keys(refused.listed).sort(), Object.keys(before.listed).sort(), 'no grid added by the split');

    // the auto-divide preview: the section names it before the dry run, the proposal keeps it
    await page.click('#assign-tools [data-tool="inspect"]');
    await page.click('#divide-open');
    const keep = page.locator('#divide .dkeep');
    assert.equal(await keep.getAttribute('data-keep'), grid.code);
    assert.match(await keep.textContent(), /^ 锁定的网格保持不变：/);
    const n = await page.evaluate(() => window.gridmap.divide.state.settled);
    await page.click('#divide-preview');
    await page.waitForFunction((k) => window.gridmap.divide.state.settled > k, n, { timeout: 60000 });
    assert.equal(await page.evaluate(() => window.gridmap.divide.state.note), null);
    // the server keeps a locked grid without being told: the same proposal as the UI's
    const res = await fetch(`${server.base}/api/v1/grids/${community.code}/divide`, {
      method: 'POST', headers: { Authorization: `Bearer ${tokens['plan-lock']}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ target: 0, band: 0, keep: [], k: 0, seed: 1, dry_run: true }),
    });
    assert.equal(res.status, 200);
    const dry = await res.json();
    assert.deepEqual(dry.summary.kept, [grid.code]);
    assert.equal(await page.locator('#divide .dpreview').getAttribute('data-fingerprint'), dry.fingerprint);
    const keptRow = page.locator(`#divide .dgrid[data-code="${grid.code}"]`);
    assert.equal(await keptRow.getAttribute('data-kept'), 'true');
    assert.match(await keptRow.locator('.dkept').textContent(), /已锁定/);
    assert.equal(await page.locator('#divide .dgrid[data-kept="true"]').count(), 1);
    const kept = page.locator('#divide .dkeeps');
    assert.equal(await kept.getAttribute('data-kept'), grid.code);
    assert.match(await kept.textContent(), /保留 1 个锁定的网格：/);
    await page.locator('#panel').screenshot({ path: join(shots, 'lock-divide-preview.png') });
    await page.click('#divide-discard');

    // a viewer sees the marks, not the buttons; a past moment shows neither (no history)
    const past = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000).toISOString().replace('.000Z', 'Z');
    const atPast = (p) => p.waitForFunction((at) => document.getElementById('panel').dataset.at === at, past, { timeout: 60000 });
    const viewer = await open(`/?sel=${grid.code}`);
    try {
      await signIn(viewer.page, 'view-lock', 'viewer');
      await viewer.page.waitForSelector('#panel .lockline');
      assert.equal(await viewer.page.locator('#lock-toggle').count(), 0, 'no button for a viewer');
      await viewer.page.click('#tab-assign');
      await viewer.page.locator(`.agrid[data-code="${grid.code}"] span.lock`).waitFor();
      assert.equal(await viewer.page.locator('.agrid button.lock').count(), 0, 'no lock button on the rows');
      await viewer.page.goto(`${server.base}/?sel=${grid.code}&at=${encodeURIComponent(past)}`);
      await atPast(viewer.page);
      assert.equal(await viewer.page.locator('#panel .lockline').count(), 0, 'no lock in the past');
      assert.deepEqual(viewer.problems, []);
    } finally {
      await viewer.context.close();
    }
    await page.goto(`${server.base}/?sel=${grid.code}&at=${encodeURIComponent(past)}`);
    await atPast(page);
    assert.equal(await page.locator('#user').getAttribute('data-role'), 'planner', 'still signed in');
    assert.equal(await page.locator('#lock-toggle').count(), 0, 'no button at a past moment');

    // unlock (the row's button in Assign mode): every mark goes, the server agrees
    await page.goto(`${server.base}/?sel=${grid.code}&mode=assign`);
    await page.waitForFunction(() => window.gridmap?.ready === true);
    await page.locator(`.agrid[data-code="${grid.code}"] button.lock[aria-pressed="true"]`).waitFor();
    note = await act(page, () => page.click(`.agrid[data-code="${grid.code}"] button.lock`));
    assert.equal(note.kind, 'ok', note.text);
    await page.locator(`.agrid[data-code="${grid.code}"] button.lock[aria-pressed="false"]`).waitFor();
    now = await state();
    assert.equal(now.locked, false, 'unlocked on the server');
    assert.equal(now.version, before.version);
    assert.equal(await page.locator('#panel .lockline').count(), 0);
    await page.waitForFunction((code) => document.querySelector(`#tree .row[data-code="${code}"]`) && !document.querySelector(`#tree .row[data-code="${code}"] .lk`), grid.code);
    assert.ok(!JSON.stringify(await page.evaluate(() => window.gridmap.map.getFilter('assign-lock'))).includes(grid.code), 'no hatch');
    await page.click('#tab-dashboard');
    await page.locator('#lock-toggle[aria-pressed="false"]').waitFor();
    assert.equal(await page.locator('#panel .lockline').count(), 0);
    await page.screenshot({ path: join(shots, 'lock-unlocked.png') });

    // the two refused edits are the only HTTP errors
    const expected = [/^HTTP 409 POST \/api\/v1\/grids\/\d+\/paint$/, /^HTTP 409 POST \/api\/v1\/grids\/\d+\/split$/];
    for (const re of expected) assert.ok(problems.some((x) => re.test(x)), `expected ${re} among ${problems.join(' | ')}`);
    assert.deepEqual(problems.filter((x) => !expected.some((re) => re.test(x)) && !/status of 409/.test(x)), []);
  } finally {
    await context.close();
  }
});
