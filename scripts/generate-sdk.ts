/**
 * `npm run sdk:generate`: writes client/src/schema.ts from the live OpenAPI document. Builds the
 * app against the configured (or local development) MySQL and Redis, as `npm start` would.
 */
import { writeFileSync } from 'node:fs';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { SDK_TYPES_FILE, sdkTypes } from './sdk-types.ts';

const app = await buildApp(loadConfig({ ...process.env, LOG_LEVEL: 'silent', METRICS_ENABLED: 'false' }), { logger: false });
try {
  await app.ready();
  writeFileSync(SDK_TYPES_FILE, await sdkTypes(app.swagger()));
  console.log(`wrote ${SDK_TYPES_FILE.pathname}`);
} finally {
  await app.close();
}
