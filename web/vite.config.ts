// The console's build: SolidJS compiled by vite-plugin-solid, every page its own chunk (the router
// imports them lazily), into web/dist, which the Worker serves as static assets (wrangler.toml) and
// the Pages target deploys as is.
import { defineConfig } from 'vite';
import solid from 'vite-plugin-solid';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [solid()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The report of each chunk's gzipped size is what `npm run bench` checks against the 100 KB budget.
    reportCompressedSize: true,
  },
});
