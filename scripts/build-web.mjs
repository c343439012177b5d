// Builds the web client (web/ → web/dist) when the build is missing or older than its sources
// (web/, the SDK in client/src), so `npm start` always serves a current /app/. Prints what it does.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = path.join(root, 'web', 'dist', 'index.html');
const sources = [path.join(root, 'web', 'src'), path.join(root, 'web', 'index.html'), path.join(root, 'web', 'vite.config.ts'), path.join(root, 'client', 'src')];

function newestMtime(entry) {
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(entry).reduce((newest, name) => Math.max(newest, newestMtime(path.join(entry, name))), stat.mtimeMs);
}

const force = process.argv.includes('--force');
const stale = force || !existsSync(built) || statSync(built).mtimeMs < Math.max(...sources.filter(existsSync).map(newestMtime));
if (!stale) {
  console.log('[web] web/dist is current');
  process.exit(0);
}
console.log('[web] building the web client (web/ → web/dist)');
const vite = path.join(root, 'node_modules', 'vite', 'bin', 'vite.js');
// Always React's production build: Vite keeps an inherited NODE_ENV (vitest sets `test`), which
// would bundle React's development build at twice the size.
const result = spawnSync(process.execPath, [vite, 'build', '--config', path.join(root, 'web', 'vite.config.ts')], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, NODE_ENV: 'production' },
});
if (result.status !== 0) process.exit(result.status ?? 1);

// Compressed copies next to the hashed assets, which src/plugins/web-app.ts serves to browsers
// that accept them (no compression work per request). index.html stays as it is (0.5 KB).
const assets = path.join(root, 'web', 'dist', 'assets');
for (const name of readdirSync(assets)) {
  if (!/\.(js|css|svg|json)$/.test(name)) continue;
  const file = path.join(assets, name);
  const body = readFileSync(file);
  writeFileSync(`${file}.br`, brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } }));
  writeFileSync(`${file}.gz`, gzipSync(body, { level: 9 }));
}
console.log('[web] wrote .br and .gz copies of the assets');
