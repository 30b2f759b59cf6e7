// The panels and overlays: hierarchy tree, selection panel (KPI cards, balance bars, issue
// list), legend, metric picker, layer switcher, popups, locate, search, export, settings.
// Each render function rebuilds its part from state; none holds state of its own beyond
// what is on screen (expanded tree nodes, the open popup).

import * as maplibregl from 'maplibre-gl';
import { api, exportURL } from './api.js';
import { errorText, fmtArea, fmtInt, fmtNum, fmtPct, fmtTime, t } from './i18n.js';
import {
  cellAreaKm2, COLORS, COVERAGE_METRICS, densityLegend, legendItems, METRICS, WORKLOAD,
} from './metrics.js';
import { ancestors, kpis, shortName } from './model.js';
import { session } from './session.js';
import { ZOOM } from './style.js';
import * as undivided from './undivided.js';

const $ = (id) => document.getElementById(id);

/** h creates an element: h('div.cls', {attrs}, children…). */
export function h(tag, attrs, ...children) {
  const [head, id] = tag.split('#');
  const [name, ...classes] = head.split('.');
  const el = document.createElement(name || 'div');
  if (id) el.id = id;
  if (classes.length) el.className = classes.join(' ');
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'style') el.style.cssText = v;
      else el.setAttribute(k, v === true ? '' : v);
    }
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let toastTimer;
export function toast(msg) {
  const el = $('toast');
  el.textContent = msg;
  // above the legend, which must stay readable (it sits at the bottom of the map)
  el.style.bottom = `${($('legend')?.offsetHeight || 0) + 20}px`;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 4000);
}

export function renderAsOf(state) {
  const el = $('data-asof');
  const r = state.report;
  if (!r) {
    el.textContent = '';
    return;
  }
  el.textContent = `${t('dataAsOf')} ${fmtTime(r.generated_at)}`;
  el.title = `data_version ${r.data_version}`;
}

// ---- tree ------------------------------------------------------------------------------

const expanded = new Set();

function levelName(level) {
  return t(`level.${level}`);
}

function statusMark(idx, g) {
  const n = idx.issues.get(g.id) || 0;
  if (g.level === 3 && idx.unstaffed.has(g.id)) {
    return h('span.mark.bad', { title: t('status.unstaffed'), 'aria-label': t('status.unstaffed') }, '✗');
  }
  if (n > 0) return h('span.mark.warn', { title: `${n} ${t('status.defects')}` }, `⚠${n}`);
  return h('span.mark.ok', { title: t('status.staffed'), 'aria-label': t('status.staffed') }, '✓');
}

export function renderTreeError(err) {
  $('tree').replaceChildren(h('p.empty', null, `${t('panel.error')}${err.message}`));
}

export function renderTree({ state, select }) {
  const tree = $('tree');
  const idx = state.idx;
  if (!idx) return;
  const rows = [];
  const cityRow = h('div.row.city', {
    role: 'treeitem', tabindex: '-1', 'aria-selected': String(!state.sel), dataset: { code: '' },
  }, h('span.caret'), h('span.name', null, t('tree.city')),
  h('span.hh', { title: t('kpi.households') }, fmtInt(state.report.totals?.households)));
  cityRow.addEventListener('click', () => select(''));
  rows.push(cityRow);
  if (!idx.roots.length) rows.push(h('p.empty', null, t('tree.empty')));
  const add = (g, depth) => {
    const kids = idx.children.get(g.id) || [];
    const open = expanded.has(g.id);
    const parent = g.parent_id != null ? idx.byId.get(g.parent_id) : null;
    const row = h('div.row', {
      role: 'treeitem', tabindex: '-1', 'aria-level': String(depth + 1),
      'aria-expanded': kids.length ? String(open) : undefined,
      'aria-selected': String(state.sel === g.code),
      dataset: { code: g.code, id: String(g.id), level: String(g.level) },
      title: `${g.name} · ${g.code}`,
      style: `padding-left:${6 + depth * 14}px`,
    },
    h('span.caret', {
      onclick: (e) => {
        e.stopPropagation();
        toggle(g.id);
        renderTree({ state, select });
      },
    }, kids.length ? (open ? '▾' : '▸') : ''),
    statusMark(idx, g),
    h('span.name', null, g.level === 3 ? shortName(g.name, parent?.name) : g.name),
    h('span.hh', { title: t('kpi.households') }, fmtInt(g.households)));
    row.addEventListener('click', () => {
      if (state.sel !== g.code) {
        select(g.code);
        return;
      }
      // a second click on the selected row folds or unfolds it
      toggle(g.id);
      renderTree({ state, select });
    });
    rows.push(row);
    if (open) for (const k of kids) add(k, depth + 1);
  };
  for (const r of idx.roots) add(r, 0);
  tree.replaceChildren(...rows);
  $('tree-key').replaceChildren(
    h('span', null, h('span.mark.ok', null, '✓'), ` ${t('status.staffed')}`),
    h('span', null, h('span.mark.bad', null, '✗'), ` ${t('status.unstaffed')}`),
    h('span', null, h('span.mark.warn', null, '⚠n'), ` ${t('tree.key.issues')}`),
    h('span', null, `${t('tree.key.households')}`));
  tree.setAttribute('aria-label', t('tree.title'));
  const sel = tree.querySelector('[aria-selected="true"]');
  if (sel) {
    sel.tabIndex = 0;
    sel.classList.add('selected');
    if (!isVisibleIn(sel, tree)) sel.scrollIntoView({ block: 'nearest' });
  }
  if (!tree.dataset.keys) {
    tree.dataset.keys = '1';
    tree.addEventListener('keydown', (e) => treeKey(e, { state, select }));
  }
}

