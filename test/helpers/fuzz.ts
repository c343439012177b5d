import fc from 'fast-check';
import WebSocket from 'ws';
import { z } from 'zod';
import { ERROR_STATUS } from '../../src/lib/errors.ts';
import { serverFrame, type ServerFrame } from '../../src/modules/chat/chat.protocol.ts';
import type { App } from './app.ts';

/**
 * Building blocks of the hostile-input suite (test/fuzz): the live route table, generators of
 * hostile paths, query strings, bodies and WebSocket frames, and the contract checks every
 * answer must pass.
 */

/** fast-check runs per property. FUZZ_RUNS scales them all, 30 being the default (FUZZ_RUNS=300: ten times the runs, for a soak). */
export function fuzzRuns(base: number): number {
  const scale = Number(process.env.FUZZ_RUNS ?? '');
  return Number.isFinite(scale) && scale > 0 ? Math.max(1, Math.round((base * scale) / 30)) : base;
}

/**
 * fc.assert with a readable failure: the seed and path to replay it, and the failing request
 * (cut to a sane length: some generated values are 70 kB).
 */
export async function checkProperty<T>(property: fc.IAsyncPropertyWithHooks<T>, numRuns: number): Promise<void> {
  await fc.assert(property, {
    numRuns,
    asyncReporter: async (details) => {
      if (!details.failed) return;
      const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text);
      throw new Error(
        `Property failed after ${details.numRuns} runs (seed ${details.seed}, path "${details.counterexamplePath}"; ` +
          `replay with fc.assert(..., { seed, path }))\n${cut(cause, 1500)}\nCounterexample: ${cut(fc.stringify(details.counterexample), 600)}`,
      );
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

export interface RouteInfo {
  method: string;
  /** Fastify's pattern, e.g. `/api/messages/:room_id/:message_id`. */
  url: string;
  params: string[];
}

const TREE_LINE = /^((?:│ {3}| {4})*)(?:├── |└── )(.+?)(?: \(([A-Z, ]+)\))?$/;

/**
 * Every route the app serves, read from Fastify's own route tree (`printRoutes`), so a route
 * added tomorrow is fuzzed without touching this suite.
 */
export function listRoutes(app: App): RouteInfo[] {
  const tree = app.printRoutes({ commonPrefix: false });
  const prefixes: string[] = [];
  const routes = new Map<string, RouteInfo>();
  for (const line of tree.split('\n')) {
    const match = TREE_LINE.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? '').length / 4;
    const url = (depth === 0 ? '' : (prefixes[depth - 1] ?? '')) + (match[2] ?? '');
    prefixes[depth] = url;
    prefixes.length = depth + 1;
    for (const method of (match[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean)) {
      const params = [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1] ?? '');
      routes.set(`${method} ${url}`, { method, url, params });
    }
  }
  return [...routes.values()];
}

/** The OpenAPI path of a Fastify pattern (`:id` → `{id}`). */
export const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

export interface JsonSchemaLike {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  maxItems?: number;
  required?: string[];
  properties?: Record<string, JsonSchemaLike>;
  anyOf?: JsonSchemaLike[];
  oneOf?: JsonSchemaLike[];
  allOf?: JsonSchemaLike[];
  items?: JsonSchemaLike;
}

interface OpenApiOperation {
  parameters?: { in: string; name: string; schema?: JsonSchemaLike }[];
  requestBody?: { content?: Record<string, { schema?: JsonSchemaLike }> };
}

export interface OpenApiDoc {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, JsonSchemaLike> };
}

/** A field a route documents, with the enum values it accepts (to get past the first check). */
export interface FieldInfo {
  name: string;
  enumValues: string[];
}

export interface RouteFields {
  body: FieldInfo[];
  query: FieldInfo[];
  /** The documented JSON body schema, when the route has one. */
  bodySchema?: JsonSchemaLike;
  /** Documented query parameters and their schemas. */
  querySchemas: { name: string; schema: JsonSchemaLike }[];
}

export function resolve(doc: OpenApiDoc, schema: JsonSchemaLike | undefined, depth = 0): JsonSchemaLike | undefined {
  if (!schema || depth > 5) return schema;
  if (schema.$ref) return resolve(doc, doc.components?.schemas?.[schema.$ref.split('/').at(-1) ?? ''], depth + 1);
  return schema;
}

function enumValues(doc: OpenApiDoc, schema: JsonSchemaLike | undefined): string[] {
  const resolved = resolve(doc, schema);
  if (!resolved) return [];
  const own = (resolved.enum ?? []).filter((v): v is string => typeof v === 'string');
  const nested = [...(resolved.anyOf ?? []), ...(resolved.oneOf ?? []), ...(resolved.allOf ?? [])].flatMap((s) => enumValues(doc, s));
  return [...own, ...nested, ...(resolved.items ? enumValues(doc, resolved.items) : [])];
}

/** Body and query field names of a route, from the app's own OpenAPI document. */
export function routeFields(doc: OpenApiDoc, route: RouteInfo): RouteFields {
  const operation = doc.paths[openApiPath(route.url)]?.[route.method.toLowerCase()];
  const bodyContent = operation?.requestBody?.content ?? {};
  const bodySchema = resolve(doc, bodyContent['application/json']?.schema ?? Object.values(bodyContent)[0]?.schema);
  const body = Object.entries(bodySchema?.properties ?? {}).map(([name, schema]) => ({ name, enumValues: enumValues(doc, schema) }));
  const queryParams = (operation?.parameters ?? []).filter((p) => p.in === 'query');
  const query = queryParams.map((p) => ({ name: p.name, enumValues: enumValues(doc, p.schema) }));
  const querySchemas = queryParams.map((p) => ({ name: p.name, schema: resolve(doc, p.schema) ?? {} }));
  return { body, query, querySchemas, ...(bodySchema ? { bodySchema } : {}) };
}

const ID_NAME = /(^|_)ids?$/;

const URL_VALUES = [
  '/uploads/a.png',
  'https://example.com/a.png',
  'http://169.254.169.254/latest/meta-data/',
  'javascript:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  '/uploads/../../etc/passwd',
  'https://example.com/😀?q=\'; DROP TABLE messages; --',
];

/** Fits a generated string into [min, max] UTF-16 units (slicing may split an emoji: fine, it is hostile). */
function fitLength(text: string, min = 0, max = 10_000): string {
  const padded = text.length < min ? text + 'x'.repeat(min - text.length) : text;
  return padded.slice(0, max);
}

/**
 * A value the documented schema accepts, filled with hostile content where it has room
 * (injection strings, emoji, RTL marks in every free-text field; ids of this suite's own rows
 * or ids no row has). Gets generated requests past the validator into the services.
 */
export function validValue(
  doc: OpenApiDoc,
  raw: JsonSchemaLike | undefined,
  name: string,
  ids: readonly number[],
  messageIds: readonly string[] = [],
  depth = 0,
): fc.Arbitrary<unknown> {
  const schema = resolve(doc, raw);
  if (!schema || depth > 4) return fc.constant(null);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum && schema.enum.length > 0) return fc.constantFrom(...schema.enum);
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches && branches.length > 0) {
    // `null` is one valid branch, but the interesting one is the value: favour it 3 to 1.
    return fc.oneof(
      ...branches.map((branch) => ({ weight: resolve(doc, branch)?.type === 'null' ? 1 : 3, arbitrary: validValue(doc, branch, name, ids, messageIds, depth + 1) })),
    );
  }
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
    case 'number': {
      if (ID_NAME.test(name)) return fc.oneof(...(ids.length > 0 ? [fc.constantFrom(...ids)] : []), ghostId());
      const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : -1_000_000);
      const max = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - 1 : 1_000_000);
      return type === 'integer' ? fc.integer({ min, max }) : fc.double({ min, max, noNaN: true });
    }
    case 'string': {
      if (schema.format === 'email') return fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 4, maxLength: 12 }).map((hex) => `fuzz_${hex}@example.com`);
      if (schema.pattern) {
        const pattern = new RegExp(schema.pattern);
        return fc
          .stringMatching(pattern)
          .map((text) => fitLength(text, 0, schema.maxLength))
          .filter((text) => text.length >= (schema.minLength ?? 0) && pattern.test(text));
      }
      const free = fc
        .oneof(fc.constantFrom(...HOSTILE_STRINGS.filter((text) => text.trim().length > 0)), fc.string({ unit: 'grapheme', maxLength: 30 }))
        .map((text) => fitLength(text, schema.minLength ?? 0, schema.maxLength));
      if (/message_id|reply_to/.test(name) && messageIds.length > 0) return fc.oneof(fc.constantFrom(...messageIds), free);
      if (/url/.test(name)) return fc.oneof(fc.constantFrom(...URL_VALUES), free);
      return free;
    }
    case 'array':
      return fc.array(validValue(doc, schema.items, name, ids, messageIds, depth + 1), { maxLength: Math.min(schema.maxItems ?? 4, 4) });
    case 'object': {
      const required = new Set(schema.required ?? []);
      const entries = Object.entries(schema.properties ?? {}).map(([key, child]) => {
        const value = validValue(doc, child, key, ids, messageIds, depth + 1);
        // Optional fields are left out half of the time: each one present is one more way to be refused.
        return (required.has(key) ? value : fc.oneof(fc.constant(undefined), value)).map((v) => [key, v] as const);
      });
      return fc.tuple(...entries).map((pairs) => Object.fromEntries(pairs.filter(([, v]) => v !== undefined)));
    }
    default:
      return fc.jsonValue({ maxDepth: 1 });
  }
}

