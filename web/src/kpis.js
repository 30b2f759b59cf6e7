// The KPI panel: the selection's heading (breadcrumb, name, level, code), its key figures as
// cards and the spread of its grids' households per worker against the band — all from one
// coverage summary (GET /coverage/summary?grid=), which the server keeps per edit: a few hundred
// bytes, whatever the size of the selection.

import { h, swatch } from './dom.js';
import { fmtInt, fmtNum, fmtPct, t } from './i18n.js';
import { WORKLOAD } from './metrics.js';

const levelName = (level) => t(`level.${level}`);

/** renderHead is the selection's heading: g (a loaded grid row) or the city, its ancestors. */
export function renderHead({ g, chain, cityName, select }) {
  const items = [h('a', { href: '?', onclick: (e) => { e.preventDefault(); select(''); } }, t('tree.city'))];
  for (const a of chain) {
    items.push(' › ', h('a', { href: `?sel=${a.code}`, onclick: (e) => { e.preventDefault(); select(a.code); } }, a.name));
  }
  return h('div.sel-head', null,
    h('nav.crumbs', { 'aria-label': 'breadcrumb' }, items),
    h('h2#sel-title', null, g ? g.name : (cityName || t('panel.city'))),
    h('div.badges', null,
      h('span.badge', null, g ? levelName(g.level) : t('panel.city')),
      g ? h('span.code', null, g.code) : null));
}

function kpiCard(key, value, { raw, sub, wide, warn } = {}) {
  return h(`div.kpi${wide ? '.wide' : ''}${warn ? '.warn' : ''}`, {
    dataset: { kpi: key, value: raw !== undefined ? String(raw) : undefined },
    title: t(`kpi.${key}.def`, { target: 300, band: 20 }),
  },
  h('div.v', null, value),
  h('div.k', null, t(`kpi.${key}`), sub ? h('span.sub', null, sub) : null));
}

/** renderCards are the key figures of k (model.kpis of a summary). */
export function renderCards(k) {
  const est = k.householdsEstimated ? h('span.est', { title: t('kpi.estimate.def') }, ` ${t('kpi.estimate')}`) : null;
  const hpw = kpiCard('hpw', `${fmtNum(k.hpwMin)} / ${fmtNum(k.hpwMedian)} / ${fmtNum(k.hpwMax)}`,
    { raw: [k.hpwMin, k.hpwMedian, k.hpwMax].join(','), wide: true, sub: ` · ${t('legend.within')} ${Math.round(k.target * (1 - k.band))}–${Math.round(k.target * (1 + k.band))}` });
  hpw.title = t('kpi.hpw.def', { target: k.target, band: Math.round(k.band * 100) });
  const households = kpiCard('households', fmtInt(k.households), { raw: k.households });
  if (est) households.querySelector('.k').append(est);
  return h('div.kpis', null,
    kpiCard('grids', fmtInt(k.gridsPerLevel[2]), {
      raw: k.gridsPerLevel.join(','),
      // the levels above the grids, where there is more than one (a community is "1 community")
      sub: [1, 2].filter((l) => k.gridsPerLevel[l - 1] > 1).map((l) => ` · ${levelName(l)} ${fmtInt(k.gridsPerLevel[l - 1])}`).join(''),
    }),
    kpiCard('buildings', fmtInt(k.buildings), { raw: k.buildings }),
    kpiCard('units', fmtInt(k.units), { raw: k.units }),
    households,
    kpiCard('workers', fmtInt(k.workers), { raw: k.workers }),
    kpiCard('staffed', fmtPct(k.staffedShare), { raw: k.staffedShare, warn: k.staffedShare < 1 }),
    kpiCard('oneGrid', fmtPct(k.oneGridShare), { raw: k.oneGridShare, warn: k.oneGridShare < 1 }),
    kpiCard('gaps', fmtInt(k.gaps), { raw: k.gaps, warn: k.gaps > 0 }),
    kpiCard('overlaps', fmtInt(k.overlaps), { raw: k.overlaps, warn: k.overlaps > 0 }),
    hpw);
}

/** renderSpread shows how the level-3 grids of the selection sit against the target band. */
export function renderSpread(k) {
  const n = k.gridsPerLevel[2];
  if (!n) return null;
  const parts = [
    { key: 'under', n: k.spread.under, color: WORKLOAD.under },
    { key: 'within', n: k.spread.within, color: WORKLOAD.within },
    { key: 'over', n: k.spread.over, color: WORKLOAD.over },
    { key: 'unstaffed', n: k.spread.unstaffed, color: WORKLOAD.unstaffed },
  ];
  return h('section.spread', { dataset: { within: String(k.spread.within) }, title: t('def.workload') },
    h('h3', null, t('panel.spread', { n: fmtInt(n) })),
    h('div.spread-bar', null, parts.filter((p) => p.n > 0).map((p) => h('span', {
      style: `flex:${p.n};background:${p.color}`, title: `${t(`legend.${p.key}`)}: ${p.n}`,
    }))),
    h('div.spread-keys', null, parts.map((p) => h('span', { dataset: { key: p.key } }, swatch(p.color), ` ${t(`legend.${p.key}`)} `, h('b', null, fmtInt(p.n))))));
}
