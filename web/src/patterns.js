// Hatch patterns for defects, drawn in the browser (no sprite sheet to fetch): diagonal stripes
// over a light tint, so a gap or an overlap reads as "warning" even to a colour-blind eye.

import { COLORS } from './metrics.js';

const PATTERNS = {
  'hatch-gap': { color: COLORS.defectGap, tint: 'rgba(215,48,31,0.18)', dir: 1 },
  'hatch-overlap': { color: COLORS.defectOverlap, tint: 'rgba(122,1,119,0.18)', dir: -1 },
  // Assign mode: a locked grid (grey, so it never reads as a defect)
  'hatch-lock': { color: 'rgba(55,65,81,0.55)', tint: 'rgba(255,255,255,0.35)', dir: 1 },
  // the changes overlay: area a grid lost (the sprite has no such pattern: always drawn here)
  'hatch-lost': { color: COLORS.lost, tint: 'rgba(215,48,39,0.12)', dir: -1 },
};

function draw({ color, tint, dir }) {
  const size = 16;
  const ratio = 2;
  const c = document.createElement('canvas');
  c.width = c.height = size * ratio;
  const g = c.getContext('2d');
  g.scale(ratio, ratio);
  g.fillStyle = tint;
  g.fillRect(0, 0, size, size);
  g.strokeStyle = color;
  g.lineWidth = 2.2;
  g.beginPath();
  for (let k = -size; k <= 2 * size; k += 8) {
    if (dir > 0) {
      g.moveTo(k, size);
      g.lineTo(k + size, 0);
    } else {
      g.moveTo(k, 0);
      g.lineTo(k + size, size);
    }
  }
  g.stroke();
  return { image: g.getImageData(0, 0, c.width, c.height), ratio };
}

/** addPatterns adds the hatch images to map (one by id, or all), once. */
export function addPatterns(map, only) {
  for (const [id, p] of Object.entries(PATTERNS)) {
    if (only && only !== id) continue;
    if (map.hasImage(id)) continue;
    const { image, ratio } = draw(p);
    map.addImage(id, image, { pixelRatio: ratio });
  }
}