/** A valid body with one field made hostile (or one unknown field added). */
export function nearValid(
  doc: OpenApiDoc,
  schema: JsonSchemaLike,
  ids: readonly number[],
  messageIds: readonly string[] = [],
): fc.Arbitrary<Record<string, unknown>> {
  const names = Object.keys(schema.properties ?? {});
  const valid = validValue(doc, schema, '', ids, messageIds).map((v) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {}));
  const key = fc.oneof(...(names.length > 0 ? [fc.constantFrom(...names)] : []), fc.constantFrom('extra', '__proto__', '$where', 'id', 'is_admin'));
  return fc.tuple(valid, key, hostileFieldValue(ids, [])).map(([body, k, v]) => ({ ...body, [k]: v }));
}

// ---------------------------------------------------------------------------------------------
// Hostile values
// ---------------------------------------------------------------------------------------------

/** Strings that have broken servers before: injection, encodings, odd Unicode, control bytes. */
export const HOSTILE_STRINGS: readonly string[] = [
  '',
  ' ',
  '   \t\n',
  '\u0000',
  'a\u0000b',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  'true',
  '0',
  '-1',
  '[]',
  '{}',
  "'; DROP TABLE users; --",
  '" OR 1=1 --',
  "\\'",
  '%',
  '_',
  '%_%',
  '!%!_',
  '{"$gt": ""}',
  '$where',
  '{"$ne": null}',
  '${7*7}',
  '{{7*7}}',
  '#{7*7}',
  '<script>alert(1)</script>',
  '../../../../etc/passwd',
  '..%2f..%2f',
  '%00',
  '%zz',
  '안녕하세요 세계',
  '👋🏽👨‍👩‍👧‍👦🇰🇷',
  'a\u200Bb\u200Cc\u200Dd\u2060e',
  '\u202Eevil\u202C',
  'שלום עולם',
  'مرحبا',
  '\uFEFFbom',
  '\r\nX-Injected: 1',
  '\ud800',
  '\udfff\ud800',
  'Ω≈ç√∫˜µ≤≥÷',
  'ＡＢＣ１２３',
  '\u0301\u0301\u0301',
  '/uploads/../../secret',
  'http://169.254.169.254/latest/meta-data/',
  'javascript:alert(1)',
];

