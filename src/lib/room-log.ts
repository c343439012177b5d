import type { FastifyRequest } from 'fastify';

/** preHandler: once params are validated, the request's logs carry the room id too. */
export async function bindRoomLog(request: FastifyRequest): Promise<void> {
  const roomId = (request.params as { room_id?: unknown } | undefined)?.room_id;
  if (typeof roomId === 'number') request.log = request.log.child({ roomId });
}
