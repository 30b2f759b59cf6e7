import { rmSync } from 'node:fs';
import { defineConfig } from 'vite';

// The UI builds into web/dist, which the Go binary embeds (web/embed.go). dist/.placeholder is
// committed so the embed directive always has a directory, so Vite must not empty the folder
// wholesale; this plugin removes only what a previous build wrote, so stale hashed assets never
// pile up in the binary.
const cleanPreviousBuild = {
  name: 'gridmap-clean-dist',
  apply: 'build',
  buildStart() {
    for (const p of ['dist/assets', 'dist/index.html', 'dist/favicon.svg']) {
      rmSync(new URL(p, import.meta.url), { recursive: true, force: true });
    }
  },
};

export default defineConfig({
  base: '/',
  plugins: [cleanPreviousBuild],
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    assetsDir: 'assets',
    chunkSizeWarningLimit: 1500,
    sourcemap: false,
  },
  server: {
    // the map style is ../tiles/style.json, bundled for offline packages
    fs: { allow: ['..'] },
    // `npm run dev` proxies the API and tiles to a gridmap started with `make run`.
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/tiles': 'http://127.0.0.1:8080',
      '/tiles.json': 'http://127.0.0.1:8080',
      '/style.json': 'http://127.0.0.1:8080',
      '/healthz': 'http://127.0.0.1:8080',
    },
  },
});