/** Long strings around the limits the contract names (100, 200, 1000, 4000 characters, 64 KiB frames). */
export const LONG_STRINGS: readonly string[] = [
  'a'.repeat(101),
  'a'.repeat(201),
  'b'.repeat(256),
  'c'.repeat(1001),
  'x'.repeat(4001),
  '가'.repeat(4001),
  '😀'.repeat(2001),
  '😀'.repeat(4001),
  ' '.repeat(5000),
  'z'.repeat(70_000),
];

/** Numbers JSON can carry that an integer id or a limit must refuse (or treat as unknown). */
export const HOSTILE_NUMBERS: readonly number[] = [
  0,
  -1,
  -0,
  1.5,
  -2_147_483_648,
  2_147_483_648,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  2 ** 63,
  1e21,
  1e308,
  -1e308,
  Number.MIN_VALUE,
  Number.EPSILON,
];

/** Ids no row will have in a test run (valid integers, so they reach the services: 404/403). */
export const ghostId = () => fc.integer({ min: 2_000_000_000, max: 2_147_483_647 });

export const hostileString = (): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
    { weight: 1, arbitrary: fc.constantFrom(...LONG_STRINGS) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  );

/** Any JSON value where a field is expected: wrong types, operators, huge numbers, deep nesting. */
export function hostileFieldValue(ids: readonly number[], enums: readonly string[]): fc.Arbitrary<unknown> {
  const nosql = fc.constantFrom<unknown>({ $gt: '' }, { $ne: null }, { $where: 'sleep(1000)' }, { $regex: '.*' }, [{ $gt: '' }]);
  const choices: fc.WeightedArbitrary<unknown>[] = [
    { weight: 4, arbitrary: hostileString() },
    { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_NUMBERS) },
    { weight: 1, arbitrary: fc.double() },
    { weight: 2, arbitrary: ghostId() },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(true, false, null, [], {}, [2_100_000_001, -5], ['a'], { a: 1 }) },
    { weight: 2, arbitrary: nosql },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  ];
  if (ids.length > 0) choices.push({ weight: 3, arbitrary: fc.constantFrom(...ids) });
  if (enums.length > 0) choices.push({ weight: 3, arbitrary: fc.constantFrom(...enums) });
  return fc.oneof(...choices);
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/** A path parameter value; `raw` values are put in the URL as they are (already percent-encoded). */
export interface PathValue {
  value: string;
  raw?: boolean;
}

