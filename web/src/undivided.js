// The empty level: a real city arrives with its upper levels (districts, villages) and no
// level-3 grids at all. The coverage report then counts every community's whole area as a gap
// and every building as outside every grid — thousands of findings that are not defects but
// work not done yet. The dashboard and coverage views say so in a sentence that points to
// auto-divide, leave those gaps unhatched on the map and out of the issue list, and count only
// the real ones (dividetools.js has the rules; main.js and ui.js call these).

import { gapFilter, undivided, undividedUnder, withoutEmptyLevel } from './dividetools.js';
import { fmtInt, t } from './i18n.js';
import { h } from './ui.js';

/** applyMap hides the gaps of undivided grids from the gap layers (idx: the coverage tree). */
export function applyMap(map, idx) {
  if (!map || !idx) return;
  const filter = gapFilter(undivided(idx).map((g) => g.code));
  for (const id of ['gap-fill', 'gap-line']) if (map.getLayer(id)) map.setFilter(id, filter);
}

/** report is the selection's coverage report without the findings of the empty level. */
export function report(r, idx) {
  return withoutEmptyLevel(r, undivided(idx).map((g) => g.code));
}

/**
 * notice is the panel's sentence about the empty level under g (null: the city), or null when
 * every grid there has its level below. It names the undivided grids (a few, as buttons that
 * open Assign mode on them, where auto-divide is) and what they hold.
 */
export function notice(ctx, g) {
  const { state } = ctx;
  const list = undividedUnder(state.idx, g);
  if (!list.length || g?.level === 3) return null;
  const go = (code) => {
    ctx.setMode?.('assign');
    ctx.select(code);
  };
  const hh = list.reduce((s, x) => s + (x.households || 0), 0);
  let text;
  if (g && list.length === 1 && list[0].id === g.id) {
    text = t(g.level === 1 ? 'empty.subdistrict' : 'empty.community');
  } else {
    // grids of the level that is still empty: communities (level 2), or subdistricts (level 1) with no communities
    const l2 = list.filter((x) => x.level === 2);
    const l1 = list.filter((x) => x.level === 1);
    const communities = [...state.idx.byId.values()].filter((x) => x.level === 2 && (!g || list.includes(x) || under(state.idx, x, g)));
    const parts = [];
    if (l2.length) {
      parts.push(l2.length === communities.length
        ? t('empty.all', { n: l2.length, hh: fmtInt(l2.reduce((s, x) => s + (x.households || 0), 0)) })
        : t('empty.some', { n: l2.length, of: communities.length, hh: fmtInt(l2.reduce((s, x) => s + (x.households || 0), 0)) }));
    }
    if (l1.length) parts.push(t('empty.someL1', { n: l1.length }));
    text = parts.join(t('list.sep'));
  }
  const shown = list.slice(0, 6);
  return h('section.empty-level#empty-level', { role: 'note', dataset: { count: String(list.length), households: String(hh) } },
    h('p', null, `○ ${text}`),
    h('div.row-buttons', null,
      shown.map((x) => h('button.small', {
        type: 'button', dataset: { code: x.code }, title: t('empty.go.hint', { name: x.name }),
        onclick: () => go(x.code),
      }, g?.id === x.id ? `⚄ ${t('empty.go')}` : `${x.name} →`)),
      list.length > shown.length ? h('span.muted.small', null, t('empty.more', { n: list.length - shown.length })) : null),
    h('p.muted.small', null, t('empty.note')));
}

function under(idx, x, g) {
  for (let cur = x; cur; cur = cur.parent_id != null ? idx.byId.get(cur.parent_id) : null) {
    if (cur.id === g.id) return true;
  }
  return false;
}
