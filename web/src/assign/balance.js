// The balance panel (分配 › 负荷): the community's level-3 grids, each with its swatch,
// households, households per worker as a bar against the band, compactness, contiguity and
// workers; a row makes its grid the target, its lock (lock.js) locks the grid's boundary. Read
// from GET /balance?parent=<community> after each save.

import { api } from '../api.js';
import { lockedCodes, swatches } from '../assigntools.js';
import { bandBar, workloadMark } from '../bars.js';
import { h } from '../dom.js';
import { fmtInt, fmtNum, t } from '../i18n.js';
import { denyReason } from '../session.js';
import { A, App, colourOf, gridById, grids, render, shortOf } from './core.js';
import * as lock from './lock.js';
import { applyMapStyle } from './mapstyle.js';
import { onSaved } from './save.js';
import { gridPlace, setPlace } from './staff.js';

let balanceAbort = null;

// after each save the balance is read again before the save counts as done; the outlines after
onSaved(() => loadBalance(), { awaited: true });
onSaved(() => loadOutlines());

/** loadBalance reads the community's balance; the map, labels, legend and panel follow. */
export async function loadBalance() {
  if (!A.community) return;
  if (balanceAbort) balanceAbort.abort();
  balanceAbort = new AbortController();
  try {
    const b = await api.balance(A.community.code, { signal: balanceAbort.signal });
    A.balance = b;
    A.sw = swatches(b.grids.map((g) => g.code));
    if (A.target && !gridById(A.target)) A.target = null; // merged away, or undone split
    if (A.place?.kind === 'grid' && !gridById(A.place.id) && !App().state.idx?.byId.get(A.place.id)) setPlace(null);
    window.gridmap.assign.balanceVersion = b.data_version;
  } catch (err) {
    if (err.name === 'AbortError') return;
    A.note = { kind: 'error', text: err.message };
  }
  applyMapStyle();
  App().refreshLabels();
  App().renderLegend();
  render();
}

/**
 * loadOutlines keeps the outlines of the community's grids as this screen reads them (a page of
 * a community's grids): after a conflict, 对比 shows a grid as it was against how it is now.
 * The same page says which of them are locked (the balance does not): the map, labels, legend
 * and panel follow when that changed.
 */
export async function loadOutlines() {
  const c = A.community;
  if (!c) return;
  const mine = ++A.outlinesSeq;
  let fc;
  try {
    fc = await api.grids({ parent: c.code, level: 3, limit: 1000 });
  } catch {
    return; // without them 对比 shows only the grid as it is now, and the locks stay as known
  }
  if (A.community !== c || mine !== A.outlinesSeq) return;
  A.outlines = new Map(fc.features.map((f) => [f.properties.code, f.geometry]));
  const locked = lockedCodes(fc.features);
  if ([...locked].sort().join() === [...A.locked].sort().join()) return;
  A.locked = locked;
  applyMapStyle();
  App().refreshLabels();
  App().renderLegend();
  render();
}

/** setTarget makes grid id the target (and the URL's selection, so a link reproduces it). */
export function setTarget(id) {
  const g = gridById(id);
  if (!g) return;
  A.target = id;
  A.conflict = null;
  if (!A.place || A.place.kind === 'grid') setPlace(gridPlace(id));
  if (App().state.sel !== g.code) App().select(g.code, { fit: false });
  applyMapStyle();
  render();
}

function barRow(g, b) {
  const max = Math.max(b.target * 2, ...grids().map((x) => x.per_worker || 0)) * 1.05;
  return bandBar(g, { lo: b.low, hi: b.high, target: b.target, band: b.band, max },
    { title: t('kpi.hpw.def', { target: b.target, band: Math.round(b.band * 100) }) });
}

function gridRow(g) {
  const b = A.balance;
  const isTarget = g.id === A.target;
  const locked = A.locked.has(g.code);
  const parts = g.parts === 1 ? h('span.contig.ok', { title: t('assign.parts.def') }, `✓ ${t('assign.contiguous')}`)
    : h('span.contig.bad', { title: t('assign.parts.def') }, `⚠ ${t('assign.parts', { n: g.parts })}`);
  return h('div.agrid', {
    role: 'radio', 'aria-checked': String(isTarget), tabindex: '0',
    // the figures as the balance API gave them, for tests and for anyone reading the DOM
    dataset: {
      code: g.code, id: String(g.id), households: String(g.households), version: String(g.version),
      buildings: String(g.buildings), workers: String(g.workers), perWorker: String(g.per_worker ?? ''),
      status: g.status, pp: String(g.polsby_popper), parts: String(g.parts),
    },
    class: `agrid${isTarget ? ' target' : ''}${locked ? ' locked' : ''}`,
    title: `${g.name} · ${g.code}`,
    onclick: (e) => { if (!e.target.closest('button, input')) setTarget(g.id); },
    onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); setTarget(g.id); } },
  },
  A.merging ? h('input.mpick', {
    type: 'checkbox', checked: A.mergePick.has(g.id), 'aria-label': `${t('assign.merge')} ${g.name}`,
    onchange: (e) => { if (e.target.checked) A.mergePick.add(g.id); else A.mergePick.delete(g.id); render(); },
  }) : null,
  h('span.aswatch', { style: `background:${colourOf(g.code)}`, 'aria-hidden': 'true' }, isTarget ? '●' : ''),
  h('span.aname', null, shortOf(g), isTarget ? h('span.tbadge', null, t('assign.target')) : null),
  h('span.ahh', { title: t('kpi.households.def') }, `${fmtInt(g.households)} ${t('unit.households')}`),
  lock.control(g),
  h('span.abar', null, barRow(g, b)),
  h('span.aval', { title: t('def.workload') }, workloadMark(g)),
  h('span.ameta', null,
    h('span', { title: t('def.compactness') }, `PP ${fmtNum(g.polsby_popper, 2)}`), ' · ', parts,
    ' · ', h('span', { title: t('kpi.workers.def') }, `${fmtInt(g.workers)} ${t('assign.workersShort')}`)));
}

/** section is the balance panel: what to do first, then a row per grid (or why there is none). */
export function section() {
  if (!A.community) return h('p.empty', null, t('assign.chooseCommunity'));
  if (!A.balance) return h('p.loading', null, t('panel.loading'));
  // a community with no grids yet: the divide section above says so and offers auto-divide
  if (!grids().length) return null;
  const deny = denyReason();
  const s = A.balance.summary || {};
  return [
    !A.target && !deny ? h('ol.steps', null, h('li', null, t('assign.step1')), h('li', null, t('assign.step2')), h('li', null, t('assign.step3'))) : null,
    h('section.abalance', { dataset: { version: String(A.balance.data_version) } },
      h('div.ahead', null,
        h('h3', { title: t('assign.balance.hint') }, t('assign.balance')),
        h('button.small#merge-toggle', {
          type: 'button', 'aria-pressed': String(A.merging), class: deny ? 'small denied' : 'small', title: deny || t('assign.merge.hint'),
          onclick: () => { A.merging = !A.merging; A.mergePick.clear(); render(); },
        }, `⊕ ${t('assign.merge')}`)),
      h('p.minor', null, t('assign.band', { lo: Math.round(A.balance.low), hi: Math.round(A.balance.high) }),
        ` · ${t('legend.within')} ${s.within ?? 0} · ${t('legend.under')} ${s.under ?? 0} · ${t('legend.over')} ${s.over ?? 0} · ${t('legend.unstaffed')} ${s.unstaffed ?? 0}`),
      h('div.agrids', { role: 'radiogroup', 'aria-label': t('assign.target') }, grids().map(gridRow))),
  ];
}
