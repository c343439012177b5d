import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = (relative: string): string => fileURLToPath(new URL(relative, import.meta.url));

// The app is served by the API server at /app/ (src/plugins/web-app.ts), from the same origin as
// the API, so the SDK needs no base URL and the cookie works. `npm run web:dev` proxies the API.
export default defineConfig({
  root: here('.'),
  base: '/app/',
  plugins: [react()],
  resolve: { alias: { '@bigtech/chat-client': here('../client/src/index.ts') } },
  build: { outDir: here('dist'), emptyOutDir: true, sourcemap: false, target: 'es2022' },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8000', ws: false },
      '/ws': { target: 'ws://127.0.0.1:8000', ws: true },
      '/uploads': 'http://127.0.0.1:8000',
    },
  },
});
