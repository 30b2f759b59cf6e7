// The division through time (README "History and reports"): the moment the screen shows —
// the "as of" control of the Coverage mode, with its "now" reset, and the banner that says a
// past moment is on screen in every mode — and the "changes since …" overlay: the areas the
// selection's grids gained and lost in a period drawn on the map (GET /changes?f=geojson), and
// beside it the list of what changed (GET /changes), a page at a time. Choosing an entry flies
// there. Both read the selection's subtree only, and one page of it.

import { api } from './api.js';
import { $, h, toast } from './dom.js';
import { fmtArea, fmtInt, fmtMoment, t } from './i18n.js';
import { moment } from './state.js';

/** PAGE is how many entries of each list (grids, buildings, assignments) one page holds. */
export const PAGE = 20;

/** WEEK is the default period of the overlay: the seven days before the moment shown. */
const WEEK = 7 * 24 * 3600 * 1000;

let C; // {state, setAt, setChanges, flyToGeometry, showChanges}

// the overlay's last answer: the lists (JSON) and the areas (GeoJSON) of one page
// key: the period, scope and moment the offset is of; loaded: the request the answer is of
const O = { key: '', loaded: '', offset: 0, list: null, geo: null, error: null, loading: false };
let el; // the list's section, kept across renders of the panel
let abort = null;
let seq = 0;

/** init wires the module to the app (once). */
export function init(ctx) {
  C = ctx;
  window.gridmap.history = { state: O, reload: () => load({ force: true }) };
}

// ---- moments in the controls --------------------------------------------------------------

const pad = (n) => String(n).padStart(2, '0');

/** localParts splits a moment into the local date (YYYY-MM-DD) and time (HH:MM:SS) inputs show. */
export function localParts(iso) {
  if (!iso) return { date: '', time: '' };
  const d = new Date(iso);
  return {
    date: `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`,
    time: `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`,
  };
}

/** fromLocal makes a moment of a local date and an optional time ('' start of the day); '' none. */
export function fromLocal(date, time) {
  if (!date) return '';
  const hms = time ? (time.length === 5 ? `${time}:00` : time) : '00:00:00';
  const d = new Date(`${date}T${hms}`); // no zone: local time
  return Number.isNaN(d.getTime()) ? '' : moment(d.toISOString());
}

/** momentInputs is a date input and an optional time input (seconds) for the moment value. */
function momentInputs(id, value, label, onchange) {
  const p = localParts(value);
  const today = localParts(new Date().toISOString()).date;
  const date = h(`input#${id}-date`, { type: 'date', value: p.date, max: today, 'aria-label': label });
  const time = h(`input#${id}-time`, { type: 'time', step: '1', value: p.time, 'aria-label': `${label} · ${t('history.time')}` });
  const fire = () => onchange(fromLocal(date.value, time.value));
  date.addEventListener('change', fire);
  time.addEventListener('change', fire);
  return [date, time];
}

// ---- the control and the banner ----------------------------------------------------------

/** renderControl draws the as-of control and the overlay's switch (Coverage mode only). */
export function renderControl() {
  const box = $('history-box');
  const { state } = C;
  box.hidden = state.mode !== 'coverage' || Boolean(state.offline);
  if (box.hidden) return;
  const pickAt = (at) => {
    if (at && Date.parse(at) >= Date.now()) {
      toast(t('history.future'));
      C.setAt('');
      return;
    }
    C.setAt(at);
  };
  const pickFrom = (from) => {
    if (from) C.setChanges(from);
  };
  box.replaceChildren(
    h('div.history-row', null,
      h('span.history-label', { title: t('history.asOf.def') }, t('history.asOf')),
      ...momentInputs('asof', state.at, t('history.asOf'), pickAt),
      h('button.chip#asof-now', {
        type: 'button', disabled: !state.at, title: t('history.now.title'), onclick: () => C.setAt(''),
      }, t('history.now'))),
    h('div.history-row', null,
      h('label.opt', { title: t('changes.def') },
        h('input#changes-on', {
          type: 'checkbox', checked: Boolean(state.changes),
          onchange: (e) => C.setChanges(e.target.checked ? defaultFrom() : ''),
        }),
        ` ${t('changes.since')}`),
      ...(state.changes ? momentInputs('changes', state.changes, t('changes.since'), pickFrom) : [])));
}

/** defaultFrom is the overlay's default start: seven days before the moment shown. */
function defaultFrom() {
  const end = C.state.at ? Date.parse(C.state.at) : Date.now();
  return moment(new Date(end - WEEK).toISOString());
}

