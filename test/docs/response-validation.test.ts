import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type App, buildApp } from '../../src/app.ts';
import { RawJson, sendJson } from '../../src/lib/raw-json.ts';
import { testConfig } from '../helpers/app.ts';
import { responseValidation, takeViolations } from '../helpers/response-validation.ts';

/** The response-validation hook itself: it reports what the document does not promise. */

let app: App;
beforeAll(async () => {
  app = await buildApp(testConfig(), { logger: false, instrumentation: responseValidation });
  const schema = { summary: 'Probe', response: { 200: z.object({ ok: z.boolean() }) } };
  app.get('/api/test/teapot', { schema: { summary: 'Probe' } }, async (_request, reply) => reply.code(418).send({ ok: true }));
  app.get('/api/test/drift', { schema }, async (_request, reply) => sendJson(reply, new RawJson('{"ok":"yes"}')));
  app.get('/api/test/fine', { schema }, async () => ({ ok: true }));
  await app.ready();
});
afterAll(async () => app?.close());

describe('the response-validation hook', () => {
  it('reports a status the route does not document', async () => {
    await app.inject({ url: '/api/test/teapot' });
    expect(takeViolations()).toEqual([
      expect.objectContaining({ response: 'GET /api/test/teapot → 418', problems: [expect.stringMatching(/^status 418 is not documented/)] }),
    ]);
  });

  it('reports a body that does not match the documented schema, naming the field', async () => {
    await app.inject({ url: '/api/test/drift' });
    expect(takeViolations()).toEqual([
      expect.objectContaining({ response: 'GET /api/test/drift → 200', problems: [expect.stringMatching(/^\/ok must be boolean/)] }),
    ]);
  });

  it('lets documented responses, and routes hidden from the document, through', async () => {
    await app.inject({ url: '/api/test/fine' });
    await app.inject({ url: '/api/test/fine', headers: { 'content-encoding': 'gzip' } });
    await app.inject({ url: '/docs/json' });
    await app.inject({ url: '/uploads/missing.png' });
    expect(takeViolations()).toEqual([]);
  });
});
