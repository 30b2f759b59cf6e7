// How the Assign mode draws the map: the community's grids and their buildings in their
// swatch colours, locked grids hatched, the target outlined, the others washed out; labels
// with each grid's households; a legend of the swatches (never colour alone: with names).

import { t } from '../i18n.js';
import { assignBuildingFill, assignGridFill, l3Opacity, setBuildingFill, setL3Fill } from '../style.js';
import { A, App, colourOf, grids, map, shortOf, targetGrid } from './core.js';

/** applyMapStyle colours the community's grids and buildings by swatch (Assign mode only). */
export function applyMapStyle() {
  const m = map();
  if (!m || !A.active) return;
  const target = targetGrid();
  // every level-3 grid in one fill (the households classes hidden), straddling buildings too
  setL3Fill(m, assignGridFill(A.sw), l3Opacity(true), App().state.layers.grids);
  m.setPaintProperty('grid-fill-l2', 'fill-opacity', 0);
  setBuildingFill(m, assignBuildingFill(A.sw, target ? colourOf(target.code) : undefined));
  m.setFilter('assign-lock', ['in', ['get', 'code'], ['literal', [...A.locked]]]);
  const codes = [...A.sw.keys()];
  m.setFilter('selection-dim', codes.length
    ? ['all', ['==', ['to-number', ['get', 'level']], 3], ['!', ['in', ['get', 'code'], ['literal', codes]]]]
    : ['==', ['get', 'code'], '-']);
  const sel = ['==', ['get', 'code'], target?.code || A.community?.code || '-'];
  m.setFilter('selection-line', sel);
  m.setFilter('selection-halo', sel);
}

/** labelCodes are what the labels mark (style.labelField): the community's grids and the locked. */
export function labelCodes() {
  return { codes: A.active ? grids().map((g) => g.code) : [], locked: [...A.locked] };
}

/** legend lists the swatches of the community's grids (with names: never colour alone). */
export function legend() {
  if (!A.active || !grids().length) return null;
  return {
    title: `${t('assign.legend')} · ${A.community.name}`,
    items: [
      ...grids().map((g) => ({ color: colourOf(g.code), label: `${shortOf(g)}${A.locked.has(g.code) ? ` (${t('assign.locked')})` : ''}` })),
      { cls: 'hatch-lock', label: t('assign.legend.locked') },
      { cls: 'sel', label: t('assign.legend.stroke') },
    ],
  };
}
