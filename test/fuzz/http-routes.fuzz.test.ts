import type { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createTestApp } from '../helpers/app.ts';
import {
  type BodySpec,
  bodySpec,
  checkProperty,
  contractBreach,
  encodeLoose,
  fuzzRuns,
  ghostId,
  HOSTILE_PATH_VALUES,
  listRoutes,
  openApiPath,
  type OpenApiDoc,
  type PathValue,
  queryString,
  type ResponseLike,
  type RouteInfo,
  routeFields,
  spellingsOf,
  substitutePath,
} from '../helpers/fuzz.ts';
import { createGroup, openDirect, send } from '../helpers/rooms.ts';
import { createUser, type TestUser } from '../helpers/users.ts';

/**
 * Hostile input, HTTP side: every route of the live app (read from Fastify's route table, so new
 * routes are covered without touching this file) gets generated path ids, query strings,
 * bodies and credentials. Whatever comes in, the answer is never a 5xx and every error carries
 * the contract's body.
 */

const app: App = await createTestApp();
const routes = listRoutes(app);
const doc = (await app.inject({ url: '/docs/json' })).json() as OpenApiDoc;

/** Third-party surfaces fuzzed elsewhere or not ours: Swagger UI's static files and CORS preflight. */
const fuzzed = routes.filter((route) => route.method !== 'OPTIONS' && !route.url.startsWith('/docs'));

interface Fixtures {
  a: TestUser;
  b: TestUser;
  groupId: number;
  directId: number;
  messageId: string;
}
let fx: Fixtures;
let a: TestUser;
let b: TestUser;

beforeAll(async () => {
  a = await createUser(app, { prefix: 'fuzz', displayName: 'Fuzz A' });
  b = await createUser(app, { prefix: 'fuzz', displayName: 'Fuzz B' });
});
afterAll(async () => {
  if (process.env.FUZZ_STATS) {
    for (const [route, counts] of statusCounts) console.log(route.padEnd(55), JSON.stringify(Object.fromEntries(counts)));
  }
  await app.close();
});

/** Statuses seen per route (FUZZ_STATS=1 prints them): shows the inputs got past validation too. */
const statusCounts = new Map<string, Map<number, number>>();
function count(route: RouteInfo, status: number): void {
  const key = `${route.method} ${route.url}`;
  const counts = statusCounts.get(key) ?? new Map<number, number>();
  counts.set(status, (counts.get(status) ?? 0) + 1);
  statusCounts.set(key, counts);
}

/** Fresh rooms and no blocks, so the previous route's fuzzing (deletes, leaves, blocks) does not starve the next one. */
async function refreshFixtures(): Promise<Fixtures> {
  await app.db.blockUser.deleteMany({ where: { OR: [{ blockerId: a.id }, { blockedId: a.id }] } });
  const direct = await openDirect(app, a, b);
  const group = await createGroup(app, a, { name: 'fuzz room', member_ids: [b.id] });
  const message = await send(app, a, group.id, 'fuzz seed message');
  return { a, b, groupId: group.id, directId: direct.id, messageId: message.id };
}

/** Real values for a path parameter (so bodies reach the services) next to hostile ones. */
function pathPool(param: string, f: Fixtures): fc.Arbitrary<PathValue> {
  let real: PathValue[] = [];
  if (/room/.test(param)) real = [...spellingsOf(f.groupId), { value: String(f.directId) }];
  else if (/message/.test(param)) real = [{ value: f.messageId }, { value: `${f.messageId}0` }, { value: '1' }];
  else if (/user/.test(param)) real = [...spellingsOf(f.b.id), { value: String(f.a.id) }];
  const ghost = ghostId().map((id): PathValue => ({ value: String(id) }));
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_PATH_VALUES) },
    { weight: 1, arbitrary: ghost },
    { weight: real.length > 0 ? 5 : 0, arbitrary: real.length > 0 ? fc.constantFrom(...real) : ghost },
  );
}

