// Helpers shared by the end-to-end suites: Debian's Chromium through playwright-core (never a
// downloaded browser), a page that records every console error, page error, failed request
// and HTTP error, and waits that poll the app's own state instead of sleeping.

import { chromium } from 'playwright-core';

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-background-networking'],
  });
}

/** open loads base+path in a fresh page and waits until the app is ready and every tile is drawn. */
export async function open(browser, base, path, { width = 1366, height = 768 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  const tiles = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('response', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/tiles/')) tiles.push({ path: u.pathname, status: r.status() });
    else if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.request().method()} ${u.pathname}${u.search}`);
  });
  page.on('requestfailed', (r) => {
    // ERR_ABORTED: the app cancelled a request it no longer needs (a newer selection)
    if (r.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  await page.goto(base + path);
  await page.waitForFunction(() => window.gridmap?.ready === true, null, { timeout: 60000 });
  await settle(page);
  return { page, context, problems, tiles };
}

/** settle waits until the map has stopped moving and drawn every tile. */
export async function settle(page) {
  await page.waitForFunction(() => {
    const m = window.gridmap.map;
    return m && !m.isMoving() && m.loaded() && m.areTilesLoaded();
  }, null, { timeout: 60000, polling: 100 });
}

/** screen projects lon/lat to page pixels (where a real pointer clicks on the map). */
export function screen(page, lnglat) {
  return page.evaluate((c) => {
    const m = window.gridmap.map;
    const p = m.project(c);
    const r = m.getCanvas().getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  }, lnglat);
}
