// A grid worker in the field: a grid leader downloads their community's offline package from
// the Export mode (GET /api/v1/export/offline.pmtiles), gridmap is stopped, and the UI — a
// static copy of the built web/dist, as any static host or a copy on the tablet serves it —
// opens the package from the file, draws the map from it, shows a building's details from its
// tile properties and answers "what is here" from the drawn grids, without one request to a
// server but the UI's own files.

import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { after, before, test } from 'node:test';

import { launch, settle } from './browser.js';
import { getJSON, startGridmap, webDir } from './server.js';

let server;
let browser;
let stat; // the static server of the UI's copy
let dir;
let community;
let token;
let pkgFile;

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };

/** serveStatic serves root's files on a loopback port: the UI with no gridmap behind it. */
function serveStatic(root) {
  const requests = [];
  const srv = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    requests.push(path);
    let file = normalize(join(root, path === '/' ? 'index.html' : path));
    if (!file.startsWith(root)) file = '';
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] || 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve({
    base: `http://127.0.0.1:${srv.address().port}`, requests, close: () => new Promise((r) => srv.close(r)),
  })));
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gridmap-offline-'));
  server = await startGridmap();
  browser = await launch();
  const report = await getJSON(server.base, '/api/v1/coverage?limit=10000');
  community = report.grids.find((g) => g.level === 2);
  token = server.cli('user', 'add', 'leader-offline', '--role', 'grid_leader', '--grids', community.code).trim().split('\n').pop();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await stat?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a grid leader downloads their community\'s offline package from the Export mode', async () => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, acceptDownloads: true });
  const page = await context.newPage();
  const asked = [];
  page.on('request', (r) => asked.push(new URL(r.url()).pathname));
  await page.goto(`${server.base}/?mode=export&sel=${community.code}`);
  await page.waitForFunction(() => window.gridmap?.ready === true, null, { timeout: 60000 });
  // online, the map's style is the server's /style.json, with its sprite of hatches
  assert.ok(asked.includes('/style.json'), 'the UI reads /style.json');
  assert.equal(await page.evaluate(() => window.gridmap.map.getStyle().sprite), `${server.base}/tiles/sprite`);
  // anonymous: the panel says to sign in, and offers to open a package
  await page.waitForSelector('#offline-open');
  assert.equal(await page.locator('#offline-download').count(), 0);
  await page.click('#user');
  await page.fill('#token-input', token);
  await page.click('#login-submit');
  await page.waitForFunction(() => document.querySelector('#user')?.dataset.role === 'grid_leader');
  await page.click('#tab-dashboard');
  await page.click('#tab-export');
  const link = page.locator('#offline-download');
  await link.waitFor();
  assert.equal(await link.getAttribute('href'), `/api/v1/export/offline.pmtiles?grid=${community.code}`);
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  pkgFile = join(dir, `${community.code}.pmtiles`);
  await download.saveAs(pkgFile);
  const head = readFileSync(pkgFile).subarray(0, 8);
  assert.equal(head.subarray(0, 7).toString(), 'PMTiles');
  assert.equal(head[7], 3, 'PMTiles v3');
  await context.close();
});

test('with gridmap stopped, the UI opens the package, draws it and shows a building from its tiles', async () => {
  assert.ok(pkgFile, 'the package of the test before');
  await server.stop();
  server = null;
  // the UI's files as a static copy: nothing of gridmap answers
  const ui = join(dir, 'ui');
  cpSync(join(webDir, 'dist'), ui, { recursive: true });
  stat = await serveStatic(ui);

  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  const after = []; // what the page asks for once the package is open
  let opened = false;
  page.on('request', (r) => {
    if (opened) after.push(r.url());
  });
  await page.goto(`${stat.base}/`);
  // no server: the panel says so and offers the package
  const open = page.locator('#offline-open');
  await open.waitFor({ timeout: 30000 });
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), open.click()]);
  opened = true;
  const errorsBefore = await page.evaluate(() => window.gridmap.errors.length);
  await chooser.setFiles(pkgFile);
  await page.waitForFunction(() => window.gridmap?.ready === true && window.gridmap.offline, null, { timeout: 60000 });
  await settle(page);

  // the package's provenance, from its metadata
  const info = page.locator('#offline-info');
  await info.waitFor();
  assert.match(await info.textContent(), new RegExp(community.code));
  assert.match(await page.locator('#data-asof').textContent(), /\.pmtiles/);
  assert.ok(Number(await info.getAttribute('data-version')) > 0);

  // a building of the package at street zoom, clicked where it is drawn
  const hit = await page.evaluate(async () => {
    const m = window.gridmap.map;
    const b = window.gridmap.state.offline.bounds;
    m.jumpTo({ center: [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2], zoom: 17 });
    await new Promise((r) => m.once('idle', r));
    const fs = m.queryRenderedFeatures({ layers: ['buildings', 'buildings-straddling'] });
    const canvas = m.getCanvas().getBoundingClientRect();
    for (const f of fs) {
      // a point inside the footprint: the middle of its first ring's bounding box, checked
      const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
      const xs = ring.map((c) => c[0]);
      const ys = ring.map((c) => c[1]);
      const c = [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2];
      const p = m.project(c);
      if (p.x < 300 || p.x > canvas.width - 300 || p.y < 120 || p.y > canvas.height - 150) continue;
      const at = m.queryRenderedFeatures(p, { layers: ['buildings', 'buildings-straddling', 'units'] });
      if (at.length && at.every((g) => g.layer.id !== 'units') && at[0].properties.code === f.properties.code) {
        return { x: canvas.left + p.x, y: canvas.top + p.y, code: f.properties.code, households: f.properties.households };
      }
    }
    return null;
  });
  assert.ok(hit, 'a building drawn from the package');
  await page.mouse.click(hit.x, hit.y);
  const pop = page.locator('.maplibregl-popup .popup[data-kind="building"]');
  await pop.waitFor();
  assert.equal(await pop.getAttribute('data-code'), hit.code);
  assert.equal(await pop.getAttribute('data-loaded'), 'tiles');
  const text = await pop.textContent();
  assert.ok(text.includes(hit.code), text);
  assert.ok(text.includes(String(hit.households)), text);

  // "what is here": the grid chain from the drawn grids, down to the level-3 grid
  await page.click('#tool-locate');
  await page.mouse.click(hit.x, hit.y);
  const loc = page.locator('.maplibregl-popup .popup[data-kind="locate"][data-status]');
  await loc.waitFor();
  const where = await loc.textContent();
  assert.ok(where.includes(community.code), where);
  assert.ok(!where.includes('null'), where);
  assert.ok(where.includes(hit.code), where);
  await page.screenshot({ path: join(webDir, 'test-results', 'offline-package.png') });

  // nothing asked of any server once the package was open: the tiles came from the file
  const net = after.filter((u) => !u.startsWith('data:') && !u.startsWith('blob:'));
  const notUI = net.filter((u) => !new URL(u).pathname.startsWith('/assets/'));
  assert.deepEqual(notUI, [], 'requests after opening the package');
  assert.ok(!stat.requests.some((p) => p.startsWith('/tiles/')), 'no tile request');
  assert.deepEqual(problems, []);
  // the map drew everything it was asked to (the hatches, drawn here without a sprite, too)
  assert.deepEqual(await page.evaluate((n) => window.gridmap.errors.slice(n), errorsBefore), []);
  assert.ok(await page.evaluate(() => window.gridmap.map.hasImage('hatch-gap')));
  await context.close();
});
