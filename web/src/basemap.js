// A GCJ-02 raster basemap (AMap-like: XYZ tiles whose Web Mercator grid is laid out in GCJ-02
// coordinates) drawn where it belongs under gridmap's WGS 84 overlay.
//
// The basemap is moved, not the overlay: gridmap's tiles, the UI's GeoJSON, clicks, "what is
// here" and the drawing tools all stay in WGS 84, so what a user draws is stored as drawn and
// nothing else in the UI needs to know about GCJ-02. A MapLibre custom protocol (gcj02://)
// answers each WGS 84 tile the map asks for: it fetches the provider's tiles that cover the
// same ground in GCJ-02 and draws them onto a 256 px canvas through an affine transform. Over
// one tile the GCJ-02 offset is smooth, so an affine map fitted at the tile's centre and edge
// midpoints reproduces it to hundredths of a pixel at street zooms (tileWarp; README, "The map
// UI" → Basemap, gives the measured error). Prior art: maplibre-gl-raster-reprojection does
// the same for whole projections with a pixel-block sampler; one affine per tile is enough
// for a near-translation like GCJ-02's, and draws each source tile once.

import { wgs84ToGcj02 } from './chinacrs.js';

/** The basemap coordinate systems the UI can draw: no shift, and GCJ-02 shifted to WGS 84. */
export const BASEMAP_CRS = ['wgs84', 'gcj02'];

export const PROTOCOL = 'gcj02';
const TILE = 256;

/** shiftedTiles is the tile URL of a MapLibre raster source drawing GCJ-02 template where it belongs. */
export function shiftedTiles(template) {
  // the template is encoded so that MapLibre fills in only our own {z}/{x}/{y}
  return `${PROTOCOL}://{z}/{x}/{y}/${encodeURIComponent(template)}`;
}

