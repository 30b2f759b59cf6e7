// Offline packages: a .pmtiles archive of gridmap's tiles (gridmap export pmtiles, or the
// Export mode's "Offline package"), opened from a local file through the npm pmtiles protocol,
// so a grid worker's map works with no server: the style is the copy of tiles/style.json bundled
// into the UI, clicks read the tiles' own properties, "what is here" the rendered features. The
// archive's metadata (TileJSON with the zoom rules, data version, export time, the grid) stands
// in for /tiles.json and /api/v1/city.

import { FileSource, PMTiles, Protocol } from 'pmtiles';

const protocol = new Protocol();

/** registerProtocol lets MapLibre read pmtiles:// sources (once, at start). */
export function registerProtocol(maplibregl) {
  maplibregl.addProtocol('pmtiles', protocol.tile);
}

/**
 * open reads a package from a File: its header and metadata, checked to be gridmap's vector
 * tiles. It resolves to {url (the pmtiles:// source URL), name, meta, bounds [w, s, e, n]}.
 */
export async function open(file) {
  const archive = new PMTiles(new FileSource(file));
  const [header, meta] = await Promise.all([archive.getHeader(), archive.getMetadata()]);
  if (!Array.isArray(meta?.vector_layers) || !meta.vector_layers.some((l) => l.id === 'grids')) {
    throw new Error(`${file.name}: not a gridmap package (no grids layer)`);
  }
  protocol.add(archive);
  return {
    url: `pmtiles://${archive.source.getKey()}`,
    name: file.name,
    meta,
    bounds: [header.minLon, header.minLat, header.maxLon, header.maxLat],
  };
}

/** pick asks the user for a .pmtiles file; resolves to it, or null when none was chosen. */
export function pick() {
  return new Promise((resolve) => {
    const input = document.getElementById('offline-file');
    input.value = '';
    input.onchange = () => resolve(input.files?.[0] || null);
    input.oncancel = () => resolve(null);
    input.click();
  });
}
