// Popups: what a click on the map shows — a grid (from its tile feature), a building or unit
// (the tile's properties at once, the API's detail and, signed in, its staff after), a gap or
// overlap, a density cell — and the locate tool's answer (the grid chain at a point). With an
// offline package open, the tile's properties are all there is, and the locate tool reads the
// grids drawn at the point.

import * as maplibregl from 'maplibre-gl';

import { api, isOffline } from './api.js';
import { h } from './dom.js';
import * as grids from './grids.js';
import { fmtArea, fmtInt, fmtNum, t } from './i18n.js';
import { cellAreaKm2, COLORS } from './metrics.js';
import { session } from './session.js';
import { state } from './state.js';
import { BUILDING_FILLS, L3_FILLS } from './style.js';

const levelName = (level) => t(`level.${level}`);

let popup;
function openPopup(map, lngLat, content) {
  if (popup) popup.remove();
  popup = new maplibregl.Popup({ maxWidth: '340px', focusAfterOpen: false })
    .setLngLat(lngLat).setDOMContent(content).addTo(map);
  return popup;
}

function rowsTable(rows) {
  return h('table.attrs', null, h('tbody', null, rows.filter(Boolean).map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v)))));
}

const offlineNote = () => h('p.muted.small.offline-note', null, t('offline.fromTiles'));

function staffList(params, onLoad) {
  if (isOffline()) return offlineNote();
  // the staff directory is for signed-in users: anonymous readers are not sent to a 401
  if (!session.user) return h('div.staff', { dataset: { signin: 'true' } }, h('h4', null, t('popup.staff')), h('p.muted', null, t('popup.staff.signIn')));
  const box = h('div.staff', null, h('h4', null, t('popup.staff')), h('p.muted', null, t('popup.loading')));
  api.staff(params).then((res) => {
    const list = res.staff || res || [];
    if (!list.length) {
      box.replaceChildren(h('h4', null, t('popup.staff')), h('p.muted', null, t('popup.staff.none')));
      return;
    }
    box.replaceChildren(h('h4', null, t('popup.staff')), h('ul', null, list.map((s) => h('li', null,
      h('span.role', null, t(`role.${s.role}`)), ' ', s.display_name,
      s.work_contact ? h('span.muted', null, ` · ${s.work_contact}`) : null))));
    onLoad?.();
  }).catch((err) => {
    box.replaceChildren(h('h4', null, t('popup.staff')), h('p.muted', null, err.message));
  });
  return box;
}

function gridPopup(map, lngLat, f, ctx) {
  const p = f.properties;
  const level = Number(p.level);
  const carriers = Number(p.carriers);
  const per = carriers > 0 ? Number(p.households) / carriers : null;
  const { target, band } = ctx.state.band;
  const status = per == null ? 'unstaffed' : per < target * (1 - band) ? 'under' : per > target * (1 + band) ? 'over' : 'within';
  const buildings = h('span', null, '…');
  const content = h('div.popup', { dataset: { kind: 'grid', code: p.code } },
    h('div.ptitle', null, h('span.badge', null, t(`level.${level}`)), ' ', p.name || ''),
    rowsTable([
      [t('popup.code'), p.code],
      [t('popup.households'), h('span', null, fmtInt(Number(p.households)),
        isEstimated(p) ? h('span.est', { title: t('popup.estimated.def') }, ` (${t('popup.estimated')})`) : null)],
      [t('popup.buildings'), buildings],
      [t('popup.workers'), fmtInt(Number(p.workers))],
      p.carriers !== undefined ? [t('popup.hpw'), per == null ? `✗ ${t('legend.unstaffed')}` : `${fmtNum(per, 1)} (${t(`legend.${status}`)})`] : null,
      p.polsby_popper !== undefined ? ['Polsby–Popper', fmtNum(Number(p.polsby_popper), 2)] : null,
    ]),
    staffList({ grid: p.code }),
    isOffline() ? null : h('button.primary.small', { type: 'button', onclick: () => { popup?.remove(); ctx.select(p.code); } }, t('popup.select')));
  openPopup(map, lngLat, content);
  if (isOffline()) {
    buildings.textContent = '–';
    return;
  }
  // the building count is not in the tile: the grid's row, loaded or asked for
  const known = grids.idx.byCode.get(p.code);
  if (known?.buildings !== undefined) buildings.textContent = fmtInt(known.buildings);
  else {
    grids.search(p.code, { limit: 1 }).then((rows) => {
      buildings.textContent = fmtInt(rows.find((g) => g.code === p.code)?.buildings);
    }).catch(() => { buildings.textContent = '–'; });
  }
}

