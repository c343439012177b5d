import path from 'node:path';
import { lintFromString, loadConfig } from '@redocly/openapi-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createTestApp } from '../helpers/app.ts';
import { DocumentSchemas, type OpenApiDocument } from '../helpers/response-validation.ts';
import { createUser } from '../helpers/users.ts';

/**
 * The OpenAPI document (issue 15): named component schemas for every body, Error for every
 * error, integer ids, examples that are valid and work as they are, the avatar upload and the
 * presence stream described, the lint, /openapi.json and the home page.
 */

interface MediaType {
  schema?: { $ref?: string };
  example?: unknown;
}
interface Operation {
  summary?: string;
  description?: string;
  operationId?: string;
  parameters?: Array<{ in: string; name: string; schema: { type?: string } }>;
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, { description: string; content?: Record<string, MediaType> }>;
}

let app: App;
let withoutDocs: App;
let doc: OpenApiDocument & { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Record<string, unknown>> } };
let schemas: DocumentSchemas;

beforeAll(async () => {
  [app, withoutDocs] = await Promise.all([createTestApp(), createTestApp({ DOCS_ENABLED: 'false' })]);
  doc = (await app.inject({ url: '/docs/json' })).json();
  schemas = new DocumentSchemas(doc);
});
afterAll(async () => Promise.all([app?.close(), withoutDocs?.close()]));

const operations = () =>
  Object.entries(doc.paths).flatMap(([route, item]) => Object.entries(item).map(([method, operation]) => ({ name: `${method.toUpperCase()} ${route}`, route, method, operation })));

const componentName = (media: MediaType | undefined) => media?.schema?.$ref?.replace('#/components/schemas/', '');

/** Every `examples` / `example` in the document, with the JSON pointer of the schema it illustrates. */
function examplesIn(value: unknown, at: string[] = []): Array<{ at: string[]; example: unknown }> {
  if (typeof value !== 'object' || value === null) return [];
  const node = value as Record<string, unknown>;
  const own = [
    ...(Array.isArray(node.examples) ? node.examples.map((example) => ({ at, example })) : []),
    ...('example' in node && 'schema' in node ? [{ at: [...at, 'schema'], example: node.example }] : []),
  ];
  return [...own, ...Object.entries(node).flatMap(([key, child]) => (key === 'examples' ? [] : examplesIn(child, [...at, key])))];
}

describe('the OpenAPI document', () => {
  it('is served at /openapi.json exactly as at /docs/json', async () => {
    const res = await app.inject({ url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual(doc);
  });

  it('has a named component schema for every request and response body', () => {
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['User', 'Error', 'Message', 'Room', 'Friendship', 'RegisterInput']));
    for (const { name, operation } of operations()) {
      expect(operation.summary, name).toEqual(expect.any(String));
      expect(operation.description, name).toEqual(expect.any(String));
      expect(operation.operationId, name).toEqual(expect.any(String));
      for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) {
        expect(doc.components.schemas[componentName(media) ?? ''], `${name} request ${type}`).toBeDefined();
      }
      expect(Object.keys(operation.responses).length, name).toBeGreaterThan(0);
      for (const [status, response] of Object.entries(operation.responses)) {
        const media = Object.entries(response.content ?? {});
        if (status !== '204') expect(media.length, `${name} ${status}`).toBeGreaterThan(0);
        for (const [type, entry] of media) expect(doc.components.schemas[componentName(entry) ?? ''], `${name} ${status} ${type}`).toBeDefined();
      }
    }
  });

  it('answers every error with the Error schema (health reports excepted) and a description', () => {
    for (const { name, operation } of operations()) {
      for (const [status, response] of Object.entries(operation.responses)) {
        expect(response.description, `${name} ${status}`).not.toBe('Default Response');
        if (Number(status) < 400) continue;
        const schema = componentName(response.content?.['application/json']);
        expect(schema === 'Error' || (status === '503' && /Report$/.test(schema ?? '')), `${name} ${status}: ${schema}`).toBe(true);
      }
    }
    const register = doc.paths['/api/auth/register']?.post;
    expect(Object.keys(register?.responses ?? {})).toEqual(expect.arrayContaining(['400', '403', '409', '413', '415', '429', '503']));
  });

  it('types path ids as integers (message and attachment ids are opaque strings)', () => {
    const ids = operations().flatMap(({ name, operation }) =>
      (operation.parameters ?? []).filter((parameter) => parameter.in === 'path' && !['message_id', 'attachment_id'].includes(parameter.name)).map((parameter) => ({ name, parameter })),
    );
    expect(ids.length).toBeGreaterThan(20);
    for (const { name, parameter } of ids) expect(parameter.schema.type, `${name} ${parameter.name}`).toBe('integer');
  });

  it('has only examples that are valid against their schemas, and one for every request body', () => {
    const found = examplesIn(doc);
    expect(found.length).toBeGreaterThan(30);
    for (const { at, example } of found) expect(schemas.problems(at, example), `${at.join('/')}: ${JSON.stringify(example)}`).toEqual([]);
    const bodies = operations().flatMap(({ operation }) => Object.values(operation.requestBody?.content ?? {}).map(componentName));
    for (const body of bodies) {
      if (body === 'AvatarUploadInput' || body === 'AttachmentUploadInput') continue; // a file: nothing to show
      expect(doc.components.schemas[body ?? '']?.examples, body).toBeDefined();
    }
  });

  it('documents the avatar upload as a multipart form with a file field', () => {
    const body = doc.paths['/api/profile/me/image']?.post?.requestBody;
    expect(Object.keys(body?.content ?? {})).toEqual(['multipart/form-data']);
    expect(componentName(body?.content['multipart/form-data'])).toBe('AvatarUploadInput');
    expect(doc.components.schemas.AvatarUploadInput).toMatchObject({
      type: 'object',
      properties: { image: { type: 'string', format: 'binary' } },
      required: ['image'],
    });
  });

  it('documents the presence stream as text/event-stream with its events', () => {
    const stream = doc.paths['/api/online-status/stream']?.get;
    expect(Object.keys(stream?.responses['200']?.content ?? {})).toEqual(['text/event-stream']);
    expect(stream?.responses['401']?.content?.['application/json']).toBeDefined();
    for (const event of ['connected', 'status', 'error', 'keep-alive']) expect(stream?.description).toContain(event);
  });

  it('passes the Redocly lint (recommended rules, redocly.yaml) without a problem', async () => {
    const config = await loadConfig({ configPath: path.resolve('redocly.yaml') });
    const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: path.resolve('openapi.json'), config });
    expect(problems.map((problem) => `${problem.severity} ${problem.ruleId}: ${problem.message} at ${problem.location[0]?.pointer}`)).toEqual([]);
  });
});

