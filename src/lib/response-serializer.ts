import fastJson from 'fast-json-stringify';
import type { FastifySerializerCompiler } from 'fastify';
import { serializerCompiler as zodSerializerCompiler } from 'fastify-type-provider-zod';
import { type ZodType, z } from 'zod';

type JsonSchema = { [key: string]: unknown };

const isObject = (value: unknown): value is JsonSchema => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * `anyOf: [{type: T, ...}, {type: 'null'}]` (zod's `.nullable()`) as `{type: [T, 'null'], ...}`:
 * fast-json-stringify picks an anyOf branch by validating the value with ajv, per value, while a
 * type list is one typeof check. Everything else is walked unchanged.
 */
function simplifyNullables(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(simplifyNullables);
  if (!isObject(schema)) return schema;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) out[key] = simplifyNullables(value);
  const branches = out.anyOf;
  if (!Array.isArray(branches) || branches.length !== 2) return out;
  const nullIndex = branches.findIndex((branch) => isObject(branch) && branch.type === 'null' && Object.keys(branch).length === 1);
  const other: unknown = branches[1 - nullIndex];
  if (nullIndex === -1 || !isObject(other) || typeof other.type !== 'string' || other.type === 'object' || other.type === 'array') return out;
  const { anyOf: _dropped, ...rest } = out;
  return { ...rest, ...other, type: [other.type, 'null'] };
}

/** The JSON Schema of what a response schema outputs, every part inlined (no registry ids); throws when a part has none (a transform). */
function outputJsonSchema(schema: ZodType): JsonSchema {
  return simplifyNullables(z.toJSONSchema(schema, { io: 'output', unrepresentable: 'throw', metadata: z.registry(), target: 'draft-7' })) as JsonSchema;
}

/**
 * Response serialisation compiled once per route and status: the route's zod schema turned into
 * JSON Schema and compiled by fast-json-stringify, which writes the declared fields only (like
 * zod's strip) without validating and re-encoding every value on each response, as the type
 * provider's serializer does. A schema JSON Schema cannot express falls back to that serializer.
 */
export const compiledSerializerCompiler: FastifySerializerCompiler<ZodType> = (route) => compileSerializer(route.schema) ?? zodSerializerCompiler(route);

/** fast-json-stringify's function for a zod response schema; null when JSON Schema cannot express it. */
export function compileSerializer(schema: ZodType): ((data: unknown) => string) | null {
  try {
    return fastJson(outputJsonSchema(schema));
  } catch {
    return null;
  }
}
