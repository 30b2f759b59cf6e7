// The legend (always visible for what the map colours), the Coverage mode's metric picker and
// the layer switcher.

import { $, h, swatch } from './dom.js';
import { t } from './i18n.js';
import { COLORS, COVERAGE_METRICS, densityLegend, legendItems, METRICS } from './metrics.js';

/** renderLegend explains what the map colours at this zoom, in this mode. */
export function renderLegend({ state, zoom, metric, band, assign }) {
  const ZOOM = state.zooms;
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
  if (!ZOOM) return;
  // below the level-3 zoom only communities are filled, and only for the rate metrics (see l2Opacity)
  const filled = zoom >= ZOOM.l3 || (zoom >= ZOOM.l2 && metric !== 'households');
  const title = metric === 'workload' ? `${t(m.title)}（${t('legend.hpw')}）` : t(m.title);
  // a past moment's tiles carry no counts, coverage or density (they have no history)
  const past = Boolean(state.at);
  if (filled && past) {
    blocks.push(block(title, [h('li.muted', null, t('legend.past'))], { dataset: { block: 'metric', past: 'true' } }));
  } else if (filled) {
    blocks.push(block(title, legendItems(metric, t, band).map((it) => h('li', null, swatch(it.color), it.label)),
      { title: t(m.definition), dataset: { block: 'metric' } }));
  }
  if (!past && zoom < ZOOM.densityMax && state.layers.density) {
    blocks.push(block(t('legend.density'), densityLegend().map((it) => h('li', null, swatch(it.color), it.label)),
      { dataset: { block: 'density' } }));
  }
  blocks.push(block(t('legend.marks'), [
    !past && state.layers.defects ? h('li', null, h('span.sw.hatch-gap'), t('legend.gap')) : null,
    !past && state.layers.defects ? h('li', null, h('span.sw.hatch-overlap'), t('legend.overlap')) : null,
    !past && zoom >= ZOOM.buildings && state.layers.buildings ? h('li', null, h('span.sw.straddler', { style: `background:${COLORS.straddler}` }), t('legend.straddler')) : null,
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