type AuthKind = 'bearer' | 'cookie' | 'query' | 'none' | 'forged' | 'expired' | 'garbage header' | 'basic';

interface Input {
  path: Record<string, PathValue>;
  query: string | null;
  body: BodySpec;
  auth: AuthKind;
  headers: [string, string][];
}

/** Headers a hostile client adds: garbage cookies and forwarding headers, odd negotiation, huge ids. */
const extraHeaders = fc.array(
  fc.constantFrom<[string, string]>(
    ['cookie', 'jwt_token=%zz; jwt_token=; =; ;;'],
    ['cookie', `jwt_token=${'c'.repeat(4000)}`],
    ['x-forwarded-for', 'not-an-ip, 999.999.999.999, ::ffff:1.2.3.4'],
    ['x-forwarded-host', 'evil.example'],
    ['x-forwarded-proto', 'gopher'],
    ['x-request-id', 'r'.repeat(2000)],
    ['x-request-id', '${7*7}\'"<>'],
    ['accept', 'text/event-stream'],
    ['accept', 'application/xml;q=1, */*;q=0'],
    ['accept-version', '9.9.9'],
    ['accept-encoding', 'gzip;q=1.0, identity; q=0, *;q=0'],
    ['content-encoding', 'gzip'],
    ['origin', 'null'],
    ['origin', 'https://evil.example'],
    ['if-none-match', '*'],
    ['expect', '100-continue'],
  ),
  { maxLength: 3 },
);

const authKinds = fc.oneof(
  { weight: 10, arbitrary: fc.constant<AuthKind>('bearer') },
  { weight: 1, arbitrary: fc.constantFrom<AuthKind>('cookie', 'query') },
  { weight: 3, arbitrary: fc.constantFrom<AuthKind>('none', 'forged', 'expired', 'garbage header', 'basic') },
);

