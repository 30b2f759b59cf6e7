// The settings dialog (⚙): a basemap — an XYZ raster template or a MapLibre style URL — and
// its coordinate system (WGS 84/CGCS2000, or GCJ-02, which basemap.js shifts onto WGS 84),
// kept in this browser and put in the address (?basemap=&basemap_crs=), which reloads the
// page with it. Without a choice of its own the browser shows the server's default basemap
// (serve --basemap); "No basemap" turns that off here.

import { $ } from './dom.js';
import { t } from './i18n.js';

function hostOf(url) {
  try {
    return new URL(url.replace(/\{[^{}]*\}/g, '0')).host;
  } catch {
    return url;
  }
}

export function renderSettings(state) {
  $('settings-title').textContent = t('settings.title');
  $('basemap-label').textContent = t('settings.basemap');
  $('basemap-crs-label').textContent = t('settings.crs');
  for (const o of $('basemap-crs').options) o.textContent = t(`settings.crs.${o.value}`);
  $('basemap-help').textContent = t('settings.basemap.help');
  const def = state.basemapDefault;
  // the default's host only: its template may carry the operator's key
  $('basemap-default').textContent = def
    ? t('settings.basemap.default', { host: hostOf(def.url), crs: t(`settings.crs.${def.crs}`) })
    : t('settings.basemap.noDefault');
  $('basemap-apply').textContent = t('settings.apply');
  $('basemap-none').textContent = t('settings.none');
  $('basemap-none').hidden = !def;
  $('basemap-clear').textContent = t('settings.clear');
  $('settings-close').textContent = t('settings.close');
  const own = state.basemapOwn;
  if (document.activeElement !== $('basemap-input')) $('basemap-input').value = own?.url || '';
  if (document.activeElement !== $('basemap-crs')) $('basemap-crs').value = own ? own.crs : state.basemapCRS;
  $('basemap-error').hidden = !state.basemapRefused;
  $('basemap-error').textContent = state.basemapRefused ? t('settings.basemap.refused', { host: state.basemapRefused }) : '';
}

export function hookSettings() {
  const dlg = $('settings');
  $('settings-btn').addEventListener('click', () => dlg.showModal());
  $('settings-close').addEventListener('click', () => dlg.close());
  // url: a basemap; '': none; null: the server's default
  const apply = (url, crs) => {
    const p = new URLSearchParams(location.search);
    if (url === null) {
      localStorage.removeItem('gridmap.basemap');
      localStorage.removeItem('gridmap.basemapCRS');
      p.delete('basemap');
      p.delete('basemap_crs');
    } else {
      localStorage.setItem('gridmap.basemap', url);
      localStorage.setItem('gridmap.basemapCRS', crs);
      p.set('basemap', url);
      if (url && crs !== 'wgs84') p.set('basemap_crs', crs);
      else p.delete('basemap_crs');
    }
    location.search = p.toString();
  };
  $('settings-form').addEventListener('submit', () => {
    const url = $('basemap-input').value.trim();
    apply(url || null, $('basemap-crs').value);
  });
  $('basemap-none').addEventListener('click', () => apply('', 'wgs84'));
  $('basemap-clear').addEventListener('click', () => apply(null));
}