/** expandTo unfolds the tree down to code and code itself, so its children show. */
export function expandTo(idx, code) {
  const g = code ? idx?.byCode.get(code) : null;
  if (!g) return;
  for (const a of ancestors(idx, g)) expanded.add(a.id);
  expanded.add(g.id);
}

function isVisibleIn(el, box) {
  const a = el.getBoundingClientRect();
  const b = box.getBoundingClientRect();
  return a.top >= b.top && a.bottom <= b.bottom;
}

function toggle(id) {
  if (expanded.has(id)) expanded.delete(id);
  else expanded.add(id);
}

function treeKey(e, ctx) {
  const tree = $('tree');
  const rows = [...tree.querySelectorAll('.row')];
  if (!rows.length) return;
  let cur = rows.indexOf(document.activeElement);
  if (cur < 0) cur = Math.max(0, rows.findIndex((r) => r.classList.contains('selected')));
  const row = rows[cur];
  const focus = (k) => {
    const r = rows[Math.max(0, Math.min(rows.length - 1, k))];
    rows.forEach((x) => { x.tabIndex = -1; });
    r.tabIndex = 0;
    r.focus();
  };
  const id = Number(row.dataset.id);
  switch (e.key) {
    case 'ArrowDown': focus(cur + 1); break;
    case 'ArrowUp': focus(cur - 1); break;
    case 'ArrowRight':
      if (row.getAttribute('aria-expanded') === 'false') {
        expanded.add(id);
        renderTree(ctx);
        $('tree').querySelector(`[data-id="${id}"]`)?.focus();
      } else focus(cur + 1);
      break;
    case 'ArrowLeft':
      if (row.getAttribute('aria-expanded') === 'true') {
        expanded.delete(id);
        renderTree(ctx);
        $('tree').querySelector(`[data-id="${id}"]`)?.focus();
      } else {
        const g = ctx.state.idx.byId.get(id);
        if (g?.parent_id != null) $('tree').querySelector(`[data-id="${g.parent_id}"]`)?.focus();
      }
      break;
    case 'Enter':
    case ' ':
      ctx.select(row.dataset.code);
      setTimeout(() => $('tree').querySelector(`[data-code="${row.dataset.code}"]`)?.focus(), 0);
      break;
    default: return;
  }
  e.preventDefault();
}

// ---- selection panel --------------------------------------------------------------------

export function renderPanelLoading() {
  $('panel').replaceChildren(h('p.loading', null, t('panel.loading')));
}

export function renderPanelError(ctx, err, retry) {
  $('panel').replaceChildren(h('div.error', { role: 'alert' },
    h('p', null, `${t('panel.error')}${err.message}`),
    h('button', { type: 'button', onclick: retry }, t('panel.retry'))));
}

function kpiCard(key, value, { raw, sub, wide, warn } = {}) {
  return h(`div.kpi${wide ? '.wide' : ''}${warn ? '.warn' : ''}`, {
    dataset: { kpi: key, value: raw !== undefined ? String(raw) : undefined },
    title: t(`kpi.${key}.def`, { target: 300, band: 20 }),
  },
  h('div.v', null, value),
  h('div.k', null, t(`kpi.${key}`), sub ? h('span.sub', null, sub) : null));
}

function breadcrumb(ctx, g) {
  const { state, select } = ctx;
  const items = [h('a', { href: '?', onclick: (e) => { e.preventDefault(); select(''); } }, t('tree.city'))];
  if (g) {
    for (const a of ancestors(state.idx, g)) {
      items.push(' › ', h('a', { href: `?sel=${a.code}`, onclick: (e) => { e.preventDefault(); select(a.code); } }, a.name));
    }
  }
  return h('nav.crumbs', { 'aria-label': 'breadcrumb' }, items);
}

