/**
 * The ceiling for bench/send.ts: a bare Fastify app (no auth, no validation, no Redis, no
 * events) whose routes store a message with the very SQL the real send runs, through the same
 * mariadb driver and pool settings, and answer with the body the real route gives.
 *
 *   POST /bare/grouped/:room_id  the real path's transaction: GroupCommit + createMany
 *   POST /bare/single/:room_id   one transaction per message (the send path before group commit)
 *
 * Both then record the room's activity time with the same RoomActivityWriter and statement as the real send (written after the answer, as there). TEMPLATE_FILE holds one
 * response of the real route; each answer is that body with this message's fields.
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { createMysqlClients } from '../src/db/prisma.ts';
import { utcDateTime } from '../src/db/mysql-url.ts';
import { GroupCommit } from '../src/modules/messages/group-commit.ts';
import { RoomActivityWriter } from '../src/modules/messages/room-activity.writer.ts';
import type { CreateResult, NewMessage } from '../src/modules/messages/store/message-store.ts';
import { MysqlMessageStore } from '../src/modules/messages/store/mysql-message.store.ts';

const template = (JSON.parse(readFileSync(process.env.TEMPLATE_FILE ?? '', 'utf8')) as { message: Record<string, unknown> }).message;
const { db, pool } = createMysqlClients(process.env.DATABASE_URL ?? '');
const store = new MysqlMessageStore(db, pool);
const grouped = new GroupCommit((inputs) => store.createMany(inputs));
const userId = Number(process.env.SENDER_ID);

// The statement of RoomStore.touchLastMessages, for the rooms of one fold.
const activity = new RoomActivityWriter(async (times) => {
  const entries = [...times].sort(([a], [b]) => a - b);
  const when = `CASE id ${entries.map(() => 'WHEN ? THEN ?').join(' ')} END`;
  const cases = entries.flatMap(([roomId, at]) => [roomId, utcDateTime(at)]);
  const ids = entries.map(([roomId]) => roomId);
  await pool.query(
    `UPDATE rooms SET last_message_at = ${when} WHERE id IN (${ids.map(() => '?').join(', ')}) AND (last_message_at IS NULL OR last_message_at < ${when})`,
    [...cases, ...ids, ...cases],
  );
}, console);

function body({ message }: CreateResult): string {
  return JSON.stringify({
    message: { ...template, id: message.id, seq: message.seq, content: message.content, client_message_id: message.clientMessageId, created_at: message.createdAt.toISOString() },
  });
}

const app = Fastify({ logger: false });
for (const [name, create] of [
  ['grouped', (input: NewMessage) => grouped.submit(input)],
  ['single', (input: NewMessage) => store.create(input)],
] as const) {
  app.post<{ Params: { room_id: string }; Body: { content: string; client_message_id?: string } }>(`/bare/${name}/:room_id`, async (request, reply) => {
    const roomId = Number(request.params.room_id);
    const result = await create({
      roomId,
      userId,
      content: request.body.content,
      messageType: 'text',
      attachmentUrl: null,
      replyTo: null,
      clientMessageId: request.body.client_message_id ?? null,
    });
    activity.record(roomId, result.message.createdAt);
    return reply.code(201).type('application/json; charset=utf-8').send(body(result));
  });
}
const address = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`baseline listening on ${new URL(address).port}`);
process.on('SIGTERM', () => void app.close().then(() => pool.end()).then(() => process.exit(0)));