/** merc is the global Web Mercator pixel position of [lon, lat] at zoom z. */
function merc([lon, lat], z) {
  const size = TILE * 2 ** z;
  const s = Math.sin((lat * Math.PI) / 180);
  return [((lon + 180) / 360) * size, (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * size];
}

/** unmerc is merc's inverse. */
function unmerc([px, py], z) {
  const size = TILE * 2 ** z;
  const n = Math.PI - (2 * Math.PI * py) / size;
  return [(px / size) * 360 - 180, (Math.atan(Math.sinh(n)) * 180) / Math.PI];
}

/**
 * sourcePixel is where the provider's GCJ-02 tiles hold what lies at pixel (px, py) of WGS 84
 * tile z/x/y: a global pixel position of the provider's grid at zoom z.
 */
export function sourcePixel(z, x, y, px, py) {
  return merc(wgs84ToGcj02(unmerc([x * TILE + px, y * TILE + py], z)), z);
}

/**
 * tileWarp fits the affine map from pixels of WGS 84 tile z/x/y to the provider's global
 * pixels (centre and edge midpoints, central differences) and returns it (forward), its
 * inverse as a canvas transform [a, b, c, d, e, f] for provider pixels counted from global
 * pixel (ox, oy) (transform(ox, oy)), and the provider tiles [tx, ty] it needs.
 */
export function tileWarp(z, x, y) {
  const h = TILE / 2;
  const c = sourcePixel(z, x, y, h, h);
  const l = sourcePixel(z, x, y, 0, h);
  const r = sourcePixel(z, x, y, TILE, h);
  const t = sourcePixel(z, x, y, h, 0);
  const b = sourcePixel(z, x, y, h, TILE);
  // Q(p) = A·(p − centre) + c, A's columns the derivatives along x and y
  const a11 = (r[0] - l[0]) / TILE;
  const a21 = (r[1] - l[1]) / TILE;
  const a12 = (b[0] - t[0]) / TILE;
  const a22 = (b[1] - t[1]) / TILE;
  const forward = (px, py) => [c[0] + a11 * (px - h) + a12 * (py - h), c[1] + a21 * (px - h) + a22 * (py - h)];
  // The canvas draws provider pixel Q at A⁻¹·(Q − c) + centre. Canvas transforms are single
  // precision, good to about 2 px at the 2.8e7 px of a global position at z17: the transform
  // takes Q from an origin near the tile (ox, oy), so that only small numbers reach it.
  const det = a11 * a22 - a12 * a21;
  const i11 = a22 / det;
  const i12 = -a12 / det;
  const i21 = -a21 / det;
  const i22 = a11 / det;
  const transform = (ox, oy) => {
    const [dx, dy] = [ox - c[0], oy - c[1]];
    return [i11, i21, i12, i22, h + i11 * dx + i12 * dy, h + i21 * dx + i22 * dy];
  };
  const corners = [forward(0, 0), forward(TILE, 0), forward(0, TILE), forward(TILE, TILE)];
  const n = 2 ** z;
  const tiles = [];
  const [x0, x1] = [Math.min(...corners.map((q) => q[0])), Math.max(...corners.map((q) => q[0]))];
  const [y0, y1] = [Math.min(...corners.map((q) => q[1])), Math.max(...corners.map((q) => q[1]))];
  for (let ty = Math.floor(y0 / TILE); ty <= Math.floor((y1 - 1e-9) / TILE); ty++) {
    if (ty < 0 || ty >= n) continue;
    for (let tx = Math.floor(x0 / TILE); tx <= Math.floor((x1 - 1e-9) / TILE); tx++) tiles.push([tx, ty]);
  }
  return { forward, transform, tiles };
}

/** tileURL fills in an XYZ template ({z}, {x}, {y}, and {-y} for TMS rows). */
export function tileURL(template, z, x, y) {
  const n = 2 ** z;
  return template.replace('{z}', z).replace('{x}', ((x % n) + n) % n).replace('{y}', y).replace('{-y}', n - 1 - y);
}

// The provider's tiles, decoded, for the few neighbouring WGS 84 tiles that each need them (a
// provider tile usually covers parts of four): the last CACHE of them.
const CACHE = 96;
const images = new Map();

function image(url) {
  let p = images.get(url);
  if (p) {
    images.delete(url); // most recent last
  } else {
    // not cancelled with the tile that asked first: its neighbours may be waiting for it too
    p = fetch(url, { credentials: 'omit' }).then(async (res) => {
      if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
      return createImageBitmap(await res.blob());
    });
    // a failure is not kept
    p.catch(() => images.delete(url));
  }
  images.set(url, p);
  while (images.size > CACHE) images.delete(images.keys().next().value);
  return p;
}

/** load answers MapLibre's request for gcj02://z/x/y/<template> with the shifted tile. */
export async function load(params, abort) {
  const m = /^gcj02:\/\/(\d+)\/(\d+)\/(\d+)\/(.+)$/.exec(params.url);
  if (!m) throw new Error(`not a shifted basemap tile: ${params.url}`);
  const [z, x, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const template = decodeURIComponent(m[4]);
  const { transform, tiles } = tileWarp(z, x, y);
  const got = await Promise.allSettled(tiles.map(([tx, ty]) => image(tileURL(template, z, tx, ty))));
  if (abort.signal.aborted) throw new DOMException('aborted', 'AbortError');
  if (got.length && got.every((g) => g.status === 'rejected')) throw got[0].reason;
  // the provider's tiles side by side first, at whole pixels, then warped as one image: warped
  // one by one, each would get soft edges and the seams between them would show
  const [tx0, ty0] = [Math.min(...tiles.map((q) => q[0])), Math.min(...tiles.map((q) => q[1]))];
  const [tx1, ty1] = [Math.max(...tiles.map((q) => q[0])), Math.max(...tiles.map((q) => q[1]))];
  const src = new OffscreenCanvas((tx1 - tx0 + 1) * TILE, (ty1 - ty0 + 1) * TILE);
  const sg = src.getContext('2d');
  got.forEach((res, i) => {
    if (res.status === 'fulfilled') sg.drawImage(res.value, (tiles[i][0] - tx0) * TILE, (tiles[i][1] - ty0) * TILE, TILE, TILE);
  });
  const canvas = new OffscreenCanvas(TILE, TILE);
  const g = canvas.getContext('2d');
  g.setTransform(...transform(tx0 * TILE, ty0 * TILE));
  g.drawImage(src, 0, 0);
  return { data: await createImageBitmap(canvas) };
}