/** Hostile path ids, from the issue's list; valid ones are left to the fixtures' pools. */
export const HOSTILE_PATH_VALUES: readonly PathValue[] = [
  { value: 'abc' },
  { value: '-1' },
  { value: '0' },
  { value: '-0' },
  { value: '1.5' },
  { value: '2147483648' },
  { value: String(2 ** 32) },
  { value: '9223372036854775808' },
  { value: '99999999999999999999999999' },
  { value: '1e400' },
  { value: 'NaN' },
  { value: 'Infinity' },
  { value: 'null' },
  { value: 'undefined' },
  { value: 'true' },
  { value: '[]' },
  { value: '{}' },
  { value: '507f1f77bcf86cd799439011' },
  { value: 'ffffffffffffffffffffffff' },
  { value: '..%2f..%2fetc%2fpasswd', raw: true },
  { value: '..%2F', raw: true },
  { value: '%2e%2e', raw: true },
  { value: '..', raw: true },
  { value: '.', raw: true },
  { value: '%00', raw: true },
  { value: '%', raw: true },
  { value: '%zz', raw: true },
  { value: '%E0%A4%A', raw: true },
  { value: '%ED%A0%80', raw: true },
  { value: '한국어' },
  { value: '😀' },
  { value: "1' OR '1'='1" },
  { value: '1;DROP TABLE rooms' },
  { value: '1 OR 1=1' },
  { value: '$gt' },
  { value: '١٢٣' },
  { value: '1'.repeat(100) },
  { value: 'a'.repeat(101) },
  { value: 'a'.repeat(5000) },
  { value: 'x'.repeat(300) },
];