const isEstimated = (p) => p.households_estimated === true || p.households_estimated === 'true';

/** fmtResidents shows a resident count, or "< 5" where the server withholds a small one. */
function fmtResidents(p) {
  return p.residents_suppressed ? h('span', { title: t('popup.residents.suppressed') }, '< 5') : fmtInt(p.residents);
}

function estMark(on) {
  return on ? h('span.est', { title: t('popup.estimated.def') }, ` (${t('popup.estimated')})`) : null;
}

function buildingPopup(map, lngLat, f) {
  const p = f.properties;
  const id = typeof f.id === 'number' ? f.id : null; // MVT feature id = building id
  const estimated = isEstimated(p);
  // what the tile says at once; the API's detail replaces it when it arrives
  const attrs = rowsTable([
    [t('popup.code'), p.code],
    [t('popup.floors'), p.floors != null ? String(p.floors) : null],
    p.households != null ? [t('popup.households'), h('span', null, fmtInt(p.households), estMark(estimated))] : null,
    p.grid_code ? [t('popup.grid.chain'), p.grid_code] : null,
  ]);
  const detail = h('div.detail', null, h('p.muted.small', null, t('popup.loading')));
  const title = h('span', null, p.name || p.code);
  const content = h('div.popup', { dataset: { kind: 'building', code: p.code } },
    h('div.ptitle', null, h('span.badge', null, t('popup.building')), ' ', title),
    p.straddling === true || p.straddling === 'true' ? h('p.warnline', null, `◩ ${t('popup.straddling')}`) : null,
    attrs, detail);
  const pop = openPopup(map, lngLat, content);
  if (isOffline()) {
    detail.replaceChildren(offlineNote());
    content.dataset.loaded = 'tiles';
    return;
  }
  if (state.at) {
    // a past moment: the tile says the grid the building lay in then; the API's detail is of
    // now (its grid chain, units and staff), so it is not asked for
    detail.replaceChildren(h('p.muted.small', null, t('history.popup.fromTiles')));
    content.dataset.loaded = 'tiles';
    return;
  }
  const fill = async () => {
    let bid = id;
    if (bid == null) {
      const d = 0.0005;
      const res = await api.buildings({ bbox: [lngLat.lng - d, lngLat.lat - d, lngLat.lng + d, lngLat.lat + d].join(','), limit: 50 });
      bid = (res.features || []).find((x) => x.properties?.code === p.code)?.id;
    }
    if (bid == null) throw new Error('building not found');
    const b = await api.building(bid);
    const bp = b.properties || b;
    const est = bp.households_estimated;
    const units = bp.unit_list || [];
    const chain = (bp.grids || []).map((g) => g.name).join(' › ');
    title.textContent = bp.name || bp.code;
    attrs.replaceWith(h('table.attrs', null, h('tbody', null, [
      [t('popup.code'), bp.code],
      [t('popup.address'), bp.address || null],
      [t('popup.floors'), String(bp.floors)],
      [t('popup.households'), h('span', null, fmtInt(bp.households), estMark(est))],
      [t('popup.residents'), h('span', null, fmtResidents(bp), estMark(est))],
      [t('popup.grid.chain'), chain || h('span.bad', null, `✗ ${t('locate.none')}`)],
    ].filter((r) => r[1] !== null).map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v))))));
    detail.replaceChildren(
      units.length ? h('table.units', null,
        h('thead', null, h('tr', null, h('th', null, t('popup.unit')), h('th', null, t('popup.households')), h('th', null, t('popup.residents')))),
        h('tbody', null, units.map((u) => h('tr', null, h('td', null, u.label), h('td', null, fmtInt(u.households)), h('td', null, fmtResidents(u)))))) : null,
      bp.household_rows_shown === false ? h('p.muted.small', null, t('popup.householdRows')) : null,
      staffList({ building: bid }, () => pop.setLngLat(pop.getLngLat())));
    content.dataset.loaded = 'true';
    pop.setLngLat(pop.getLngLat()); // re-anchor now that the content is taller
  };
  fill().catch((err) => detail.replaceChildren(h('p.muted', null, err.message)));
}

