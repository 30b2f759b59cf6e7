// ⊕ Merge: tick two or more adjacent grids in the balance panel and confirm; the target (or
// the first ticked) keeps its code and staff.

import { edit } from '../api.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { A, grids, render, shortOf } from './core.js';
import { write } from './save.js';

/** merge joins the picked grids into the target (when picked) or the first picked. */
export async function merge(ids = [...A.mergePick], name = '') {
  const picked = grids().filter((g) => ids.includes(g.id));
  if (picked.length < 2) return null;
  const keep = picked.find((g) => g.id === A.target) || picked[0];
  const list = [keep, ...picked.filter((g) => g !== keep)].map((g) => ({ id: g.id, version: g.version }));
  return write(t('assign.busy.merge'), () => edit.merge(list, name.trim() || undefined), () => {
    A.merging = false;
    A.mergePick.clear();
    A.target = keep.id;
    return t('assign.done.merge', { n: picked.length, name: shortOf(keep) });
  }, keep);
}

/** cancel leaves merging (nothing ticked). */
export function cancel() {
  A.merging = false;
  A.mergePick.clear();
}

/** section confirms the merge of the ticked grids. */
export function section() {
  if (!A.community || !A.balance || !A.merging) return null;
  const picked = grids().filter((g) => A.mergePick.has(g.id));
  const keep = picked.find((g) => g.id === A.target) || picked[0];
  return h('div.confirm#merge-confirm', null,
    h('p', null, picked.length >= 2 ? t('assign.merge.confirm', { n: picked.length, name: shortOf(keep) }) : t('assign.merge.pick')),
    h('div.row-buttons', null,
      h('button.primary.small#merge-go', { type: 'button', disabled: picked.length < 2 || A.busy ? true : undefined, onclick: () => merge() }, t('assign.merge.go')),
      h('button.small', { type: 'button', onclick: () => { cancel(); render(); } }, t('assign.cancel'))));
}
