// WGS 84 ↔ GCJ-02 ↔ BD-09, the map UI's copy of Go's geo/chinacrs (same series, same Krasovsky
// constants, same fixed-point inverses, same outline of where GCJ-02 applies). The UI needs it
// to draw a GCJ-02 basemap (AMap-like) under gridmap's WGS 84 overlay (basemap.js). A test
// (web/test/chinacrs.test.js) checks it against points written by the Go package to 1e-6°.
// Positions are [lon, lat] in degrees.

import { regionRings } from './chinaregion.js';

// The Krasovsky 1940 ellipsoid, on which GCJ-02 turns its offset in metres into degrees.
const KRASOVSKY_A = 6378245.0;
const KRASOVSKY_E2 = 0.00669342162296594323;

// The inverses stop once a step moves less than this (about 0.01 mm), or after MAX_STEPS.
const STEP_TOLERANCE = 1e-10;
const MAX_STEPS = 10;

const { sin, cos, sqrt, abs, PI } = Math;

/** offsetMetres is GCJ-02's offset east and north at x = lon − 105°, y = lat − 35° (the published series). */
function offsetMetres(x, y) {
  const root = sqrt(abs(x));
  const ripple = 20 * sin(6 * PI * x) + 20 * sin(2 * PI * x);
  const east = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * root
    + ((ripple + 20 * sin(PI * x) + 40 * sin(PI * x / 3) + 150 * sin(PI * x / 12) + 300 * sin(PI * x / 30)) * 2) / 3;
  const north = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * root
    + ((ripple + 20 * sin(PI * y) + 40 * sin(PI * y / 3) + 160 * sin(PI * y / 12) + 320 * sin(PI * y / 30)) * 2) / 3;
  return [east, north];
}

/** offset is GCJ-02's offset at WGS 84 position p, in degrees [dlon, dlat]. */
function offset(p) {
  const [east, north] = offsetMetres(p[0] - 105, p[1] - 35);
  const s = sin((p[1] * PI) / 180);
  const w = 1 - KRASOVSKY_E2 * s * s;
  const meridian = (KRASOVSKY_A * (1 - KRASOVSKY_E2)) / (w * sqrt(w));
  const parallel = (KRASOVSKY_A / sqrt(w)) * cos((p[1] * PI) / 180);
  return [((east / parallel) * 180) / PI, ((north / meridian) * 180) / PI];
}

// The outline's edges indexed by latitude band (as region.go does): a handful of edges per
// point instead of the ~470 of the whole outline.
const BAND = 0.25;
const region = (() => {
  const edges = [];
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const ring of regionRings) {
    for (let i = 0; i + 3 < ring.length; i += 2) {
      edges.push([ring[i], ring[i + 1], ring[i + 2], ring[i + 3]]);
      minX = Math.min(minX, ring[i]);
      maxX = Math.max(maxX, ring[i]);
      minY = Math.min(minY, ring[i + 1]);
      maxY = Math.max(maxY, ring[i + 1]);
    }
  }
  const bandOf = (lat) => Math.trunc((lat - minY) / BAND);
  const bands = Array.from({ length: bandOf(maxY) + 1 }, () => []);
  for (const e of edges) {
    for (let b = bandOf(Math.min(e[1], e[3])); b <= bandOf(Math.max(e[1], e[3])); b++) bands[b].push(e);
  }
  return { minX, minY, maxX, maxY, bands, bandOf };
})();

/** inChina reports whether GCJ-02 applies at WGS 84 position p (Go's chinacrs.InChina). */
export function inChina(p) {
  const [x, y] = p;
  const r = region;
  if (!(x >= r.minX && x <= r.maxX && y >= r.minY && y <= r.maxY)) return false;
  let inside = false;
  for (const [x0, y0, x1, y1] of r.bands[r.bandOf(y)]) {
    if ((y0 > y) !== (y1 > y) && x < x0 + ((y - y0) * (x1 - x0)) / (y1 - y0)) inside = !inside;
  }
  return inside;
}

/** wgs84ToGcj02 returns the GCJ-02 position of WGS 84 position p: shifted in China, p elsewhere. */
export function wgs84ToGcj02(p) {
  if (!inChina(p)) return [p[0], p[1]];
  const [dlon, dlat] = offset(p);
  return [p[0] + dlon, p[1] + dlat];
}

/** gcj02ToWgs84 returns the WGS 84 position whose GCJ-02 position is p, to within 1e-10°. */
export function gcj02ToWgs84(p) {
  let w = [p[0], p[1]];
  for (let i = 0; i < MAX_STEPS; i++) {
    const [dlon, dlat] = offset(w);
    const next = [p[0] - dlon, p[1] - dlat];
    const done = abs(next[0] - w[0]) < STEP_TOLERANCE && abs(next[1] - w[1]) < STEP_TOLERANCE;
    w = next;
    if (done) break;
  }
  return inChina(w) ? w : [p[0], p[1]];
}

// Baidu's perturbation frequency (radians per degree) and final shift (degrees).
const BD_FREQ = (PI * 3000) / 180;
const BD_SHIFT_LON = 0.0065;
const BD_SHIFT_LAT = 0.006;

/** gcj02ToBd09 returns the BD-09 position of GCJ-02 position p (applied everywhere, as Baidu does). */
export function gcj02ToBd09(p) {
  const [x, y] = p;
  const r = Math.hypot(x, y) + 0.00002 * sin(y * BD_FREQ);
  const theta = Math.atan2(y, x) + 0.000003 * cos(x * BD_FREQ);
  return [r * cos(theta) + BD_SHIFT_LON, r * sin(theta) + BD_SHIFT_LAT];
}

/** bd09ToGcj02 returns the GCJ-02 position whose BD-09 position is p, to within 1e-10°. */
export function bd09ToGcj02(p) {
  const x = p[0] - BD_SHIFT_LON;
  const y = p[1] - BD_SHIFT_LAT;
  const r = Math.hypot(x, y) - 0.00002 * sin(y * BD_FREQ);
  const theta = Math.atan2(y, x) - 0.000003 * cos(x * BD_FREQ);
  let g = [r * cos(theta), r * sin(theta)];
  for (let i = 0; i < MAX_STEPS; i++) {
    const b = gcj02ToBd09(g);
    const dx = b[0] - p[0];
    const dy = b[1] - p[1];
    g = [g[0] - dx, g[1] - dy];
    if (abs(dx) < STEP_TOLERANCE && abs(dy) < STEP_TOLERANCE) break;
  }
  return g;
}

/** wgs84ToBd09 returns the BD-09 position of WGS 84 position p. */
export function wgs84ToBd09(p) {
  return gcj02ToBd09(wgs84ToGcj02(p));
}

/** bd09ToWgs84 returns the WGS 84 position whose BD-09 position is p. */
export function bd09ToWgs84(p) {
  return gcj02ToWgs84(bd09ToGcj02(p));
}
