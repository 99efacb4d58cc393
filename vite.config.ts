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
    // Charts (uPlot) load in their own chunk, only on pages that draw one.
    chunkSizeWarningLimit: 200,
  },
});
