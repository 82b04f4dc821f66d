import { fileURLToPath } from 'node:url';
import { preact } from '@preact/preset-vite';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/** Vite config for the Ariadne web UI: built into packages/web/dist, served by the API server. */
export default defineConfig({
  root,
  base: '/',
  plugins: [preact({ devToolsEnabled: false, prefreshEnabled: true })],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 800,
    rolldownOptions: {
      // Core is pure (no module does anything on import), so its unused modules can be dropped and
      // the TraceQL parser, used only by the lazily loaded editor, stays out of the first chunk.
      treeshake: { moduleSideEffects: [{ test: /[\\/]packages[\\/]core[\\/]src[\\/]/, sideEffects: false }] },
    },
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:4320' },
  },
});
