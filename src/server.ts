import { existsSync } from 'node:fs';
import { type App, buildApp } from './app.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { migrate } from './db/migrator.ts';

const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }

  const app = await buildApp(config);
  const migration = await migrate(config.DATABASE_URL, {
    info: (message) => app.log.info(message),
    warn: (message) => app.log.warn(message),
  });
  app.log.info({ database: migration.database, applied: migration.applied }, 'database schema is current');

  let closing = false;
  const shutdown = (signal: string, exitCode = 0) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    const forceExit = setTimeout(() => {
      app.log.error('shutdown took too long, exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    forceExit.unref();
    app.close().then(
      () => process.exit(exitCode),
      (error: unknown) => {
        app.log.error({ err: error }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  // The last line of defence: every async path is caught where it starts. A stray rejection is
  // logged and the process keeps serving; an uncaught exception may have left state half-changed,
  // so the process finishes in-flight requests and exits (its supervisor starts a fresh one).
  process.on('unhandledRejection', (reason: unknown) => app.log.error({ err: reason }, 'unhandled promise rejection'));
  process.on('uncaughtException', (error: Error) => {
    app.log.fatal({ err: error }, 'uncaught exception: shutting down');
    shutdown('uncaughtException', 1);
  });

  // Before the public port: an instance taking traffic can be scraped. app.close() stops it.
  if (config.METRICS_ENABLED) await app.metrics.listen(config.METRICS_PORT, config.HOST);
  await app.listen({ port: config.PORT, host: config.HOST });
  logSecuritySettings(app.log, config);
}

/** One line on what the browser and proxy settings resolved to, so a misconfiguration shows at start. */
function logSecuritySettings(log: App['log'], config: Config): void {
  const production = config.NODE_ENV === 'production';
  log.info(
    {
      corsOrigins: config.CORS_ORIGINS ?? (production ? 'none' : 'http://localhost:*, http://127.0.0.1:*'),
      trustProxy: config.TRUST_PROXY ?? 'none',
      docs: config.DOCS_ENABLED,
      healthToken: config.HEALTH_TOKEN !== undefined,
      requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
      maxConnections: config.MAX_CONNECTIONS,
    },
    'security settings',
  );
  if (production && config.HEALTH_TOKEN === undefined) log.warn('HEALTH_TOKEN is not set: GET /api/health/redis answers 404');
  if (production && config.CORS_ORIGINS === undefined) log.warn('CORS_ORIGINS is not set: no browser origin may call with the jwt_token cookie');
}

main().catch((error: unknown) => {
  console.error('failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
