// The map: gridmap's style (/style.json; offline, the copy bundled here) over our vector tiles
// (the server's, or an offline package's), styled by mode, metric and selection, with hover and
// the camera moves the panels ask for.
//
// Nothing here holds data of the city: every paint and filter is an expression over the
// tiles' own properties, so the map's data needs are what is on screen.

import * as maplibregl from 'maplibre-gl';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';

import * as assign from './assign.js';
import { load as loadShifted, PROTOCOL as SHIFT_PROTOCOL } from './basemap.js';
import { tilesAt } from './api.js';
import { toast } from './dom.js';
import { t } from './i18n.js';
import { bbox } from './model.js';
import * as offline from './offline.js';
import { addPatterns } from './patterns.js';
import { activeMetric, state } from './state.js';
import {
  applyFillTo, basemapKind, BUILDING_FILLS, buildStyle, L3_FILLS, labelField, LAYER_GROUPS, overlayLayers, showL3Classes,
} from './style.js';

maplibregl.setWorkerUrl(workerUrl);
// GCJ-02 basemap tiles, shifted onto WGS 84 (basemap.js); asked for only when one is configured
maplibregl.addProtocol(SHIFT_PROTOCOL, loadShifted);
offline.registerProtocol(maplibregl);

/** HOVERABLE are the layers whose feature under the pointer is highlighted. */
const HOVERABLE = [...BUILDING_FILLS, ...L3_FILLS, 'grid-fill-l2'];

/** map is the MapLibre map once createMap has made it. */
export let map = null;

function styleOpts() {
  return {
    base: state.style, tiles: state.tiles, zooms: state.zooms, metric: activeMetric(), band: state.band, selected: state.sel,
    labels: labelOpts(), at: state.at,
    // an offline package: its tiles through the pmtiles protocol, hatches drawn here (no sprite)
    ...(state.offline ? { pmtiles: state.offline.url, sprite: false } : {}),
  };
}

function labelOpts() {
  return { mode: state.mode, metric: state.metric, band: state.band, ...(state.mode === 'assign' ? assign.labelCodes() : {}) };
}

async function initialStyle() {
  const opts = { ...styleOpts(), basemap: state.basemap, basemapCRS: state.basemapCRS, attribution: state.basemapAttribution };
  const kind = basemapKind(state.basemap);
  if (kind === 'style' && state.basemapCRS !== 'wgs84') {
    // a vector style cannot be shifted tile by tile; drawn unshifted it would mislead
    toast(t('settings.basemap.gcjStyle'));
    return buildStyle({ ...opts, basemap: '' });
  }
  if (kind !== 'style') return buildStyle(opts);
  // A basemap style: its sources and layers below ours; ours keep their own names.
  try {
    const res = await fetch(state.basemap);
    const base = await res.json();
    const own = buildStyle({ ...opts, basemap: '' });
    return { ...base, sources: { ...base.sources, ...own.sources }, layers: [...base.layers, ...overlayLayers(own)] };
  } catch (err) {
    if (!state.basemapRefused) toast(`${t('settings.basemap')}: ${err.message}`);
    return buildStyle({ ...opts, basemap: '' });
  }
}

/** fitPadding keeps fitted shapes clear of the tools (top) and the legend (bottom). */
export function fitPadding(extra = 0) {
  const legend = document.getElementById('legend');
  const bottom = (legend?.offsetHeight || 0) + 20;
  return { top: 56 + extra, bottom: bottom + extra, left: 24 + extra, right: 24 + extra };
}

/** createMap makes the map on the city's bounds and resolves once its style is loaded. */
export async function createMap() {
  const style = await initialStyle();
  const bounds = state.city?.bounds;
  map = new maplibregl.Map({
    container: 'map',
    style,
    bounds: bounds ? [[bounds[0], bounds[1]], [bounds[2], bounds[3]]] : undefined,
    fitBoundsOptions: { padding: fitPadding() },
    center: bounds ? undefined : [118.72, 32.013],
    zoom: bounds ? undefined : 13.5,
    attributionControl: { compact: true },
    dragRotate: false,
    pitchWithRotate: false,
    maxPitch: 0,
    // fonts are local (see style.js); CJK also drawn from local fonts
    localIdeographFontFamily: "'Noto Sans CJK SC', 'Source Han Sans SC', 'WenQuanYi Micro Hei', 'PingFang SC', 'Microsoft YaHei', sans-serif",
  });
  window.gridmap.map = map;
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'bottom-right');
  map.setMissingStyleImageResolver((id) => addPatterns(map, id));
  map.on('error', (e) => {
    const msg = e?.error?.message || String(e?.error || e);
    window.gridmap.errors.push(msg);
    console.warn('map:', msg);
  });
  await new Promise((resolve) => map.once('load', resolve));
  // the sprite has the hatches; without one (offline) they are drawn here
  if (!style.sprite) addPatterns(map);
  applyLayerVisibility();
  hookHover();
  return map;
}

/** applyFill colours the grids and buildings for the mode and metric. */
export function applyFill() {
  if (!map) return;
  if (state.mode === 'assign') {
    assign.applyMapStyle();
    return;
  }
  applyFillTo(map, activeMetric(), state.band);
  applyLayerVisibility();
}