/** Coercion spellings of a real id (` 7`, `+7`, `0007`, `7.0`, `7e0`): they must not break anything either. */
export function spellingsOf(id: number): PathValue[] {
  return [String(id), ` ${id}`, `+${id}`, `000${id}`, `${id}.0`, `${id}e0`, `0x${id.toString(16)}`].map((value) => ({ value }));
}

/**
 * encodeURIComponent that does not throw on lone surrogates: they go out as the (invalid)
 * UTF-8 bytes a careless client would send, e.g. `%ED%A0%80`.
 */
export function encodeLoose(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    if (code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      out += encodeURIComponent(text.slice(i, i + 2));
      i += 1;
    } else if (code >= 0xd800 && code <= 0xdfff) {
      out += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    } else {
      out += encodeURIComponent(text[i] ?? '');
    }
  }
  return out;
}

export function substitutePath(url: string, values: Record<string, PathValue>): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => {
    const value = values[name] ?? { value: '1' };
    return value.raw ? value.value : encodeLoose(value.value);
  });
}

export const QUERY_NOISE_KEYS = ['token', '__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', '', ' '];

/** A query string: documented keys and noise keys, repeated keys, array/bracket syntax, raw garbage. */
export function queryString(doc: OpenApiDoc, route: RouteFields): fc.Arbitrary<string> {
  const fields = route.query;
  const keys = [...fields.map((f) => f.name), ...QUERY_NOISE_KEYS];
  const enums = fields.flatMap((f) => f.enumValues);
  const validPairs = route.querySchemas.map(({ name, schema }) =>
    fc.option(validValue(doc, schema, name, []).map((v) => `${encodeLoose(name)}=${encodeLoose(typeof v === 'string' ? v : String(v))}`), { nil: undefined }),
  );
  const valid = fc.tuple(...validPairs).map((pairs) => pairs.filter((p): p is string => p !== undefined).join('&'));
  const value = fc.oneof(
    { weight: 4, arbitrary: hostileString() },
    { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_NUMBERS.map(String), '1', '50', '100', '101', '1e2', '0x10', ' 5 ') },
    { weight: enums.length > 0 ? 2 : 0, arbitrary: fc.constantFrom(...(enums.length > 0 ? enums : ['x'])) },
  );
  const key = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...keys) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) });
  const suffix = fc.constantFrom('', '', '', '[]', '[0]', '[a]', '[$gt]', '[__proto__][x]');
  const pair = fc.tuple(key, suffix, value).map(([k, s, v]) => `${encodeLoose(k)}${s}=${encodeLoose(v)}`);
  const structured = fc.array(pair, { maxLength: 8 }).map((pairs) => pairs.join('&'));
  const garbage = fc.oneof(
    fc.constantFrom('%', '%zz', '&&&', '===', '=&=', 'a=%E0%A4%A', 'a=%ED%A0%80', '&a', 'limit=1&limit=2&limit=3', `q=${'x'.repeat(10_000)}`),
    fc.string({ unit: 'binary-ascii', maxLength: 30 }).map((s) => s.replace(/[#\s]/g, '')),
  );
  return fc.oneof(
    { weight: route.querySchemas.length > 0 ? 4 : 0, arbitrary: valid },
    { weight: 4, arbitrary: structured },
    { weight: 1, arbitrary: garbage },
  );
}

/** What goes in the body: the content-type header (if any) and the raw payload. */
export interface BodySpec {
  kind: string;
  contentType?: string;
  payload?: string | Buffer;
}

const ID_KEY = /(^|_)ids?$/;
const SAFE_ID_FLOOR = 2_000_000_000;

/**
 * Keeps generated bodies away from other suites' rows (the run shares one database): a
 * positive integer under an id-like key (`user_id`, `member_ids`) that is not one of this
 * suite's own ids becomes an id no row has. Other numbers (limits, sizes) stay as generated.
 */
export function defang(value: unknown, ownIds: ReadonlySet<number>, underIdKey = false): unknown {
  if (typeof value === 'number') {
    const risky = underIdKey && Number.isInteger(value) && value >= 1 && value < SAFE_ID_FLOOR && !ownIds.has(value);
    return risky ? SAFE_ID_FLOOR + (value % 100_000_000) : value;
  }
  if (Array.isArray(value)) return value.map((item) => defang(item, ownIds, underIdKey));
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, defang(item, ownIds, underIdKey || ID_KEY.test(key))]));
  }
  return value;
}

