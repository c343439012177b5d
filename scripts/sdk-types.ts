import openapiTS, { astToString, type OpenAPI3 } from 'openapi-typescript';

export const SDK_TYPES_FILE = new URL('../client/src/schema.ts', import.meta.url);

const HEADER = `/**
 * Types of every REST route, generated from the server's OpenAPI document by openapi-typescript:
 * \`npm run sdk:generate\`. Do not edit: \`npm test\` fails when this file and the live document differ.
 */

`;

/** The SDK's REST types for an OpenAPI document (app.swagger()). */
export async function sdkTypes(document: unknown): Promise<string> {
  // A field with a default may be left out of a request: optional, as the document says.
  const ast = await openapiTS(document as OpenAPI3, { alphabetize: true, defaultNonNullable: false });
  return HEADER + astToString(ast);
}
