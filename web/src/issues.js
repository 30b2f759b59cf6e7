// The issue list (问题清单): the coverage findings of the selection (grid=) in the part of the
// map on screen (bbox=), a page at a time from GET /coverage/issues — gaps, overlaps, parts
// outside a parent, buildings outside every grid or in two, straddling buildings, grids without
// staff, grids in more than one piece. Choosing an entry flies there and outlines it; its
// outline is asked for only then. Panning or zooming the map reloads the list for the new view;
// a flight to an entry does not (the list stays put under the pointer).

import { api } from './api.js';
import { h } from './dom.js';
import { fmtArea, fmtInt, t } from './i18n.js';

export const KINDS = ['gap', 'overlap', 'outside_parent', 'building_outside', 'multi_grid', 'straddler', 'unstaffed', 'noncontiguous'];
// each kind's name in the UI's strings (defect.*) and in the DOM (data-defect), and its icon
const NAME = {
  gap: 'gap', overlap: 'overlap', outside_parent: 'outsideParent', building_outside: 'buildingOutside',
  multi_grid: 'multiGrid', straddler: 'straddler', unstaffed: 'unstaffedGrid', noncontiguous: 'noncontiguous',
};
const ICON = { gap: '▨', overlap: '▩', outside_parent: '⇱', building_outside: '◌', multi_grid: '◈', straddler: '◩', unstaffed: '✗', noncontiguous: '⁞' };
const WITH_AREA = new Set(['gap', 'overlap', 'outside_parent']);
const BUILDING = new Set(['building_outside', 'multi_grid', 'straddler']);

/** PAGE is how many entries one page shows. */
export const PAGE = 20;

const L = {
  sel: '', // the selection the list is of
  kind: '', // '' every kind of KINDS, or one
  inView: true, // only what meets the map's view
  offset: 0,
  list: null, // the last answer
  error: null,
  loading: false,
  active: '', // id of the entry flown to
};

let C; // {state, focusBBox, outline, viewBBox, map()}
let el; // the section, kept across renders of the panel
let abort = null;
let seq = 0;

/** init wires the list to the app (once). */
export function init(ctx) {
  C = ctx;
  window.gridmap.issues = { state: L, reload, page: (n) => go(n) };
}

/** section returns the list's element, for the panel to place. */
export function section() {
  // the findings are of the division now: at a past moment the KPIs say what they were
  if (C?.state.at) return h('p.help.issues-past', null, t('issues.past'));
  if (!el) el = h('section.defects');
  render();
  return el;
}

/** reload asks for the first page of the selection's issues in view (a new selection, a move). */
export async function reload({ keepOffset = false } = {}) {
  if (!C || C.state.at) return;
  if (L.sel !== C.state.sel) {
    L.sel = C.state.sel;
    L.active = '';
  }
  if (!keepOffset) L.offset = 0;
  if (abort) abort.abort();
  abort = new AbortController();
  const mine = ++seq;
  // without the empty level's findings (a community with no grid yet is work not done)
  const params = { grid: L.sel || undefined, kind: L.kind || KINDS.join(','), empty_level: false, limit: PAGE, offset: L.offset };
  if (L.inView && C.map()) params.bbox = C.viewBBox().join(',');
  L.loading = true;
  render();
  try {
    const list = await api.issues(params, { signal: abort.signal });
    if (mine !== seq) return;
    L.list = list;
    L.error = null;
  } catch (err) {
    if (err.name === 'AbortError') return;
    L.error = err;
  }
  L.loading = false;
  window.gridmap.issuesLoaded = (window.gridmap.issuesLoaded || 0) + 1;
  render();
}

function go(offset) {
  L.offset = Math.max(0, offset);
  reload({ keepOffset: true });
}

let moveTimer;
/** onMove follows a camera move: the user's reload the list in view; a flight to an entry does not. */
export function onMove(e) {
  if (e?.focus || !L.inView) return;
  clearTimeout(moveTimer);
  moveTimer = setTimeout(() => reload(), 200);
}

function entryText(i) {
  const g = i.grids || [];
  const b = i.building;
  switch (i.kind) {
    case 'gap': return g[0] ? `${t('defect.in')} ${g[0].name}` : t('tree.city');
    case 'overlap': return `${g[0]?.name || ''} ↔ ${g[1]?.name || ''}`;
    case 'outside_parent':
    case 'unstaffed':
    case 'noncontiguous': return g[0]?.name || '';
    default: return b ? `${b.name || ''} ${b.code}` : '';
  }
}

function entryDetail(i) {
  if (WITH_AREA.has(i.kind) && i.area_m2 != null) return fmtArea(i.area_m2);
  if (i.kind === 'straddler' && i.area_m2 != null) return `${fmtArea(i.area_m2)} ${t('defect.outside')}`;
  if (i.kind === 'unstaffed' || i.kind === 'noncontiguous') return i.grids?.[0]?.code || null;
  return null;
}

