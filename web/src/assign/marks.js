// Buildings picked by the strokes under way or collected for the next paint: lit in the
// target's colour through feature-state sel on the tiles' buildings.

import { A, map } from './core.js';

let marked = new Set(); // building ids with feature-state sel

export function mark(ids) {
  const m = map();
  for (const id of ids) {
    m.setFeatureState({ source: 'gridmap', sourceLayer: 'buildings', id }, { sel: true });
    marked.add(id);
  }
}

/** unmark clears the mark of every marked building not in keep. */
export function unmark(keep = new Set()) {
  const m = map();
  for (const id of marked) {
    if (keep.has(id)) continue;
    m?.setFeatureState({ source: 'gridmap', sourceLayer: 'buildings', id }, { sel: false });
  }
  marked = new Set([...marked].filter((id) => keep.has(id)));
}

/** clearStaged forgets the collected buildings. */
export function clearStaged() {
  A.staged.clear();
  if (map()) unmark();
}