function unitPopup(map, lngLat, f) {
  const p = f.properties;
  const id = typeof f.id === 'number' ? f.id : null; // MVT feature id = unit id
  const content = h('div.popup', { dataset: { kind: 'unit' } },
    h('div.ptitle', null, h('span.badge', null, t('popup.unit')), ' ', p.label || p.name || ''),
    rowsTable([
      [t('popup.building'), p.building_code || null],
      [t('popup.households'), p.households != null ? fmtInt(p.households) : null],
      [t('popup.residents'), p.residents != null ? fmtInt(p.residents) : null],
    ]),
    id != null ? staffList({ unit: id }) : null);
  openPopup(map, lngLat, content);
}

function defectPopup(map, lngLat, f) {
  const p = f.properties;
  const kind = p.kind === 'overlap' ? 'overlap' : 'gap';
  openPopup(map, lngLat, h('div.popup', { dataset: { kind } },
    h('div.ptitle', null, h('span.dicon', { dataset: { kind } }, kind === 'gap' ? '▨' : '▩'), ' ', t(`defect.${kind}`)),
    rowsTable([
      p.area_m2 != null ? [t('unit.m2'), fmtArea(Number(p.area_m2))] : null,
      kind === 'gap' ? [t('popup.grid'), p.parent || t('tree.city')] : [t('popup.grid'), String(p.grids || '').split(',').join(' ↔ ')],
    ]),
    h('p.muted', null, t(`kpi.${kind}s.def`))));
}

function densityPopup(map, lngLat, f) {
  const p = f.properties;
  openPopup(map, lngLat, h('div.popup', { dataset: { kind: 'density' } },
    h('div.ptitle', null, t('popup.density')),
    rowsTable([
      [t('popup.households'), fmtInt(p.households)],
      p.buildings != null ? [t('popup.buildings'), fmtInt(p.buildings)] : null,
      [t('legend.density'), fmtInt(Number(p.households) / cellAreaKm2(map.getZoom()))],
      p.h3 ? ['H3', p.h3] : null,
    ])));
}

// the style draws some features in several layers (straddling buildings, households classes)
const kindOf = (id) => (BUILDING_FILLS.includes(id) ? 'buildings' : L3_FILLS.includes(id) ? 'grid-fill-l3' : id);

/** showFeaturePopup opens the popup of the most specific feature clicked; ctx: {state, select}. */
export function showFeaturePopup(map, lngLat, features, ctx) {
  const by = (kind) => features.find((f) => kindOf(f.layer.id) === kind);
  const f = by('units') || by('buildings') || by('gap-fill') || by('overlap-fill') || by('grid-fill-l3') || by('grid-fill-l2') || by('density');
  if (!f) return;
  switch (kindOf(f.layer.id)) {
    case 'units': unitPopup(map, lngLat, f); break;
    case 'buildings': buildingPopup(map, lngLat, f); break;
    case 'gap-fill':
    case 'overlap-fill': defectPopup(map, lngLat, f); break;
    case 'density': densityPopup(map, lngLat, f); break;
    default: gridPopup(map, lngLat, f, ctx);
  }
}

