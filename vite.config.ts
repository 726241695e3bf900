// Builds the viewer (viewer/index.html) into one self-contained HTML file, dist/viewer/page/index.html:
// scripts, styles, the decoder worker and its wasm all inlined, so a report is this file plus an
// embedded model and works offline from file://.
import { defineConfig } from 'vite';
import { viteSingleFile } from 'vite-plugin-singlefile';

export default defineConfig({
  // vitest reads this file too; its tests live at the repository root.
  root: process.env.VITEST ? '.' : 'viewer',
  base: './',
  publicDir: false,
  plugins: [viteSingleFile({ removeViteModuleLoader: true })],
  worker: { format: 'iife' },
  build: {
    outDir: '../dist/viewer/page',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 100_000_000,
    chunkSizeWarningLimit: 5000,
    reportCompressedSize: false,
    modulePreload: false,
  },
});
