// The search box: a grid by code or name. The server searches (GET /grids?q=): the screen
// holds no list of the city's grids to search in. Typing asks after a short pause; Enter
// chooses the first hit (waiting for the answer if it is still to come), a full 15-digit code
// is chosen as it is.

import { $, h } from './dom.js';
import * as grids from './grids.js';
import { t } from './i18n.js';

const levelName = (level) => t(`level.${level}`);

export function hookSearch({ select }) {
  const input = $('search');
  const list = $('search-results');
  let hits = [];
  let hitsFor = ''; // the query hits answer
  let active = -1;
  let pending = null; // the search under way: {q, promise}
  let abort = null;
  let timer;
  const close = () => { list.hidden = true; active = -1; };
  const render = () => {
    list.replaceChildren(...(hits.length ? hits.map((g, k) => h('li', {
      role: 'option', 'aria-selected': String(k === active), dataset: { code: g.code },
      onmousedown: (e) => { e.preventDefault(); choose(g); },
    }, h('span.badge', null, levelName(g.level)), ` ${g.name} `, h('span.code', null, g.code)))
      : [h('li.none', null, t('search.none'))]));
    list.hidden = false;
  };
  const choose = (g) => {
    input.value = g.name;
    close();
    select(g.code);
  };
  const run = (q) => {
    if (pending?.q === q) return pending.promise;
    if (abort) abort.abort();
    abort = new AbortController();
    const promise = grids.search(q, { limit: 12, signal: abort.signal }).then((rows) => {
      if (input.value.trim() !== q) return hits;
      hits = rows.sort((a, b) => a.level - b.level || (a.code < b.code ? -1 : 1));
      hitsFor = q;
      active = hits.length ? 0 : -1;
      render();
      return hits;
    }).catch((err) => {
      if (err.name !== 'AbortError') window.gridmap.errors.push(err.message);
      return [];
    }).finally(() => {
      if (pending?.promise === promise) pending = null;
    });
    pending = { q, promise };
    return promise;
  };
  input.addEventListener('input', () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (!q) {
      close();
      return;
    }
    timer = setTimeout(() => run(q), 150);
  });
  input.addEventListener('keydown', async (e) => {
    const q = input.value.trim();
    if (e.key === 'Enter' && q) {
      e.preventDefault();
      clearTimeout(timer);
      if (/^\d{15}$/.test(q)) {
        close();
        select(q);
        return;
      }
      const found = hitsFor === q && !pending ? hits : await run(q);
      if (found[Math.max(0, active)]) choose(found[Math.max(0, active)]);
      return;
    }
    if (list.hidden) return;
    if (e.key === 'ArrowDown') active = Math.min(hits.length - 1, active + 1);
    else if (e.key === 'ArrowUp') active = Math.max(0, active - 1);
    else if (e.key === 'Escape') {
      close();
      return;
    } else return;
    e.preventDefault();
    render();
  });
  input.addEventListener('blur', () => setTimeout(close, 100));
}
