// The draw layer of the Assign mode: the box, lasso or brush being drawn, the split line and
// its points, in the target's colour.

import { simplifyPath } from '../assigntools.js';
import { A, colourOf, map, targetGrid } from './core.js';

export function setDraw(features) {
  map()?.getSource('draw')?.setData({ type: 'FeatureCollection', features });
}

export function drawNothing() {
  setDraw([]);
}

const unproject = (p) => {
  const l = map().unproject(p);
  return [l.lng, l.lat];
};

/** drawStroke draws stroke (box, lasso, brush) up to screen point p. */
export function drawStroke(stroke, p) {
  const colour = colourOf(targetGrid()?.code);
  if (stroke.tool === 'box') {
    const [a, b] = [stroke.start, p];
    const ring = [[a[0], a[1]], [b[0], a[1]], [b[0], b[1]], [a[0], b[1]], [a[0], a[1]]].map(unproject);
    setDraw([{ type: 'Feature', properties: { color: colour }, geometry: { type: 'Polygon', coordinates: [ring] } }]);
  } else if (stroke.tool === 'lasso') {
    const ring = simplifyPath(stroke.points, 2).map(unproject);
    if (ring.length >= 3) {
      setDraw([{ type: 'Feature', properties: { color: colour }, geometry: { type: 'Polygon', coordinates: [[...ring, ring[0]]] } }]);
    }
  } else if (stroke.tool === 'brush') {
    drawBrush(p);
  }
}

/** drawBrush draws the brush's circle at screen point p. */
export function drawBrush(p) {
  const ring = [];
  for (let k = 0; k <= 32; k++) {
    const a = (k / 32) * 2 * Math.PI;
    ring.push(unproject([p[0] + A.radius * Math.cos(a), p[1] + A.radius * Math.sin(a)]));
  }
  setDraw([{ type: 'Feature', properties: { color: colourOf(targetGrid()?.code) }, geometry: { type: 'Polygon', coordinates: [ring] } }]);
}

/** drawSplit draws the split line so far, to cursor while it is being drawn. */
export function drawSplit(cursor) {
  if (!map()) return;
  const pts = A.split.points;
  if (!A.active || A.tool !== 'split' || !pts.length) {
    drawNothing();
    return;
  }
  const line = cursor && !A.split.done ? [...pts, cursor] : pts;
  setDraw([
    ...(line.length >= 2 ? [{ type: 'Feature', properties: { line: '#b91c1c' }, geometry: { type: 'LineString', coordinates: line } }] : []),
    ...pts.map((c) => ({ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: c } })),
  ]);
}