export function renderPanel(ctx) {
  const { state } = ctx;
  const report = undivided.report(state.selReport, state.idx);
  if (!report) return;
  const g = state.sel ? state.idx?.byCode.get(state.sel) : null;
  const k = kpis(report);
  k.householdsEstimated ||= Boolean(ctx.estimated);
  const title = g ? g.name : (state.city?.name || t('panel.city'));
  const head = h('div.sel-head', null,
    breadcrumb(ctx, g),
    h('h2#sel-title', null, title),
    h('div.badges', null,
      g ? h('span.badge', null, levelName(g.level)) : h('span.badge', null, t('panel.city')),
      g ? h('span.code', null, g.code) : null));

  const est = k.householdsEstimated ? h('span.est', { title: t('kpi.estimate.def') }, ` ${t('kpi.estimate')}`) : null;
  const hpwDef = t('kpi.hpw.def', { target: k.target, band: Math.round(k.band * 100) });
  const hpw = kpiCard('hpw', `${fmtNum(k.hpwMin)} / ${fmtNum(k.hpwMedian)} / ${fmtNum(k.hpwMax)}`,
    { raw: [k.hpwMin, k.hpwMedian, k.hpwMax].join(','), wide: true, sub: ` · ${t('legend.within')} ${Math.round(k.target * (1 - k.band))}–${Math.round(k.target * (1 + k.band))}` });
  hpw.title = hpwDef;
  const cards = h('div.kpis', null,
    kpiCard('grids', fmtInt(k.gridsPerLevel[2]), {
      raw: k.gridsPerLevel.join(','),
      // the levels above the grids, where there is more than one (a community is "1 community")
      sub: [1, 2].filter((l) => k.gridsPerLevel[l - 1] > 1).map((l) => ` · ${levelName(l)} ${k.gridsPerLevel[l - 1]}`).join(''),
    }),
    kpiCard('buildings', fmtInt(k.buildings), { raw: k.buildings }),
    kpiCard('units', fmtInt(k.units), { raw: k.units }),
    (() => {
      const c = kpiCard('households', fmtInt(k.households), { raw: k.households });
      if (est) c.querySelector('.k').append(est);
      return c;
    })(),
    kpiCard('workers', fmtInt(k.workers), { raw: k.workers }),
    kpiCard('staffed', fmtPct(k.staffedShare), { raw: k.staffedShare, warn: k.staffedShare < 1 }),
    kpiCard('oneGrid', fmtPct(k.oneGridShare), { raw: k.oneGridShare, warn: k.oneGridShare < 1 }),
    kpiCard('gaps', fmtInt(k.gaps), { raw: k.gaps, warn: k.gaps > 0 }),
    kpiCard('overlaps', fmtInt(k.overlaps), { raw: k.overlaps, warn: k.overlaps > 0 }),
    hpw);

  const defects = renderDefects(ctx, report);
  const bars = renderBars(ctx, g, k);
  const spread = renderSpread(report);
  const empty = undivided.notice(ctx, g);
  const body = state.mode === 'coverage' ? [head, empty, cards, spread, defects, bars] : [head, empty, cards, spread, bars, defects];
  $('panel').replaceChildren(...body.filter(Boolean));
  $('panel').dataset.sel = state.sel;
}

/** renderSpread shows how the level-3 grids of the selection sit against the target band. */
function renderSpread(report) {
  const l3 = (report.levels || []).find((l) => l.level === 3);
  if (!l3 || !l3.grids) return null;
  const parts = [
    { key: 'under', n: l3.under, color: WORKLOAD.under },
    { key: 'within', n: l3.within, color: WORKLOAD.within },
    { key: 'over', n: l3.over, color: WORKLOAD.over },
    { key: 'unstaffed', n: l3.unstaffed, color: WORKLOAD.unstaffed },
  ];
  return h('section.spread', { dataset: { within: String(l3.within) }, title: t('def.workload') },
    h('h3', null, t('panel.spread', { n: l3.grids })),
    h('div.spread-bar', null, parts.filter((p) => p.n > 0).map((p) => h('span', {
      style: `flex:${p.n};background:${p.color}`, title: `${t(`legend.${p.key}`)}: ${p.n}`,
    }))),
    h('div.spread-keys', null, parts.map((p) => h('span', { dataset: { key: p.key } }, swatch(p.color), ` ${t(`legend.${p.key}`)} `, h('b', null, String(p.n))))));
}

