// Starts a real gridmap on the demo city for the end-to-end tests: builds the Go binary (with
// the freshly built UI embedded), runs it on a free loopback port with a fresh data directory,
// waits for /healthz (polling, never a fixed sleep) and stops it afterwards.

import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const webDir = fileURLToPath(new URL('..', import.meta.url));
export const repoDir = fileURLToPath(new URL('../..', import.meta.url));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** newest is the latest modification time of the files under dir (recursively). */
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * buildUI builds web/dist when it is missing or older than the sources (make test builds it
 * before npm test; a run after editing src/ must not test the UI as it was).
 */
export function buildUI() {
  const built = join(webDir, 'dist', 'index.html');
  // the UI bundles the map style (tiles/style.json) too
  const src = Math.max(newest(join(webDir, 'src')), statSync(join(webDir, 'index.html')).mtimeMs,
    statSync(join(repoDir, 'tiles', 'style.json')).mtimeMs);
  if (!existsSync(built) || statSync(built).mtimeMs < src) {
    execFileSync('npx', ['vite', 'build'], { cwd: webDir, stdio: 'inherit' });
  }
}

/**
 * startGridmap builds gridmap and serves the demo city (scale: copies of it; loading 10 takes
 * 10–20 s) from a fresh data directory, or (demo: false) an empty database, or dataDir as it is
 * (a city loaded before, e.g. gridmap demo --scale 100 --data-dir DIR, which is left in place).
 */
export async function startGridmap({ timeoutMs = 240000, args = [], scale = 1, dataDir = '', demo = true } = {}) {
  buildUI();
  const dir = mkdtempSync(join(tmpdir(), 'gridmap-ui-'));
  // As root, gridmap runs PostgreSQL as the postgres user, which must reach the data dir.
  chmodSync(dir, 0o755);
  const bin = join(dir, 'gridmap');
  execFileSync('go', ['build', '-o', bin, './cmd/gridmap'], { cwd: repoDir, stdio: 'inherit' });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = [];
  const data = dataDir || join(dir, 'data');
  const demoArgs = dataDir || !demo ? [] : ['--demo', '--demo-scale', String(scale)];
  const proc = spawn(bin, ['serve', ...demoArgs, '--data-dir', data, '--addr', `127.0.0.1:${port}`, ...args], {
    cwd: dir, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (b) => {
    log.push(b.toString());
    if (log.length > 400) log.splice(0, log.length - 400);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  let exited = null;
  proc.on('exit', (code) => { exited = code; });
  const t0 = Date.now();
  for (;;) {
    if (exited !== null) throw new Error(`gridmap exited with ${exited}:\n${log.join('')}`);
    if (Date.now() - t0 > timeoutMs) {
      proc.kill('SIGKILL');
      throw new Error(`gridmap not healthy after ${timeoutMs} ms:\n${log.join('')}`);
    }
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    base,
    log,
    /** cli runs a gridmap command against the running server's cluster. */
    cli(...args) {
      return execFileSync(bin, [...args, '--data-dir', data], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
    },
    dir,
    async stop() {
      if (exited === null) {
        const done = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGINT'); // gridmap stops its PostgreSQL cluster on SIGINT
        const timer = setTimeout(() => proc.kill('SIGKILL'), 30000);
        await done;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function getJSON(base, path) {
  const res = await fetch(base + path);
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}
