// The settings dialog (⚙): a basemap — an XYZ raster template or a MapLibre style URL — kept
// in this browser and put in the address (?basemap=), which reloads the page with it.

import { $ } from './dom.js';
import { t } from './i18n.js';

export function renderSettings(state) {
  $('settings-title').textContent = t('settings.title');
  $('basemap-label').textContent = t('settings.basemap');
  $('basemap-help').textContent = t('settings.basemap.help');
  $('basemap-apply').textContent = t('settings.apply');
  $('basemap-clear').textContent = t('settings.clear');
  $('settings-close').textContent = t('settings.close');
  if (document.activeElement !== $('basemap-input')) $('basemap-input').value = state.basemap || '';
  $('basemap-error').hidden = !state.basemapRefused;
  $('basemap-error').textContent = state.basemapRefused ? t('settings.basemap.refused', { host: state.basemapRefused }) : '';
}

export function hookSettings() {
  const dlg = $('settings');
  $('settings-btn').addEventListener('click', () => dlg.showModal());
  $('settings-close').addEventListener('click', () => dlg.close());
  const apply = (url) => {
    if (url) localStorage.setItem('gridmap.basemap', url);
    else localStorage.removeItem('gridmap.basemap');
    const p = new URLSearchParams(location.search);
    if (url) p.set('basemap', url);
    else p.delete('basemap');
    location.search = p.toString();
  };
  $('settings-form').addEventListener('submit', () => apply($('basemap-input').value.trim()));
  $('basemap-clear').addEventListener('click', () => apply(''));
}