function barColor(w, band) {
  if (!w || w.per_worker == null) return WORKLOAD.unstaffed;
  const far = 2 * band;
  if (w.status === 'under') return w.deviation < -far ? WORKLOAD.farUnder : WORKLOAD.under;
  if (w.status === 'over') return w.deviation > far ? WORKLOAD.farOver : WORKLOAD.over;
  return '#4d9221';
}

/**
 * bandBar draws a workload (per_worker, status, deviation: the coverage report's or the balance
 * API's) as a bar on a 0–max scale against the band lo–hi around target; band is the fraction
 * (0.2) that tells under from far under.
 */
export function bandBar(w, { lo, hi, target, band, max }, attrs = null) {
  const pct = (v) => `${Math.min(100, (v / max) * 100).toFixed(2)}%`;
  const v = w?.per_worker;
  return h('span.bar-track', attrs,
    h('span.bar-band', { style: `left:${pct(lo)};width:calc(${pct(hi)} - ${pct(lo)})` }),
    h('span.bar-target', { style: `left:${pct(target)}` }),
    v == null ? h('span.bar-none') : h('span.bar-fill', { style: `width:${pct(v)};background:${barColor(w, band)}` }));
}

/** workloadMark: households per worker with its status mark (never colour alone). */
export function workloadMark(w) {
  const v = w?.per_worker;
  if (v == null) return `✗ ${t('legend.unstaffed')}`;
  return `${fmtNum(v)} ${w.status === 'within' ? '✓' : w.status === 'over' ? '▲' : '▼'}`;
}

function renderBars(ctx, g, k) {
  const { state, select } = ctx;
  const idx = state.idx;
  const kids = g ? (idx.children.get(g.id) || []) : idx.roots;
  const sec = h('section.bars', null, h('h3', { title: t('panel.children.hint') }, t('panel.children')));
  if (!kids.length) {
    sec.append(h('p.empty', null, t('panel.children.none')));
    return sec;
  }
  const lo = k.target * (1 - k.band);
  const hi = k.target * (1 + k.band);
  const maxV = Math.max(k.target * 2, ...kids.map((c) => c.workload?.per_worker || 0)) * 1.05;
  const scale = { lo, hi, target: k.target, band: k.band, max: maxV };
  const list = h('div.barlist');
  for (const c of kids) {
    const w = c.workload;
    const v = w?.per_worker;
    const label = c.level === 3 ? shortName(c.name, g?.name) : c.name;
    const row = h('button.bar', {
      type: 'button', dataset: { code: c.code },
      title: `${c.name} · ${t('kpi.households')} ${fmtInt(c.households)} · ${t('kpi.workers')} ${fmtInt(w?.workers)} · ${t('legend.hpw')} ${v == null ? '–' : fmtNum(v, 1)}`,
      onclick: () => select(c.code),
    },
    h('span.bar-name', null, label),
    bandBar(w, scale),
    h('span.bar-val', null, workloadMark(w)));
    list.append(row);
  }
  sec.append(list);
  sec.append(h('div.bar-axis', null,
    h('span', null, '0'),
    h('span.bar-axis-band', null, `${t('legend.within')} ${Math.round(lo)}–${Math.round(hi)}`),
    h('span', null, fmtInt(maxV))));
  return sec;
}

function defectItem(kind, icon, text, detail, onclick) {
  return h('li', null, h('button.defect', { type: 'button', dataset: { defect: kind }, onclick },
    h('span.dicon', { 'aria-hidden': 'true', dataset: { kind } }, icon),
    h('span.dtext', null, h('strong', null, t(`defect.${kind}`)), ' ', text),
    detail ? h('span.ddetail', null, detail) : null));
}

