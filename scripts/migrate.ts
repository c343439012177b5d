// `npm run migrate`: creates the database when missing and applies pending migrations.
import { loadConfig } from '../src/config.ts';
import { migrate } from '../src/db/migrator.ts';

const config = loadConfig();
const result = await migrate(config.DATABASE_URL, {
  info: (message) => console.log(message),
  warn: (message) => console.warn(message),
});
console.log(`database ${result.database}: ${result.applied.length} migration(s) applied`);
