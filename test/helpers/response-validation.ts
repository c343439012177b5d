import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { expect } from 'vitest';

/**
 * The response-validation hook of the test suite: every JSON response a test receives from an
 * app of `createTestApp` / `startTestServer` is checked against what the OpenAPI document says
 * its route answers with that status, so the document cannot drift from the code. A response
 * of a route or with a status the document does not list counts as a violation too.
 * Violations are collected here and fail the test that received them (the setup file
 * `response-validation.setup.ts` throws them after each test). Streams (SSE), WebSocket
 * upgrades, files and routes hidden from the document (Swagger UI, uploads) are not checked.
 */

export type OpenApiDocument = { paths?: Record<string, Record<string, unknown>> } & Record<string, unknown>;

const DOCUMENT_ID = 'openapi.json';
// ajv-formats is CommonJS: under NodeNext its default import is the module object.
const addFormats = addFormatsModule.default;

const escapePointer = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');

/** JSON Schema (2020-12, OpenAPI 3.1's dialect) validation of values against parts of the document. */
export class DocumentSchemas {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(document: OpenApiDocument) {
    addFormats(this.ajv);
    // OpenAPI's file marker: what it describes is never JSON to validate.
    this.ajv.addFormat('binary', true);
    this.ajv.addSchema(document, DOCUMENT_ID);
  }

  /** Problems of `value` against the schema at `path` (JSON pointer segments) in the document; empty when valid. */
  problems(path: readonly string[], value: unknown): string[] {
    const pointer = `${DOCUMENT_ID}#/${path.map(escapePointer).join('/')}`;
    let validate = this.compiled.get(pointer);
    if (!validate) {
      validate = this.ajv.compile({ $ref: pointer });
      this.compiled.set(pointer, validate);
    }
    return validate(value) ? [] : (validate.errors ?? []).map(describeError);
  }
}

function describeError(error: ErrorObject): string {
  return `${error.instancePath || '(body)'} ${error.message ?? error.keyword} ${JSON.stringify(error.params)}`;
}

export interface Violation {
  test: string | undefined;
  response: string;
  problems: string[];
}

const violations: Violation[] = [];

/** The violations recorded since the last call. */
export function takeViolations(): Violation[] {
  return violations.splice(0);
}

export function formatViolations(found: readonly Violation[]): string {
  const lines = found.map(({ test, response, problems }) => `- ${response}${test ? ` (in "${test}")` : ''}:\n    ${problems.join('\n    ')}`);
  return `Responses that do not match the OpenAPI document:\n${lines.join('\n')}`;
}

/** `/api/profile/:user_id` → `/api/profile/{user_id}`, as the document spells paths. */
const documentPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

function bodyText(payload: unknown): string | undefined {
  if (typeof payload === 'string') return payload;
  if (Buffer.isBuffer(payload)) return payload.toString('utf8');
  return undefined;
}

/** Which JSON responses the document promises for one app. */
class ResponseContract {
  private readonly schemas: DocumentSchemas;

  constructor(private readonly document: OpenApiDocument) {
    this.schemas = new DocumentSchemas(document);
  }

  /** What is wrong with this response, or nothing. */
  check(request: FastifyRequest, reply: FastifyReply, payload: unknown): string[] {
    const path = documentPath(request.routeOptions.url ?? '');
    const method = request.method.toLowerCase();
    const operation = this.document.paths?.[path]?.[method] as { responses?: Record<string, { content?: Record<string, unknown> }> } | undefined;
    if (!operation) return ['the route is not in the document'];
    const status = String(reply.statusCode);
    const documented = operation.responses?.[status];
    if (!documented) return [`status ${status} is not documented (documented: ${Object.keys(operation.responses ?? {}).join(', ')})`];
    // Fastify drops the body of a 204 (what a route sends with it, say null, never leaves).
    if (reply.statusCode === 204) return [];
    const mediaType = String(reply.getHeader('content-type') ?? '').split(';', 1)[0]?.trim();
    const text = bodyText(payload);
    if (mediaType !== 'application/json' || text === undefined) return [];
    if (!documented.content?.['application/json']) return [`a JSON body where the document promises ${Object.keys(documented.content ?? {}).join(', ') || 'none'}`];
    return this.schemas.problems(['paths', path, method, 'responses', status, 'content', 'application/json', 'schema'], JSON.parse(text));
  }
}

/** Routes the document leaves out on purpose: Swagger UI, uploads, WebSocket, CORS preflight, the home page. */
const isUndocumented = (request: FastifyRequest) =>
  request.routeOptions.url === undefined || request.routeOptions.schema?.hide === true || request.method === 'HEAD';

/** The hook, for `BuildOptions.instrumentation`: registered before every other plugin, it sees every route. */
export const responseValidation = fp(async (app: FastifyInstance) => {
  let contract: ResponseContract | undefined;
  app.addHook('onSend', async (request, reply, payload) => {
    if (isUndocumented(request)) return payload;
    contract ??= new ResponseContract(app.swagger() as OpenApiDocument);
    const problems = contract.check(request, reply, payload);
    if (problems.length > 0) {
      violations.push({ test: expect.getState().currentTestName, response: `${request.method} ${request.routeOptions.url} → ${reply.statusCode}`, problems });
    }
    return payload;
  });
});
