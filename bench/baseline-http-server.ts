/**
 * The ceiling for bench/rest.ts: a bare Fastify app (no plugins, no auth, no database) whose
 * routes answer with exactly the bytes the real endpoints returned, read from PAYLOADS_FILE.
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

interface Payload {
  method: 'GET' | 'POST';
  url: string;
  status: number;
  body: string;
}

const payloads = JSON.parse(readFileSync(process.env.PAYLOADS_FILE ?? '', 'utf8')) as Payload[];
const app = Fastify({ logger: false });
for (const payload of payloads) {
  app.route({
    method: payload.method,
    url: payload.url,
    handler: (_request, reply) => reply.code(payload.status).type('application/json; charset=utf-8').send(payload.body),
  });
}
const address = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`baseline listening on ${new URL(address).port}`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