const json = (kind: string, value: unknown): BodySpec => ({
  kind,
  contentType: 'application/json',
  payload: JSON.stringify(value) ?? 'null',
});

const WRONG_CONTENT_TYPES = [
  'text/plain',
  'text/html',
  'application/xml',
  'image/png',
  'application/octet-stream',
  'application/json; charset=utf-16',
  'application/jsonx',
  'application/vnd.api+json',
  '*/*',
  ';',
  'multipart/form-data',
  'multipart/form-data; boundary=----fuzz',
  'application/x-www-form-urlencoded',
  'APPLICATION/JSON',
  'application/json;;;',
  'application/json, text/plain',
  'application/json; charset=latin1',
];

const MALFORMED_JSON = [
  '{',
  '}',
  '{"a":',
  '{"a":1,}',
  "{'a':1}",
  'NaN',
  'undefined',
  '\u0000',
  '{"a":1}{"b":2}',
  '[1,2',
  '"unterminated',
  '{"a":"\\x41"}',
  '{"a":"\\ud800"}',
  '{"user_id":1e400}',
  '{"user_id":123456789012345678901234567890}',
  '{"user_id":-0}',
  '{"limit":1E2}',
  '\uFEFF{}',
  '{"a":1} trailing',
  `${'['.repeat(50_000)}${']'.repeat(50_000)}`,
  `${'{"a":'.repeat(20_000)}{"__proto__":{"x":1}}${'}'.repeat(20_000)}`,
];

const PNG_MAGIC = '\x89PNG\r\n\x1a\n';

/** Multipart bodies, well-formed or not: missing/odd/over-long boundaries, cut-off parts, odd field names and file contents. */
export function multipartBody(): fc.Arbitrary<BodySpec> {
  const boundary = fc.constantFrom('fuzzboundary', '', '""', 'x', 'b'.repeat(80), 'b'.repeat(300), '한글', 'a b', '--');
  const field = fc.constantFrom('image', 'file', '__proto__', 'constructor', '', 'image"; filename="../../x.png', '한국어');
  const content = fc.oneof(
    fc.constantFrom('', 'GIF89a', PNG_MAGIC, `${PNG_MAGIC}garbage`, '\xff\xd8\xff', 'RIFF0000WEBP', '<svg onload=alert(1)>', '%PDF-1.4'),
    fc.string({ unit: 'binary', maxLength: 40 }),
  );
  const filename = fc.constantFrom('a.png', '../../etc/passwd', 'a.png\u0000.exe', '', 'x'.repeat(300), '😀.gif');
  return fc
    .tuple(boundary, fc.constantFrom('multipart/form-data', 'multipart/form-data', 'multipart/mixed', 'multipart/related'), field, filename, content, fc.constantFrom('full', 'cut', 'no closing', 'garbage'))
    .map(([b, type, name, file, data, shape]) => {
      const head = `--${b}\r\nContent-Disposition: form-data; name="${name}"; filename="${file}"\r\nContent-Type: image/png\r\n\r\n`;
      const full = `${head}${data}\r\n--${b}--\r\n`;
      const payload = shape === 'full' ? full : shape === 'cut' ? full.slice(0, Math.max(1, Math.floor(full.length / 2))) : shape === 'no closing' ? `${head}${data}` : data;
      return { kind: `multipart (${shape})`, contentType: `${type}; boundary=${b}`, payload: Buffer.from(payload, 'latin1') };
    });
}

