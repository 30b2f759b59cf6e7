// The Assign mode's toolbar over the map (↖ inspect, ⊙ click, ▭ box, ◌ lasso, ● brush with its
// radius, ✂ split; ↶ ↷; 立即保存) and the hint line under it, which says what the tool does
// next or why it cannot (sign in, pick a target, the target is locked, zoom in).

import { $, h } from '../dom.js';
import { t } from '../i18n.js';
import { canEditGrids, canWrite, denyReason } from '../session.js';
import { A, App, map, render, shortOf, targetGrid } from './core.js';
import { drawSplit } from './draw.js';
import { redo, undo } from './history.js';
import { apply, cancelStroke } from './paint.js';
import { actionName } from './save.js';

export const TOOLS = ['inspect', 'click', 'box', 'lasso', 'brush', 'split'];
const PAINT_TOOLS = new Set(['click', 'box', 'lasso', 'brush']);
const ICONS = { inspect: '↖', click: '⊙', box: '▭', lasso: '◌', brush: '●', split: '✂' };

/** setTool switches the tool: how the map's pointer behaves follows. */
export function setTool(tool) {
  if (!TOOLS.includes(tool)) return;
  // Tools stay usable for a user who may not edit: the panel says so up front, and what they
  // try goes to the server, whose coded refusal (401 / 403) is shown as it comes.
  if (tool !== 'inspect' && !canEditGrids()) A.note = { kind: 'error', text: denyReason() };
  cancelStroke();
  if (A.tool === 'split' && tool !== 'split') A.split = { points: [], done: false };
  A.tool = tool;
  const m = map();
  if (m) {
    const drag = tool === 'inspect' || tool === 'click' || tool === 'split';
    if (drag && A.active) m.dragPan.enable();
    else if (A.active) m.dragPan.disable();
    if (A.active && tool !== 'inspect') m.boxZoom.disable();
    else m.boxZoom.enable();
    if (A.active && tool === 'split') m.doubleClickZoom.disable();
    else m.doubleClickZoom.enable();
    m.getCanvas().style.cursor = A.active && tool !== 'inspect' ? 'crosshair' : '';
  }
  drawSplit();
  render();
}

/** renderTools draws the toolbar. */
export function renderTools() {
  const box = $('assign-tools');
  box.hidden = false;
  const deny = denyReason();
  const tool = (id) => h('button', {
    type: 'button', dataset: { tool: id }, 'aria-pressed': String(A.tool === id),
    class: `${A.tool === id ? 'active' : ''}${id !== 'inspect' && deny ? ' denied' : ''}`,
    title: id !== 'inspect' && deny ? deny : t(`assign.tool.${id}.hint`),
    onclick: () => setTool(id),
  }, h('span.ticon', { 'aria-hidden': 'true' }, ICONS[id]), ` ${t(`assign.tool.${id}`)}`);
  const undoDeny = canWrite() ? '' : denyReason('staff');
  const opBtn = (id, label, icon, next, keys) => h('button', {
    type: 'button', dataset: { op: id }, disabled: undoDeny || !next || A.busy ? true : undefined,
    title: undoDeny || (next ? `${label}: ${actionName(next.action)} (${keys})` : `${t(`assign.${id}.none`)} (${keys})`),
    onclick: () => (id === 'undo' ? undo() : redo()),
  }, `${icon} ${label}`);
  box.replaceChildren(...[
    h('div.tgroup', { role: 'toolbar', 'aria-label': t('assign.tools') }, TOOLS.map(tool)),
    A.tool === 'brush' ? h('label.radius', { title: t('assign.radius.hint') }, `${t('assign.radius')} `,
      h('input#brush-radius', {
        type: 'range', min: '6', max: '80', step: '2', value: String(A.radius),
        oninput: (e) => { A.radius = Number(e.target.value); e.target.nextSibling.textContent = ` ${A.radius}px`; },
      }), ` ${A.radius}px`) : null,
    h('div.tgroup', null,
      opBtn('undo', t('assign.undo'), '↶', A.ops.undo, 'Ctrl+Z'),
      opBtn('redo', t('assign.redo'), '↷', A.ops.redo, 'Ctrl+Y / Ctrl+Shift+Z')),
    h('label.auto', { title: t('assign.auto.hint') }, h('input#auto-apply', {
      type: 'checkbox', checked: A.autoApply,
      onchange: (e) => { A.autoApply = e.target.checked; if (A.autoApply && A.staged.size) apply(); render(); },
    }), ` ${t('assign.auto')}`)].filter(Boolean));
}

/** renderHint says what the tool does next, or why it cannot (sign in, pick a target, the target is locked, zoom in). */
export function renderHint() {
  const el = $('assign-hint');
  const target = targetGrid();
  let text = '';
  if (A.busy) text = A.busy;
  else if (PAINT_TOOLS.has(A.tool) || A.tool === 'split') {
    if (denyReason()) text = denyReason();
    else if (!target) text = t('assign.pickTarget');
    // the server would refuse: say so before anything is drawn
    else if (A.locked.has(target.code)) text = t('lock.refused', { name: shortOf(target) });
    else if ((map()?.getZoom() || 0) < App().state.zooms.buildings && A.tool !== 'split') text = t('assign.zoomIn');
    else if (A.tool === 'split') text = A.split.done ? t('assign.split.confirmHint') : t('assign.tool.split.draw', { name: shortOf(target) });
    else text = t(`assign.tool.${A.tool}.draw`, { name: shortOf(target) });
  }
  el.textContent = text;
  el.hidden = !text;
  el.dataset.busy = A.busy ? 'true' : '';
}