function renderDefects(ctx, r) {
  const { flyToGeometry, flyToBuilding, flyToGrid } = ctx;
  const sec = h('section.defects', null, h('h3', null, t('panel.defects')));
  const list = h('ul.defect-list');
  const activate = (fn) => (e) => {
    for (const b of document.querySelectorAll('.defect.active')) b.classList.remove('active');
    e.currentTarget.classList.add('active');
    fn();
  };
  for (const gap of r.gaps || []) {
    list.append(defectItem('gap', '▨', gap.parent ? `${t('defect.in')} ${gap.parent.name}` : t('tree.city'),
      fmtArea(gap.area_m2), activate(() => flyToGeometry(gap.geometry))));
  }
  for (const o of r.overlaps || []) {
    list.append(defectItem('overlap', '▩', `${o.grids[0].name} ↔ ${o.grids[1].name}`,
      fmtArea(o.area_m2), activate(() => flyToGeometry(o.geometry))));
  }
  for (const o of r.outside_parent || []) {
    list.append(defectItem('outsideParent', '⇱', o.grid.name, fmtArea(o.area_m2),
      activate(() => flyToGeometry(o.geometry))));
  }
  for (const s of r.straddlers || []) {
    list.append(defectItem('straddler', '◩', `${s.building.name || ''} ${s.building.code}`,
      `${fmtPct(s.share_outside)} ${t('defect.outside')}`, activate(() => flyToBuilding(s.building.id))));
  }
  for (const b of r.buildings_outside || []) {
    list.append(defectItem('buildingOutside', '◌', `${b.name || ''} ${b.code}`, null,
      activate(() => flyToBuilding(b.id))));
  }
  for (const m of r.buildings_multi_grid || []) {
    list.append(defectItem('multiGrid', '◈', `${m.building.name || ''} ${m.building.code}`, null,
      activate(() => flyToBuilding(m.building.id))));
  }
  for (const g of r.unstaffed?.grids || []) {
    list.append(defectItem('unstaffedGrid', '✗', g.name, g.code, activate(() => flyToGrid(g.code))));
  }
  for (const g of r.noncontiguous || []) {
    list.append(defectItem('noncontiguous', '⁞', g.name, g.code, activate(() => flyToGrid(g.code))));
  }
  const nb = (r.unstaffed?.buildings || []).length;
  const nu = (r.unstaffed?.units || []).length;
  if (!list.children.length && !nb && !nu) {
    sec.append(h('p.ok', null, `✓ ${t('panel.defects.none')}`));
    return sec;
  }
  sec.firstChild.append(h('span.count-badge', null, String(list.children.length)));
  sec.append(list);
  if (nb || nu) {
    sec.append(h('p.minor', null,
      nb ? `${t('defect.unstaffedBuildings')}: ${fmtInt(nb)}` : '',
      nb && nu ? ' · ' : '',
      nu ? `${t('defect.unstaffedUnits')}: ${fmtInt(nu)}` : ''));
  }
  return sec;
}

// ---- export ----------------------------------------------------------------------------

const exportChoice = { scope: 'selection', what: 'grids', level: '3' };

function subtreeCount(idx, rootId, level) {
  let n = 0;
  const walk = (id) => {
    for (const c of idx.children.get(id) || []) {
      if (!level || c.level === level) n++;
      walk(c.id);
    }
  };
  if (rootId == null) {
    for (const r of idx.roots) {
      if (!level || r.level === level) n++;
      walk(r.id);
    }
  } else walk(rootId);
  return n;
}

export function renderExport(ctx) {
  const { state } = ctx;
  const idx = state.idx;
  const g = state.sel ? idx?.byCode.get(state.sel) : null;
  if (!g) exportChoice.scope = 'city';
  const scopeSel = exportChoice.scope === 'selection' && g;
  const level = exportChoice.level ? Number(exportChoice.level) : 0;
  let url;
  let count;
  let rows = false;
  let filename = '';
  if (exportChoice.what === 'grids' && scopeSel && g.level === 3) {
    // a level-3 grid has no grids below it: the selection is the grid itself
    url = `/api/v1/grids/${g.code}`;
    filename = `grid-${g.code}.geojson`;
    count = 1;
  } else if (exportChoice.what === 'grids') {
    url = exportURL.grids({ level: level || undefined, parent: scopeSel ? g.code : undefined });
    count = idx ? subtreeCount(idx, scopeSel ? g.id : null, level) : null;
  } else if (exportChoice.what === 'buildings') {
    url = exportURL.buildings({ grid: scopeSel ? g.code : undefined });
    count = scopeSel ? g.buildings : state.report?.totals?.buildings;
  } else {
    url = exportURL.assignments();
    count = (state.report?.totals?.buildings || 0) + (state.report?.buildings_outside || []).length;
    rows = true;
  }
  const radio = (name, value, label, checked, disabled) => h('label.opt', null,
    h('input', {
      type: 'radio', name, value, checked, disabled,
      onchange: () => { exportChoice[name] = value; renderExport(ctx); },
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
        onchange: (e) => { exportChoice.level = e.target.value; renderExport(ctx); },
      }, ['', '1', '2', '3'].map((v) => h('option', { value: v, selected: exportChoice.level === v },
        v ? `${v} · ${levelName(Number(v))}` : t('export.level.all'))))) : null,
    h('p.count#export-count', { dataset: { count: String(count ?? '') } },
      t(rows ? 'export.countRows' : 'export.count', { n: fmtInt(count) })),
    h('a.button.primary#export-download', { href: url, download: filename }, `↓ ${t('export.download')}`),
    h('p.help', null, t('export.note')),
    h('p.help.mono', null, url));
  $('panel').replaceChildren(form);
  $('panel').dataset.sel = state.sel;
}