/** A JSON object with the route's real field names, each holding a hostile value. */
export function fieldObject(fields: readonly FieldInfo[], ids: readonly number[]): fc.Arbitrary<Record<string, unknown>> {
  if (fields.length === 0) return fc.dictionary(fc.string({ maxLength: 10 }), hostileFieldValue(ids, []), { maxKeys: 4 });
  const entries = fields.map((f) => fc.option(hostileFieldValue(ids, f.enumValues), { nil: undefined }).map((v) => [f.name, v] as const));
  return fc.tuple(...entries).map((pairs) => Object.fromEntries(pairs.filter(([, v]) => v !== undefined)));
}

/** Every kind of body the issue lists, for one route. */
export function bodySpec(doc: OpenApiDoc, fields: RouteFields, ids: readonly number[], messageIds: readonly string[] = []): fc.Arbitrary<BodySpec> {
  const own = new Set(ids);
  const objects = fieldObject(fields.body, ids).map((v) => defang(v, own) as Record<string, unknown>);
  const schema = fields.bodySchema;
  const schemaDriven: fc.WeightedArbitrary<BodySpec>[] = schema
    ? [
        { weight: 10, arbitrary: validValue(doc, schema, '', ids, messageIds).map((v) => json('valid', defang(v, own))) },
        { weight: 10, arbitrary: nearValid(doc, schema, ids, messageIds).map((v) => json('near-valid', defang(v, own))) },
      ]
    : [];
  return fc.oneof(
    ...schemaDriven,
    { weight: 2, arbitrary: fc.constant<BodySpec>({ kind: 'none' }) },
    { weight: 1, arbitrary: fc.constant<BodySpec>({ kind: 'empty json', contentType: 'application/json', payload: '' }) },
    { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => json('jsonValue', defang(v, own))) },
    { weight: 2, arbitrary: fc.anything({ maxDepth: 3 }).map((v) => json('anything', defang(v, own))) },
    { weight: 8, arbitrary: objects.map((v) => json('fields', v)) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(objects, fc.constantFrom('__proto__', 'constructor', 'prototype'))
        .map(([v, key]) => ({
          kind: 'prototype pollution',
          contentType: 'application/json',
          payload: JSON.stringify(v).replace(/^\{/, `{"${key}":{"polluted":true,"prototype":{"polluted":true}}${Object.keys(v).length ? ',' : ''}`),
        })),
    },
    {
      weight: 2,
      arbitrary: fc.oneof(fc.constantFrom(...MALFORMED_JSON), fc.string({ maxLength: 30 })).map((payload) => ({
        kind: 'malformed json',
        contentType: 'application/json',
        payload,
      })),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(fc.constantFrom(...WRONG_CONTENT_TYPES), objects).map(([contentType, v]) => ({
        kind: 'wrong content-type',
        contentType,
        payload: JSON.stringify(v),
      })),
    },
    {
      weight: 1,
      arbitrary: objects.map((v) => ({
        kind: 'form',
        contentType: 'application/x-www-form-urlencoded',
        payload: new URLSearchParams(Object.entries(v).map(([k, x]): [string, string] => [k, typeof x === 'string' ? x : (JSON.stringify(x) ?? '')])).toString(),
      })),
    },
    {
      weight: 1,
      arbitrary: objects.map((v) => ({ kind: 'no content-type', payload: JSON.stringify(v) })),
    },
    { weight: 2, arbitrary: multipartBody() },
  );
}

