#!/usr/bin/env node
// The dashboard's first load in Chromium (Debian's, through playwright-core as the UI tests
// drive it): when the app is ready (panels filled, the map's style loaded), when the map has
// drawn every tile on screen, and the bytes on the wire until each — every response's headers
// and body as transferred (gzipped where it was), from a fresh browser context (cold cache).
// Runs $RUNS times (default 3) and prints each run and the bytes per kind of request.
//
//   DATA_DIR=/tmp/ui12-s100 node bench/dashboard.mjs  # a city loaded before: gridmap demo
//                                                     # --scale 100 --data-dir DIR (60–90 s;
//                                                     # load it once and reuse it)
//   SCALE=10 node bench/dashboard.mjs                 # the demo at that scale, loaded afresh
//   BASE=http://127.0.0.1:8080 node bench/dashboard.mjs  # a gridmap already serving
//
// Needs web/node_modules (cd web && npm ci) and, for DATA_DIR or SCALE, Go to build gridmap.

import { launch } from '../web/test/browser.js';
import { byKind, measureLoad } from '../web/test/measure.js';
import { startGridmap } from '../web/test/server.js';

const RUNS = Number(process.env.RUNS || 3);
const path = process.env.URL_PATH || '/';

const kb = (n) => `${(n / 1024).toFixed(0)} kB`;
const loadavg = async () => (await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

let server = null;
let base = process.env.BASE;
if (!base) {
  server = await startGridmap({ dataDir: process.env.DATA_DIR || '', scale: Number(process.env.SCALE || 1), timeoutMs: 900000 });
  base = server.base;
}
const browser = await launch();
try {
  const city = await (await fetch(`${base}/api/v1/coverage/summary`)).json();
  console.log(`dashboard ${base}${path}: ${city.grids_per_level.join('/')} grids, ${city.totals.buildings} buildings; load ${await loadavg()}`);
  const runs = [];
  for (let k = 0; k < RUNS; k++) {
    const m = await measureLoad(browser, base + path);
    await m.context.close();
    runs.push(m);
    console.log(`run ${k + 1}: ready ${m.readyMs} ms, ${kb(m.ready.bytes)} in ${m.ready.requests} requests; `
      + `map drawn ${m.drawnMs} ms, ${kb(m.drawn.bytes)} in ${m.drawn.requests} requests`
      + `${m.problems.length ? `; problems: ${m.problems.join(' | ')}` : ''}`);
  }
  const sorted = [...runs].sort((a, b) => a.readyMs - b.readyMs);
  const mid = sorted[(sorted.length - 1) >> 1];
  console.log(`median run (by ready time): what it asked for until the map was drawn (* before ready)`);
  const before = byKind(mid.responses.filter((r) => r.before));
  for (const [k, v] of Object.entries(byKind(mid.responses)).sort((a, b) => b[1].bytes - a[1].bytes)) {
    const b = before[k] || { requests: 0, bytes: 0 };
    console.log(`  ${k.padEnd(28)} ${String(v.requests).padStart(4)} × ${kb(v.bytes).padStart(8)}   (* ${b.requests} × ${kb(b.bytes)})`);
  }
  const largest = [...mid.responses].sort((a, b) => b.bytes - a.bytes).slice(0, 5);
  console.log('  largest responses:');
  for (const r of largest) console.log(`    ${kb(r.bytes).padStart(8)}  ${r.path}${r.search}`);
  console.log(`load ${await loadavg()}`);
} finally {
  await browser.close();
  await server?.stop();
}