// ---- legend, metric picker, layers ---------------------------------------------------------

function swatch(color, cls = '') {
  return h(`span.sw${cls}`, { style: `background:${color}` });
}

export function renderLegend({ state, zoom, metric, band, assign }) {
  const el = $('legend');
  const m = METRICS[metric];
  const block = (title, items, attrs) => h('div.lg-block', attrs, h('div.lg-title', null, title),
    h('ul.lg-items', null, items));
  const blocks = [];
  if (state.mode === 'assign') {
    // Assign mode: the community's grids by swatch, locks, the stroke; no metric fill
    if (assign) {
      blocks.push(block(assign.title, assign.items.map((it) => h('li', null,
        it.cls ? h(`span.sw.${it.cls}`) : swatch(it.color), it.label)), { dataset: { block: 'assign' } }));
    }
    blocks.push(block(t('legend.marks'), [
      h('li', null, h('span.ln.l2'), t('legend.l2')),
      h('li', null, h('span.ln.l3'), t('legend.l3')),
      h('li', null, h('span.ln.sel'), t('assign.legend.target')),
    ], { dataset: { block: 'marks' } }));
    el.replaceChildren(...blocks);
    el.dataset.metric = 'assign';
    return;
  }
  // below z13 only communities are filled, and only for the rate metrics (see l2Opacity)
  const filled = zoom >= ZOOM.l3 || (zoom >= ZOOM.l2 && metric !== 'households');
  const title = metric === 'workload' ? `${t(m.title)}（${t('legend.hpw')}）` : t(m.title);
  if (filled) {
    blocks.push(block(title, legendItems(metric, t, band).map((it) => h('li', null, swatch(it.color), it.label)),
      { title: t(m.definition), dataset: { block: 'metric' } }));
  }
  if (zoom < ZOOM.densityMax && state.layers.density) {
    blocks.push(block(t('legend.density'), densityLegend().map((it) => h('li', null, swatch(it.color), it.label)),
      { dataset: { block: 'density' } }));
  }
  blocks.push(block(t('legend.marks'), [
    state.layers.defects ? h('li', null, h('span.sw.hatch-gap'), t('legend.gap')) : null,
    state.layers.defects ? h('li', null, h('span.sw.hatch-overlap'), t('legend.overlap')) : null,
    zoom >= ZOOM.buildings && state.layers.buildings ? h('li', null, h('span.sw.straddler', { style: `background:${COLORS.straddler}` }), t('legend.straddler')) : null,
    zoom >= ZOOM.buildings && state.layers.buildings ? h('li', null, swatch('#bdb5a6'), t('legend.building')) : null,
    zoom >= ZOOM.units && state.layers.units ? h('li', null, h('span.sw.dot'), t('legend.unit')) : null,
    h('li', null, h('span.ln.l1'), t('legend.l1')),
    h('li', null, h('span.ln.l2'), t('legend.l2')),
    h('li', null, h('span.ln.l3'), t('legend.l3')),
    h('li', null, h('span.ln.sel'), t('legend.selection')),
  ], { dataset: { block: 'marks' } }));
  el.replaceChildren(...blocks);
  el.dataset.metric = metric;
}

export function renderMetricPicker({ state, setMetric }) {
  const el = $('metric-picker');
  el.hidden = state.mode !== 'coverage';
  if (el.hidden) return;
  el.replaceChildren(h('span.mp-label', null, t('metric.label')),
    ...COVERAGE_METRICS.map((m) => h('button', {
      type: 'button', 'aria-pressed': String(state.metric === m), dataset: { metric: m },
      title: t(METRICS[m].definition), class: state.metric === m ? 'active' : '',
      onclick: () => setMetric(m),
    }, t(METRICS[m].title))));
}

export function renderLayers(state, onToggle) {
  const box = $('layers-box');
  box.replaceChildren(h('div.lg-head', null, t('layers.title')),
    ...Object.keys(state.layers).map((g) => h('label', null,
      h('input', {
        type: 'checkbox', checked: state.layers[g], dataset: { layer: g },
        onchange: (e) => onToggle(g, e.target.checked),
      }), ` ${t(`layers.${g}`)}`)));
}

// ---- popups ----------------------------------------------------------------------------

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