// ---------------------------------------------------------------------------------------------
// Contract checks
// ---------------------------------------------------------------------------------------------

export const CONTRACT_ERROR_CODES = Object.keys(ERROR_STATUS) as (keyof typeof ERROR_STATUS)[];

export interface ResponseLike {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

/**
 * The contract for any answer to any input: never a 5xx, and every 4xx carries the error body
 * `{error, message, details?}` with a listed code that matches the status. Returns a
 * description of the breach, or null.
 */
export function contractBreach(res: ResponseLike, method: string): string | null {
  if (res.statusCode >= 500) return `server error ${res.statusCode}: ${res.body.slice(0, 300)}`;
  if (res.statusCode < 400) return null;
  if (method === 'HEAD') return null;
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    return `error ${res.statusCode} without a JSON body: ${JSON.stringify(res.body.slice(0, 200))}`;
  }
  const parsed = z
    .object({ error: z.enum(CONTRACT_ERROR_CODES), message: z.string().min(1), details: z.array(z.unknown()).optional() })
    .strict()
    .safeParse(body);
  if (!parsed.success) return `error ${res.statusCode} with a body outside the contract: ${res.body.slice(0, 300)}`;
  if (ERROR_STATUS[parsed.data.error] !== res.statusCode) {
    return `status ${res.statusCode} does not match error code ${parsed.data.error} (${ERROR_STATUS[parsed.data.error]})`;
  }
  const contentType = String(res.headers['content-type'] ?? '');
  if (!contentType.startsWith('application/json')) return `error ${res.statusCode} served as ${contentType || 'no content-type'}`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// WebSocket frames
// ---------------------------------------------------------------------------------------------

/** Every frame the contract lets the server send: the server's own schemas (chat.protocol.ts). */
export { serverFrame, type ServerFrame };

/**
 * A raw WebSocket client for hostile frames: it keeps every frame as received (text or
 * binary) so the checks can prove each one is JSON and in the contract.
 */
export class FrameRecorder {
  readonly raw: { data: string; binary: boolean }[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
      this.raw.push({ data: text, binary: isBinary });
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    socket.on('error', () => {});
  }

  static connect(baseUrl: string, token: string, path = '/ws/chat'): Promise<FrameRecorder> {
    const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${path}?token=${encodeURIComponent(token)}`);
    const recorder = new FrameRecorder(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(recorder));
      socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      socket.once('error', reject);
    });
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** Frames that are not JSON text in the contract, with the reason for each. */
  breaches(): string[] {
    const found: string[] = [];
    for (const frame of this.raw) {
      if (frame.binary) {
        found.push(`binary frame from the server: ${frame.data.slice(0, 100)}`);
        continue;
      }
      let value: unknown;
      try {
        value = JSON.parse(frame.data);
      } catch {
        found.push(`non-JSON frame: ${frame.data.slice(0, 100)}`);
        continue;
      }
      const parsed = serverFrame.safeParse(value);
      if (!parsed.success) found.push(`frame outside the contract: ${frame.data.slice(0, 300)} (${parsed.error.issues[0]?.message})`);
    }
    return found;
  }

  /** The frames received so far that are in the contract (breaches() reports the others). */
  frames(): ServerFrame[] {
    return this.raw.flatMap((frame) => {
      if (frame.binary) return [];
      try {
        const parsed = serverFrame.safeParse(JSON.parse(frame.data));
        return parsed.success ? [parsed.data] : [];
      } catch {
        return [];
      }
    });
  }

  /** Waits until a frame matches (or the time is up: false). */
  async waitFor(predicate: (frame: ServerFrame) => boolean, timeoutMs = 3000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.frames().some(predicate)) {
      const left = deadline - Date.now();
      if (left <= 0 || !this.open) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  send(data: string | Buffer, binary = false): void {
    this.socket.send(data, { binary });
  }

  close(): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close();
  }
}
