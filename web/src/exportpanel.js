// The Export mode's panel: grids (of the selection or the city, by level), buildings as
// GeoJSON, or the assignments as CSV, with the count shown before downloading. Counts come
// from the coverage summaries (grids per level, buildings) of the selection and of the city.
// At a past moment (the as-of control) every download is of then. Then the statistical report
// of the selection (XLSX, CSV). Below, the offline package of the selected grid (signed in:
// planners, admins, a grid leader for their own grids — the server decides) and the button that
// opens one from a file.

import { api, exportURL } from './api.js';
import { $, h } from './dom.js';
import * as grids from './grids.js';
import { fmtInt, fmtMoment, lang, t } from './i18n.js';
import { session } from './session.js';
import { state } from './state.js';

let ctx = { openPackage: () => {} };

/** init takes the app's openPackage (main.js): open a .pmtiles file and go offline. */
export function init(c) {
  ctx = c;
}

const OFFLINE_ROLES = new Set(['admin', 'planner', 'grid_leader']);

/** offlineBox: the selected grid's package to download, and a package to open from a file. */
function offlineBox(g) {
  const role = session.user?.role || '';
  let get;
  if (!g) get = h('p.help', null, t('offline.export.select'));
  else if (!OFFLINE_ROLES.has(role)) get = h('p.help', null, t('offline.export.signIn'));
  else {
    get = h('a.button#offline-download', { href: exportURL.offline({ grid: g.code }), download: `${g.code}.pmtiles` },
      `↓ ${t('offline.export')}: ${g.name}`);
  }
  return h('fieldset.offline', null, h('legend', null, t('offline.title')),
    get,
    h('p.help', null, t('offline.export.note')),
    h('button#offline-open', { type: 'button', onclick: () => ctx.openPackage() }, t('offline.open')));
}

/**
 * reportBox: the statistical report (README "History and reports") of the selection's subtree,
 * or the city's, as at the moment shown — plain links to the XLSX and the CSV.
 */
function reportBox(g) {
  const parent = g ? g.code : undefined;
  const when = state.at ? fmtMoment(state.at) : t('history.nowLower');
  return h('fieldset.report', null, h('legend', null, t('export.report')),
    h('a.button.primary#report-xlsx', { href: exportURL.report({ parent, lang: lang() }), download: '' }, `↓ ${t('export.report.xlsx')}`),
    ' ',
    h('a.button#report-csv', { href: exportURL.report({ parent, lang: lang(), format: 'csv' }), download: '' }, `↓ ${t('export.report.csv')}`),
    h('p.help', null, t('export.report.note', { scope: g ? `${g.name} · ${g.code}` : t('export.report.city'), when })));
}

const levelName = (level) => t(`level.${level}`);
const exportChoice = { scope: 'selection', what: 'grids', level: '3' };

/**
 * load reads the summaries the counts need (the selection's and the city's) unless they are
 * read already — fresh: read them again (the data changed) — then draws.
 */
export async function load({ fresh = false } = {}) {
  const sel = state.sel;
  const [s, city] = await Promise.all([
    sel && (fresh || state.summary?.root?.code !== sel) ? api.summary(sel) : state.summary,
    !fresh && state.citySummary ? state.citySummary : api.summary(),
  ]);
  if (sel !== state.sel) return;
  if (sel) state.summary = s;
  state.citySummary = city;
  if (!sel) state.summary = city;
  render();
}

/**
 * gridCount is how many grids the export of level (0: every level) under g (null: the city)
 * holds: the subtree without g itself, as the export gives it.
 */
function gridCount(g, level) {
  const s = g ? state.summary : state.citySummary;
  if (!s || (g && s.root?.code !== g.code)) return null;
  const per = s.grids_per_level || [0, 0, 0];
  if (level) return g && level <= g.level ? 0 : per[level - 1];
  return per.reduce((a, b) => a + b, 0) - (g ? 1 : 0);
}

export function render() {
  const g = state.sel ? grids.idx.byCode.get(state.sel) : null;
  if (!g) exportChoice.scope = 'city';
  const scopeSel = exportChoice.scope === 'selection' && g;
  const level = exportChoice.level ? Number(exportChoice.level) : 0;
  const sel = g && state.summary?.root?.code === g.code ? state.summary : null;
  let url;
  let count;
  let rows = false;
  let filename = '';
  if (exportChoice.what === 'grids' && scopeSel && g.level === 3) {
    // a level-3 grid has no grids below it: the selection is the grid itself
    url = `/api/v1/grids/${g.code}${state.at ? `?at=${encodeURIComponent(state.at)}` : ''}`;
    filename = `grid-${g.code}.geojson`;
    count = 1;
  } else if (exportChoice.what === 'grids') {
    url = exportURL.grids({ level: level || undefined, parent: scopeSel ? g.code : undefined });
    count = gridCount(scopeSel ? g : null, level);
  } else if (exportChoice.what === 'buildings') {
    url = exportURL.buildings({ grid: scopeSel ? g.code : undefined });
    count = scopeSel ? sel?.totals?.buildings : state.citySummary?.buildings;
  } else {
    url = exportURL.assignments();
    count = state.citySummary?.buildings; // one row per building, those in no grid too
    rows = true;
  }
  const radio = (name, value, label, checked, disabled) => h('label.opt', null,
    h('input', {
      type: 'radio', name, value, checked, disabled,
      onchange: () => { exportChoice[name] = value; render(); },
    }), ` ${label}`);
  const form = h('div.export', null,
    h('h2', null, t('export.title')),
    h('fieldset', null, h('legend', null, t('export.scope')),
      radio('scope', 'selection', g ? `${t('export.scope.selection')}: ${g.name}` : t('export.scope.selection'),
        exportChoice.scope === 'selection' && g, !g || exportChoice.what === 'assignments'),
      radio('scope', 'city', t('export.scope.city'), exportChoice.scope === 'city' || !g || exportChoice.what === 'assignments')),
    h('fieldset', null, h('legend', null, t('export.what')),
      radio('what', 'grids', t('export.grids'), exportChoice.what === 'grids'),
      radio('what', 'buildings', t('export.buildings'), exportChoice.what === 'buildings'),
      radio('what', 'assignments', t('export.assignments'), exportChoice.what === 'assignments')),
    exportChoice.what === 'grids' && !(scopeSel && g.level === 3) ? h('label.level', null, `${t('export.level')} `,
      h('select#export-level', {
        onchange: (e) => { exportChoice.level = e.target.value; render(); },
      }, ['', '1', '2', '3'].map((v) => h('option', { value: v, selected: exportChoice.level === v },
        v ? `${v} · ${levelName(Number(v))}` : t('export.level.all'))))) : null,
    h('p.count#export-count', { dataset: { count: String(count ?? '') } },
      t(rows ? 'export.countRows' : 'export.count', { n: fmtInt(count) })),
    h('a.button.primary#export-download', { href: url, download: filename }, `↓ ${t('export.download')}`),
    h('p.help', null, t('export.note')),
    state.at ? h('p.help.export-at', null, t('export.atNote', { when: fmtMoment(state.at) })) : null,
    h('p.help.mono', null, url),
    reportBox(g),
    offlineBox(g));
  $('panel').replaceChildren(form);
  $('panel').dataset.sel = state.sel;
}
