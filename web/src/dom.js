// DOM helpers every panel uses: element lookup, an element builder, a toast.

export const $ = (id) => document.getElementById(id);

/** h creates an element: h('div.cls#id', {attrs}, children…); on* attributes are listeners. */
export function h(tag, attrs, ...children) {
  const [head, id] = tag.split('#');
  const [name, ...classes] = head.split('.');
  const el = document.createElement(name || 'div');
  if (id) el.id = id;
  if (classes.length) el.className = classes.join(' ');
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'style') el.style.cssText = v;
      else el.setAttribute(k, v === true ? '' : v);
    }
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** swatch is a small colour square (legends, spread bars). */
export function swatch(color, cls = '') {
  return h(`span.sw${cls}`, { style: `background:${color}` });
}

let toastTimer;
/** toast shows msg for a few seconds above the legend. */
export function toast(msg) {
  const el = $('toast');
  el.textContent = msg;
  // above the legend, which must stay readable (it sits at the bottom of the map)
  el.style.bottom = `${($('legend')?.offsetHeight || 0) + 20}px`;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 4000);
}
