// The empty level: a real city arrives with its upper levels (districts, villages) and no
// level-3 grids at all. The coverage report then counts every community's whole area as a gap
// and every building as outside every grid — thousands of findings that are not defects but
// work not done yet. The server tells them apart (the summary's empty_level, the tiles'
// `undivided` gaps, the issue list's empty_level=false); the dashboard and coverage views say
// it in a sentence that points to auto-divide, and leave those gaps unhatched (style.js) and
// out of the issue list and the KPIs (dividetools.js has the rules).

import { emptyNotice } from './dividetools.js';
import { h } from './dom.js';
import { fmtInt, t } from './i18n.js';

/**
 * notice is the panel's sentence about the empty level of summary s, the summary of selection
 * g (null: the city), or null when every grid there has its level below. It names the first
 * undivided grids (as buttons that open Assign mode on them, where auto-divide is) and what
 * they hold; go(code) opens one.
 */
export function notice(s, g, go) {
  const n = emptyNotice(s, g);
  if (!n) return null;
  const text = n.parts.map((p) => t(p.key, { ...p, hh: p.hh != null ? fmtInt(p.hh) : undefined })).join(t('list.sep'));
  return h('section.empty-level#empty-level', { role: 'note', dataset: { count: String(n.count), households: String(n.households) } },
    h('p', null, `○ ${text}`),
    h('div.row-buttons', null,
      n.first.map((x) => h('button.small', {
        type: 'button', dataset: { code: x.code }, title: t('empty.go.hint', { name: x.name }),
        onclick: () => go(x.code),
      }, g?.id === x.id ? `⚄ ${t('empty.go')}` : `${x.name} →`)),
      n.more ? h('span.muted.small', null, t('empty.more', { n: n.more })) : null),
    h('p.muted.small', null, t('empty.note')));
}
