// Runs `prisma generate`. The Prisma CLI wants a native schema engine binary even though
// generate does not use it; where the engine could not be downloaded (no install scripts,
// offline machines) we point PRISMA_SCHEMA_ENGINE_BINARY at an existing file so it proceeds.
// Machines that do have the real engine keep it.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const enginesDir = path.join(root, 'node_modules', '@prisma', 'engines');
const hasSchemaEngine =
  existsSync(enginesDir) && readdirSync(enginesDir).some((name) => name.startsWith('schema-engine'));

const env = { ...process.env };
if (!hasSchemaEngine && !env.PRISMA_SCHEMA_ENGINE_BINARY) {
  env.PRISMA_SCHEMA_ENGINE_BINARY = fileURLToPath(import.meta.url);
}

const prismaBin = path.join(root, 'node_modules', 'prisma', 'build', 'index.js');
const result = spawnSync(process.execPath, [prismaBin, 'generate'], { cwd: root, env, stdio: 'inherit' });
process.exit(result.status ?? 1);
