import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { Logger as PinoLogger } from 'pino';

type BindableLogger = FastifyBaseLogger & Partial<Pick<PinoLogger, 'setBindings'>>;

/**
 * preHandler: once params are validated, the request's logs carry the room id too. The
 * request's logger is its own child (Fastify makes one per request), so pino's setBindings adds
 * to it in place instead of making another child per request.
 */
export async function bindRoomLog(request: FastifyRequest): Promise<void> {
  const roomId = (request.params as { room_id?: unknown } | undefined)?.room_id;
  if (typeof roomId !== 'number') return;
  const log: BindableLogger = request.log;
  if (log.setBindings) log.setBindings({ roomId });
  else request.log = request.log.child({ roomId });
}
