// Locked grids: a planner locks a grid whose boundary is settled; from then on the server
// refuses every edit that would change its area or its place in the hierarchy, and auto-divide
// and rebalance keep it as it is (README, "Locked boundaries"). The lock is the server's, so
// every planner and every browser sees the same; locking is a setting, not an edit of the
// division (the grid's version stays, it is not on the undo stack: unlocking is the way back).
//
// What the screens share: the mark, the line that says what a lock means, the call that locks
// or unlocks and keeps the loaded rows (tree, panels) in step, and the selection panel's lock
// section (Dashboard and Coverage; the Assign mode has its own, assign/lock.js). A refusal a
// lock caused is put in words by i18n.js (refusal).

import { edit } from './api.js';
import { h } from './dom.js';
import * as grids from './grids.js';
import { refusedNote, t } from './i18n.js';
import { canEditGrids } from './session.js';

const SVG = 'http://www.w3.org/2000/svg';

/**
 * lockIcon is the padlock that marks a locked grid wherever one is listed (tree, panels,
 * balance rows, the divide preview): drawn, not a glyph — 🔒 is an emoji, a box where no
 * emoji font is installed. It takes the colour of its text; what it means is said in words
 * beside it or in its row's label.
 */
export function lockIcon() {
  const svg = document.createElementNS(SVG, 'svg');
  for (const [k, v] of Object.entries({ class: 'lock-icon', viewBox: '0 0 12 14', width: '10', height: '12', 'aria-hidden': 'true', focusable: 'false' })) svg.setAttribute(k, v);
  const shackle = document.createElementNS(SVG, 'path');
  for (const [k, v] of Object.entries({ d: 'M3.5 6.5V4.2a2.5 2.5 0 0 1 5 0v2.3', fill: 'none', stroke: 'currentColor', 'stroke-width': '1.6' })) shackle.setAttribute(k, v);
  const body = document.createElementNS(SVG, 'rect');
  for (const [k, v] of Object.entries({ x: '1', y: '6', width: '10', height: '7.5', rx: '1.5', fill: 'currentColor' })) body.setAttribute(k, v);
  svg.append(shackle, body);
  return svg;
}

/**
 * setLocked locks (true) or unlocks grid id on the server and updates its loaded row, so the
 * tree and the panels show it at once. Resolves to the grid as GET /grids/{id} answers it.
 */
export async function setLocked(id, locked) {
  const f = await (locked ? edit.lock(id) : edit.unlock(id));
  const row = grids.idx.byId.get(f.properties.id);
  if (row) row.locked = f.properties.locked === true;
  return f;
}

/** lockLine is the note of a locked grid: the mark and what the lock means (name: whose). */
export function lockLine(name) {
  return h('p.lockline', { role: 'note' },
    h('strong', null, lockIcon(), ` ${name ? t('lock.locked.named', { name }) : t('lock.locked')}`),
    t('lock.explain'));
}

// The selection panel's section: busy while a call is under way, the refusal of the last one.
const P = { busy: 0, error: null };

/**
 * section is the selection panel's lock section for grid g (a loaded row): the mark and its
 * line when g is locked; for a user who may edit grids, now (never at a past moment, which is
 * read-only, nor from an offline package), the button that locks or unlocks it. null when
 * there is nothing to show. done() runs after the call (the panel and the tree redraw).
 */
export function section(g, { state, done }) {
  if (!g) return null;
  const may = canEditGrids() && !state.at && !state.offline;
  if (!g.locked && !may) return null;
  if (P.error && P.error.id !== g.id) P.error = null;
  const toggle = async () => {
    const id = g.id;
    P.busy = id;
    P.error = null;
    done();
    try {
      await setLocked(id, !g.locked);
    } catch (err) {
      P.error = { id, ...refusedNote(err) };
    } finally {
      P.busy = 0;
      done();
    }
  };
  return h('section.lock#lock', { dataset: { locked: String(Boolean(g.locked)) } },
    g.locked ? lockLine() : null,
    may ? h('button.small#lock-toggle', {
      type: 'button', 'aria-pressed': String(Boolean(g.locked)), disabled: P.busy ? true : undefined,
      title: t(g.locked ? 'lock.unlock.hint' : 'lock.lock.hint'), onclick: toggle,
    }, g.locked ? t('lock.unlock') : [lockIcon(), ` ${t('lock.lock')}`]) : null,
    P.error ? h('p.anote.error', { role: 'alert', dataset: { code: P.error.code } }, P.error.text,
      P.error.detail ? h('span.detail', null, P.error.detail) : null) : null);
}