/** outline fetches the geometry of issue i: its piece, building or grid. */
async function fetchOutline(i) {
  if (BUILDING.has(i.kind) && i.building) {
    const f = await api.building(i.building.id);
    return f.geometry || f.footprint;
  }
  if (i.kind === 'unstaffed' || i.kind === 'noncontiguous') return (await api.grid(i.grids[0].code)).geometry;
  // a piece (gap, overlap, outside a parent): the issues in its box, with their geometry
  const near = await api.issues({
    grid: L.sel || undefined, kind: i.kind, bbox: i.bbox.join(','), geometry: true, limit: 100,
  });
  return near.issues.find((x) => x.id === i.id)?.geometry || null;
}

/** focus flies to issue i at once (its box is in the list) and outlines it when its outline comes. */
async function focus(i) {
  L.active = i.id;
  render();
  C.outline(null);
  C.focusBBox(i.bbox);
  try {
    const geom = await fetchOutline(i);
    if (L.active === i.id) C.outline(geom);
  } catch (err) {
    window.gridmap.errors.push(err.message);
  }
}

function entry(i) {
  const kind = NAME[i.kind] || i.kind;
  return h('li', null, h(`button.defect${L.active === i.id ? '.active' : ''}`, {
    type: 'button', dataset: { defect: kind, id: i.id }, onclick: () => focus(i),
  },
  h('span.dicon', { 'aria-hidden': 'true', dataset: { kind } }, ICON[i.kind] || '•'),
  h('span.dtext', null, h('strong', null, t(`defect.${kind}`)), ' ', entryText(i)),
  entryDetail(i) ? h('span.ddetail', null, entryDetail(i)) : null));
}

function controls(list) {
  const by = list?.by_kind || {};
  return h('div.dcontrols', null,
    h('label.inview', { title: t('issues.inView.hint') }, h('input#issues-inview', {
      type: 'checkbox', checked: L.inView,
      onchange: (e) => { L.inView = e.target.checked; reload(); },
    }), ` ${t('issues.inView')}`),
    h('select#issues-kind', {
      'aria-label': t('issues.kind'),
      onchange: (e) => { L.kind = e.target.value; reload(); },
    }, h('option', { value: '', selected: !L.kind }, t('issues.allKinds')),
    KINDS.map((k) => h('option', { value: k, selected: L.kind === k },
      `${t(`defect.${NAME[k]}`)}${by[k] !== undefined && !L.kind ? ` (${fmtInt(by[k])})` : ''}`))));
}

function pager(list) {
  const n = list.numberMatched;
  if (n <= PAGE && !L.offset) return null;
  const from = L.offset + 1;
  const to = L.offset + list.numberReturned;
  return h('div.pager', null,
    h('button.small#issues-prev', { type: 'button', disabled: L.offset === 0 || L.loading ? true : undefined, onclick: () => go(L.offset - PAGE) }, '‹'),
    h('span', { dataset: { from: String(from), to: String(to), total: String(n) } }, t('issues.page', { from: fmtInt(from), to: fmtInt(to), n: fmtInt(n) })),
    h('button.small#issues-next', { type: 'button', disabled: to >= n || L.loading ? true : undefined, onclick: () => go(L.offset + PAGE) }, '›'));
}

/** minor counts the selection's buildings and units without a leader (listed in the report, not here). */
function minor() {
  const f = C.state.summary?.findings || {};
  const nb = f.unstaffed_buildings || 0;
  const nu = f.unstaffed_units || 0;
  if (!nb && !nu) return null;
  return h('p.minor', null,
    nb ? `${t('defect.unstaffedBuildings')}: ${fmtInt(nb)}` : '',
    nb && nu ? ' · ' : '',
    nu ? `${t('defect.unstaffedUnits')}: ${fmtInt(nu)}` : '');
}

function render() {
  if (!el) return;
  const list = L.list && L.sel === C.state.sel ? L.list : null;
  const title = h('h3', null, t('panel.defects'));
  if (list) title.append(h('span.count-badge', { dataset: { total: String(list.numberMatched) } }, fmtInt(list.numberMatched)));
  const body = [title, controls(list)];
  if (L.error) {
    body.push(h('p.bad', { role: 'alert' }, `${t('panel.error')}${L.error.message}`,
      h('button.small', { type: 'button', onclick: () => reload({ keepOffset: true }) }, t('panel.retry'))));
  } else if (!list) {
    body.push(h('p.loading', null, t('panel.loading')));
  } else if (!list.issues.length) {
    body.push(h('p.ok', null, `✓ ${t(L.inView ? 'issues.noneInView' : 'panel.defects.none')}`));
  } else {
    body.push(h('ul.defect-list', { dataset: { loading: L.loading ? 'true' : '' } }, list.issues.map(entry)), pager(list));
  }
  body.push(minor());
  el.replaceChildren(...body.filter(Boolean));
  el.dataset.total = list ? String(list.numberMatched) : '';
  el.dataset.loading = L.loading ? 'true' : '';
}

/** rerender redraws the list as it is (a language switch). */
export function rerender() {
  render();
}
