// End-to-end test of the division through time in the map UI: a real gridmap on a demo city of
// its own (the test edits it), driven in Chromium. A moment T0 is taken, then a level-3 grid is
// renamed and a building of its neighbour painted into it through the API. Picking T0 in the
// Coverage mode's as-of control must show the old name and the old division — in the panel, in
// the features the map drew and in a tile fetched afresh from the URL the map's source now has
// — with the banner up and Assign off; the address carries the moment (reload, back and
// forward restore it); "now" shows the new; the changes overlay from T0 lists both edits,
// draws their areas and flies to an entry. Screenshots land in web/test-results/ (git-ignored).

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';

import { launch, open as openPage, settle } from './browser.js';
import { getJSON, startGridmap, webDir } from './server.js';
import { labelPoint } from '../src/model.js';

const shots = join(webDir, 'test-results');
mkdirSync(shots, { recursive: true });

let server;
let browser;
let token;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// what the test changed: the grid renamed (and painted into), the building moved, the moment before
const edit = { grid: null, oldName: '', newName: '', donor: null, building: null, t0: '', point: null, buildingPoint: null };

/** send makes an API write as the planner: its parsed reply (a non-2xx fails the test). */
async function send(method, path, body, ifMatch) {
  const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
  if (ifMatch) headers['If-Match'] = ifMatch;
  const res = await fetch(server.base + path, { method, headers, body: JSON.stringify(body) });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

async function etag(id) {
  const res = await fetch(`${server.base}/api/v1/grids/${id}`);
  assert.equal(res.status, 200);
  return res.headers.get('etag');
}

const centroid = (geom) => labelPoint(geom);
const re = (text) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

before(async () => {
  server = await startGridmap();
  browser = await launch();
  token = server.cli('user', 'add', 'plan-hist', '--role', 'planner').trim().split('\n').pop();
  // a community with two level-3 grids that have buildings: the second gives one to the first
  const communities = (await getJSON(server.base, '/api/v1/grids?level=2&geometry=false&limit=100')).features;
  for (const c of communities) {
    const kids = (await getJSON(server.base, `/api/v1/grids?parent=${c.properties.code}&level=3&limit=100`)).features
      .filter((f) => f.properties.buildings > 1);
    if (kids.length >= 2) {
      [edit.grid, edit.donor] = kids.map((f) => ({ ...f.properties, geometry: f.geometry }));
      break;
    }
  }
  assert.ok(edit.grid, 'a community with two level-3 grids holding buildings');
  edit.oldName = edit.grid.name;
  edit.newName = `${edit.oldName}（新名）`;
  const donated = (await getJSON(server.base, `/api/v1/buildings?grid=${edit.donor.code}&limit=1`)).features[0];
  edit.building = donated.id ?? donated.properties.id;
  edit.buildingPoint = centroid(donated.geometry);
  edit.point = centroid(edit.grid.geometry);

  // T0: after the city was loaded, before the edits (moments are kept to the second)
  await sleep(1200);
  edit.t0 = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  await sleep(1200);
  await send('PATCH', `/api/v1/grids/${edit.grid.id}`, { name: edit.newName }, await etag(edit.grid.id));
  await send('POST', `/api/v1/grids/${edit.grid.id}/paint`, { buildings: [edit.building] }, await etag(edit.grid.id));
  const now = await getJSON(server.base, `/api/v1/buildings/${edit.building}`);
  assert.equal(now.properties.grid_code, edit.grid.code, 'the paint moved the building');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** tileAt fetches afresh the z15 tile holding lnglat from template (the map source's URL). */
async function tileAt(template, lnglat) {
  const z = 15;
  const n = 2 ** z;
  const x = Math.floor(((lnglat[0] + 180) / 360) * n);
  const lat = (lnglat[1] * Math.PI) / 180;
  const y = Math.floor(((1 - Math.log(Math.tan(lat) + 1 / Math.cos(lat)) / Math.PI) / 2) * n);
  const url = new URL(template.replace('{z}', z).replace('{x}', x).replace('{y}', y), server.base);
  const res = await fetch(url);
  assert.equal(res.status, 200, url.href);
  return new VectorTile(new PbfReader(new Uint8Array(await res.arrayBuffer())));
}

function layerProps(tile, name) {
  const l = tile.layers[name];
  const out = [];
  for (let i = 0; l && i < l.length; i++) {
    const f = l.feature(i);
    out.push({ id: f.id, ...f.properties });
  }
  return out;
}

/** screen reads what the page shows of the moment: the panel, banner, URL, source and drawn features. */
function screen(page, code, building) {
  return page.evaluate(({ code, building }) => {
    const m = window.gridmap.map;
    const src = m.getSource('gridmap');
    const drawn = m.querySourceFeatures('gridmap', { sourceLayer: 'grids' }).filter((f) => f.properties.code === code);
    const b = m.querySourceFeatures('gridmap', { sourceLayer: 'buildings' }).filter((f) => f.id === building);
    const banner = document.getElementById('asof-banner');
    return {
      url: location.search,
      panelAt: document.getElementById('panel').dataset.at,
      panelSel: document.getElementById('panel').dataset.sel,
      head: document.getElementById('sel-title')?.textContent || '',
      panel: document.getElementById('panel').textContent,
      banner: banner.hidden ? '' : banner.textContent,
      assignDisabled: document.getElementById('tab-assign').disabled,
      assignTitle: document.getElementById('tab-assign').title,
      tiles: src.tiles[0],
      names: [...new Set(drawn.map((f) => f.properties.name))],
      buildingGrid: [...new Set(b.map((f) => f.properties.grid_code))],
      tree: document.getElementById('tree').textContent,
    };
  }, { code, building });
}

/** waitMoment waits until the panel shows the selection as of at ('' now) and the map has drawn it. */
async function waitMoment(page, at, sel) {
  await page.waitForFunction(({ at, sel }) => {
    const p = document.getElementById('panel');
    return p.dataset.at === at && p.dataset.sel === sel && window.gridmap.map.getSource('gridmap').tiles[0].includes('at=') === Boolean(at);
  }, { at, sel }, { timeout: 60000 });
  await settle(page);
}

/**
 * drawnAs waits until the map has drawn grid code under name (the source reloads its tiles
 * after its URL changed, a moment later than the panel may answer), then until it settles.
 */
async function drawnAs(page, code, name) {
  try {
    await page.waitForFunction(({ code, name }) => {
      const fs = window.gridmap.map.querySourceFeatures('gridmap', { sourceLayer: 'grids' }).filter((f) => f.properties.code === code);
      return fs.length > 0 && fs.every((f) => f.properties.name === name);
    }, { code, name }, { timeout: 30000, polling: 100 });
  } catch {
    // the assertion that follows says what was drawn instead
  }
  await settle(page);
}

/** pickMoment enters a moment in a date + time control (prefix: asof, changes) as a user would. */
async function pickMoment(page, prefix, iso) {
  const parts = await page.evaluate((ms) => {
    const d = new Date(ms);
    const p = (n) => String(n).padStart(2, '0');
    return { date: `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`, time: `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}` };
  }, Date.parse(iso));
  // the time first: a date alone would already be a moment (its first instant)
  await page.fill(`#${prefix}-time`, parts.time);
  await page.fill(`#${prefix}-date`, parts.date);
}

test('as of a past moment: the old name and division in the panel and the tiles; now: the new; changes from then list the edits', async () => {
  const { grid, oldName, newName, t0, building } = edit;
  const { page, problems } = await openPage(browser, server.base, `/?mode=coverage&sel=${grid.code}`);
  const asked = [];
  page.on('request', (r) => { if (r.url().includes('/tiles/')) asked.push(r.url()); });
  try {
    await waitMoment(page, '', grid.code);
    let s = await screen(page, grid.code, building);
    assert.match(s.head, re(newName), 'now: the new name');
    assert.equal(s.banner, '', 'no banner at now');
    assert.equal(s.assignDisabled, false);

    // pick T0 in the as-of control
    assert.equal(await page.locator('#history-box').isVisible(), true, 'the control is in the Coverage mode');
    await pickMoment(page, 'asof', t0);
    await waitMoment(page, t0, grid.code);
    await drawnAs(page, grid.code, oldName);
    s = await screen(page, grid.code, building);
    await page.screenshot({ path: join(shots, 'history-asof.png') });
    assert.match(s.url, new RegExp(`at=${encodeURIComponent(t0)}`), 'the address has the moment');
    assert.match(s.head, re(oldName), 'the panel: the old name');
    assert.doesNotMatch(s.panel, re(newName), 'the panel: not the new name');
    assert.match(s.banner, /历史视图/, 'a banner says the screen is of the past');
    assert.equal(s.assignDisabled, true, 'Assign is off in the past');
    assert.match(s.assignTitle, /只读/);
    assert.match(s.tiles, /[?&]at=/, 'the tile source asks for the moment');
    // a tile fetched afresh from the source's URL: the old name, label and building's grid
    const tile = await tileAt(s.tiles, edit.point);
    const g = layerProps(tile, 'grids').find((f) => f.code === grid.code);
    assert.equal(g?.name, oldName, 'past tile: the old name');
    assert.ok(layerProps(tile, 'grid_labels').some((f) => f.code === grid.code && f.label === oldName), 'past tile: the old label');
    const bt = await tileAt(s.tiles, edit.buildingPoint);
    assert.equal(layerProps(bt, 'buildings').find((f) => f.id === building)?.grid_code, edit.donor.code, 'past tile: the building in its old grid');
    const nowTile = await tileAt(s.tiles.replace(/[?&]at=[^&]*/, ''), edit.buildingPoint);
    assert.equal(layerProps(nowTile, 'buildings').find((f) => f.id === building)?.grid_code, grid.code, 'the tile of now: the new grid');
    assert.deepEqual(s.names, [oldName], `the drawn grid has its old name; tiles asked: ${asked.slice(-6).join(' ')}`);
    if (s.buildingGrid.length) assert.deepEqual(s.buildingGrid, [edit.donor.code], 'the drawn building is in its old grid');
    // the issue list is of now: at a past moment the panel says so instead
    assert.equal(await page.locator('#panel .issues-past').count(), 1);
    // the legend says why the past is uncoloured instead of showing the metric's classes
    assert.match(await page.locator('#legend [data-block="metric"]').innerText(), /不着色/, 'the legend: no colours in the past');
    // a building clicked in the past: its grid then, from the tile; the API's detail (of now) is
    // not asked for
    const [blon, blat] = edit.buildingPoint;
    await page.evaluate(([lon, lat]) => window.gridmap.map.jumpTo({ center: [lon, lat], zoom: 16.5 }), [blon, blat]);
    await settle(page);
    const bpt = await page.evaluate(([lon, lat]) => {
      const p = window.gridmap.map.project([lon, lat]);
      const r = window.gridmap.map.getCanvas().getBoundingClientRect();
      return { x: r.left + p.x, y: r.top + p.y };
    }, [blon, blat]);
    const detailAsked = [];
    const onReq = (r) => { if (r.url().includes(`/api/v1/buildings/${building}`)) detailAsked.push(r.url()); };
    page.on('request', onReq);
    await page.mouse.click(bpt.x, bpt.y);
    const bpop = page.locator('.maplibregl-popup .popup[data-kind="building"]');
    await bpop.waitFor();
    assert.equal(await bpop.getAttribute('data-loaded'), 'tiles', 'past popup: from the tile');
    const btext = await bpop.innerText();
    assert.ok(btext.includes(edit.donor.code), `past popup: the building's grid then (${edit.donor.code}): ${btext}`);
    assert.ok(!btext.includes(grid.code), 'past popup: not its grid of now');
    assert.doesNotMatch(btext, /null|undefined|NaN/);
    page.off('request', onReq);
    assert.deepEqual(detailAsked, [], 'past popup: the detail of now is not asked for');
    await page.click('.maplibregl-popup-close-button');

    // a reload keeps the moment
    await page.reload();
    await page.waitForFunction(() => window.gridmap?.ready === true, null, { timeout: 60000 });
    await waitMoment(page, t0, grid.code);
    await drawnAs(page, grid.code, oldName);
    s = await screen(page, grid.code, building);
    assert.match(s.head, re(oldName), 'reloaded: the old name');
    assert.match(s.banner, /历史视图/);
    assert.deepEqual(s.names, [oldName]);

    // "now": the new name; back: the past again; forward: now
    await page.click('#asof-now');
    await waitMoment(page, '', grid.code);
    await drawnAs(page, grid.code, newName);
    s = await screen(page, grid.code, building);
    assert.match(s.head, re(newName), 'now again: the new name');
    assert.equal(s.banner, '');
    assert.doesNotMatch(s.url, /at=/);
    assert.deepEqual(s.names, [newName], 'the drawn grid: the new name');
    await page.goBack();
    await waitMoment(page, t0, grid.code);
    assert.match((await screen(page, grid.code, building)).head, re(oldName), 'back: the past');
    await page.goForward();
    await waitMoment(page, '', grid.code);
    assert.match((await screen(page, grid.code, building)).head, re(newName), 'forward: now');

    // the changes overlay from T0: both edits listed, their areas drawn, an entry flies there
    await page.check('#changes-on');
    await page.waitForFunction(() => document.querySelector('#changes .change-list, #changes .changes-summary'), null, { timeout: 60000 });
    await pickMoment(page, 'changes', t0);
    await page.waitForFunction((t) => {
      const h = window.gridmap.history.state;
      return !h.loading && h.list && Date.parse(h.list.from) === Date.parse(t);
    }, t0, { timeout: 60000 });
    await page.waitForFunction((t) => new URLSearchParams(location.search).get('changes') === t, t0);
    const list = await page.evaluate(() => window.gridmap.history.state.list);
    assert.equal(Date.parse(list.from), Date.parse(t0), 'the period starts at T0');
    const entry = page.locator(`#changes li.change[data-kind="grid"][data-id="${grid.id}"]`);
    await entry.waitFor();
    const text = await entry.textContent();
    assert.match(text, /更名/, 'the rename is listed');
    assert.match(text, re(`${oldName} → ${newName}`));
    assert.match(text, /划入楼栋/, 'the paint is among its edits');
    assert.equal(await page.locator(`#changes li.change[data-kind="building"][data-id="${building}"]`).count(), 1, 'the moved building is listed');
    assert.doesNotMatch(await page.locator('#changes').textContent(), /null|undefined/);
    const drawn = await page.evaluate(() => window.gridmap.map.getSource('changes').serialize().data.features.map((f) => f.properties));
    assert.ok(drawn.some((p) => p.grid_id === grid.id && p.change === 'gained'), 'the area the grid gained is drawn');
    await page.evaluate(() => { window.gridmap.focused = null; });
    await entry.locator('button').click();
    await page.waitForFunction(() => window.gridmap.focused, null, { timeout: 30000 });
    await settle(page);
    await page.screenshot({ path: join(shots, 'history-changes.png') });
    // English too: no key or empty value shows
    await page.click('#lang-btn');
    const en = await page.locator('#changes').textContent();
    assert.match(en, /renamed/);
    assert.doesNotMatch(en, /changes\.|null|undefined/);

    // the Export panel offers the report of the selection (as of the moment shown)
    await page.click('#tab-export');
    const href = await page.locator('#report-xlsx').getAttribute('href');
    assert.match(href, new RegExp(`^/api/v1/reports/summary\\.xlsx\\?parent=${grid.code}`));
    const res = await fetch(server.base + href);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /spreadsheetml/);
    assert.match(await page.locator('#report-csv').getAttribute('href'), /summary\.csv/);
    assert.deepEqual(problems, []);
  } finally {
    await page.context().close();
  }
});

test('a link to Assign at a past moment opens Coverage there, read-only; the export links carry the moment', async () => {
  const { grid, oldName, t0 } = edit;
  const { page, problems } = await openPage(browser, server.base, `/?mode=assign&sel=${grid.code}&at=${encodeURIComponent(t0)}`);
  try {
    await waitMoment(page, t0, grid.code);
    assert.equal(await page.evaluate(() => window.gridmap.state.mode), 'coverage');
    assert.equal(await page.locator('#tab-assign').isDisabled(), true);
    assert.match(await page.locator('#sel-title').textContent(), re(oldName));
    await page.click('#tab-export');
    const href = await page.locator('#report-xlsx').getAttribute('href');
    assert.match(href, new RegExp(`at=${encodeURIComponent(t0)}`), 'the report is of the moment shown');
    assert.match(await page.locator('#export-download').getAttribute('href'), /at=/, 'so are the exports');
    assert.match(await page.locator('#asof-banner').textContent(), /历史视图/, 'the banner stays up in Export');
    assert.deepEqual(problems, []);
  } finally {
    await page.context().close();
  }
});