let locateMarker;
/** showLocate asks the API what is at lngLat and shows the grid chain and building. */
export async function showLocate(map, lngLat, { select }) {
  if (locateMarker) locateMarker.remove();
  locateMarker = new maplibregl.Marker({ color: COLORS.selection }).setLngLat(lngLat).addTo(map);
  const body = h('div.popup.locate', { dataset: { kind: 'locate' } }, h('div.ptitle', null, `◎ ${t('locate.title')}`), h('p.muted', null, t('popup.loading')));
  openPopup(map, lngLat, body);
  try {
    const loc = isOffline() ? locateOnMap(map, lngLat) : await api.locate(lngLat.lng.toFixed(7), lngLat.lat.toFixed(7));
    const chain = loc.chain || [];
    const rows = [1, 2, 3].map((lv) => {
      const g = chain[lv - 1];
      // offline, a grid cannot be selected (its detail is the server's): its name only
      if (g && isOffline()) return [levelName(lv), `${g.name} · ${g.code}`];
      return [levelName(lv), g
        ? h('a', { href: `?sel=${g.code}`, onclick: (e) => { e.preventDefault(); select(g.code); } }, `${g.name} · ${g.code}`)
        : h('span.bad', null, `✗ ${t('locate.none')}`)];
    });
    rows.push([t('locate.building'), loc.building ? `${loc.building.name || ''} ${loc.building.code}` : t('locate.noBuilding')]);
    const note = loc.status === 'gap' || loc.gap ? h('p.warnline', null, `▨ ${t('locate.gap')}`)
      : loc.status === 'overlap' ? h('p.warnline', null, `▩ ${t('locate.overlap')}${(loc.overlapping || []).map((g) => ` · ${g.name}`).join('')}`)
        : loc.status === 'outside' ? h('p.warnline', null, t('locate.outside')) : null;
    // replaceChildren would write a null as the text "null"
    body.replaceChildren(...[h('div.ptitle', null, `◎ ${t('locate.title')}`), note, rowsTable(rows),
      loc.partial ? h('p.muted.small', null, t('offline.locate.zoom')) : null,
      isOffline() ? offlineNote() : null,
      h('p.muted.small', null, `${lngLat.lng.toFixed(6)}, ${lngLat.lat.toFixed(6)}`)].filter(Boolean));
    body.dataset.status = loc.status || '';
  } catch (err) {
    body.replaceChildren(h('div.ptitle', null, `◎ ${t('locate.title')}`), h('p.bad', null, err.message));
  }
}

/**
 * locateOnMap answers "what is here" from what the map has drawn at lngLat (offline: no API),
 * in the shape of GET /api/v1/locate: the grid chain, the building, gap or overlap. Below the
 * level-3 zoom the tiles hold no level-3 grids: the answer says it is partial.
 */
function locateOnMap(map, lngLat) {
  const pt = map.project(lngLat);
  const at = (layers) => map.queryRenderedFeatures(pt, { layers: layers.filter((id) => map.getLayer(id)) });
  const byLevel = [[], [], []];
  const seen = new Set();
  for (const f of at(['grid-hit'])) {
    const p = f.properties;
    const lv = Number(p.level);
    if (lv < 1 || lv > 3 || seen.has(p.code)) continue; // a grid cut at tile edges comes once per tile
    seen.add(p.code);
    byLevel[lv - 1].push({ code: p.code, name: p.name || p.label || p.code });
  }
  const chain = byLevel.map((gs) => gs[0]); // by level: a hole where no grid of it is drawn
  const found = chain.filter(Boolean).length;
  const b = at(BUILDING_FILLS)[0]?.properties;
  const defects = at(['gap-fill', 'overlap-fill']).map((f) => f.properties.kind);
  const partial = map.getZoom() < (map.getLayer('grid-fill-l3')?.minzoom ?? 13);
  let status = 'ok';
  if (byLevel[2].length > 1 || defects.includes('overlap')) status = 'overlap';
  else if (defects.includes('gap') || (!partial && found > 0 && found < 3)) status = 'gap';
  else if (!found) status = 'outside';
  return {
    chain,
    building: b ? { code: b.code, name: b.name } : null,
    status, overlapping: byLevel[2].length > 1 ? byLevel[2] : [], partial,
  };
}
