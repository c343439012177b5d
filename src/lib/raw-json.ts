import type { FastifyReply } from 'fastify';

/**
 * A response body that is already JSON text (e.g. cached), sent as it is: no parse, no schema
 * serialisation. Only for text this server produced from values that passed its schemas.
 */
export class RawJson {
  constructor(readonly text: string) {}
}

/** Sends `body` as JSON: RawJson text verbatim, anything else through the route's serializer. */
export function sendJson<T>(reply: FastifyReply, body: T | RawJson): FastifyReply {
  if (body instanceof RawJson) return reply.type('application/json; charset=utf-8').serializer((text: string) => text).send(body.text);
  return reply.send(body);
}
