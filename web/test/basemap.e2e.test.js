// End-to-end: a GCJ-02 basemap lines up with gridmap's WGS 84 footprints. The test serves its
// own AMap-like basemap on loopback: transparent PNG tiles on the Web Mercator grid laid out in
// GCJ-02, holding one building of the demo city drawn in solid red where a GCJ-02 map has it
// (its WGS 84 footprint moved by the GCJ-02 offset, some 500 m here). gridmap is configured
// with it as the operator would (--basemap … --basemap-crs gcj02); at z17 the red building in
// the basemap and gridmap's own footprint of it must cover the same pixels to within one, a
// click on the red building must be "what is here" of that building, and nothing may be asked
// of any host but the two loopback servers.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { deflateSync } from 'node:zlib';

import { wgs84ToGcj02 } from '../src/chinacrs.js';
import { launch, settle } from './browser.js';
import { getJSON, startGridmap, webDir } from './server.js';

const shots = join(webDir, 'test-results');
mkdirSync(shots, { recursive: true });

// ---- a PNG encoder and a polygon rasterizer, enough for solid-colour tiles ----------------

const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** png encodes a 256 × 256 RGBA buffer. */
function png(rgba, size = 256) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, no interlace
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** mercPx is the global Web Mercator pixel position of [lon, lat] at zoom z. */
function mercPx([lon, lat], z) {
  const size = 256 * 2 ** z;
  const s = Math.sin((lat * Math.PI) / 180);
  return [((lon + 180) / 360) * size, (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * size];
}

/** tile draws rings (GCJ-02 [lon, lat]) into tile z/x/y: red where a pixel's centre is inside (even–odd). */
function tile(rings, z, x, y) {
  // transparent red round it: where a browser blends colours unpremultiplied, no dark fringe
  const rgba = Buffer.alloc(256 * 256 * 4);
  for (let i = 0; i < rgba.length; i += 4) rgba[i] = 255;
  const px = rings.map((r) => r.map((p) => {
    const [gx, gy] = mercPx(p, z);
    return [gx - x * 256, gy - y * 256];
  }));
  for (let row = 0; row < 256; row++) {
    const cy = row + 0.5;
    const xs = [];
    for (const r of px) {
      for (let i = 0; i + 1 < r.length; i++) {
        const [x0, y0] = r[i];
        const [x1, y1] = r[i + 1];
        if ((y0 > cy) !== (y1 > cy)) xs.push(x0 + ((cy - y0) * (x1 - x0)) / (y1 - y0));
      }
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      for (let col = Math.max(0, Math.ceil(xs[k] - 0.5)); col < Math.min(256, Math.ceil(xs[k + 1] - 0.5)); col++) {
        rgba.set([255, 0, 0, 255], (row * 256 + col) * 4);
      }
    }
  }
  return png(rgba);
}

// ---- the servers ---------------------------------------------------------------------------

let server;
let browser;
let tiles; // the loopback basemap server
let footprint = []; // the building's outer rings in GCJ-02, once known
const asked = [];

before(async () => {
  tiles = createServer((req, res) => {
    const m = /^\/gcj\/(\d+)\/(\d+)\/(\d+)\.png$/.exec(req.url);
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    asked.push(req.url);
    res.writeHead(200, { 'Content-Type': 'image/png', 'Access-Control-Allow-Origin': '*' });
    res.end(tile(footprint, Number(m[1]), Number(m[2]), Number(m[3])));
  });
  await new Promise((r) => tiles.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${tiles.address().port}`;
  server = await startGridmap({
    args: ['--basemap', `http://${host}/gcj/{z}/{x}/{y}.png`, '--basemap-crs', 'gcj02', '--basemap-attribution', 'test basemap (GCJ-02)'],
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  tiles?.close();
});

// ---- pixels --------------------------------------------------------------------------------

/** mask finds the map's pixels for which keep(r, g, b) holds: their bounds, centroid and set. */
async function mask(page, kind) {
  const shot = await page.locator('#map').screenshot();
  return page.evaluate(async ({ b64, kind }) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    // more than half covered: red over the light background, or blue
    const keep = kind === 'red' ? (r, gr, b) => r - gr > 128 && r - b > 128 : (r, gr, b) => b - r > 128 && b - gr > 128;
    const on = [];
    let [x0, y0, x1, y1, sx, sy] = [Infinity, Infinity, -Infinity, -Infinity, 0, 0];
    for (let y = 0; y < c.height; y++) {
      for (let x = 0; x < c.width; x++) {
        const i = (y * c.width + x) * 4;
        if (!keep(d[i], d[i + 1], d[i + 2])) continue;
        on.push(y * c.width + x);
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
        sx += x;
        sy += y;
      }
    }
    return { n: on.length, bounds: [x0, y0, x1, y1], centroid: [sx / on.length, sy / on.length], on, width: c.width };
  }, { b64: shot.toString('base64'), kind });
}

/**
 * edgeOffsets compares two masks' outlines: for each row both cover, how far a's leftmost and
 * rightmost pixels are from b's, and the same down each column: the mean and the largest.
 */
function edgeOffsets(a, b) {
  const extents = (m, byRow) => {
    const e = new Map();
    for (const i of m.on) {
      const [u, v] = byRow ? [i % m.width, Math.floor(i / m.width)] : [Math.floor(i / m.width), i % m.width];
      const [lo, hi] = e.get(v) || [Infinity, -Infinity];
      e.set(v, [Math.min(lo, u), Math.max(hi, u)]);
    }
    return e;
  };
  const out = [];
  for (const byRow of [true, false]) {
    const ea = extents(a, byRow);
    const eb = extents(b, byRow);
    // the middle 80 % of the rows (columns): near a corner an edge nearly along them is cut
    // anywhere by a fraction of a pixel's move
    const both = [...ea.keys()].filter((k) => eb.has(k)).sort((p, q) => p - q);
    const cut = Math.ceil(both.length * 0.1);
    const keys = both.slice(cut, both.length - cut);
    for (const side of [0, 1]) {
      const diffs = keys.map((k) => ea.get(k)[side] - eb.get(k)[side]);
      out.push({ mean: diffs.reduce((s, v) => s + v, 0) / diffs.length, max: Math.max(...diffs.map(Math.abs)) });
    }
  }
  return out;
}

/** only shows the map's layers in ids and hides the rest, and the controls and legend over it. */
async function only(page, ids) {
  await page.evaluate((ids) => {
    for (const e of document.querySelectorAll('#map-wrap > :not(#map), #map > :not(.maplibregl-canvas-container)')) {
      e.style.visibility = ids.length > 1 ? '' : 'hidden';
    }
    const m = window.gridmap.map;
    for (const l of m.getStyle().layers) {
      if (l.id !== 'background') m.setLayoutProperty(l.id, 'visibility', ids.includes(l.id) ? 'visible' : 'none');
    }
  }, ids);
  await settle(page);
}

test('a GCJ-02 basemap lines up with gridmap\'s footprints within a pixel at zoom 17', async () => {
  // the building the API locate test knows, its footprint, and where a GCJ-02 map draws it
  const loc = await getJSON(server.base, '/api/v1/locate?lon=118.70057&lat=32.0006');
  const b = await getJSON(server.base, `/api/v1/buildings/${loc.building.id}`);
  const polys = b.geometry.type === 'Polygon' ? [b.geometry.coordinates] : b.geometry.coordinates;
  footprint = polys.flatMap((rings) => rings).map((ring) => ring.map((p) => wgs84ToGcj02(p)));
  const ring = polys[0][0];
  const centre = [ring.reduce((s, p) => s + p[0], 0) / ring.length, ring.reduce((s, p) => s + p[1], 0) / ring.length];

  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const hosts = new Set();
  const problems = [];
  try {
    const page = await context.newPage();
    page.on('request', (r) => hosts.add(new URL(r.url()).host));
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    await page.goto(server.base);
    await page.waitForFunction(() => window.gridmap?.ready === true, null, { timeout: 60000 });
    assert.deepEqual(await page.evaluate(() => [window.gridmap.state.basemapCRS, window.gridmap.state.basemapAttribution]),
      ['gcj02', 'test basemap (GCJ-02)'], 'the server\'s default basemap and its CRS');
    await page.evaluate(({ centre, id }) => {
      const m = window.gridmap.map;
      m.jumpTo({ center: centre, zoom: 17 });
      m.setPaintProperty('basemap', 'raster-opacity', 1);
      // the footprint alone, in a colour of its own
      m.setFilter('buildings', ['==', ['id'], id]);
      m.setPaintProperty('buildings', 'fill-color', '#0000ff');
      m.setPaintProperty('buildings', 'fill-opacity', 1);
      // pixels whose centres are inside, as the test's tiles draw it: antialiasing would add an
      // outline half a pixel wide round the fill
      m.setPaintProperty('buildings', 'fill-antialias', false);
    }, { centre, id: loc.building.id });
    await settle(page);
    await page.screenshot({ path: join(shots, 'basemap-gcj02.png') });

    await only(page, ['basemap']);
    await page.locator('#map').screenshot({ path: join(shots, 'basemap-gcj02-alone.png') });
    const red = await mask(page, 'red');
    await only(page, ['buildings']);
    await page.locator('#map').screenshot({ path: join(shots, 'basemap-footprint-alone.png') });
    const blue = await mask(page, 'blue');
    assert.ok(red.n > 200 && blue.n > 200, `both drawn: ${red.n} basemap pixels, ${blue.n} footprint pixels`);
    const d = red.bounds.map((v, i) => v - blue.bounds[i]);
    const edges = edgeOffsets(red, blue);
    const dc = [red.centroid[0] - blue.centroid[0], red.centroid[1] - blue.centroid[1]];
    const redSet = new Set(red.on);
    const inBoth = blue.on.filter((i) => redSet.has(i)).length;
    const iou = inBoth / (red.n + blue.n - inBoth);
    console.log(`z17: basemap building ${red.n} px, footprint ${blue.n} px; bounds differ by ${d.join(', ')} px; ` +
      `centroids by ${dc.map((v) => v.toFixed(2)).join(', ')} px; overlap ${iou.toFixed(3)}; ` +
      `edges (left, right, top, bottom) by ${edges.map((e) => `${e.mean.toFixed(2)}±${e.max}`).join(', ')} px`);
    for (const v of d) assert.ok(Math.abs(v) <= 1, `bounds within a pixel: ${d}`);
    for (const e of edges) assert.ok(e.max <= 1 && Math.abs(e.mean) <= 0.75, `edges within a pixel: ${JSON.stringify(edges)}`);
    for (const v of dc) assert.ok(Math.abs(v) <= 0.5, `centroids within half a pixel: ${dc}`);
    assert.ok(iou > 0.9, `overlap ${iou}`);

    // the tiles asked of the basemap are those round the building's GCJ-02 position (MapLibre's
    // zoom counts 512 px tiles: 256 px XYZ tiles are one zoom further in)
    const g = mercPx(wgs84ToGcj02(centre), 18).map((v) => Math.floor(v / 256));
    assert.ok(asked.includes(`/gcj/18/${g[0]}/${g[1]}.png`), `basemap tile 18/${g[0]}/${g[1]} asked: ${asked.slice(-8)}`);

    // "what is here" at the red building's centre is that building
    await only(page, (await page.evaluate(() => window.gridmap.map.getStyle().layers.map((l) => l.id))));
    const box = await page.locator('#map').boundingBox();
    await page.click('#tool-locate');
    await page.mouse.click(box.x + red.centroid[0], box.y + red.centroid[1]);
    const located = page.locator('.maplibregl-popup .popup[data-kind="locate"][data-status="ok"]');
    await located.waitFor();
    assert.ok((await located.textContent()).includes(loc.building.code), 'what is here: the building under the basemap\'s');

    // the same basemap taken as WGS 84 is hundreds of pixels off: the shift is what aligns it
    const wgs = `${server.base}/?basemap=${encodeURIComponent(`http://127.0.0.1:${tiles.address().port}/gcj/{z}/{x}/{y}.png`)}`;
    await page.goto(wgs);
    await page.waitForFunction(() => window.gridmap?.ready === true, null, { timeout: 60000 });
    await page.evaluate(({ centre }) => window.gridmap.map.jumpTo({ center: centre, zoom: 17 }), { centre });
    await settle(page);
    await only(page, ['basemap']);
    const off = await mask(page, 'red');
    assert.ok(off.n === 0 || Math.hypot(off.centroid[0] - blue.centroid[0], off.centroid[1] - blue.centroid[1]) > 100,
      'unshifted, the basemap building is elsewhere');

    assert.deepEqual([...hosts].filter((h) => h !== new URL(server.base).host && h !== `127.0.0.1:${tiles.address().port}`), [],
      'nothing asked of any other host');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