/** renderBanner says, in every mode, that the screen shows a past moment, and how to go back. */
export function renderBanner() {
  const b = $('asof-banner');
  const at = C.state.at;
  b.hidden = !at;
  if (!at) return;
  b.dataset.at = at;
  b.replaceChildren(
    h('strong', null, t('history.banner', { when: fmtMoment(at) })),
    h('span.note', null, t('history.banner.note')),
    h('button.chip#asof-banner-now', { type: 'button', onclick: () => C.setAt('') }, t('history.now')));
}

// ---- the overlay ---------------------------------------------------------------------------

function params() {
  const { state } = C;
  return { from: state.changes, to: state.at || undefined, parent: state.sel || undefined, limit: PAGE, offset: O.offset };
}

/**
 * load reads the overlay's page for the selection, period and moment shown, unless it is read
 * already (force: again, the data changed); off, it clears the map.
 */
export async function load({ force = false } = {}) {
  const { state } = C;
  // the overlay belongs to the Coverage mode: elsewhere the map is left clear
  if (!state.changes || state.offline || state.mode !== 'coverage') {
    O.key = '';
    O.loaded = '';
    O.list = null;
    O.geo = null;
    C.showChanges(null);
    return;
  }
  const key = JSON.stringify({ ...params(), offset: 0 });
  if (key !== O.key) O.offset = 0;
  const p = params();
  const k = JSON.stringify(p);
  if (!force && k === O.loaded) return;
  O.key = key;
  if (abort) abort.abort();
  abort = new AbortController();
  const mine = ++seq;
  if (state.at && Date.parse(p.from) >= Date.parse(state.at)) {
    O.list = null;
    O.geo = null;
    O.error = new Error(t('changes.order'));
    O.loaded = k;
    C.showChanges(null);
    render();
    return;
  }
  O.loading = true;
  render();
  try {
    const [list, geo] = await Promise.all([api.changes(p, { signal: abort.signal }), api.changesGeo(p, { signal: abort.signal })]);
    if (mine !== seq) return;
    O.list = list;
    O.geo = geo;
    O.error = null;
    O.loaded = k;
    C.showChanges(geo);
  } catch (err) {
    if (err.name === 'AbortError' || mine !== seq) return;
    O.error = err;
    O.list = null;
    C.showChanges(null);
  }
  O.loading = false;
  window.gridmap.changesLoaded = (window.gridmap.changesLoaded || 0) + 1;
  render();
}

function go(offset) {
  O.offset = Math.max(0, offset);
  load();
}

/** section returns the change list's element for the panel to place; null when the overlay is off. */
export function section() {
  if (!C.state.changes) return null;
  if (!el) el = h('section.changes#changes');
  render();
  return el;
}

/** actionText names an audited action in the UI's language ("undo grid.paint" too). */
export function actionText(a) {
  const m = /^(undo|redo) (.+)$/.exec(a || '');
  if (m) return `${t(`action.${m[1]}`)} ${actionText(m[2])}`;
  const k = `action.${a}`;
  const s = t(k);
  return s === k ? a || '' : s;
}

/** editsText: the edits of an entry, "action · who · when", who only when the API names them. */
function editsText(edits) {
  return (edits || []).map((e) => [actionText(e.action), e.actor, fmtMoment(e.at)].filter(Boolean).join(' · ')).join('; ');
}

/** gridTags: what became of a grid in the period, each as a short labelled tag. */
function gridTags(g) {
  const out = [];
  if (g.added) out.push(['added', `＋ ${t('changes.added')}`]);
  if (g.retired) {
    out.push(['retired', `− ${t('changes.retired')}${g.successor ? ` → ${g.successor.name || g.successor.code}` : ''}`]);
  }
  if (g.reshaped) {
    const area = [g.gained_m2 ? `+${fmtArea(g.gained_m2)}` : '', g.lost_m2 ? `−${fmtArea(g.lost_m2)}` : ''].filter(Boolean).join(' ');
    out.push(['reshaped', `${t('changes.reshaped')} ${area}`.trim()]);
  }
  if (g.renamed) out.push(['renamed', `${t('changes.renamed')} ${g.before?.name || '–'} → ${g.after?.name || '–'}`]);
  if (g.recoded) out.push(['recoded', `${t('changes.recoded')} ${g.before?.code || '–'} → ${g.after?.code || '–'}`]);
  if (g.reparented) out.push(['reparented', t('changes.reparented')]);
  if (!out.length) out.push(['undone', t('changes.undone')]);
  return out;
}

const gridName = (r) => (r ? `${r.name || ''} ${r.code}`.trim() : t('changes.noGrid'));

/** entry is one list item: a button that flies to what it names. */
function entry(kind, id, main, detail, fly) {
  return h('li.change', { dataset: { kind, id: String(id) } },
    h('button.entry', {
      type: 'button',
      onclick: async (e) => {
        for (const x of el.querySelectorAll('li.change.active')) x.classList.remove('active');
        e.currentTarget.parentElement.classList.add('active');
        try {
          const geom = await fly();
          if (geom) C.flyToGeometry(geom);
          else toast(t('changes.noShape'));
        } catch (err) {
          toast(err.message);
        }
      },
    }, h('span.main', null, ...main), detail ? h('span.detail', null, detail) : null));
}

