/**
 * The ceilings for bench/rest.ts, two kinds in one bare Fastify app (no plugins, no auth):
 *
 * - bytes (PAYLOADS_FILE): routes answering with exactly the bytes the real endpoints returned;
 * - same SQL (SQL_ROUTES_FILE, with DATABASE_URL): routes running the statement the real
 *   endpoint runs, with its parameters, through the same mariadb driver and pool settings
 *   (createMysqlClients), returning the rows as JSON. What the real endpoint adds on top of that
 *   is its own cost: authentication, validation, caches, presence, views, serialisation, logs.
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { createMysqlClients } from '../src/db/prisma.ts';

interface Payload {
  method: 'GET' | 'POST';
  url: string;
  status: number;
  body: string;
}

export interface SqlRoute {
  url: string;
  sql: string;
  params: (number | string)[];
}

const payloads = JSON.parse(readFileSync(process.env.PAYLOADS_FILE ?? '', 'utf8')) as Payload[];
const sqlRoutes = process.env.SQL_ROUTES_FILE ? (JSON.parse(readFileSync(process.env.SQL_ROUTES_FILE, 'utf8')) as SqlRoute[]) : [];
const app = Fastify({ logger: false });
for (const payload of payloads) {
  app.route({
    method: payload.method,
    url: payload.url,
    handler: (_request, reply) => reply.code(payload.status).type('application/json; charset=utf-8').send(payload.body),
  });
}

// BIGINT columns (ids, seq, COUNT) come back as bigint, which JSON.stringify refuses.
const bigintsAsText = (_key: string, value: unknown) => (typeof value === 'bigint' ? value.toString() : value);

if (sqlRoutes.length > 0) {
  const mysql = createMysqlClients(process.env.DATABASE_URL ?? '');
  app.addHook('onClose', () => mysql.close());
  for (const route of sqlRoutes) {
    app.get(route.url, async (_request, reply) => {
      // dateStrings as the real stores read them (UTC text, no time-zone conversion).
      const rows: unknown = await mysql.pool.query({ sql: route.sql, dateStrings: true }, route.params);
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(rows, bigintsAsText));
    });
  }
}

const address = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`baseline listening on ${new URL(address).port}`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
