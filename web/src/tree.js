// The hierarchy tree (left): city → subdistricts → communities → grids, each row with a status
// mark (✓ staffed, ✗ a grid without staff, ⚠n issues in the subtree), a padlock when its
// boundary is locked, and households. Rows come from grids.js: a grid's children are asked for
// when it is opened, a page at a time ("more" at the end of a long list), so the tree holds what
// the user opened.

import { $, h } from './dom.js';
import * as grids from './grids.js';
import { fmtInt, t } from './i18n.js';
import { lockIcon } from './lock.js';
import { ancestors, shortName } from './model.js';

const expanded = new Set(); // grid ids shown open
const loading = new Set(); // parent keys (0: the city) being loaded
let ctx = null; // {state, select}

const levelName = (level) => t(`level.${level}`);

function statusMark(g) {
  if (g.level === 3 && g.staffed === false) {
    return h('span.mark.bad', { title: t('status.unstaffed'), 'aria-label': t('status.unstaffed') }, '✗');
  }
  if (g.issues > 0) return h('span.mark.warn', { title: `${g.issues} ${t('status.defects')}` }, `⚠${g.issues}`);
  if (g.issues === undefined) return h('span.mark');
  return h('span.mark.ok', { title: t('status.staffed'), 'aria-label': t('status.staffed') }, '✓');
}

export function renderTreeError(err) {
  $('tree').replaceChildren(h('p.empty', null, `${t('panel.error')}${err.message}`));
}

/** load loads the first page of parent's children (null: the subdistricts) and redraws. */
async function load(parent, more = false) {
  const k = parent ?? 0;
  if (loading.has(k)) return;
  loading.add(k);
  if (ctx) renderTree(ctx);
  try {
    await grids.loadChildren(parent, { more });
  } catch (err) {
    window.gridmap.errors.push(err.message);
  } finally {
    loading.delete(k);
  }
  if (ctx) renderTree(ctx);
}

/** open shows grid id's children, loading them the first time. */
function open(id) {
  expanded.add(id);
  if (!grids.page(id)) load(id);
}

function toggle(id) {
  if (expanded.has(id)) expanded.delete(id);
  else open(id);
}

function moreRow(parent, depth) {
  const p = grids.page(parent);
  const k = parent ?? 0;
  if (loading.has(k)) return h('div.row.loading', { style: `padding-left:${6 + depth * 14}px` }, h('span.caret'), h('span.name.muted', null, t('panel.loading')));
  if (!p || p.loaded >= p.total) return null;
  return h('div.row.more', {
    role: 'treeitem', tabindex: '-1', dataset: { more: String(k) },
    style: `padding-left:${6 + depth * 14}px`,
    onclick: () => load(parent, true),
  }, h('span.caret'), h('span.name', null, t('tree.more', { n: p.loaded, total: fmtInt(p.total) })));
}