/** applySelection outlines the selection and washes out the rest of its level. */
export function applySelection() {
  if (!map) return;
  if (state.mode === 'assign') {
    assign.applyMapStyle();
    return;
  }
  const f = ['==', ['get', 'code'], state.sel || '-'];
  map.setFilter('selection-line', f);
  map.setFilter('selection-halo', f);
  const g = state.sel ? state.idx?.byCode.get(state.sel) : null;
  map.setFilter('selection-dim', g
    ? ['all', ['==', ['to-number', ['get', 'level']], g.level], ['!=', ['get', 'code'], g.code]]
    : ['==', ['get', 'code'], '-']);
}

/** applyLabels sets what the grid labels say in the current mode (names, values, households). */
export function applyLabels() {
  if (!map) return;
  const text = labelField(labelOpts());
  for (const id of LAYER_GROUPS.labels) map.setLayoutProperty(id, 'text-field', text);
}

export function applyLayerVisibility() {
  if (!map) return;
  for (const [group, ids] of Object.entries(LAYER_GROUPS)) {
    for (const id of ids) {
      if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', state.layers[group] ? 'visible' : 'none');
    }
  }
  // the households classes show only while the level-3 fill is in its classes form
  showL3Classes(map, state.layers.grids);
}

let hovered = null;
function setHover(f) {
  if (hovered && (!f || hovered.id !== f.id || hovered.sourceLayer !== f.sourceLayer)) {
    map.setFeatureState({ source: 'gridmap', sourceLayer: hovered.sourceLayer, id: hovered.id }, { hover: false });
    hovered = null;
  }
  if (f && f.id !== undefined && !hovered) {
    hovered = { id: f.id, sourceLayer: f.sourceLayer };
    map.setFeatureState({ source: 'gridmap', sourceLayer: f.sourceLayer, id: f.id }, { hover: true });
  }
}

function hookHover() {
  map.on('mousemove', (e) => {
    if (state.locating || assign.drawing()) {
      setHover(null);
      return;
    }
    const layers = HOVERABLE.filter((id) => map.getLayer(id));
    const fs = map.queryRenderedFeatures(e.point, { layers });
    setHover(fs[0] || null);
    map.getCanvas().style.cursor = fs.length ? 'pointer' : '';
  });
  map.on('mouseout', () => setHover(null));
}

/**
 * fitBBox fits the map to b ([w, s, e, n]); eventData rides on the camera's events (the issue
 * list tells its own flights from the user's moves by it).
 */
export function fitBBox(b, { maxZoom = 17, extra = 0, duration = 600, eventData } = {}) {
  if (!b || !map) return;
  map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: fitPadding(extra), maxZoom, duration }, eventData);
}

/** focusBBox flies to b, a list entry's extent (its outline follows with outline). */
export function focusBBox(b) {
  fitBBox(b, { maxZoom: 16.5, extra: 90, duration: 700, eventData: { focus: true } });
  window.gridmap.focused = b;
}

/** outline outlines geom (what a list entry flew to; null: nothing). */
export function outline(geom) {
  map?.getSource('focus')?.setData(geom ? { type: 'Feature', geometry: geom, properties: {} } : { type: 'FeatureCollection', features: [] });
}

/** flyToGeometry flies to geom and outlines it. */
export function flyToGeometry(geom) {
  const b = bbox(geom);
  if (!b || !map) return;
  outline(geom);
  focusBBox(b);
}

/** viewBBox is what the map shows: [w, s, e, n], clamped to the globe. */
export function viewBBox() {
  const b = map.getBounds();
  const c = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  return [c(b.getWest(), -180, 180), c(b.getSouth(), -85, 85), c(b.getEast(), -180, 180), c(b.getNorth(), -85, 85)];
}

/**
 * applyAt points the tile source at the moment shown (state.at; '' now): the TileJSON's
 * templates with at=, so the map draws the grids and buildings of then.
 */
let atSeq = 0;
export function applyAt() {
  const src = map?.getSource('gridmap');
  if (!src || state.offline || !state.tiles?.tiles) return;
  src.setTiles(tilesAt(state.tiles.tiles, state.at));
  // setTiles reloads the tiles a frame later; a style change meanwhile (the selection's filter)
  // pauses the source, and a reload asked while paused re-parses the tiles it holds instead of
  // fetching the new URL. So once the source has its new URL and a frame is drawn (which
  // resumes it), every tile is fetched again: a tile the reload did fetch only revalidates (304).
  const mine = ++atSeq;
  const onData = (e) => {
    if (e.sourceId !== 'gridmap' || e.sourceDataType !== 'content') return;
    map.off('sourcedata', onData);
    map.once('render', () => {
      if (mine === atSeq) map.refreshTiles('gridmap');
    });
    map.triggerRepaint();
  };
  map.on('sourcedata', onData);
}

/** showChanges draws the changes overlay (GeoJSON of /changes; null: nothing). */
export function showChanges(fc) {
  map?.getSource('changes')?.setData(fc?.features ? { type: 'FeatureCollection', features: fc.features } : { type: 'FeatureCollection', features: [] });
}

/**
 * refreshTiles has the map fetch its tiles again. Tiles are served with max-age=0 and an ETag
 * keyed on the data version, so the reload revalidates each: tiles an edit changed come anew,
 * the others answer 304.
 */
export function refreshTiles() {
  if (!map?.getSource('gridmap')) return;
  map.refreshTiles('gridmap');
  window.gridmap.tileRefreshes = (window.gridmap.tileRefreshes || 0) + 1;
}
