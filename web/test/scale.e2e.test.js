// The dashboard on a scaled city (gridmap demo --scale 10: 1,340 grids, 15,000 buildings), in
// Chromium: it draws from the tiles, its KPIs are the server's summary, the tree loads a
// subdistrict's children when it is opened, the issue list is paged and follows the map, and
// what the page transfers before it is ready stays bounded — nothing it asks for grows with
// the city. Ready time and bytes are printed (bench/dashboard.mjs measures scale 100).

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { launch, settle } from './browser.js';
import { byKind, measureLoad } from './measure.js';
import { getJSON, startGridmap, webDir } from './server.js';

const shots = join(webDir, 'test-results');
mkdirSync(shots, { recursive: true });

const SCALE = 10;
const MAX_BYTES_BEFORE_READY = 3e6;
// the largest JSON answer the dashboard may ask for: a page of anything, never a city's worth
const MAX_API_BYTES = 100e3;

let server;
let browser;

before(async () => {
  server = await startGridmap({ scale: SCALE });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const kb = (n) => `${(n / 1024).toFixed(0)} kB`;

test(`dashboard on demo --scale ${SCALE}: draws, KPIs, lazy tree, paged issues in view, bounded bytes`, async () => {
  const m = await measureLoad(browser, `${server.base}/`);
  const { page, context, problems } = m;
  try {
    // what it cost, for the record
    console.log(`scale ${SCALE}: ready after ${m.readyMs} ms, ${kb(m.ready.bytes)} in ${m.ready.requests} requests; `
      + `map drawn after ${m.drawnMs} ms, ${kb(m.drawn.bytes)} in ${m.drawn.requests} requests`);
    for (const [k, v] of Object.entries(byKind(m.responses))) console.log(`  ${k}: ${v.requests} × ${kb(v.bytes)}`);
    assert.ok(m.ready.bytes < MAX_BYTES_BEFORE_READY, `${m.ready.bytes} bytes before ready`);
    assert.deepEqual(problems, []);
    // no request for the whole report or for outlines of a level; every API answer is small
    for (const r of m.responses) {
      assert.ok(r.path !== '/api/v1/coverage', `the whole coverage report asked for: ${r.path}${r.search}`);
      if (r.path === '/api/v1/grids') assert.match(r.search, /geometry=false/, `grids with outlines: ${r.search}`);
      if (r.path.startsWith('/api/')) assert.ok(r.bytes < MAX_API_BYTES, `${r.path}${r.search}: ${r.bytes} bytes`);
    }
    await page.screenshot({ path: join(shots, `scale${SCALE}-dashboard.png`) });

    // the map draws from the tiles: outlines of every level at the city's zoom, labels placed
    const drawn = await page.evaluate(() => {
      const map = window.gridmap.map;
      const n = (id) => map.queryRenderedFeatures({ layers: [id] }).length;
      return { l1: n('grid-line-l1'), labels: n('label-l1') + n('label-l2'), zoom: map.getZoom() };
    });
    assert.ok(drawn.l1 > 0 && drawn.labels > 0, `drawn ${JSON.stringify(drawn)}`);

    // KPIs: the city's summary, figure for figure
    const s = await getJSON(server.base, '/api/v1/coverage/summary');
    const kpis = await page.$$eval('#panel [data-kpi]', (els) => Object.fromEntries(els.map((e) => [e.dataset.kpi, e.dataset.value])));
    const hpw = s.households_per_worker;
    assert.deepEqual(kpis, {
      grids: s.grids_per_level.join(','),
      buildings: String(s.totals.buildings),
      units: String(s.totals.units),
      households: String(s.totals.households),
      workers: String(s.totals.workers),
      staffed: String(s.staffed_share),
      oneGrid: String(s.one_grid_share),
      gaps: String(s.gaps),
      overlaps: String(s.overlaps),
      hpw: [hpw.min, hpw.median, hpw.max].join(','),
    });
    assert.equal(s.grids_per_level[0], 5 * SCALE);

    // the tree: the subdistricts, and no community until one is opened — then its children
    const l1 = await page.$$eval('#tree .row[data-level="1"]', (els) => els.map((e) => e.dataset.code));
    assert.equal(l1.length, Math.min(50, 5 * SCALE));
    assert.equal(await page.locator('#tree .row[data-level="2"]').count(), 0, 'no community loaded before asked');
    const sub = l1[l1.length - 1];
    const asked = page.waitForResponse((r) => r.url().includes(`/api/v1/grids?parent=${sub}`));
    await page.click(`#tree .row[data-code="${sub}"] .caret`);
    await asked;
    await page.waitForSelector(`#tree .row[data-level="2"]`);
    const kids = await getJSON(server.base, `/api/v1/grids?parent=${sub}&geometry=false`);
    const shown = await page.$$eval('#tree .row[data-level="2"]', (els) => els.map((e) => e.dataset.code));
    assert.deepEqual(shown, kids.features.map((f) => f.properties.code));
    const firstKid = kids.features[0].properties;
    assert.match(await page.locator(`#tree .row[data-code="${firstKid.code}"] .hh`).textContent(), new RegExp(firstKid.households.toLocaleString('zh-CN')));

    // the issue list: a page of the city's issues in view, with a pager
    const inView = async () => page.evaluate(() => {
      const b = window.gridmap.map.getBounds();
      return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
    });
    const listed = () => page.$$eval('#panel [data-defect]', (els) => els.map((e) => e.dataset.id));
    const total = async () => Number(await page.locator('#panel section.defects').getAttribute('data-total'));
    await page.waitForFunction(() => document.querySelector('#panel section.defects')?.dataset.total);
    const cityTotal = await total();
    const want = await getJSON(server.base, `/api/v1/coverage/issues?limit=0&kind=gap,overlap,outside_parent,building_outside,multi_grid,straddler,unstaffed,noncontiguous&bbox=${(await inView()).join(',')}`);
    assert.equal(cityTotal, want.numberMatched);
    assert.ok(cityTotal > 20, `${cityTotal} issues in view: want more than a page`);
    const first = await listed();
    assert.equal(first.length, 20);
    const loaded = () => page.evaluate(() => window.gridmap.issuesLoaded || 0);
    let n = await loaded();
    await page.click('#issues-next');
    await page.waitForFunction((k) => (window.gridmap.issuesLoaded || 0) > k, n);
    const second = await listed();
    assert.ok(second.length > 0 && second.every((id) => !first.includes(id)), 'the next page lists others');
    // zoomed into one community, the list is what is there
    n = await loaded();
    const community = kids.features[0];
    await page.evaluate((b) => window.gridmap.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { animate: false }), community.bbox);
    await page.waitForFunction((k) => (window.gridmap.issuesLoaded || 0) > k, n);
    await settle(page);
    const view = await inView();
    const local = await total();
    assert.ok(local < cityTotal, `${local} issues in view after zooming in, ${cityTotal} before`);
    const page1 = await getJSON(server.base, `/api/v1/coverage/issues?limit=20&kind=gap,overlap,outside_parent,building_outside,multi_grid,straddler,unstaffed,noncontiguous&bbox=${view.join(',')}`);
    assert.deepEqual(await listed(), page1.issues.map((i) => i.id));
    for (const i of page1.issues) {
      const [w, so, e, no] = i.bbox;
      assert.ok(w <= view[2] && e >= view[0] && so <= view[3] && no >= view[1], `${i.id} meets the view`);
    }
    await page.screenshot({ path: join(shots, `scale${SCALE}-zoomed.png`) });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
