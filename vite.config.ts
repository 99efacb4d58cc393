// Builds the operators' dashboard (src/web) into dist/web, which Fastify serves at `/` (src/api/webRoutes.ts).
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'src/web',
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: '../../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    // Charts (uPlot) load in their own chunk, only on pages that draw one; so does bpmn-js, only
    // on the workflow modeler (about 390 KB) and the instance view. Every other chunk stays under
    // 200 KB: the limit sits just above the modeler so a new heavy import still warns.
    chunkSizeWarningLimit: 400,
  },
});