function forgedToken(userId: number): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub: String(userId), jti: 'forged', iat: 1, exp: 4_102_444_800 })}.${'A'.repeat(43)}`;
}

/** A valid token for `route`: logout revokes it, so logout gets a fresh one each time. */
function validToken(route: RouteInfo): string {
  return route.url === '/api/auth/logout' ? app.tokens.issue(a.id).accessToken : a.token;
}

function buildRequest(route: RouteInfo, input: Input) {
  const headers: Record<string, string> = {};
  const query: string[] = input.query ? [input.query] : [];
  switch (input.auth) {
    case 'bearer':
      headers.authorization = `Bearer ${validToken(route)}`;
      break;
    case 'cookie':
      headers.cookie = `jwt_token=${validToken(route)}`;
      break;
    case 'query':
      query.push(`token=${encodeURIComponent(validToken(route))}`);
      break;
    case 'forged':
      headers.authorization = `Bearer ${forgedToken(a.id)}`;
      break;
    case 'expired':
      headers.authorization = `Bearer ${app.jwt.sign({ sub: String(a.id), jti: 'expired', iat: 1_000, exp: 2_000 })}`;
      break;
    case 'garbage header':
      headers.authorization = 'Bearer \u0000 ${7*7} \' OR 1=1';
      break;
    case 'basic':
      headers.authorization = 'Basic YWRtaW46YWRtaW4=';
      break;
    case 'none':
      break;
  }
  for (const [name, value] of input.headers) headers[name] = value;
  if (input.body.contentType !== undefined) headers['content-type'] = input.body.contentType;
  const url = substitutePath(route.url, input.path) + (query.length ? `?${query.join('&')}` : '');
  const payload = route.method === 'HEAD' ? undefined : input.body.payload;
  return { method: route.method as 'GET', url, headers, ...(payload !== undefined ? { payload } : {}) };
}

/** Sends through app.inject; an event stream (the SSE route) is judged by its head and then dropped. */
async function fire(route: RouteInfo, input: Input): Promise<ResponseLike & { request: string }> {
  const request = buildRequest(route, input);
  const res = await app.inject({ ...request, payloadAsStream: true });
  const stream: Readable = res.stream();
  let body = '';
  if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
    stream.destroy();
  } else {
    for await (const chunk of stream) body += Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk);
  }
  const shown = typeof request.payload === 'string' ? request.payload.slice(0, 200) : '';
  return {
    statusCode: res.statusCode,
    headers: res.headers,
    body,
    request: `${request.method} ${request.url.slice(0, 300)} [${input.auth}, ${input.body.kind}, ${request.headers['content-type'] ?? '-'}] ${shown}`,
  };
}

function inputs(route: RouteInfo, f: Fixtures): fc.Arbitrary<Input> {
  const fields = routeFields(doc, route);
  const ids = [f.a.id, f.b.id, f.groupId, f.directId];
  return fc.record({
    path: fc.record(Object.fromEntries(route.params.map((param) => [param, pathPool(param, f)]))) as fc.Arbitrary<Record<string, PathValue>>,
    query: fc.option(queryString(doc, fields), { nil: null, freq: 3 }),
    body: bodySpec(doc, fields, ids, [f.messageId]),
    auth: authKinds,
    headers: fc.oneof({ weight: 3, arbitrary: fc.constant<[string, string][]>([]) }, { weight: 1, arbitrary: extraHeaders }),
  });
}

describe('route discovery', () => {
  it('finds every documented route and the WebSocket endpoints in the live route table', () => {
    const found = new Set(routes.map((r) => `${r.method} ${openApiPath(r.url)}`));
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.length).toBeGreaterThan(40);
    for (const route of documented) expect(found, route).toContain(route);
    expect(found).toContain('GET /ws/chat');
    expect(found).toContain('GET /ws/chat/{room_id}');
    expect(fuzzed.length).toBeGreaterThanOrEqual(documented.length);
  });
});

describe('every route answers hostile input within the contract', () => {
  for (const route of fuzzed) {
    it(`${route.method} ${route.url}`, async () => {
      fx = await refreshFixtures();
      await checkProperty(
        fc.asyncProperty(inputs(route, fx), async (input) => {
          const res = await fire(route, input);
          count(route, res.statusCode);
          const breach = contractBreach(res, route.method);
          if (breach) throw new Error(`${res.request}\n  → ${breach}`);
        }),
        fuzzRuns(route.method === 'HEAD' ? 8 : 40),
      );
    });
  }
});

describe('hostile path ids, every one on every route that takes an id', () => {
  const withParams = fuzzed.filter((route) => route.params.length > 0 && route.method !== 'HEAD');
  it(`${withParams.length} routes × ${HOSTILE_PATH_VALUES.length} ids answer 4xx with the error body`, async () => {
    fx = await refreshFixtures();
    for (const route of withParams) {
      for (const value of HOSTILE_PATH_VALUES) {
        // Each parameter in turn gets the hostile value; the others keep a real id.
        for (const param of route.params) {
          const path = Object.fromEntries(route.params.map((p) => [p, p === param ? value : { value: String(/room/.test(p) ? fx.groupId : /message/.test(p) ? fx.messageId : fx.b.id) }]));
          const res = await fire(route, { path, query: null, body: { kind: 'json {}', contentType: 'application/json', payload: '{}' }, auth: 'bearer', headers: [] });
          const breach = contractBreach(res, route.method) ?? (res.statusCode < 400 ? `accepted ${value.value} with ${res.statusCode}` : null);
          expect(breach, res.request).toBeNull();
        }
      }
    }
  });
});

describe('paths no route serves', () => {
  it('answer 404 (or 400/403) with the error body, including traversal attempts on /uploads', async () => {
    const paths = [
      '/api/nope',
      '/api/',
      '/api',
      '/',
      '/api/messages',
      '/api/messages/1/2/3/4/5',
      '/uploads/',
      '/uploads/..%2f..%2fetc%2fpasswd',
      '/uploads/../../package.json',
      '/uploads/%2e%2e/%2e%2e/package.json',
      '/uploads/%00',
      '/uploads/nope.png',
      '/api/%zz',
      '/api/profile/%',
      `/api/${'a'.repeat(10_000)}`,
      '/api/auth/register%00',
      '/API/AUTH/ME',
      '//api//auth//me',
      '/api/auth/me/',
      '/api/auth/me;jsessionid=1',
      '/api/health/../auth/me',
    ];
    for (const path of paths) {
      for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const) {
        const res = await app.inject({ method, url: path, headers: a.auth });
        const breach = contractBreach(res, method);
        expect(breach, `${method} ${path}`).toBeNull();
      }
    }
  });

  it('answer unknown methods and random paths with the error body', async () => {
    await checkProperty(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
        fc.array(fc.oneof(fc.constantFrom('api', 'messages', 'group-rooms', 'ws', '..', '%2e', '%zz', ':id', '1', '-1'), fc.string({ maxLength: 8 })), { maxLength: 6 }),
        async (method, segments) => {
          const url = `/${segments.map((s) => (/^[%:.]/.test(s) ? s : encodeLoose(s))).join('/')}`;
          const res = await app.inject({ method: method as 'GET', url, headers: a.auth });
          const breach = contractBreach(res, method);
          if (breach && !(method === 'OPTIONS' && res.statusCode < 400)) throw new Error(`${method} ${url} → ${breach}`);
        },
      ),
      fuzzRuns(60),
    );
  });
});

describe('uploaded files', () => {
  it('hostile Range and conditional headers on /uploads never give a 5xx or a body outside the contract', async () => {
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(2048, 7)]);
    const boundary = 'fuzzupload';
    const upload = await app.inject({
      method: 'POST',
      url: '/api/profile/me/image',
      headers: { ...b.auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`),
        png,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]),
    });
    expect(upload.statusCode, upload.body).toBe(200);
    const url: string = upload.json().user.profile_image_url;
    await checkProperty(
      fc.asyncProperty(
        fc.record({
          range: fc.option(fc.oneof(fc.constantFrom('bytes=0-0', 'bytes=-1', 'bytes=99999-', 'bytes=5-1', 'bytes=0-1,2-3,4-5,6-7,8-9,10-11', 'bytes=abc', 'lines=1-2', 'bytes=--1', `bytes=${'0-1,'.repeat(500)}0-1`), fc.string({ maxLength: 20 })), { nil: undefined }),
          ifModifiedSince: fc.option(fc.constantFrom('yesterday', 'Thu, 01 Jan 1970 00:00:00 GMT', '\u0000', '9'.repeat(50)), { nil: undefined }),
          ifNoneMatch: fc.option(fc.constantFrom('*', '"x"', 'W/"', '"'.repeat(100)), { nil: undefined }),
          suffix: fc.constantFrom('', '?x=1', '/', '%00', '..%2f..%2fpackage.json', '.bak', '%2e'),
          method: fc.constantFrom('GET', 'HEAD'),
        }),
        async ({ range, ifModifiedSince, ifNoneMatch, suffix, method }) => {
          const headers: Record<string, string> = {};
          if (range !== undefined) headers.range = range;
          if (ifModifiedSince !== undefined) headers['if-modified-since'] = ifModifiedSince;
          if (ifNoneMatch !== undefined) headers['if-none-match'] = ifNoneMatch;
          const res = await app.inject({ method: method as 'GET', url: `${url}${suffix}`, headers });
          const breach = contractBreach(res, method);
          if (breach) throw new Error(`${method} ${url}${suffix} ${JSON.stringify(headers)} → ${breach}`);
        },
      ),
      fuzzRuns(60),
    );
  });
});

describe('prototype pollution', () => {
  it('left Object.prototype untouched after all of the above', () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});