describe('the examples, executed as they are', () => {
  const exampleOf = (route: string, type = 'application/json') => {
    const ref = componentName(doc.paths[route]?.post?.requestBody?.content[type]) ?? '';
    const [example] = doc.components.schemas[ref]?.examples as Record<string, string>[];
    return example ?? {};
  };

  it('register twice gives 201 then 409; both logins work with the registered account', async () => {
    const register = exampleOf('/api/auth/register');
    const first = await app.inject({ method: 'POST', url: '/api/auth/register', payload: register });
    expect(first.statusCode, first.body).toBe(201);
    const again = await app.inject({ method: 'POST', url: '/api/auth/register', payload: register });
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toBe('conflict');

    const json = await app.inject({ method: 'POST', url: '/api/auth/login/json', payload: exampleOf('/api/auth/login/json') });
    expect(json.statusCode, json.body).toBe(200);
    const form = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(exampleOf('/api/auth/login', 'application/x-www-form-urlencoded')).toString(),
    });
    expect(form.statusCode, form.body).toBe(200);
    expect(form.json().user.username).toBe(register.username);
  });

  it('the avatar upload takes the documented multipart field', async () => {
    const user = await createUser(app, { prefix: 'docs' });
    const form = new FormData();
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Array<number>(64).fill(1)]);
    form.append('image', new Blob([png], { type: 'image/png' }), 'avatar.png');
    const request = new Request('http://localhost/', { method: 'POST', body: form });
    const res = await app.inject({
      method: 'POST',
      url: '/api/profile/me/image',
      headers: { ...user.auth, 'content-type': request.headers.get('content-type') ?? '' },
      payload: Buffer.from(await request.arrayBuffer()),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().user.profile_image_url).toMatch(/^\/uploads\//);
  });
});

describe('GET /', () => {
  it('is a small HTML page linking the web client, the documents and the health check, with no script', async () => {
    const res = await app.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(String(res.headers['content-security-policy'])).toMatch(/script-src 'self'/);
    for (const href of ['/app/', '/docs', '/openapi.json', '/docs/asyncapi.json', '/api/health']) expect(res.body).toContain(`href="${href}"`);
    expect(res.body).not.toMatch(/<script|\son[a-z]+=|style=/i);
  });

  it('without DOCS_ENABLED: /openapi.json and /docs/json are 404, and the page does not link them', async () => {
    for (const url of ['/openapi.json', '/docs/json', '/docs']) expect((await withoutDocs.inject({ url })).statusCode, url).toBe(404);
    const page = await withoutDocs.inject({ url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain('/openapi.json');
    expect(page.body).toContain('href="/api/health"');
  });
});