function staffList(params, onLoad) {
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
  const rg = ctx.idx?.byCode.get(p.code);
  const w = rg?.workload;
  const content = h('div.popup', { dataset: { kind: 'grid', code: p.code } },
    h('div.ptitle', null, h('span.badge', null, levelName(Number(p.level))), ' ', p.name || rg?.name || ''),
    rowsTable([
      [t('popup.code'), p.code],
      [t('popup.households'), h('span', null, fmtInt(rg?.households ?? p.households),
        p.households_estimated ? h('span.est', { title: t('popup.estimated.def') }, ` (${t('popup.estimated')})`) : null)],
      [t('popup.buildings'), rg ? fmtInt(rg.buildings) : null],
      [t('popup.workers'), fmtInt(rg?.workers ?? p.workers)],
      rg ? [t('popup.hpw'), w?.per_worker == null ? `✗ ${t('legend.unstaffed')}` : `${fmtNum(w.per_worker, 1)} (${t(`legend.${w.status === 'within' ? 'within' : w.status}`)})`] : null,
      rg ? ['Polsby–Popper', fmtNum(rg.polsby_popper, 2)] : null,
    ]),
    staffList({ grid: p.code }),
    h('button.primary.small', { type: 'button', onclick: () => { popup?.remove(); ctx.select(p.code); } }, t('popup.select')));
  openPopup(map, lngLat, content);
}

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
  const estimated = p.households_estimated === true || p.households_estimated === 'true';
  // what the tile says at once; the API's detail replaces it when it arrives
  const attrs = rowsTable([
    [t('popup.code'), p.code],
    [t('popup.floors'), p.floors != null ? String(p.floors) : null],
    [t('popup.households'), h('span', null, fmtInt(p.households), estMark(estimated))],
    p.grid_code ? [t('popup.grid.chain'), p.grid_code] : null,
  ]);
  const detail = h('div.detail', null, h('p.muted.small', null, t('popup.loading')));
  const title = h('span', null, p.name || p.code);
  const content = h('div.popup', { dataset: { kind: 'building', code: p.code } },
    h('div.ptitle', null, h('span.badge', null, t('popup.building')), ' ', title),
    p.straddling === true || p.straddling === 'true' ? h('p.warnline', null, `◩ ${t('popup.straddling')}`) : null,
    attrs, detail);
  const pop = openPopup(map, lngLat, content);
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
      [t('popup.floors'), bp.floors != null ? String(bp.floors) : null],
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

/** showFeaturePopup opens the popup of the most specific feature clicked. */
export function showFeaturePopup(map, lngLat, features, ctx) {
  const by = (id) => features.find((f) => f.layer.id === id);
  const f = by('units') || by('buildings') || by('gap-fill') || by('overlap-fill') || by('grid-fill-l3') || by('grid-fill-l2') || by('density');
  if (!f) return;
  switch (f.layer.id) {
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
    const loc = await api.locate(lngLat.lng.toFixed(7), lngLat.lat.toFixed(7));
    const chain = loc.chain || [];
    const rows = [1, 2, 3].map((lv) => {
      const g = chain[lv - 1];
      return [levelName(lv), g
        ? h('a', { href: `?sel=${g.code}`, onclick: (e) => { e.preventDefault(); select(g.code); } }, `${g.name} · ${g.code}`)
        : h('span.bad', null, `✗ ${t('locate.none')}`)];
    });
    rows.push([t('locate.building'), loc.building ? `${loc.building.name || ''} ${loc.building.code}` : t('locate.noBuilding')]);
    const note = loc.status === 'gap' || loc.gap ? h('p.warnline', null, `▨ ${t('locate.gap')}`)
      : loc.status === 'overlap' ? h('p.warnline', null, `▩ ${t('locate.overlap')}${(loc.overlapping || []).map((g) => ` · ${g.name}`).join('')}`)
        : loc.status === 'outside' ? h('p.warnline', null, t('locate.outside')) : null;
    body.replaceChildren(h('div.ptitle', null, `◎ ${t('locate.title')}`), note, rowsTable(rows),
      h('p.muted.small', null, `${lngLat.lng.toFixed(6)}, ${lngLat.lat.toFixed(6)}`));
    body.dataset.status = loc.status || '';
  } catch (err) {
    body.replaceChildren(h('div.ptitle', null, `◎ ${t('locate.title')}`), h('p.bad', null, err.message));
  }
}

// ---- search ----------------------------------------------------------------------------

