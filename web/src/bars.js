// Balance bars: households per worker of each child grid against the target band (Districtr's
// balance chart is the model). The selection panel draws one per child of the selection; the
// Assign mode's balance panel uses the same bar.

import { h } from './dom.js';
import { fmtInt, fmtNum, t } from './i18n.js';
import { WORKLOAD } from './metrics.js';
import { shortName } from './model.js';

function barColor(w, band) {
  if (!w || w.per_worker == null) return WORKLOAD.unstaffed;
  const far = 2 * band;
  if (w.status === 'under') return w.deviation < -far ? WORKLOAD.farUnder : WORKLOAD.under;
  if (w.status === 'over') return w.deviation > far ? WORKLOAD.farOver : WORKLOAD.over;
  return '#4d9221';
}

/**
 * bandBar draws a workload (per_worker, status, deviation: rated as the coverage report rates
 * it, or the balance API's) as a bar on a 0–max scale against the band lo–hi around target;
 * band is the fraction (0.2) that tells under from far under.
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

/**
 * renderBars is the panel's section of balance bars: one per child of g (null: the city's
 * subdistricts), kids as loaded (rows with workload), page {loaded, total} and more() to load
 * the next page of a long list.
 */
export function renderBars({ g, kids, page, more, select, band }) {
  const sec = h('section.bars', null, h('h3', { title: t('panel.children.hint') }, t('panel.children')));
  if (!kids) {
    sec.append(h('p.loading', null, t('panel.loading')));
    return sec;
  }
  if (!kids.length) {
    sec.append(h('p.empty', null, t('panel.children.none')));
    return sec;
  }
  const { target, band: b } = band;
  const lo = target * (1 - b);
  const hi = target * (1 + b);
  const maxV = Math.max(target * 2, ...kids.map((c) => c.workload?.per_worker || 0)) * 1.05;
  const scale = { lo, hi, target, band: b, max: maxV };
  const list = h('div.barlist');
  for (const c of kids) {
    const w = c.workload;
    const v = w?.per_worker;
    const label = c.level === 3 ? shortName(c.name, g?.name) : c.name;
    list.append(h('button.bar', {
      type: 'button', dataset: { code: c.code },
      title: `${c.name} · ${t('kpi.households')} ${fmtInt(c.households)} · ${t('kpi.workers')} ${fmtInt(w?.workers)} · ${t('legend.hpw')} ${v == null ? '–' : fmtNum(v, 1)}`,
      onclick: () => select(c.code),
    },
    h('span.bar-name', null, label),
    bandBar(w, scale),
    h('span.bar-val', null, workloadMark(w))));
  }
  sec.append(list);
  if (page && page.loaded < page.total) {
    sec.append(h('button.linkish.more', { type: 'button', onclick: more }, t('tree.more', { n: page.loaded, total: fmtInt(page.total) })));
  }
  sec.append(h('div.bar-axis', null,
    h('span', null, '0'),
    h('span.bar-axis-band', null, `${t('legend.within')} ${Math.round(lo)}–${Math.round(hi)}`),
    h('span', null, fmtInt(maxV))));
  return sec;
}
