// The selection panel (right) of the Dashboard and Coverage modes: the heading, the grid's lock
// (lock.js), the KPI cards of the selection's coverage summary (and a sentence when part of it
// is not divided yet), the spread of its grids' households per worker, a balance bar per child
// grid (the rows the tree has, or loads, for it) and the issue list of the selection in view.
// Each part is asked for on its own and bounded: the summary is a few hundred bytes, the
// children a page, the issues a page.

import { api } from './api.js';
import { renderBars } from './bars.js';
import { $, h } from './dom.js';
import * as grids from './grids.js';
import * as timeline from './history.js';
import { t } from './i18n.js';
import * as issues from './issues.js';
import { renderCards, renderHead, renderSpread } from './kpis.js';
import * as lock from './lock.js';
import { withoutEmptyLevel } from './dividetools.js';
import { ancestors, kpis } from './model.js';
import { state } from './state.js';
import * as undivided from './undivided.js';

let C; // {select, setMode, renderTree, renderAsOf}
let abort = null;
let seq = 0;

/** init wires the panel to the app (once). */
export function init(ctx) {
  C = ctx;
}

export function renderPanelLoading() {
  $('panel').replaceChildren(h('p.loading', null, t('panel.loading')));
}

export function renderPanelError(err, retry) {
  $('panel').replaceChildren(h('div.error', { role: 'alert' },
    h('p', null, `${t('panel.error')}${err.message}`),
    h('button', { type: 'button', onclick: retry }, t('panel.retry'))));
}

/** setSummary keeps a summary read for the selection (and the city's when it is the city's). */
export function setSummary(s) {
  state.summary = s;
  if (!s.root) state.citySummary = s;
  state.dataVersion ??= s.data_version;
  state.band = { target: s.options?.target ?? 300, band: s.options?.band ?? 0.2 };
  grids.setBand(state.band);
}

/** load reads the selection's summary and children, then draws the panel; the issues reload too. */
export async function load() {
  if (abort) abort.abort();
  abort = new AbortController();
  const { signal } = abort;
  const mine = ++seq;
  const sel = state.sel;
  const g = sel ? grids.idx.byCode.get(sel) : null;
  if (!state.summary || (state.summary.root?.code || '') !== sel) render({ loading: true });
  issues.reload();
  try {
    const [s] = await Promise.all([
      api.summary(sel || undefined, { signal }),
      !g || g.level < 3 ? grids.loadChildren(g ? g.id : null) : null,
    ]);
    if (mine !== seq) return;
    setSummary(s);
    render();
    C.renderTree();
    C.renderAsOf();
  } catch (err) {
    if (err.name === 'AbortError' || mine !== seq) return;
    renderPanelError(err, () => load());
  }
}

/** render draws the panel from what is loaded; loading: the summary is still to come. */
export function render({ loading = false } = {}) {
  const sel = state.sel;
  const g = sel ? grids.idx.byCode.get(sel) : null;
  const head = renderHead({ g, chain: g ? ancestors(grids.idx, g) : [], cityName: state.city?.name, select: C.select });
  // the selection's lock (its mark and line; the button for planners, now)
  const locked = lock.section(g, { state, done: () => { render(); C.renderTree(); } });
  const s = state.summary;
  const fresh = s && (s.root?.code || '') === sel && !loading;
  // the KPIs count what the issue list holds: the empty level's findings are work not done
  const k = fresh ? kpis(withoutEmptyLevel(s)) : null;
  const empty = fresh ? undivided.notice(s, g, (code) => {
    C.setMode('assign');
    C.select(code);
  }) : null;
  const cards = k ? renderCards(k) : h('p.loading', null, t('panel.loading'));
  const spread = k ? renderSpread(k) : null;
  const parent = g ? g.id : null;
  const bars = !g || g.level < 3 ? renderBars({
    g,
    kids: grids.page(parent) ? grids.childrenOf(parent) : null,
    page: grids.page(parent),
    more: async () => {
      await grids.loadChildren(parent, { more: true });
      render();
      C.renderTree();
    },
    select: C.select,
    band: state.band,
  }) : null;
  const defects = issues.section();
  // the changes overlay's list, beside the map (Coverage mode, while the overlay is on)
  const changes = state.mode === 'coverage' ? timeline.section() : null;
  const body = state.mode === 'coverage' ? [head, locked, changes, empty, cards, spread, defects, bars] : [head, locked, empty, cards, spread, bars, defects];
  $('panel').replaceChildren(...body.filter(Boolean));
  $('panel').dataset.sel = fresh ? sel : `…${sel}`;
  $('panel').dataset.at = fresh ? state.at : '…';
}
