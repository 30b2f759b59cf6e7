// Locks in the Assign mode: the lock on each balance row locks or unlocks its grid on the
// server (planners; everyone else sees the mark only), and when the target is locked the panel
// says what that means. The locks are the server's (../lock.js), read with the community's
// outlines (balance.js) — so every planner and browser sees the same — and they guard the
// paint tools (nothing is painted into or out of a locked grid), hatch the grid on the map,
// and are what auto-divide and rebalance keep (divide.js).

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { lockIcon, lockLine, setLocked } from '../lock.js';
import { canEditGrids } from '../session.js';
import { A, shortOf, targetGrid } from './core.js';
import { write } from './save.js';

/** setLock locks (true) or unlocks grid g (a balance row) through the mode's save path. */
export async function setLock(g, locked) {
  return write(t('lock.busy'), async () => ({ action: locked ? 'grid.lock' : 'grid.unlock', grid: await setLocked(g.id, locked) }), (res) => {
    A.outlinesSeq++; // a read of the locks started before this answer is out of date
    if (res.grid.properties.locked) A.locked.add(g.code);
    else A.locked.delete(g.code);
    return t(locked ? 'lock.done.lock' : 'lock.done.unlock', { name: shortOf(g) });
  }, g);
}

/**
 * control is a balance row's lock: for a planner a toggle (□ 锁定 / padlock 已锁定), for anyone else
 * the mark when the grid is locked (null when it is not).
 */
export function control(g) {
  const locked = A.locked.has(g.code);
  if (!canEditGrids()) {
    return locked ? h('span.lock', { title: t('lock.line'), dataset: { lock: g.code } }, lockIcon(), ` ${t('assign.locked')}`) : null;
  }
  return h('button.lock', {
    type: 'button', 'aria-pressed': String(locked), dataset: { lock: g.code }, disabled: A.busy ? true : undefined,
    title: t(locked ? 'lock.unlock.hint' : 'lock.lock.hint'),
    onclick: () => setLock(g, !locked),
  }, locked ? [lockIcon(), ` ${t('assign.locked')}`] : `□ ${t('assign.lock')}`);
}

/** section says what the target's lock means, while it has one. */
export function section() {
  const g = targetGrid();
  return g && A.locked.has(g.code) ? lockLine(shortOf(g)) : null;
}
