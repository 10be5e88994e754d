import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { defineConfig } from 'vite';
import type { Plugin } from 'vite';

/**
 * Emits `sw.js`, the service worker in `sw/service-worker.js`, with the list of every file of
 * the build to keep for offline loads and a version that changes with them.
 */
function serviceWorker(): Plugin {
  return {
    name: 'weft-demo-service-worker',
    apply: 'build',
    generateBundle(_options, bundle) {
      const files = Object.keys(bundle)
        .filter((name) => name !== 'index.html')
        .sort()
        .map((name) => `./${name}`);
      const precache = ['./', ...files];
      const version = createHash('sha256').update(precache.join('\n')).digest('hex').slice(0, 12);
      const body = readFileSync(new URL('./sw/service-worker.js', import.meta.url), 'utf8');
      this.emitFile({
        type: 'asset',
        fileName: 'sw.js',
        source: `const PRECACHE = ${JSON.stringify(precache)};\nconst VERSION = '${version}';\n${body}`,
      });
    },
  };
}

// The demo is served by weft-server (`--static-dir web-demo/dist`). `npm run dev -w web-demo`
// serves it from Vite instead and forwards the sync socket to a weft-server on port 8080.
export default defineConfig({
  base: './',
  plugins: [serviceWorker()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // CodeMirror and the engine's glue code form one chunk of about 100 KB gzipped; the .wasm
    // is an asset of its own.
    chunkSizeWarningLimit: 1024,
  },
  optimizeDeps: {
    // weft-crdt initialises its WebAssembly module with top-level await next to itself.
    exclude: ['weft-crdt'],
  },
  server: {
    proxy: {
      '/ws': { target: 'ws://127.0.0.1:8080', ws: true },
    },
  },
});