/** gridShape is where a grid entry flies: the areas it gained and lost, else its outline then. */
async function gridShape(g) {
  const parts = (O.geo?.features || []).filter((f) => f.properties.grid_id === g.id).map((f) => f.geometry);
  if (parts.length) return { type: 'GeometryCollection', geometries: parts };
  // a grid gone by the end of the period stood at its start; else as at its end
  const at = g.retired ? O.list.from : O.list.to;
  return (await api.grid(g.id, undefined, at)).geometry;
}

async function buildingShape(id) {
  return (await api.building(id)).geometry;
}

function summaryText(s) {
  const parts = [
    ['grids_added', 'changes.n.added'], ['grids_retired', 'changes.n.retired'], ['grids_reshaped', 'changes.n.reshaped'],
    ['grids_renamed', 'changes.n.renamed'], ['grids_recoded', 'changes.n.recoded'], ['buildings_moved', 'changes.n.moved'],
    ['assignments_started', 'changes.n.started'], ['assignments_ended', 'changes.n.ended'],
  ].filter(([k]) => s[k]).map(([k, key]) => t(key, { n: fmtInt(s[k]) }));
  return parts.length ? parts.join(' · ') : t('changes.none');
}

function render() {
  if (!el) return;
  const { state } = C;
  const head = h('h3', null, t('changes.title', { from: fmtMoment(state.changes), to: state.at ? fmtMoment(state.at) : t('history.nowLower') }));
  const legend = h('p.changes-key', null,
    h('span.sw.gained', { title: t('changes.gained.def') }), ` ${t('changes.gained')} `,
    h('span.sw.lost', { title: t('changes.lost.def') }), ` ${t('changes.lost')}`);
  if (O.error) {
    el.replaceChildren(head, h('p.error', { role: 'alert' }, O.error.message));
    return;
  }
  const c = O.list;
  if (!c) {
    el.replaceChildren(head, h('p.loading', null, t('panel.loading')));
    return;
  }
  const items = [];
  for (const g of c.grids || []) {
    items.push(entry('grid', g.id, [
      h('span.code', null, `${t(`level.${g.level}`)} ${gridName(g)}`),
      ...gridTags(g).map(([k, s]) => h(`span.tag.${k}`, { dataset: { tag: k } }, s)),
    ], editsText(g.edits), () => gridShape(g)));
  }
  for (const b of c.buildings || []) {
    items.push(entry('building', b.building.id, [
      h('span.code', null, `${t('changes.building')} ${b.building.name || ''} ${b.building.code || ''}`.trim()),
      h('span.tag.moved', null, `${gridName(b.from)} → ${gridName(b.to)}`),
    ], editsText(b.edits), () => buildingShape(b.building.id)));
  }
  for (const a of c.assignments || []) {
    const where = a.unit ? `${a.unit.building_code} ${a.unit.label}` : a.building ? `${a.building.name || ''} ${a.building.code}` : gridName(a.grid);
    items.push(entry('assignment', a.assignment_id, [
      h('span.code', null, `${t(`changes.assignment.${a.event}`)} · ${t(`role.${a.role}`)}${a.worker ? ` · ${a.worker.display_name}` : ''}`),
      h('span.tag', null, where),
    ], editsText([a.edit]), () => (a.building ? buildingShape(a.building.id) : gridShape(a.grid))));
  }
  const tot = c.page?.total || {};
  const longest = Math.max(tot.grids || 0, tot.buildings || 0, tot.assignments || 0);
  const pager = longest > PAGE ? h('div.pager', null,
    h('button#changes-prev', { type: 'button', disabled: O.offset === 0 || O.loading, onclick: () => go(O.offset - PAGE) }, '‹'),
    h('span', null, t('changes.page', { from: fmtInt(O.offset + 1), to: fmtInt(Math.min(longest, O.offset + PAGE)), n: fmtInt(longest) })),
    h('button#changes-next', { type: 'button', disabled: O.offset + PAGE >= longest || O.loading, onclick: () => go(O.offset + PAGE) }, '›')) : null;
  el.replaceChildren(...[head, legend,
    h('p.changes-summary', { dataset: { edits: String(c.summary?.edits ?? 0) } }, summaryText(c.summary || {})),
    c.names_shown ? null : h('p.help', null, t('changes.namesHidden')),
    items.length ? h('ul.change-list', { 'aria-busy': String(O.loading) }, items) : null,
    pager].filter(Boolean));
}