export function renderTree(c) {
  ctx = c;
  const { state, select } = c;
  const tree = $('tree');
  const rows = [];
  const cityRow = h('div.row.city', {
    role: 'treeitem', tabindex: '-1', 'aria-selected': String(!state.sel), dataset: { code: '' },
  }, h('span.caret'), h('span.name', null, t('tree.city')),
  h('span.hh', { title: t('kpi.households') }, fmtInt(state.citySummary?.totals?.households)));
  cityRow.addEventListener('click', () => select(''));
  rows.push(cityRow);
  const roots = grids.childrenOf(null);
  if (!roots.length && grids.page(null)) rows.push(h('p.empty', null, t('tree.empty')));
  const add = (g, depth) => {
    const opened = expanded.has(g.id);
    const parent = g.parent_id != null ? grids.idx.byId.get(g.parent_id) : null;
    const row = h('div.row', {
      role: 'treeitem', tabindex: '-1', 'aria-level': String(depth + 1),
      'aria-expanded': g.level < 3 ? String(opened) : undefined,
      'aria-selected': String(state.sel === g.code),
      dataset: { code: g.code, id: String(g.id), level: String(g.level) },
      title: `${g.name} · ${g.code}`,
      style: `padding-left:${6 + depth * 14}px`,
    },
    h('span.caret', {
      onclick: (e) => {
        e.stopPropagation();
        toggle(g.id);
        renderTree(ctx);
      },
    }, g.level < 3 ? (opened ? '▾' : '▸') : ''),
    statusMark(g),
    h('span.name', null, g.level === 3 ? shortName(g.name, parent?.name) : g.name),
    g.locked ? h('span.lk', { title: t('lock.line'), 'aria-label': t('lock.locked'), role: 'img' }, lockIcon()) : null,
    h('span.hh', { title: t('kpi.households') }, fmtInt(g.households)));
    row.addEventListener('click', () => {
      if (state.sel !== g.code) {
        select(g.code);
        return;
      }
      // a second click on the selected row folds or unfolds it
      toggle(g.id);
      renderTree(ctx);
    });
    rows.push(row);
    if (!opened) return;
    const kids = grids.childrenOf(g.id);
    for (const k of kids) add(k, depth + 1);
    const p = grids.page(g.id);
    if (p && !p.total) rows.push(h('div.row.none', { style: `padding-left:${20 + (depth + 1) * 14}px` }, h('span.name.muted', null, t('tree.noChildren'))));
    rows.push(moreRow(g.id, depth + 1));
  };
  for (const r of roots) add(r, 0);
  rows.push(moreRow(null, 0));
  tree.replaceChildren(...rows.filter(Boolean));
  $('tree-key').replaceChildren(
    h('span', null, h('span.mark.ok', null, '✓'), ` ${t('status.staffed')}`),
    h('span', null, h('span.mark.bad', null, '✗'), ` ${t('status.unstaffed')}`),
    h('span', null, h('span.mark.warn', null, '⚠n'), ` ${t('tree.key.issues')}`),
    h('span', null, h('span.lk', null, lockIcon()), ` ${t('tree.key.locked')}`),
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
    tree.addEventListener('keydown', treeKey);
  }
}

/**
 * expandTo opens the tree down to code and code itself, from what is loaded (at once), then
 * loads what is missing: the level-1 page holding the chain's top, each ancestor's page holding
 * the next, and code's children. Resolves when the rows are there.
 */
export async function expandTo(code) {
  const g = code ? grids.idx.byCode.get(code) : null;
  if (!g) return;
  const chain = [...ancestors(grids.idx, g), g];
  for (const a of chain) if (a.level < 3) expanded.add(a.id);
  if (ctx) renderTree(ctx);
  let parent = null;
  for (const a of chain) {
    await grids.loadUntil(parent, a.id);
    parent = a.id;
  }
  if (g.level < 3) await grids.loadChildren(g.id);
  if (ctx) renderTree(ctx);
}

function isVisibleIn(el, box) {
  const a = el.getBoundingClientRect();
  const b = box.getBoundingClientRect();
  return a.top >= b.top && a.bottom <= b.bottom;
}

function treeKey(e) {
  const tree = $('tree');
  const rows = [...tree.querySelectorAll('.row[role="treeitem"]')];
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
  const refocus = () => $('tree').querySelector(`[data-id="${id}"]`)?.focus();
  switch (e.key) {
    case 'ArrowDown': focus(cur + 1); break;
    case 'ArrowUp': focus(cur - 1); break;
    case 'ArrowRight':
      if (row.getAttribute('aria-expanded') === 'false') {
        open(id);
        renderTree(ctx);
        refocus();
      } else focus(cur + 1);
      break;
    case 'ArrowLeft':
      if (row.getAttribute('aria-expanded') === 'true') {
        expanded.delete(id);
        renderTree(ctx);
        refocus();
      } else {
        const g = grids.idx.byId.get(id);
        if (g?.parent_id != null) $('tree').querySelector(`[data-id="${g.parent_id}"]`)?.focus();
      }
      break;
    case 'Enter':
    case ' ':
      if (row.dataset.more !== undefined) {
        load(Number(row.dataset.more) || null, true);
        break;
      }
      ctx.select(row.dataset.code);
      setTimeout(() => $('tree').querySelector(`[data-code="${row.dataset.code}"]`)?.focus(), 0);
      break;
    default: return;
  }
  e.preventDefault();
}