export function hookSearch({ state, select }) {
  const input = $('search');
  const list = $('search-results');
  let hits = [];
  let active = -1;
  const close = () => { list.hidden = true; active = -1; };
  const render = () => {
    list.replaceChildren(...(hits.length ? hits.map((g, k) => h('li', {
      role: 'option', 'aria-selected': String(k === active), dataset: { code: g.code },
      onmousedown: (e) => { e.preventDefault(); choose(g); },
    }, h('span.badge', null, levelName(g.level)), ` ${g.name} `, h('span.code', null, g.code)))
      : [h('li.none', null, t('search.none'))]));
    list.hidden = false;
  };
  const choose = (g) => {
    input.value = g.name;
    close();
    select(g.code);
  };
  input.addEventListener('input', () => {
    const q = input.value.trim().toLowerCase();
    if (!q || !state.idx) {
      close();
      return;
    }
    hits = [];
    for (const g of state.idx.byCode.values()) {
      if (g.code.includes(q) || g.name.toLowerCase().includes(q)) hits.push(g);
    }
    hits.sort((a, b) => a.level - b.level || (a.code < b.code ? -1 : 1));
    hits = hits.slice(0, 12);
    active = hits.length ? 0 : -1;
    render();
  });
  input.addEventListener('keydown', (e) => {
    if (list.hidden) return;
    if (e.key === 'ArrowDown') active = Math.min(hits.length - 1, active + 1);
    else if (e.key === 'ArrowUp') active = Math.max(0, active - 1);
    else if (e.key === 'Enter' && hits[active]) {
      choose(hits[active]);
      return;
    } else if (e.key === 'Escape') {
      close();
      return;
    } else return;
    e.preventDefault();
    render();
  });
  input.addEventListener('blur', () => setTimeout(close, 100));
}

// ---- settings --------------------------------------------------------------------------

export function renderSettings(state) {
  $('settings-title').textContent = t('settings.title');
  $('basemap-label').textContent = t('settings.basemap');
  $('basemap-help').textContent = t('settings.basemap.help');
  $('basemap-apply').textContent = t('settings.apply');
  $('basemap-clear').textContent = t('settings.clear');
  $('settings-close').textContent = t('settings.close');
  if (document.activeElement !== $('basemap-input')) $('basemap-input').value = state.basemap || '';
  $('basemap-error').hidden = !state.basemapRefused;
  $('basemap-error').textContent = state.basemapRefused ? t('settings.basemap.refused', { host: state.basemapRefused }) : '';
}

export function hookSettings() {
  const dlg = $('settings');
  $('settings-btn').addEventListener('click', () => dlg.showModal());
  $('settings-close').addEventListener('click', () => dlg.close());
  const apply = (url) => {
    if (url) localStorage.setItem('gridmap.basemap', url);
    else localStorage.removeItem('gridmap.basemap');
    const p = new URLSearchParams(location.search);
    if (url) p.set('basemap', url);
    else p.delete('basemap');
    location.search = p.toString();
  };
  $('settings-form').addEventListener('submit', () => apply($('basemap-input').value.trim()));
  $('basemap-clear').addEventListener('click', () => apply(''));
}

// ---- sign-in ---------------------------------------------------------------------------

/**
 * hookLogin wires the sign-in dialog: a token field when signed out, the user and a sign-out
 * button when signed in. auth is session.js; onChange runs after either.
 */
export function hookLogin(auth, onChange) {
  const dlg = $('login');
  const err = $('login-error');
  const render = () => {
    const u = auth.session.user;
    $('login-title').textContent = u ? t('auth.account') : t('auth.signIn');
    $('login-signed').textContent = u ? t('auth.signedInAs', { who: auth.userLabel() }) : '';
    $('login-signed').hidden = !u;
    for (const id of ['token-label', 'token-input', 'login-help', 'login-submit']) $(id).hidden = Boolean(u);
    $('token-label').textContent = t('auth.token');
    $('token-input').placeholder = t('auth.token.ph');
    $('login-help').textContent = t('auth.token.help');
    $('login-submit').textContent = t('auth.signIn');
    $('logout-btn').textContent = t('auth.signOut');
    $('logout-btn').hidden = !u;
    $('login-cancel').textContent = t('settings.close');
    err.hidden = true;
  };
  $('user').addEventListener('click', () => {
    render();
    $('token-input').value = '';
    dlg.showModal();
    if (!auth.session.user) $('token-input').focus();
  });
  $('login-cancel').addEventListener('click', () => dlg.close());
  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = $('token-input').value.trim();
    if (!token) return;
    $('login-submit').disabled = true;
    try {
      await auth.login(token);
      dlg.close();
      toast(t('auth.welcome', { who: auth.userLabel() }));
      onChange();
    } catch (ex) {
      const why = ex.status === 401 ? t('auth.badToken') : errorText(ex.code);
      err.replaceChildren(why || ex.message, why ? h('span.detail', null, ex.message) : '');
      err.hidden = false;
    } finally {
      $('login-submit').disabled = false;
    }
  });
  $('logout-btn').addEventListener('click', async () => {
    try {
      await auth.logout();
    } catch (ex) {
      toast(ex.message);
    }
    dlg.close();
    toast(t('auth.signedOut'));
    onChange();
  });
}
