// What a page load costs, as Chromium saw it: every response's bytes on the wire (headers and
// the body as transferred, compressed where it was), when the app said it was ready and when
// the map had drawn every tile on screen. Shared by the scaled-city e2e test and
// bench/dashboard.mjs.

import { settle } from './browser.js';

/**
 * measureLoad opens url in a fresh context (a cold cache) and returns {readyMs, ready: {bytes,
 * requests}, drawnMs, drawn: {bytes, requests}, responses, page, context}; responses lists
 * {path, search, status, bytes, before} per response (before: finished before ready).
 */
export async function measureLoad(browser, url, { width = 1366, height = 768 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const problems = [];
  const sizes = []; // promises of {path, search, status, bytes}, in the order requests finished
  let readyAt = -1; // how many had finished when the app was ready
  page.on('requestfinished', (req) => {
    sizes.push((async () => {
      const s = await req.sizes();
      const res = await req.response();
      const u = new URL(req.url());
      return {
        url: req.url(), path: u.pathname, search: u.search, status: res?.status() ?? 0,
        body: s.responseBodySize, bytes: s.responseBodySize + s.responseHeadersSize,
      };
    })());
  });
  page.on('requestfailed', (r) => {
    if (r.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  await page.goto(url);
  await page.waitForFunction(() => window.gridmap?.ready === true, null, { timeout: 120000, polling: 50 });
  readyAt = sizes.length;
  const readyMs = await page.evaluate(() => window.gridmap.readyMs);
  await settle(page);
  const drawnMs = Math.round(await page.evaluate(() => performance.now()));
  const all = await Promise.all(sizes);
  // Chromium tells Playwright no body size for a worker's script (MapLibre's, 0.5 MB): the
  // page's resource timing has it
  const timing = new Map(await page.evaluate(() => performance.getEntriesByType('resource').map((e) => [e.name, e.transferSize])));
  all.forEach((r, k) => {
    r.before = k < readyAt;
    if (r.status === 200 && r.body <= 0 && timing.get(r.url) > r.bytes) r.bytes = timing.get(r.url);
  });
  const sum = (rs) => ({ bytes: rs.reduce((a, r) => a + r.bytes, 0), requests: rs.length });
  return {
    readyMs, ready: sum(all.slice(0, readyAt)), drawnMs, drawn: sum(all), responses: all, problems, page, context,
  };
}

/** kind groups a response for a report: the page and its assets, tiles, or the API path. */
export function kind(r) {
  if (r.path.startsWith('/tiles/')) return 'tiles';
  if (r.path.startsWith('/api/')) return r.path.replace(/\/\d+(?=\/|$)/g, '/{id}');
  if (r.path === '/tiles.json') return 'tiles.json';
  return 'page and assets';
}

/** byKind sums bytes and requests per kind. */
export function byKind(responses) {
  const out = {};
  for (const r of responses) {
    const k = kind(r);
    out[k] ||= { requests: 0, bytes: 0 };
    out[k].requests++;
    out[k].bytes += r.bytes;
  }
  return out;
}
